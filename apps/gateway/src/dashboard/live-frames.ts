// What the live dashboard and `vsim top` show of a running simulation, folded from its event
// stream into frames: each host's virtual time, the run segments logged since the last frame (the
// scrolling pCPU Gantt; `run` events, docs/events.md — exact CPU time, unlike schedule/block), each
// VM's CPU time and state (share, xentop's rows), and traps and hypercalls by cause since the last
// frame. Pure: the SSE route (live-route.ts) feeds it events and sends its frames.

import type { Event } from '@vsim/proto';
import type { SimSpec } from '@vsim/control';

/** A frame holds at most this many new run segments (the Gantt scrolls; older ones are dropped). */
export const MAX_SEGMENTS_PER_FRAME = 4000;

export interface LiveVm {
  readonly vm: string;
  readonly host: string;
  readonly vcpus: number;
  /** CPU time so far, ns (the sum of its `run` segments). */
  cpuNs: number;
  /** From its last state event: running (ran last), blocked, halted, paused, faulted. */
  state: string;
}

export interface LiveFrame {
  readonly sim: string;
  readonly name: string;
  readonly state: string;
  readonly durationNs: number;
  readonly hosts: readonly { host: string; pcpus: number; nowNs: number }[];
  /** New since the last frame: [host, pcpu, vm, vcpu, startNs, ns]. */
  readonly segments: readonly (readonly [string, number, string, number, number, number])[];
  readonly vms: readonly LiveVm[];
  /** Traps and hypercalls since the last frame, by cause ("kind cause"). */
  readonly traps: Readonly<Record<string, number>>;
  /** Wall-clock ms since the last frame (traps per second = count / wallMs * 1000). */
  readonly wallMs: number;
}

const STATE_OF: Readonly<Record<string, string>> = {
  block: 'blocked',
  wake: 'runnable',
  halt: 'halted',
  fault: 'faulted',
  pause: 'paused',
  unpause: 'runnable',
};

export class LiveFrames {
  private readonly nowNs = new Map<string, number>();
  private readonly vms = new Map<string, LiveVm>();
  private segments: [string, number, string, number, number, number][] = [];
  private traps: Record<string, number> = {};
  private lastFrameAt = Date.now();

  constructor(
    private readonly sim: string,
    private readonly spec: SimSpec,
  ) {
    for (const h of spec.hosts) this.nowNs.set(h.id, 0);
    for (const v of spec.vms) this.vms.set(v.id, { vm: v.id, host: v.host ?? '', vcpus: v.vcpus, cpuNs: 0, state: 'runnable' });
  }

  add(events: readonly Event[]): void {
    for (const e of events) {
      if (e.timeNs > (this.nowNs.get(e.host) ?? 0)) this.nowNs.set(e.host, e.timeNs);
      const vm = e.vm ? this.vms.get(e.vm) : undefined;
      if (e.kind === 'run') {
        this.segments.push([e.host, e.pcpu, e.vm, e.vcpu, e.timeNs, e.value]);
        const end = e.timeNs + e.value;
        if (end > (this.nowNs.get(e.host) ?? 0)) this.nowNs.set(e.host, end);
        if (vm) {
          vm.cpuNs += e.value;
          if (vm.state === 'runnable') vm.state = 'running';
        }
      } else if (e.kind === 'trap' || e.kind === 'hypercall') {
        const key = `${e.kind} ${e.cause || '?'}`;
        this.traps[key] = (this.traps[key] ?? 0) + 1;
      } else if (vm && STATE_OF[e.kind]) {
        vm.state = STATE_OF[e.kind];
      }
      // A placed VM (no host in the scenario) shows where its events say it runs.
      if (vm && !vm.host && e.host) (vm as { host: string }).host = e.host;
    }
  }

  /**
   * Rates count from now: the traps of the history a late viewer is first given are not "per
   * second" of anything (its run segments and CPU times stay).
   */
  startRates(): void {
    this.traps = {};
    this.lastFrameAt = Date.now();
  }

  /** The frame since the last one (and starts the next). */
  frame(state: string): LiveFrame {
    const now = Date.now();
    const segments = this.segments.length > MAX_SEGMENTS_PER_FRAME ? this.segments.slice(-MAX_SEGMENTS_PER_FRAME) : this.segments;
    const f: LiveFrame = {
      sim: this.sim,
      name: this.spec.name,
      state,
      durationNs: this.spec.durationNs,
      hosts: this.spec.hosts.map((h) => ({ host: h.id, pcpus: h.pcpus, nowNs: this.nowNs.get(h.id) ?? 0 })),
      segments,
      vms: [...this.vms.values()].map((v) => ({ ...v })),
      traps: this.traps,
      wallMs: Math.max(1, now - this.lastFrameAt),
    };
    this.segments = [];
    this.traps = {};
    this.lastFrameAt = now;
    return f;
  }
}
