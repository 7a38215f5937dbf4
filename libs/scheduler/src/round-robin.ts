// Round robin: the baseline policy. One FIFO of runnable vCPUs per host; each pCPU runs the vCPU at
// the head for one time slice, then puts it at the tail. A vCPU that blocks gives its pCPU up at
// once; one that wakes joins the tail. Equal shares, no weights: the yardstick the Xen policies
// are compared against. Hard affinity (`pin`): a pCPU takes the first queued vCPU allowed on it.

import { PolicyStateData, loadStateInto, saveStateOf } from './policy-state';
import { Affinity, allows, readAffinity } from './affinity';
import { ROUND_ROBIN } from '@vsim/vocabulary';
import { Decision, PolicyQueues, SchedulerPolicy, VcpuRef, VmSchedParams, registerScheduler } from './policy';

/** Default slice: Xen Credit's 30 ms would make short demos coarse; 10 ms is Linux CFS-like. */
export const RR_DEFAULT_TIMESLICE_NS = 10_000_000;

interface Running {
  v: VcpuRef;
  sliceEnd: number;
}

export class RoundRobinPolicy implements SchedulerPolicy {
  readonly name = 'round-robin';
  private readonly queue: VcpuRef[] = [];
  private readonly running: (Running | null)[];
  private readonly runnable = new Set<string>();
  private readonly affinity = new Map<string, Affinity>();

  constructor(
    pcpus: number,
    private timesliceNs = RR_DEFAULT_TIMESLICE_NS,
  ) {
    if (!(timesliceNs > 0)) throw new RangeError(`round-robin timeslice must be positive, got ${timesliceNs}`);
    this.running = new Array(pcpus).fill(null);
  }

  add(v: VcpuRef, params: VmSchedParams, _now: number): void {
    this.affinity.set(v.key, readAffinity('round-robin', v, params, this.running.length));
    this.runnable.add(v.key);
    this.queue.push(v);
  }

  remove(v: VcpuRef): void {
    this.runnable.delete(v.key);
    this.affinity.delete(v.key);
    this.dequeue(v);
  }

  /** A new pin: a vCPU running on a pCPU it may no longer use goes back to the head of the queue. */
  setParams(v: VcpuRef, params: VmSchedParams): void {
    const aff = readAffinity('round-robin', v, params, this.running.length);
    this.affinity.set(v.key, aff);
    const p = this.running.findIndex((r) => r?.v.key === v.key);
    if (p >= 0 && !allows(aff, p)) {
      this.running[p] = null;
      this.queue.unshift(v);
    }
  }

  wake(v: VcpuRef): void {
    if (this.runnable.has(v.key)) return;
    this.runnable.add(v.key);
    this.queue.push(v);
  }

  sleep(v: VcpuRef): void {
    this.runnable.delete(v.key);
    this.dequeue(v);
  }

  /** `timeslice` (ns): slices started from now on have the new length. */
  setSchedulerParams(params: Readonly<Record<string, unknown>>): void {
    for (const k of Object.keys(params)) if (k !== 'timeslice') throw new RangeError(`round-robin: unknown scheduler parameter '${k}' (timeslice)`);
    const t = params.timeslice ?? this.timesliceNs;
    if (typeof t !== 'number' || !(t > 0)) throw new RangeError(`round-robin timeslice must be positive, got ${String(t)}`);
    this.timesliceNs = t;
  }

  queues(): PolicyQueues {
    // Every vCPU it holds has an affinity entry; those not runnable are asleep.
    const asleep = [...this.affinity.keys()].filter((k) => !this.runnable.has(k));
    return { running: this.running.map((r) => r?.v.key ?? null), queued: [this.queue.map((v) => v.key)], asleep };
  }

  /** Its complete state, JSON-safe (policy-state.ts), for a checkpoint or a same-policy handover. */
  saveState(): PolicyStateData {
    return saveStateOf(this);
  }

  /** Continues from saveState's output exactly; TypeError naming the field if it does not fit. */
  loadState(state: unknown): void {
    loadStateInto(this, state);
  }

  charge(): void {
    // Round robin keeps no account: every slice is the same length.
  }

  private dequeue(v: VcpuRef): void {
    const i = this.queue.findIndex((q) => q.key === v.key);
    if (i >= 0) this.queue.splice(i, 1);
    for (let p = 0; p < this.running.length; p++) if (this.running[p]?.v.key === v.key) this.running[p] = null;
  }

  schedule(now: number): Decision {
    // Expired slices go to the tail first, in pCPU order, so the order of the queue is deterministic.
    for (let p = 0; p < this.running.length; p++) {
      const r = this.running[p];
      if (r && r.sliceEnd <= now) {
        this.running[p] = null;
        this.queue.push(r.v);
      }
    }
    for (let p = 0; p < this.running.length; p++) {
      if (this.running[p] !== null) continue;
      const i = this.queue.findIndex((v) => allows(this.affinity.get(v.key) ?? null, p));
      if (i >= 0) this.running[p] = { v: this.queue.splice(i, 1)[0], sliceEnd: now + this.timesliceNs };
    }
    let until = Number.POSITIVE_INFINITY;
    for (const r of this.running) if (r) until = Math.min(until, r.sliceEnd);
    return { run: this.running.map((r) => r?.v ?? null), until };
  }
}

/** Registered as `round-robin` (registry.ts). */
export const ROUND_ROBIN_SCHEDULER = registerScheduler(ROUND_ROBIN, (pcpus, p) => new RoundRobinPolicy(pcpus, p.timeslice));
