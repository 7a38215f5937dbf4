// Xen's RTDS (Real-Time Deferrable Server), after xen/common/sched/rt.c, as a vsim policy.
//
// Every vCPU has a budget and a period: at each period boundary its budget is replenished in full
// (rt_update_deadline, driven by repl_timer_handler) and its deadline moves to the period's end;
// budget left at the boundary is lost (a *deferrable* server: budget is kept while idle within the
// period, not carried over). Scheduling is global EDF over all the host's pCPUs (one run queue,
// runq_pick / compare_unit_priority): the N runnable vCPUs of highest priority run, priority being
// (priority_level ascending, deadline ascending). Running burns budget (burn_budget); a vCPU whose
// budget reaches 0 is depleted (__RTDS_depleted, on the depleted queue) until its next period —
// unless it has extratime, in which case burn_budget raises its priority_level and refills its
// budget, so it keeps running only where no vCPU of a lower level wants the pCPU.
//
// Mapping onto vsim: the host loop owns time. The replenishment timer (repl_timer) and each running
// vCPU's budget end become `until`: every decision holds until the earliest budget exhaustion or
// period boundary, so the loop calls schedule() at each; a wake (rt_unit_wake + runq_tickle) is
// followed by a schedule() at once, which preempts the lowest-priority running vCPU if the woken one
// outranks it. A boundary that closes a period with budget left while the vCPU was runnable (at
// level 0) is a deadline miss (sched.deadline_miss).
//
// Hard affinity (`pin`, rt.c's runq_pick skips units whose cpu_hard_affinity excludes the pCPU):
// with pins, the choice is greedy in priority order — each vCPU keeps its pCPU if allowed and still
// free, else takes the free allowed pCPU whose occupant ranks lowest (idle first, then the lowest
// index) — so a queued vCPU always finds every pCPU of its pin held by a higher-priority one.
//
// Simplifications (documented, not hidden): one cpupool per policy (cpupool.ts); the top-N choice is recomputed
// at every decision (the result equals rt.c's tickle-the-lowest-priority logic); a vCPU already on a
// pCPU keeps it when it stays in the top N (rt.c does the same by not migrating the running unit);
// no scheduling quantum overhead (rt.c's MIN_BUDGET / context-switch costs are ignored).

import { PolicyStateData, loadStateInto, saveStateOf } from './policy-state';
import { Affinity, allows, readAffinity } from './affinity';
import { RTDS } from '@vsim/vocabulary';
import type { SchedTracePoint } from '@vsim/vocabulary';
import { Decision, PolicyQueues, SchedulerPolicy, SchedTrace, VcpuRef, VmSchedParams, registerScheduler } from './policy';
import { readRealtimeParams, RealtimeSnapshot } from './sedf';

// ---- Constants (rt.c) ------------------------------------------------------------------------
/** RTDS_DEFAULT_PERIOD: MICROSECS(10000), in ns (the registry's descriptor, @vsim/vocabulary, holds it). */
export const RTDS_DEFAULT_PERIOD_NS: number = RTDS.vmDefaults.period;
/** RTDS_DEFAULT_BUDGET: MICROSECS(4000), in ns. */
export const RTDS_DEFAULT_BUDGET_NS: number = RTDS.vmDefaults.budget;
/** rt_alloc_udata sets RTDS_extratime on every non-idle unit: extratime is on by default. */
export const RTDS_DEFAULT_EXTRATIME = true;
/** RTDS_MIN_BUDGET / RTDS_MIN_PERIOD (rt_dom_cntl's lower bounds), MICROSECS(10). */
export const RTDS_MIN_NS = 10_000;

interface Rsvc {
  readonly ref: VcpuRef;
  affinity: Affinity;
  period: number;
  budget: number;
  extratime: boolean;
  /** cur_deadline: the end of the current period. */
  deadline: number;
  /** cur_budget. */
  cur: number;
  /** priority_level: 0 while within budget, +1 per extratime refill. */
  level: number;
  runnable: boolean;
  misses: number;
}

export class RtdsPolicy implements SchedulerPolicy {
  readonly name = 'rtds';
  trace?: SchedTrace;
  private readonly svcs = new Map<string, Rsvc>();
  private readonly running: (Rsvc | null)[];

  constructor(private readonly npcpus: number) {
    if (!(Number.isInteger(npcpus) && npcpus > 0)) throw new RangeError(`rtds: pcpus must be a positive integer, got ${npcpus}`);
    this.running = new Array(npcpus).fill(null);
  }

  /** Its complete state, JSON-safe (policy-state.ts), for a checkpoint or a same-policy handover. */
  saveState(): PolicyStateData {
    return saveStateOf(this);
  }

  /** Continues from saveState's output exactly; TypeError naming the field if it does not fit. */
  loadState(state: unknown): void {
    loadStateInto(this, state);
  }

  /** rt_alloc_udata + rt_unit_insert: the first period starts now (rt_update_deadline). */
  add(v: VcpuRef, params: VmSchedParams, now: number): void {
    if (this.svcs.has(v.key)) throw new Error(`rtds: vCPU ${v.key} added twice`);
    const p = readRealtimeParams(
      'rtds',
      v.key,
      params,
      RTDS_DEFAULT_BUDGET_NS,
      RTDS_DEFAULT_PERIOD_NS,
      'budget',
      'extratime',
      RTDS_DEFAULT_EXTRATIME,
    );
    this.svcs.set(v.key, {
      ref: v,
      affinity: readAffinity('rtds', v, params, this.npcpus),
      period: p.period,
      budget: p.slice,
      extratime: p.extra,
      deadline: now + p.period,
      cur: p.slice,
      level: 0,
      runnable: true,
      misses: 0,
    });
  }

  /** rt_unit_remove. */
  remove(v: VcpuRef): void {
    const s = this.svcs.get(v.key);
    if (!s) return;
    this.svcs.delete(v.key);
    this.unrun(s);
  }

  /** rt_unit_wake: back on the run queue (its deadline catches up at schedule(), as rt_update_deadline). */
  wake(v: VcpuRef, _now: number): void {
    this.mustGet(v).runnable = true;
  }

  /** rt_unit_sleep: off the queues; its pCPU re-decides at the next schedule(). */
  sleep(v: VcpuRef, _now: number): void {
    const s = this.mustGet(v);
    s.runnable = false;
    this.unrun(s);
  }

  /** burn_budget: the time run is taken from cur_budget; at 0, extratime refills at a lower level. */
  charge(v: VcpuRef, ranNs: number, now: number): void {
    const s = this.svcs.get(v.key);
    if (!s || !(ranNs > 0)) return;
    s.cur -= ranNs;
    if (s.cur <= 0) {
      if (s.extratime) {
        s.level++;
        s.cur = s.budget;
      } else {
        s.cur = 0;
        this.emit('depleted', now, s);
      }
    }
  }

  /** rt_dom_cntl (XEN_DOMCTL_SCHEDOP_putinfo): new budget/period/extratime, the current budget clamped. */
  setParams(v: VcpuRef, params: VmSchedParams, _now: number): void {
    const s = this.mustGet(v);
    const p = readRealtimeParams(
      'rtds',
      v.key,
      { budget: s.budget, period: s.period, extratime: s.extratime, ...params },
      s.budget,
      s.period,
      'budget',
      'extratime',
      s.extratime,
    );
    s.affinity = readAffinity('rtds', v, params, this.npcpus);
    const p0 = this.running.indexOf(s);
    if (p0 >= 0 && !allows(s.affinity, p0)) this.running[p0] = null; // re-placed at the next schedule()
    s.budget = p.slice;
    s.period = p.period;
    s.extratime = p.extra;
    s.cur = Math.min(s.cur, s.budget);
    // A depleted vCPU given extratime is refilled one level down at once, as burn_budget would have
    // (rt_dom_cntl itself leaves it depleted until its next replenishment; see xen-devel's
    // "rtds: extratime" fixes, which apply burn_budget's demotion-and-refill here too).
    if (s.extratime && s.cur === 0) {
      s.level++;
      s.cur = s.budget;
    }
  }

  /**
   * repl_timer_handler (replenishments due), then rt_schedule on every pCPU: the N highest-priority
   * runnable vCPUs with budget run (runq_pick); the rest wait in the run queue or depleted queue.
   */
  schedule(now: number): Decision {
    for (const s of this.svcs.values()) this.updateDeadline(s, now);
    const ready = [...this.svcs.values()].filter((s) => s.runnable && s.cur > 0).sort(comparePriority);
    if (ready.some((s) => s.affinity !== null)) return this.decide(this.placePinned(ready), now);
    const chosen = new Set(ready.slice(0, this.npcpus));
    // Keep the chosen ones that already run where they are; the others take the freed pCPUs in order.
    for (let p = 0; p < this.npcpus; p++) {
      const r = this.running[p];
      if (r && !chosen.has(r)) this.running[p] = null;
    }
    const placed = new Set(this.running.filter((r): r is Rsvc => r !== null));
    for (const s of chosen) {
      if (placed.has(s)) continue;
      const p = this.running.indexOf(null);
      this.running[p] = s;
    }
    return this.decide(this.running, now);
  }

  /** The decision, holding until the earliest budget exhaustion or period boundary. */
  private decide(running: (Rsvc | null)[], now: number): Decision {
    if (running !== this.running) running.forEach((r, p) => (this.running[p] = r));
    let until = Number.POSITIVE_INFINITY;
    for (const r of this.running) if (r) until = Math.min(until, now + r.cur);
    for (const s of this.svcs.values()) if (s.runnable) until = Math.min(until, s.deadline);
    return { run: this.running.map((r) => r?.ref ?? null), until };
  }

  /**
   * Global EDF under hard affinity, greedy in priority order: a vCPU keeps its pCPU if allowed and
   * unclaimed, else claims the unclaimed allowed pCPU whose current occupant ranks lowest (idle or
   * no longer ready first, then the lowest priority; ties: lowest index), else waits.
   */
  private placePinned(ready: readonly Rsvc[]): (Rsvc | null)[] {
    const next: (Rsvc | null)[] = new Array(this.npcpus).fill(null);
    const readySet = new Set(ready);
    const rank = (p: number) => {
      const r = this.running[p];
      return r && readySet.has(r) ? ready.indexOf(r) : Number.POSITIVE_INFINITY;
    };
    for (const s of ready) {
      const cur = this.running.indexOf(s);
      if (cur >= 0 && allows(s.affinity, cur) && next[cur] === null) {
        next[cur] = s;
        continue;
      }
      let best = -1;
      for (let p = 0; p < this.npcpus; p++) {
        if (next[p] !== null || !allows(s.affinity, p)) continue;
        if (best < 0 || rank(p) > rank(best)) best = p;
      }
      if (best >= 0) next[best] = s;
    }
    return next;
  }

  /** rt_update_deadline: close the periods that ended (miss if runnable with budget left), replenish. */
  private updateDeadline(s: Rsvc, now: number): void {
    if (now < s.deadline) return;
    if (s.runnable && s.level === 0 && s.cur > 0) {
      s.misses++;
      this.emit('deadline_miss', now, s, `${s.cur} ns of ${s.budget} unmet`);
    }
    // "count = (now - svc->cur_deadline) / svc->period + 1": stay on the original grid.
    const count = Math.floor((now - s.deadline) / s.period) + 1;
    s.deadline += count * s.period;
    s.cur = s.budget;
    s.level = 0;
    this.emit('replenish', now, s, `deadline ${s.deadline}`);
  }

  /**
   * Where every vCPU is (for hand-over checks, also before the first schedule(), so without
   * check()'s scheduling invariants): runnable ones not running are queued, depleted or not.
   */
  queues(): PolicyQueues {
    const running = this.running.map((x) => x?.ref.key ?? null);
    const on = new Set(running);
    const all = [...this.svcs.values()];
    return {
      running,
      queued: [all.filter((x) => x.runnable && !on.has(x.ref.key)).map((x) => x.ref.key)],
      asleep: all.filter((x) => !x.runnable).map((x) => x.ref.key),
    };
  }

  misses(key: string): number {
    return this.svcs.get(key)?.misses ?? 0;
  }

  allMisses(): Map<string, number> {
    return new Map([...this.svcs].map(([k, s]) => [k, s.misses]));
  }

  /** The budget (ns) left in the vCPU's current period (SchedulerPolicy.balance). */
  balance(v: VcpuRef): Readonly<Record<string, number>> | undefined {
    const s = this.svcs.get(v.key);
    return s && { budget: s.cur };
  }

  inspect(key: string): { cur: number; deadline: number; level: number; misses: number } | undefined {
    const s = this.svcs.get(key);
    return s && { cur: s.cur, deadline: s.deadline, level: s.level, misses: s.misses };
  }

  /**
   * Invariants after schedule(): no vCPU on two pCPUs; a running vCPU is known, runnable and has
   * budget; every runnable vCPU is running, queued or depleted; global EDF: no queued vCPU outranks
   * a running one, and no pCPU idles while a vCPU with budget waits. Throws on a violation.
   */
  check(): RealtimeSnapshot {
    const seen = new Set<string>();
    this.running.forEach((s, p) => {
      if (!s) return;
      if (seen.has(s.ref.key)) throw new Error(`rtds invariant: ${s.ref.key} runs on two pCPUs`);
      seen.add(s.ref.key);
      if (this.svcs.get(s.ref.key) !== s) throw new Error(`rtds invariant: removed ${s.ref.key} runs on ${p}`);
      if (!s.runnable) throw new Error(`rtds invariant: blocked ${s.ref.key} runs on ${p}`);
      if (!(s.cur > 0)) throw new Error(`rtds invariant: ${s.ref.key} runs on ${p} without budget`);
      if (!allows(s.affinity, p)) throw new Error(`rtds invariant: ${s.ref.key} runs on ${p} outside its pin`);
    });
    const queued: string[] = [];
    const depleted: string[] = [];
    const blocked: string[] = [];
    for (const s of this.svcs.values()) {
      if (!(s.cur >= 0 && s.cur <= s.budget)) throw new Error(`rtds invariant: ${s.ref.key} budget ${s.cur} outside [0, ${s.budget}]`);
      if (seen.has(s.ref.key)) continue;
      if (!s.runnable) blocked.push(s.ref.key);
      else if (s.cur > 0) {
        queued.push(s.ref.key);
        this.running.forEach((r, p) => {
          if (!allows(s.affinity, p)) return;
          if (!r) throw new Error(`rtds invariant: ${s.ref.key} waits while pCPU ${p} of its pin idles`);
          if (comparePriority(s, r) < 0) throw new Error(`rtds invariant: queued ${s.ref.key} outranks running ${r.ref.key} on pCPU ${p} of its pin`);
        });
      } else depleted.push(s.ref.key);
    }
    if (seen.size + queued.length + depleted.length + blocked.length !== this.svcs.size) throw new Error('rtds invariant: vCPU(s) lost');
    return { running: this.running.map((s) => s?.ref.key ?? null), queued: [queued], depleted, blocked };
  }

  private unrun(s: Rsvc): void {
    const p = this.running.indexOf(s);
    if (p >= 0) this.running[p] = null;
  }

  private mustGet(v: VcpuRef): Rsvc {
    const s = this.svcs.get(v.key);
    if (!s) throw new Error(`rtds: unknown vCPU ${v.key}`);
    return s;
  }

  private emit(kind: SchedTracePoint, now: number, s: Rsvc, detail = ''): void {
    const pcpu = this.running.indexOf(s);
    this.trace?.(kind, now, { pcpu, vm: s.ref.vm, vcpu: s.ref.vcpu, detail });
  }
}

/** compare_unit_priority: lower priority_level first, then earlier deadline (key breaks ties). */
function comparePriority(a: Rsvc, b: Rsvc): number {
  if (a.level !== b.level) return a.level - b.level;
  if (a.deadline !== b.deadline) return a.deadline - b.deadline;
  return a.ref.key < b.ref.key ? -1 : a.ref.key > b.ref.key ? 1 : 0;
}

/** Registered as `rtds` (registry.ts); no scheduler-wide parameters: budget, period and extratime are per VM. */
export const RTDS_SCHEDULER = registerScheduler(RTDS, (pcpus) => new RtdsPolicy(pcpus));
