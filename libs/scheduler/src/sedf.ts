// Xen's SEDF (Simple Earliest Deadline First), after the old xen/common/sched_sedf.c (removed in
// Xen 4.6), as a vsim policy.
//
// Every vCPU has a slice n and a period m: in each period it is guaranteed n of CPU time by the
// period's end, its deadline (deadl_abs). Each pCPU keeps its own EDF run queue: the runnable vCPU
// with budget left and the earliest deadline runs (sedf_do_schedule / desched_edf_dom). A vCPU
// that used its slice waits for its next period (the "waitq" of sedf.c, update_queues moves it
// back at the period boundary with a fresh slice); with `extra` it may run in slack time, when no
// vCPU of its pCPU with budget is runnable, one EXTRA_QUANTUM at a time, least recently served
// first (sedf.c's L1 extra queue, round robin).
//
// Mapping onto vsim: the host loop owns time. Every decision returns as `until` the earliest of the
// running vCPU's budget exhaustion (or extra quantum end) and the next period boundary of any vCPU
// of the pCPU, so the policy re-decides at each; wakes are followed by a schedule() at once. Period
// boundaries are processed lazily at schedule(now): a period that ends with budget left while the
// vCPU is runnable is a deadline miss (sched.deadline_miss), then the slice is replenished
// (sched.replenish).
//
// Simplifications (documented, not hidden): vCPUs are assigned to pCPUs round-robin in the order
// they are added (vCPU i goes to pCPU i mod N) and never migrate (sedf.c had one run queue per pCPU
// and no load balancing either); no L0 "weighted" extra time and no latency-scaling
// (unblock_*_burst variants): a vCPU waking after its deadline starts a new period on its original
// grid (like RTDS' rt_update_deadline) instead of sedf_wake's "period starts now".
//
// Hard affinity (`pin`, which the old sedf.c honoured through v->cpu_affinity in sedf_pick_cpu): a
// vCPU is placed on the first pCPU of its pin at or after its round-robin slot; a new pin that
// excludes its pCPU moves it (with its budget and deadline) to the first allowed pCPU.

import { PolicyStateData, loadStateInto, saveStateOf } from './policy-state';
import { Affinity, allows, firstAllowed, readAffinity } from './affinity';
import { SEDF } from '@vsim/vocabulary';
import type { SchedTracePoint } from '@vsim/vocabulary';
import { Decision, PolicyQueues, SchedulerPolicy, SchedTrace, VcpuRef, VmSchedParams, registerScheduler } from './policy';

// ---- Constants -----------------------------------------------------------------------------
/** Default slice when a VM gives none: SEDF's descriptor in the policy registry (@vsim/vocabulary), 10 ms. */
export const SEDF_DEFAULT_SLICE_NS: number = SEDF.vmDefaults.slice;
/** Default period: SEDF's descriptor, 100 ms (RTDS has its own, rtds.ts). */
export const SEDF_DEFAULT_PERIOD_NS: number = SEDF.vmDefaults.period;
/** Default `extra`: the scenario format's default. */
export const SEDF_DEFAULT_EXTRA = true;
/** sched_sedf.c: #define EXTRA_QUANTUM (MICROSECS(500)): one slot of slack time. */
export const SEDF_EXTRA_QUANTUM_NS = 500_000;
/** sched_sedf.c: PERIOD_MIN / SLICE_MIN were MICROSECS(10) / MICROSECS(5). */
export const SEDF_PERIOD_MIN_NS = 10_000;
export const SEDF_SLICE_MIN_NS = 5_000;

interface Sdom {
  readonly ref: VcpuRef;
  pcpu: number;
  affinity: Affinity;
  period: number;
  slice: number;
  extra: boolean;
  /** deadl_abs: the end of the current period. */
  deadline: number;
  /** Budget left in this period (slice - cputime). */
  cur: number;
  runnable: boolean;
  misses: number;
  /** When it last got slack time (for the round-robin of the extra queue). */
  lastExtra: number;
}

/** Where every vCPU is, as check() reports it. */
export interface RealtimeSnapshot {
  readonly running: readonly (string | null)[];
  /** Runnable with budget, waiting (run queue), per pCPU for SEDF, one entry for RTDS. */
  readonly queued: readonly (readonly string[])[];
  /** Runnable, budget used up, waiting for the next period (sedf waitq / rt depletedq). */
  readonly depleted: readonly string[];
  readonly blocked: readonly string[];
}

function readParams(
  who: string,
  key: string,
  params: VmSchedParams,
  defSlice: number,
  defPeriod: number,
  sliceKey: string,
  extraKey: string,
  defExtra: boolean,
) {
  const slice = params[sliceKey] ?? defSlice;
  const period = params.period ?? defPeriod;
  const extra = params[extraKey] ?? defExtra;
  if (typeof period !== 'number' || !(period > 0))
    throw new RangeError(`${who}: period of ${key} must be a positive number of ns, got ${String(period)}`);
  if (typeof slice !== 'number' || !(slice > 0) || slice > period)
    throw new RangeError(`${who}: ${sliceKey} of ${key} must be in (0, period], got ${String(slice)}`);
  if (typeof extra !== 'boolean') throw new RangeError(`${who}: ${extraKey} of ${key} must be a boolean`);
  return { slice, period, extra };
}
export { readParams as readRealtimeParams };

export class SedfPolicy implements SchedulerPolicy {
  readonly name = 'sedf';
  trace?: SchedTrace;
  private readonly doms = new Map<string, Sdom>();
  private readonly running: (Sdom | null)[];
  /** Whether the decision on each pCPU is slack time (extra) rather than budgeted time. */
  private readonly inExtra: boolean[];
  private added = 0;

  constructor(private readonly npcpus: number) {
    if (!(Number.isInteger(npcpus) && npcpus > 0)) throw new RangeError(`sedf: pcpus must be a positive integer, got ${npcpus}`);
    this.running = new Array(npcpus).fill(null);
    this.inExtra = new Array(npcpus).fill(false);
  }

  /** Its complete state, JSON-safe (policy-state.ts), for a checkpoint or a same-policy handover. */
  saveState(): PolicyStateData {
    return saveStateOf(this);
  }

  /** Continues from saveState's output exactly; TypeError naming the field if it does not fit. */
  loadState(state: unknown): void {
    loadStateInto(this, state);
  }

  /** sedf_alloc_vdata + sedf_insert_vcpu: a new period starts now with a full slice. */
  add(v: VcpuRef, params: VmSchedParams, now: number): void {
    if (this.doms.has(v.key)) throw new Error(`sedf: vCPU ${v.key} added twice`);
    const p = readParams('sedf', v.key, params, SEDF_DEFAULT_SLICE_NS, SEDF_DEFAULT_PERIOD_NS, 'slice', 'extra', SEDF_DEFAULT_EXTRA);
    const affinity = readAffinity('sedf', v, params, this.npcpus);
    this.doms.set(v.key, {
      ref: v,
      pcpu: firstAllowed(affinity, this.added++ % this.npcpus, this.npcpus),
      affinity,
      ...p,
      deadline: now + p.period,
      cur: p.slice,
      runnable: true,
      misses: 0,
      lastExtra: -1,
    });
  }

  remove(v: VcpuRef): void {
    const d = this.doms.get(v.key);
    if (!d) return;
    this.doms.delete(v.key);
    if (this.running[d.pcpu] === d) this.running[d.pcpu] = null;
  }

  /** sedf_wake: the vCPU joins its pCPU's queues; its period catches up at the next schedule(). */
  wake(v: VcpuRef, _now: number): void {
    this.mustGet(v).runnable = true;
  }

  /** sedf_sleep: off the queues; if it was running its pCPU re-decides at the next schedule(). */
  sleep(v: VcpuRef, _now: number): void {
    const d = this.mustGet(v);
    d.runnable = false;
    if (this.running[d.pcpu] === d) this.running[d.pcpu] = null;
  }

  /** desched_edf_dom: the time run is taken from the slice (slack time costs nothing). */
  charge(v: VcpuRef, ranNs: number, _now: number): void {
    const d = this.doms.get(v.key);
    if (!d || !(ranNs > 0)) return;
    if (this.inExtra[d.pcpu] && this.running[d.pcpu] === d) return;
    d.cur = Math.max(0, d.cur - ranNs);
  }

  /** sedf_adjust (XEN_DOMCTL_SCHEDOP_putinfo): new slice/period/extra, the current budget clamped. */
  setParams(v: VcpuRef, params: VmSchedParams, now: number): void {
    const d = this.mustGet(v);
    const p = readParams(
      'sedf',
      v.key,
      { slice: d.slice, period: d.period, extra: d.extra, ...params },
      d.slice,
      d.period,
      'slice',
      'extra',
      d.extra,
    );
    const affinity = readAffinity('sedf', v, params, this.npcpus);
    d.slice = p.slice;
    d.period = p.period;
    d.extra = p.extra;
    d.cur = Math.min(d.cur, d.slice);
    d.affinity = affinity;
    if (!allows(d.affinity, d.pcpu)) {
      if (this.running[d.pcpu] === d) this.running[d.pcpu] = null;
      const from = d.pcpu;
      d.pcpu = firstAllowed(d.affinity, d.pcpu, this.npcpus);
      this.emit('migrate', now, d, `from ${from}`);
    }
  }

  /** sedf_do_schedule on every pCPU: update_queues, then EDF among budgeted vCPUs, else slack. */
  schedule(now: number): Decision {
    for (const d of this.doms.values()) this.updateQueues(d, now);
    let until = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.npcpus; p++) {
      const mine = [...this.doms.values()].filter((d) => d.pcpu === p);
      let best: Sdom | null = null;
      for (const d of mine) {
        if (d.runnable && d.cur > 0 && (!best || d.deadline < best.deadline || (d.deadline === best.deadline && d.ref.key < best.ref.key))) best = d;
      }
      let extra = false;
      if (!best) {
        // Slack time: the least recently served runnable vCPU with `extra` (L1 extra queue).
        for (const d of mine) {
          if (d.runnable && d.extra && (!best || d.lastExtra < best.lastExtra || (d.lastExtra === best.lastExtra && d.ref.key < best.ref.key)))
            best = d;
        }
        extra = best !== null;
        if (best) best.lastExtra = now;
      }
      this.running[p] = best;
      this.inExtra[p] = extra;
      if (best) until = Math.min(until, now + (extra ? SEDF_EXTRA_QUANTUM_NS : best.cur));
      // Every period boundary on this pCPU may change the choice (a replenished vCPU preempts).
      for (const d of mine) until = Math.min(until, d.deadline);
    }
    return { run: this.running.map((d) => d?.ref ?? null), until };
  }

  /** update_queues: periods that ended are closed (miss if runnable with budget left) and replenished. */
  private updateQueues(d: Sdom, now: number): void {
    if (now < d.deadline) return;
    if (d.runnable && d.cur > 0) {
      d.misses++;
      this.emit('deadline_miss', now, d, `${d.cur} ns of ${d.slice} unmet`);
    }
    // Periods that passed whole while it slept are skipped on the original grid.
    const count = Math.floor((now - d.deadline) / d.period) + 1;
    d.deadline += count * d.period;
    d.cur = d.slice;
    this.emit('replenish', now, d, `deadline ${d.deadline}`);
  }

  /** Deadline misses of a vCPU so far. */
  /**
   * Where every vCPU is (for hand-over checks, also before the first schedule(), so without
   * check()'s scheduling invariants): runnable ones not running are queued, depleted or not.
   */
  queues(): PolicyQueues {
    const running = this.running.map((x) => x?.ref.key ?? null);
    const on = new Set(running);
    const all = [...this.doms.values()];
    return {
      running,
      queued: [all.filter((x) => x.runnable && !on.has(x.ref.key)).map((x) => x.ref.key)],
      asleep: all.filter((x) => !x.runnable).map((x) => x.ref.key),
    };
  }

  misses(key: string): number {
    return this.doms.get(key)?.misses ?? 0;
  }

  /** Deadline misses of every vCPU. */
  allMisses(): Map<string, number> {
    return new Map([...this.doms].map(([k, d]) => [k, d.misses]));
  }

  /** The slice (ns) left in the vCPU's current period (SchedulerPolicy.balance). */
  balance(v: VcpuRef): Readonly<Record<string, number>> | undefined {
    const d = this.doms.get(v.key);
    return d && { budget: d.cur };
  }

  inspect(key: string): { cur: number; deadline: number; pcpu: number; misses: number } | undefined {
    const d = this.doms.get(key);
    return d && { cur: d.cur, deadline: d.deadline, pcpu: d.pcpu, misses: d.misses };
  }

  /**
   * Invariants after schedule(): no vCPU on two pCPUs; a running vCPU is runnable, known, on its own
   * pCPU, and has budget unless in slack time (and then has `extra`); every runnable vCPU is running,
   * queued or depleted; budgets stay in [0, slice]. Throws on a violation.
   */
  check(): RealtimeSnapshot {
    const seen = new Set<string>();
    this.running.forEach((d, p) => {
      if (!d) return;
      if (seen.has(d.ref.key)) throw new Error(`sedf invariant: ${d.ref.key} runs on two pCPUs`);
      seen.add(d.ref.key);
      if (this.doms.get(d.ref.key) !== d) throw new Error(`sedf invariant: removed ${d.ref.key} runs on ${p}`);
      if (!d.runnable) throw new Error(`sedf invariant: blocked ${d.ref.key} runs on ${p}`);
      if (d.pcpu !== p) throw new Error(`sedf invariant: ${d.ref.key} of pCPU ${d.pcpu} runs on ${p}`);
      if (!allows(d.affinity, p)) throw new Error(`sedf invariant: ${d.ref.key} runs on ${p} outside its pin`);
      if (this.inExtra[p] ? !d.extra : !(d.cur > 0)) throw new Error(`sedf invariant: ${d.ref.key} runs on ${p} without budget or extra`);
    });
    const queued: string[][] = Array.from({ length: this.npcpus }, () => []);
    const depleted: string[] = [];
    const blocked: string[] = [];
    for (const d of this.doms.values()) {
      if (!(d.cur >= 0 && d.cur <= d.slice)) throw new Error(`sedf invariant: ${d.ref.key} budget ${d.cur} outside [0, ${d.slice}]`);
      if (seen.has(d.ref.key)) continue;
      if (!d.runnable) blocked.push(d.ref.key);
      else if (d.cur > 0) queued[d.pcpu].push(d.ref.key);
      else depleted.push(d.ref.key);
    }
    const total = seen.size + queued.reduce((a, q) => a + q.length, 0) + depleted.length + blocked.length;
    if (total !== this.doms.size) throw new Error(`sedf invariant: ${this.doms.size - total} vCPU(s) lost`);
    return { running: this.running.map((d) => d?.ref.key ?? null), queued, depleted, blocked };
  }

  private mustGet(v: VcpuRef): Sdom {
    const d = this.doms.get(v.key);
    if (!d) throw new Error(`sedf: unknown vCPU ${v.key}`);
    return d;
  }

  private emit(kind: SchedTracePoint, now: number, d: Sdom, detail: string): void {
    this.trace?.(kind, now, { pcpu: d.pcpu, vm: d.ref.vm, vcpu: d.ref.vcpu, detail });
  }
}

/** Registered as `sedf` (registry.ts); no scheduler-wide parameters: slice, period and extra are per VM. */
export const SEDF_SCHEDULER = registerScheduler(SEDF, (pcpus) => new SedfPolicy(pcpus));
