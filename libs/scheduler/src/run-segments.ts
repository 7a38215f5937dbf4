// Run segments: which vCPU ran on which pCPU, from when, for exactly how long. The `run` event of
// the log (one per segment) is what a Gantt chart or a trace is drawn from.
//
// Why the log needs it: `schedule` events mark only the decisions that change a pCPU's vCPU, and a
// vCPU that stops early (blocks, halts, faults) does so inside an iteration — its `block` event is
// dated where the guest stopped, before the cost of the trap that blocked it, and its pCPU then
// idles to the iteration's end. Rebuilding segments from `schedule` and `block` events therefore
// over- or under-counts. The report of each iteration has the exact figure: a vCPU ran `ran_ns`
// from the iteration's start (the host runs it without a gap from `now_ns`, paying any carried
// overrun first), and its CPU time in the results is the sum of those figures. A segment is a
// maximal run of consecutive iterations with the same vCPU on the same pCPU, each continuing
// where the last one ended and the vCPU still runnable at its end.

/** A vCPU's stretch on one pCPU: from `startNs`, `ns` of CPU time (what the results count). */
export interface RunSegment {
  readonly pcpu: number;
  readonly vm: string;
  readonly vcpu: number;
  readonly startNs: number;
  ns: number;
  /** The wake-up latency the decision that started it recorded (metrics.ts), if any. */
  latencyNs?: number;
  /** The policy's balance for the vCPU after the segment's last charge (SchedulerPolicy.balance). */
  balance?: Readonly<Record<string, number>>;
}

/** What one pCPU ran in one iteration: the vCPU and its report's ran_ns; null if idle. */
export interface PcpuRan {
  readonly vm: string;
  readonly vcpu: number;
  readonly ranNs: number;
  /** Still runnable at the end of the iteration (else its segment ends there). */
  readonly runnable: boolean;
  readonly latencyNs?: number;
  readonly balance?: Readonly<Record<string, number>>;
}

export class RunSegments {
  private open: (RunSegment | null)[];

  constructor(pcpus: number) {
    this.open = new Array(pcpus).fill(null);
  }

  /**
   * Accounts one iteration that started at `nowNs`; returns the segments that ended (to be logged),
   * in pCPU order.
   */
  step(nowNs: number, ran: readonly (PcpuRan | null)[]): RunSegment[] {
    const closed: RunSegment[] = [];
    ran.forEach((r, pcpu) => {
      const o = this.open[pcpu];
      const continues =
        o !== null && r !== null && r.ranNs > 0 && o.vm === r.vm && o.vcpu === r.vcpu && o.startNs + o.ns === nowNs && r.latencyNs === undefined;
      if (o && !continues) {
        closed.push(o);
        this.open[pcpu] = null;
      }
      if (!r || r.ranNs <= 0) return;
      const seg = continues
        ? o!
        : { pcpu, vm: r.vm, vcpu: r.vcpu, startNs: nowNs, ns: 0, ...(r.latencyNs !== undefined ? { latencyNs: r.latencyNs } : {}) };
      seg.ns += r.ranNs;
      if (r.balance) seg.balance = r.balance;
      this.open[pcpu] = seg;
      if (!r.runnable) {
        closed.push(seg);
        this.open[pcpu] = null;
      }
    });
    return closed;
  }

  /** Ends every open segment (the loop stopped), in pCPU order. */
  closeAll(): RunSegment[] {
    const closed = this.open.filter((o): o is RunSegment => o !== null);
    this.open.fill(null);
    return closed;
  }

  /** Ends the open segments of VM `vm` (it migrated away), in pCPU order. */
  closeVm(vm: string): RunSegment[] {
    const closed: RunSegment[] = [];
    this.open.forEach((o, i) => {
      if (o?.vm !== vm) return;
      closed.push(o);
      this.open[i] = null;
    });
    return closed;
  }

  /** The open segments, for a loop handed to another scheduler service. */
  exportOpen(): (RunSegment | null)[] {
    return this.open.map((o) => (o ? { ...o } : null));
  }

  importOpen(open: readonly (RunSegment | null)[]): void {
    open.forEach((o, i) => {
      if (i < this.open.length) this.open[i] = o ? { ...o } : null;
    });
  }
}

/** The `run` event's detail: the segment's wake-up latency and the policy's balance, as JSON ('' if neither). */
export function runDetail(s: RunSegment): string {
  const d: Record<string, number> = { ...(s.latencyNs !== undefined ? { latencyNs: s.latencyNs } : {}), ...s.balance };
  return Object.keys(d).length > 0 ? JSON.stringify(d) : '';
}
