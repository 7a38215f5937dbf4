// Xen's Credit2 scheduler, after xen/common/sched/credit2.c (Xen 4.14+; ported from xen-project/xen
// at commit 07b0eb5d0ef0), as a vsim policy. Names below are credit2.c's, so each piece can be found there.
//
// Every vCPU holds credit, in nanoseconds of the heaviest vCPU of its run queue: running burns it
// at max_weight / weight credits per ns (t2c_update), so a vCPU of weight w gets CPU in proportion
// to w. Run queues are ordered by credit (runq_insert); a pCPU runs the head unless the current
// vCPU has more (runq_candidate). When the vCPU chosen next has credit ≤ CSCHED2_CREDIT_RESET (0)
// an epoch ends: reset_credit adds CSCHED2_CREDIT_INIT to everyone on the run queue (clipped at
// INIT + CARRYOVER_MAX), and balance_load compares the decaying-average load of the run queues
// (update_runq_load, EWMA over a 2^30 ns window) and pushes, pulls or swaps vCPUs to even it out.
// A vCPU gets a slice until its credit would drop to that of the next waiting vCPU
// (csched2_runtime), clamped to [CSCHED2_MIN_TIMER, CSCHED2_MAX_TIMER] and the rate limit. A waking
// vCPU tickles an idle pCPU of its run queue, or the busy one whose vCPU has the least credit
// (runq_tickle / tickle_score), so a waking I/O-bound vCPU with credit to spare preempts a hog.
//
// What is modelled, function by function: csched2_alloc_udata, csched2_unit_insert (res_pick +
// runq_assign), csched2_unit_wake / _sleep / _remove, csched2_context_saved (delayed run-queue add,
// load update), csched2_schedule + runq_candidate (rate limit, migrate resistance, tickled-CPU
// deferral, MIGRATE_COMPENSATION), csched2_runtime, reset_credit, burn_credits / t2c_update / c2t,
// update_runq_load / update_svc_load, balance_load / consider / migrate, csched2_res_pick,
// runq_tickle / tickle_score / is_preemptable, update_max_weight, csched2_dom_cntl (weight, cap),
// csched2_sys_cntl (ratelimit), cpu_add_to_runqueue (run-queue arrangement with the MAX_CPUS_RUNQ
// cap), hard affinity everywhere Xen checks it (res_pick, runq_tickle, runq_candidate, migrate,
// unit_is_migrateable).
//
// Deviations (documented, not hidden): no SMT (smt_idle equals idle-and-untickled), no soft
// affinity (so tickle_score's soft-affinity bonus is always +CREDIT_INIT, as with Xen's default
// all-CPU soft mask), no yield, no tasklets; the host loop's `charge()` reports the exact time run,
// which is what burn_credits computes from start_time; context_saved happens inside the same
// scheduling call (vsim switches instantly); the read_trylock/spin_trylock failures Xen tolerates
// never happen here.
//
// Caps (`cap`, % of one pCPU) as credit2.c enforces them: the domain's budget (cap% of
// CSCHED2_BDGT_REPL_PERIOD) is replenished every period (replenish_domain_budget); a vCPU about to
// run grabs a quota of it (unit_grab_budget), returns what it did not use when switched off
// (unit_return_budget), and is parked when none is left (park_unit), until a replenishment or a
// return unparks it (unpark_parked_units).
//
// Trace points (sched.<kind> events): tickle, credit_reset, load_balance, migrate, affinity, park,
// unpark.

import { PolicyStateData, loadStateInto, saveStateOf } from './policy-state';
import { Affinity, allows, describeAffinity, firstAllowed, readAffinity } from './affinity';
import { CREDIT2, CREDIT2_RUNQUEUES } from '@vsim/vocabulary';
import type { SchedTracePoint } from '@vsim/vocabulary';
import { Decision, SchedulerPolicy, SchedTrace, VcpuRef, VmSchedParams, registerScheduler } from './policy';

// ---- Constants (credit2.c "Basic constants" and the load-tracking block) ---------------------
/** CSCHED2_DEFAULT_WEIGHT. */
export const CSCHED2_DEFAULT_WEIGHT = 256;
/** CSCHED2_MIN_TIMER = MICROSECS(500): no slice is shorter. */
export const CSCHED2_MIN_TIMER_NS = 500_000;
/** CSCHED2_CREDIT_INIT = MILLISECS(10): credit at start and added at each reset. */
export const CSCHED2_CREDIT_INIT = 10_000_000;
/** CSCHED2_CREDIT_MIN = -CSCHED2_CREDIT_INIT. */
export const CSCHED2_CREDIT_MIN = -CSCHED2_CREDIT_INIT;
/** CSCHED2_IDLE_CREDIT = CSCHED2_CREDIT_MIN - 1: what the idle vCPU counts as. */
export const CSCHED2_IDLE_CREDIT = CSCHED2_CREDIT_MIN - 1;
/** CSCHED2_CARRYOVER_MAX = CSCHED2_MIN_TIMER: most credit kept across a reset, above INIT. */
export const CSCHED2_CARRYOVER_MAX = CSCHED2_MIN_TIMER_NS;
/** CSCHED2_MIGRATE_RESIST = opt_migrate_resist (500) µs: credit edge needed to pull across pCPUs. */
export const CSCHED2_MIGRATE_RESIST_NS = 500_000;
/** CSCHED2_MIGRATE_COMPENSATION = MICROSECS(50): credit given to a vCPU that changed pCPU. */
export const CSCHED2_MIGRATE_COMPENSATION_NS = 50_000;
/** CSCHED2_RATELIMIT_TICKLE_TOLERANCE = MICROSECS(50). */
export const CSCHED2_RATELIMIT_TICKLE_TOLERANCE_NS = 50_000;
/** CSCHED2_CREDIT_RESET = 0: an epoch ends when the next vCPU has no more credit than this. */
export const CSCHED2_CREDIT_RESET = 0;
/** CSCHED2_MAX_TIMER = CSCHED2_CREDIT_INIT: no slice is longer. */
export const CSCHED2_MAX_TIMER_NS = CSCHED2_CREDIT_INIT;
/** sched_ratelimit_us default SCHED_DEFAULT_RATELIMIT_US = 1000 (sysctl.h), in ns. */
export const CSCHED2_DEFAULT_RATELIMIT_NS = 1_000_000;
/** CSCHED2_BDGT_REPL_PERIOD = opt_cap_period (10) ms: the cap replenishment period. */
export const CSCHED2_BDGT_REPL_PERIOD_NS = 10_000_000;
/** XEN_SYSCTL_SCHED_RATELIMIT_MIN/MAX (100 us, 500 ms), xen/include/public/sysctl.h, in ns. */
export const CSCHED2_RATELIMIT_MIN_NS = 100_000;
export const CSCHED2_RATELIMIT_MAX_NS = 500_000_000;
/** LOADAVG_GRANULARITY_SHIFT: time samples are in units of 2^10 ns. */
export const LOADAVG_GRANULARITY_SHIFT = 10;
/** LOADAVG_WINDOW_SHIFT: the decaying window is 2^30 ns (~1 s). */
export const LOADAVG_WINDOW_SHIFT = 30;
/** LOADAVG_PRECISION_SHIFT: loads are Q-format with 18 fractional bits. */
export const LOADAVG_PRECISION_SHIFT = 18;
/** opt_underload_balance_tolerance (credit2_balance_under) default. */
export const CSCHED2_UNDERLOAD_BALANCE_TOLERANCE = 0;
/** opt_overload_balance_tolerance (credit2_balance_over) default. */
export const CSCHED2_OVERLOAD_BALANCE_TOLERANCE = -3;
/** MAX_CPUS_RUNQ: opt_max_cpus_runqueue default. */
export const CSCHED2_MAX_CPUS_RUNQ = 16;

/** prv->load_window_shift = opt_load_window_shift - LOADAVG_GRANULARITY_SHIFT (csched2_init). */
const W = LOADAVG_WINDOW_SHIFT - LOADAVG_GRANULARITY_SHIFT;
const P = LOADAVG_PRECISION_SHIFT;

/** opt_runqueue: how pCPUs are grouped into run queues (credit2_runqueue=cpu|core|socket|all). */
export type Credit2Runqueue = (typeof CREDIT2_RUNQUEUES)[number];
export { CREDIT2_RUNQUEUES };

export interface Credit2Options {
  /** ns; 0 turns rate limiting off; default 1 ms (sched_ratelimit_us). */
  readonly ratelimit?: number;
  /** Run-queue arrangement; default 'socket' (Xen's default). */
  readonly runqueue?: Credit2Runqueue;
  /**
   * vsim has no topology, so the scenario says how many pCPUs make a core or a socket: pCPUs
   * [0, n), [n, 2n), ... Defaults: 1 for 'core' (no SMT), every pCPU of the host for 'socket'.
   */
  readonly groupSize?: number;
  /** opt_max_cpus_runqueue (sched_credit2_max_cpus_runqueue); default 16. */
  readonly maxCpusPerRunqueue?: number;
}

interface Dom {
  readonly id: string;
  weight: number;
  readonly units: Svc[];
  /** % of one pCPU; 0 = no cap. */
  cap: number;
  /** tot_budget: cap% of the replenishment period, ns. */
  totBudget: number;
  /** The domain-wide pool of budget, ns. */
  budget: number;
  /** next_repl: when replenish_domain_budget fires next. */
  nextRepl: number;
  /** parked_units. */
  readonly parked: Svc[];
}

/** struct csched2_unit. */
interface Svc {
  readonly ref: VcpuRef;
  readonly dom: Dom;
  credit: number;
  weight: number;
  residual: number;
  rqd: Rqd | null;
  /** sched_unit_master: the pCPU it runs on or was last placed on. */
  processor: number;
  onRunq: boolean;
  /** CSFLAG_scheduled: running (or being switched off) on a pCPU. */
  scheduled: boolean;
  /** CSFLAG_runq_migrate_request + migrate_rqd. */
  migrateRequest: boolean;
  migrateRqd: Rqd | null;
  /** _VPF_migrating: must leave its pCPU at the next schedule (balance_load or a new pin). */
  migratePending: boolean;
  asleep: boolean;
  removed: boolean;
  loadLastUpdate: number;
  avgload: number;
  tickledCpu: number;
  affinity: Affinity;
  /** Budget grabbed from its domain (ns); Infinity = uncapped (STIME_MAX). */
  budget: number;
  /** budget_quota: what it grabs at a time. */
  budgetQuota: number;
  /** _VPF_parked: out of budget, not runnable until unparked. */
  parked: boolean;
}

/** struct csched2_runqueue_data. */
interface Rqd {
  readonly id: number;
  /** rqd->active. */
  readonly cpus: number[];
  readonly runq: Svc[];
  /** rqd->svc: every vCPU assigned to this run queue. */
  readonly svcs: Svc[];
  maxWeight: number;
  load: number;
  loadLastUpdate: number;
  avgload: number;
  bAvgload: number;
  readonly idle: Set<number>;
  readonly tickled: Set<number>;
  pickBias: number;
}

interface Pcpu {
  curr: Svc | null;
  rqd: Rqd;
  /** state_entry_time of curr. */
  stateEntry: number;
  /** now + csched2_runtime(): when this pCPU schedules again unless tickled. */
  sliceEnd: number;
}

/** Where every vCPU is, as check() reports it. */
export interface Credit2Snapshot {
  readonly running: readonly (string | null)[];
  /** Per run queue, in credit order. */
  readonly queued: readonly (readonly string[])[];
  readonly blocked: readonly string[];
  /** Capped out, waiting for budget (whether or not also blocked). */
  readonly parked: readonly string[];
  /** Per run queue: the pCPUs it serves. */
  readonly runqueues: readonly (readonly number[])[];
}

export class Credit2Policy implements SchedulerPolicy {
  readonly name = 'credit2';
  trace?: SchedTrace;
  ratelimit: number;
  readonly runqueue: Credit2Runqueue;
  private readonly rqds: Rqd[] = [];
  private readonly pcpus: Pcpu[];
  private readonly svcs = new Map<string, Svc>();
  private readonly doms = new Map<string, Dom>();
  private added = 0;
  /** Counters for tests and the bench: epochs ended, vCPUs moved by balance_load. */
  resets = 0;
  balanceMigrations = 0;

  constructor(
    private readonly npcpus: number,
    opts: Credit2Options = {},
  ) {
    if (!(Number.isInteger(npcpus) && npcpus > 0)) throw new RangeError(`credit2: pcpus must be a positive integer, got ${npcpus}`);
    this.ratelimit = opts.ratelimit ?? CSCHED2_DEFAULT_RATELIMIT_NS;
    if (!(this.ratelimit >= 0 && this.ratelimit <= CSCHED2_RATELIMIT_MAX_NS))
      throw new RangeError(`credit2: ratelimit must be in [0, ${CSCHED2_RATELIMIT_MAX_NS}] ns, got ${this.ratelimit}`);
    this.runqueue = opts.runqueue ?? 'socket';
    if (!CREDIT2_RUNQUEUES.includes(this.runqueue))
      throw new RangeError(`credit2: runqueue must be one of ${CREDIT2_RUNQUEUES.join(', ')}, got ${String(this.runqueue)}`);
    const group = opts.groupSize ?? (this.runqueue === 'core' ? 1 : npcpus);
    if (!(Number.isInteger(group) && group >= 1)) throw new RangeError(`credit2: groupSize must be a positive integer, got ${group}`);
    const maxPerRq = opts.maxCpusPerRunqueue ?? CSCHED2_MAX_CPUS_RUNQ;
    if (!(Number.isInteger(maxPerRq) && maxPerRq >= 1))
      throw new RangeError(`credit2: maxCpusPerRunqueue must be a positive integer, got ${maxPerRq}`);
    this.pcpus = [];
    for (let cpu = 0; cpu < npcpus; cpu++) {
      const rqd = this.cpuAddToRunqueue(cpu, group, maxPerRq);
      // init_cpu_runqueue: the pCPU joins active and idle.
      rqd.cpus.push(cpu);
      rqd.idle.add(cpu);
      this.pcpus.push({ curr: null, rqd, stateEntry: 0, sliceEnd: Number.POSITIVE_INFINITY });
    }
  }

  /**
   * cpu_add_to_runqueue: join the least-populated run queue of the same topology group that still
   * has room (at most max_cpus_runq = online / min_rqs pCPUs each), or open a new one.
   */
  private cpuAddToRunqueue(cpu: number, group: number, maxPerRq: number): Rqd {
    const minRqs = Math.floor((this.npcpus - 1) / maxPerRq) + 1;
    const maxCpusRunq = Math.floor(this.npcpus / minRqs);
    const sameGroup = (a: number, b: number) => Math.floor(a / group) === Math.floor(b / group);
    let valid: Rqd | null = null;
    for (const rqd of this.rqds) {
      const match = this.runqueue === 'all' || (this.runqueue !== 'cpu' && sameGroup(rqd.pickBias, cpu));
      if (match && rqd.cpus.length < maxCpusRunq && (!valid || rqd.cpus.length < valid.cpus.length)) valid = rqd;
    }
    if (valid) return valid;
    const rqd: Rqd = {
      id: this.rqds.length,
      cpus: [],
      runq: [],
      svcs: [],
      maxWeight: 1,
      load: 0,
      loadLastUpdate: 0,
      avgload: 0,
      bAvgload: 0,
      idle: new Set(),
      tickled: new Set(),
      pickBias: cpu,
    };
    this.rqds.push(rqd);
    return rqd;
  }

  // ---- SchedulerPolicy ----------------------------------------------------------------------

  /** Its complete state, JSON-safe (policy-state.ts), for a checkpoint or a same-policy handover. */
  saveState(): PolicyStateData {
    return saveStateOf(this);
  }

  /** Continues from saveState's output exactly; TypeError naming the field if it does not fit. */
  loadState(state: unknown): void {
    loadStateInto(this, state);
  }

  /** csched2_alloc_udata + csched2_unit_insert, then the wake that makes it runnable. */
  add(v: VcpuRef, params: VmSchedParams, now: number): void {
    if (this.svcs.has(v.key)) throw new Error(`credit2: vCPU ${v.key} added twice`);
    let dom = this.doms.get(v.vm);
    if (!dom) {
      dom = { id: v.vm, weight: CSCHED2_DEFAULT_WEIGHT, units: [], cap: 0, totBudget: 0, budget: 0, nextRepl: 0, parked: [] };
      this.doms.set(v.vm, dom);
      dom.weight = readWeight(v.vm, params, CSCHED2_DEFAULT_WEIGHT);
    }
    const affinity = readAffinity('credit2', v, params, this.npcpus);
    const svc: Svc = {
      ref: v,
      dom,
      credit: CSCHED2_CREDIT_INIT,
      weight: dom.weight,
      residual: 0,
      rqd: null,
      // sched_select_initial_cpu: round robin over the pCPUs, within the hard affinity.
      processor: firstAllowed(affinity, this.added++ % this.npcpus, this.npcpus),
      onRunq: false,
      scheduled: false,
      migrateRequest: false,
      migrateRqd: null,
      migratePending: false,
      asleep: false,
      removed: false,
      // "Starting load of 50%"
      avgload: 2 ** (P - 1),
      loadLastUpdate: Math.floor(now / 2 ** LOADAVG_GRANULARITY_SHIFT),
      tickledCpu: -1,
      affinity,
      budget: Number.POSITIVE_INFINITY,
      budgetQuota: 0,
      parked: false,
    };
    dom.units.push(svc);
    // csched2_dom_cntl runs once the domain's units exist: (re)apply the cap with this unit counted.
    const cap = readCap(v.vm, params);
    if (dom.cap > 0) svc.budget = 0; // joins a capped domain: it must grab budget to run
    if (cap > 0 || dom.cap > 0) this.setCap(dom, cap, now);
    this.svcs.set(v.key, svc);
    svc.processor = this.resPick(svc);
    this.runqAssign(svc, this.pcpus[svc.processor].rqd);
    this.unitWake(svc, now);
  }

  /** csched2_unit_remove (after the unit was put to sleep): out of every queue and its run queue. */
  remove(v: VcpuRef, now: number): void {
    const svc = this.svcs.get(v.key);
    if (!svc) return;
    const rqd = svc.rqd as Rqd;
    const pc = this.pcpus[svc.processor];
    if (pc.curr === svc) {
      pc.curr = null;
      svc.scheduled = false;
      this.updateLoad(rqd, null, -1, now);
      this.tickleCpu(svc.processor, rqd);
    } else if (svc.onRunq) {
      this.runqRemove(svc);
      this.updateLoad(rqd, null, -1, now);
    }
    svc.removed = true;
    if (svc.parked) svc.dom.parked.splice(svc.dom.parked.indexOf(svc), 1);
    if (svc.budget !== Number.POSITIVE_INFINITY && svc.budget > 0) svc.dom.budget += svc.budget;
    this.runqDeassign(svc);
    svc.dom.units.splice(svc.dom.units.indexOf(svc), 1);
    this.svcs.delete(v.key);
  }

  wake(v: VcpuRef, now: number): void {
    const svc = this.mustGet(v);
    if (!svc.asleep) return;
    svc.asleep = false;
    this.unitWake(svc, now);
  }

  /** csched2_unit_sleep. */
  sleep(v: VcpuRef, now: number): void {
    const svc = this.mustGet(v);
    if (svc.asleep) return;
    svc.asleep = true;
    if (this.pcpus[svc.processor].curr === svc) {
      this.tickleCpu(svc.processor, svc.rqd as Rqd);
    } else if (svc.onRunq) {
      this.updateLoad(svc.rqd as Rqd, svc, -1, now);
      this.runqRemove(svc);
    }
  }

  /** burn_credits: the host loop reports exactly the time run (what now - start_time measures). */
  charge(v: VcpuRef, ranNs: number, _now: number): void {
    const svc = this.svcs.get(v.key);
    if (!svc || !svc.rqd || !(ranNs > 0)) return;
    this.t2cUpdate(svc.rqd, Math.round(ranNs), svc);
    if (svc.budget !== Number.POSITIVE_INFINITY) svc.budget -= Math.round(ranNs);
  }

  /**
   * csched2_dom_cntl (weight) and vcpu_set_hard_affinity (pin): a vCPU whose pCPU left its
   * affinity moves at once if queued or asleep, or at its pCPU's next schedule if running.
   */
  setParams(v: VcpuRef, params: VmSchedParams, now: number): void {
    const svc = this.mustGet(v);
    const dom = svc.dom;
    const affinity = readAffinity('credit2', v, params, this.npcpus); // throws before any change
    const cap = params.cap === undefined ? dom.cap : readCap(dom.id, params);
    if (cap !== dom.cap) this.setCap(dom, cap, now);
    if (params.weight !== undefined) {
      const w = readWeight(dom.id, params, dom.weight);
      if (w !== dom.weight) {
        const old = dom.weight;
        dom.weight = w;
        for (const u of dom.units) {
          u.weight = w;
          if (u.rqd) this.updateMaxWeight(u.rqd, w, old);
        }
      }
    }
    if (describeAffinity(affinity) === describeAffinity(svc.affinity)) return;
    svc.affinity = affinity;
    this.emit('affinity', now, svc, svc.processor, describeAffinity(affinity));
    if (allows(affinity, svc.processor)) return;
    // vcpu_migrate(): off the pCPU it may no longer use.
    if (svc.scheduled) {
      svc.migratePending = true;
      this.tickleCpu(svc.processor, svc.rqd as Rqd);
    } else {
      const queued = svc.onRunq;
      if (queued) {
        this.runqRemove(svc);
        this.updateLoad(svc.rqd as Rqd, svc, -1, now);
      }
      this.unitMigrate(svc, this.resPick(svc), now);
      if (queued) this.unitWake(svc, now);
    }
  }

  /** csched2_sys_cntl (XEN_SYSCTL_SCHEDOP_putinfo, `xl sched-credit2 -s -r US`): the rate limit, in ns. */
  setSchedulerParams(params: Readonly<Record<string, unknown>>, _now: number): void {
    for (const k of Object.keys(params)) if (k !== 'ratelimit') throw new RangeError(`credit2: unknown scheduler parameter '${k}' (ratelimit)`);
    const r = params.ratelimit ?? this.ratelimit;
    if (typeof r !== 'number' || !(r === 0 || (r >= CSCHED2_RATELIMIT_MIN_NS && r <= CSCHED2_RATELIMIT_MAX_NS))) {
      throw new RangeError(`credit2: ratelimit must be 0 or in [${CSCHED2_RATELIMIT_MIN_NS}, ${CSCHED2_RATELIMIT_MAX_NS}] ns, got ${String(r)}`);
    }
    this.ratelimit = r;
  }

  /** Where every vCPU is (for hand-over checks; no invariant checking, so callable at any time). */
  queues(): { running: readonly (string | null)[]; queued: readonly (readonly string[])[]; asleep: readonly string[] } {
    const running = this.pcpus.map((pc) => pc.curr?.ref.key ?? null);
    const placed = new Set([...running, ...this.rqds.flatMap((r) => r.runq.map((s) => s.ref.key))]);
    return {
      running,
      queued: this.rqds.map((r) => r.runq.map((s) => s.ref.key)),
      asleep: [...this.svcs.values()].filter((s) => !placed.has(s.ref.key)).map((s) => s.ref.key),
    };
  }

  schedule(now: number): Decision {
    // replenish_domain_budget timers that fell due.
    for (const dom of this.doms.values()) if (dom.cap > 0 && dom.nextRepl <= now) this.replenish(dom, now);
    // Every pCPU with a pending SCHEDULE_SOFTIRQ (tickled) or an expired slice runs csched2_schedule,
    // in pCPU order; scheduling one may tickle another, so repeat until quiet.
    for (let round = 0; ; round++) {
      if (round > 4 * this.npcpus + 8) throw new Error('credit2: scheduling did not settle');
      let any = false;
      for (let p = 0; p < this.npcpus; p++) {
        const pc = this.pcpus[p];
        if (pc.rqd.tickled.has(p) || pc.sliceEnd <= now) {
          this.doSchedule(p, now);
          any = true;
        }
      }
      if (!any) break;
    }
    let until = Number.POSITIVE_INFINITY;
    for (const pc of this.pcpus) until = Math.min(until, pc.sliceEnd);
    for (const dom of this.doms.values()) if (dom.cap > 0) until = Math.min(until, dom.nextRepl);
    return { run: this.pcpus.map((pc) => pc.curr?.ref ?? null), until };
  }

  // ---- Caps: budget, parking, replenishment ---------------------------------------------------

  /** csched2_dom_cntl's cap part: enable (budget 0 for every unit, so each must grab), change, or disable. */
  private setCap(dom: Dom, cap: number, now: number): void {
    // (cap <= 100 x vCPUs is the scenario's rule: the policy meets a VM's vCPUs one at a time.)
    if (cap > 0) {
      dom.totBudget = Math.floor((CSCHED2_BDGT_REPL_PERIOD_NS * cap) / 100);
      for (const u of dom.units) u.budgetQuota = Math.max(Math.floor(dom.totBudget / dom.units.length), CSCHED2_MIN_TIMER_NS);
      if (dom.cap === 0) {
        dom.budget = dom.totBudget;
        dom.nextRepl = now + CSCHED2_BDGT_REPL_PERIOD_NS;
        for (const u of dom.units) {
          if (u.scheduled) this.tickleCpu(u.processor, u.rqd as Rqd);
          u.budget = 0;
        }
      }
      dom.cap = cap;
    } else if (dom.cap > 0) {
      for (const u of dom.units) {
        u.budget = Number.POSITIVE_INFINITY;
        u.budgetQuota = 0;
      }
      dom.cap = 0;
      this.unparkAll(dom, now);
    }
  }

  /** unit_grab_budget: take a quota from the domain's pool (its overrun first paid back), or park. */
  private grabBudget(svc: Svc, now: number): boolean {
    if (svc.budget > 0) return true;
    const dom = svc.dom;
    dom.budget += svc.budget;
    if (dom.budget > 0) {
      const b = Math.min(svc.budgetQuota, dom.budget);
      svc.budget = b;
      dom.budget -= b;
    } else {
      svc.budget = 0;
      this.park(svc, now);
    }
    return svc.budget > 0;
  }

  /** park_unit: not runnable until unparked; off the run queue (load -1) if queued. */
  private park(svc: Svc, now: number): void {
    if (svc.parked) return;
    svc.parked = true;
    if (svc.onRunq) {
      this.runqRemove(svc);
      this.updateLoad(svc.rqd as Rqd, svc, -1, now);
    }
    svc.dom.parked.unshift(svc); // list_add
    this.emit('park', now, svc, svc.processor, `domain budget ${svc.dom.budget}`);
  }

  /** unit_return_budget + unpark_parked_units: what it did not use goes back; parked ones retry. */
  private returnBudget(svc: Svc, now: number): void {
    const dom = svc.dom;
    dom.budget += svc.budget;
    svc.budget = 0;
    if (dom.budget > 0) this.unparkAll(dom, now);
  }

  /** replenish_domain_budget: every period adds tot_budget (never above it), then unparks. */
  private replenish(dom: Dom, now: number): void {
    do {
      dom.nextRepl += CSCHED2_BDGT_REPL_PERIOD_NS;
      dom.budget += dom.totBudget;
    } while (dom.nextRepl <= now);
    if (dom.budget <= 0) return;
    dom.budget = Math.min(dom.budget, dom.totBudget);
    this.unparkAll(dom, now);
  }

  /** unpark_parked_units. */
  private unparkAll(dom: Dom, now: number): void {
    const parked = dom.parked.splice(0);
    for (const svc of parked) {
      svc.parked = false;
      this.emit('unpark', now, svc, svc.processor);
      // A scheduled one is re-added by contextSaved; a runnable one competes again for budget.
      if (!svc.scheduled && this.runnable(svc) && !svc.onRunq && !svc.removed) {
        this.updateLoad(svc.rqd as Rqd, svc, 1, now);
        this.runqInsert(svc);
        this.runqTickle(svc, now);
      }
    }
  }

  // ---- csched2_schedule and its helpers -----------------------------------------------------

  private doSchedule(cpu: number, now: number): void {
    const pc = this.pcpus[cpu];
    const rqd = pc.rqd;
    rqd.tickled.delete(cpu); // "Clear tickled bit now that we've been scheduled"
    const scurr = pc.curr;
    // "Below 0, means that we are capped and we have overrun our budget": get more, or be parked.
    if (scurr && scurr.budget <= 0) this.grabBudget(scurr, now);
    const snext = this.runqCandidate(rqd, scurr, cpu, now);
    if (snext) {
      if (snext !== scurr) {
        this.runqRemove(snext);
        snext.scheduled = true;
      }
      // Xen moves the unit to this pCPU (sched_set_res) after the reset below; vsim records it now,
      // so that a balance_load migrate() of snext tickles the pCPU it is actually taking.
      const migrated = snext.processor !== cpu;
      snext.processor = cpu;
      rqd.idle.delete(cpu);
      // "The reset condition is: has a scheduler epoch come to an end?"
      const top = rqd.runq.length === 0 ? snext.credit : Math.max(snext.credit, rqd.runq[0].credit);
      if (top <= CSCHED2_CREDIT_RESET) {
        this.resetCredit(rqd, now, snext);
        this.balanceLoad(cpu, now);
      }
      snext.tickledCpu = -1;
      if (migrated) snext.credit += CSCHED2_MIGRATE_COMPENSATION_NS;
    } else {
      rqd.idle.add(cpu);
      // "Make sure avgload gets updated periodically even if there's no activity"
      this.updateLoad(rqd, null, 0, now);
    }
    const continuing = snext !== null && snext === scurr;
    if (!continuing) pc.stateEntry = now;
    pc.curr = snext;
    const runtime = this.runtime(rqd, snext, continuing, pc.stateEntry, now);
    pc.sliceEnd = runtime < 0 ? Number.POSITIVE_INFINITY : now + runtime;
    if (scurr && scurr !== snext) this.contextSaved(scurr, now);
  }

  /**
   * runq_candidate: the current vCPU if the rate limit protects it; else the first eligible vCPU of
   * the run queue (runnable, allowed on this pCPU, not meant for another tickled pCPU, and with
   * MIGRATE_RESIST more credit if it comes from another pCPU) if it has more credit than current.
   */
  private runqCandidate(rqd: Rqd, scurr: Svc | null, cpu: number, now: number): Svc | null {
    let snext: Svc | null = null;
    if (scurr) {
      if (this.ratelimit > 0 && this.runnable(scurr) && now - this.pcpus[cpu].stateEntry < this.ratelimit) {
        return scurr;
      }
      if (this.runnable(scurr)) snext = scurr;
    }
    for (const svc of rqd.runq) {
      if (!this.runnable(svc)) continue;
      if (!allows(svc.affinity, cpu)) continue;
      if (svc.tickledCpu !== -1 && svc.tickledCpu !== cpu && rqd.tickled.has(svc.tickledCpu)) continue;
      const snextCredit = snext ? snext.credit : CSCHED2_IDLE_CREDIT;
      if (svc.processor !== cpu && snextCredit + CSCHED2_MIGRATE_RESIST_NS > svc.credit) continue;
      if (svc.credit > snextCredit && (svc.budget === Number.POSITIVE_INFINITY || this.grabBudget(svc, now))) snext = svc;
      break; // "In any case, if we got this far, break."
    }
    return snext;
  }

  /** csched2_context_saved: a runnable vCPU switched off goes back to the run queue and tickles. */
  private contextSaved(svc: Svc, now: number): void {
    svc.scheduled = false;
    const rqd = svc.rqd as Rqd;
    if (svc.budget !== Number.POSITIVE_INFINITY && svc.budget > 0) this.returnBudget(svc, now);
    if (this.runnable(svc)) {
      this.runqInsert(svc);
      this.runqTickle(svc, now);
      return;
    }
    this.updateLoad(rqd, svc, -1, now);
    if (svc.migratePending && !svc.asleep) {
      // vcpu_migrate(): pick a pCPU (honouring a balance_load request), move, wake there.
      svc.migratePending = false;
      this.unitMigrate(svc, this.resPick(svc), now);
      this.unitWake(svc, now);
    } else {
      svc.migratePending = false;
      // A sleeping vCPU whose pin excludes its pCPU moves now, so it wakes somewhere allowed.
      if (!allows(svc.affinity, svc.processor)) this.unitMigrate(svc, this.resPick(svc), now);
    }
  }

  /** csched2_unit_wake: onto its run queue (load +1), then tickle a pCPU. */
  private unitWake(svc: Svc, now: number): void {
    if (this.pcpus[svc.processor].curr === svc) return; // unit_wake_running
    // vcpu_wake reaches the scheduler only for a runnable unit: a parked one waits for unparking.
    if (svc.onRunq || svc.scheduled || svc.asleep || svc.migratePending || svc.parked) return;
    const rqd = svc.rqd as Rqd;
    this.updateLoad(rqd, svc, 1, now);
    this.runqInsert(svc);
    this.runqTickle(svc, now);
  }

  /**
   * csched2_runtime: run until credit reaches that of the next waiting vCPU (or 0), converted to
   * time at this vCPU's burn rate, within [MIN_TIMER (or what remains of the rate limit), MAX_TIMER].
   */
  private runtime(rqd: Rqd, snext: Svc | null, continuing: boolean, stateEntry: number, now: number): number {
    if (!snext) return -1; // "If we're idle, just stay so."
    let minTime = CSCHED2_MIN_TIMER_NS;
    if (this.ratelimit > 0) {
      let ratelimitMin = this.ratelimit;
      if (continuing) ratelimitMin = stateEntry + this.ratelimit - now;
      if (ratelimitMin > minTime) minTime = ratelimitMin;
    }
    let rtCredit = snext.credit;
    const swait = rqd.runq[0];
    if (swait && swait.credit > 0) rtCredit = snext.credit - swait.credit;
    let time = rtCredit > 0 ? this.c2t(rqd, rtCredit, snext) : 0;
    // "3) But, if capped, never run more than our budget."
    if (snext.budget < time) time = snext.budget;
    if (time < minTime) time = minTime;
    else if (time > CSCHED2_MAX_TIMER_NS) time = CSCHED2_MAX_TIMER_NS;
    return time;
  }

  /**
   * reset_credit: every vCPU of the run queue gets CREDIT_INIT more (twice that if the next one is
   * at CREDIT_MIN), clipped to INIT + CARRYOVER_MAX. No re-sort: everyone moves by the same amount.
   */
  private resetCredit(rqd: Rqd, now: number, snext: Svc): void {
    let reset = CSCHED2_CREDIT_INIT;
    if (snext.credit === CSCHED2_CREDIT_MIN) reset += CSCHED2_CREDIT_INIT;
    const parts: string[] = [];
    for (const svc of rqd.svcs) {
      if (svc.scheduled && svc.budget <= 0) this.tickleCpu(svc.processor, rqd); // time to park it
      const start = svc.credit;
      svc.credit = Math.min(svc.credit + reset, CSCHED2_CREDIT_INIT + CSCHED2_CARRYOVER_MAX);
      parts.push(`${svc.ref.key}:${start}>${svc.credit}`);
    }
    this.resets++;
    this.emit('credit_reset', now, snext, snext.processor, `rq ${rqd.id} ${parts.join(' ')}`);
  }

  /** t2c_update: credit -= time * max_weight / weight, remainder carried, floored at CREDIT_MIN. */
  private t2cUpdate(rqd: Rqd, time: number, svc: Svc): void {
    const val = time * rqd.maxWeight + svc.residual;
    svc.residual = val % svc.weight;
    const burnt = (val - svc.residual) / svc.weight;
    svc.credit = Math.max(svc.credit - burnt, CSCHED2_CREDIT_MIN);
  }

  /** c2t: credit * weight / max_weight. */
  private c2t(rqd: Rqd, credit: number, svc: Svc): number {
    return Math.floor((credit * svc.weight) / rqd.maxWeight);
  }

  // ---- Tickling -------------------------------------------------------------------------------

  private tickleCpu(cpu: number, rqd: Rqd): void {
    rqd.tickled.add(cpu);
  }

  /** is_preemptable: the running vCPU has used (nearly) its rate-limit time. */
  private isPreemptable(cpu: number, now: number): boolean {
    if (this.ratelimit <= CSCHED2_RATELIMIT_TICKLE_TOLERANCE_NS) return true;
    return now - this.pcpus[cpu].stateEntry > this.ratelimit - CSCHED2_RATELIMIT_TICKLE_TOLERANCE_NS;
  }

  /** tickle_score: how much more credit `nw` has than what runs on `cpu` (negative: no preemption). */
  private tickleScore(nw: Svc, cpu: number, now: number): number {
    const cur = this.pcpus[cpu].curr;
    if (!cur || !this.isPreemptable(cpu, now)) return -1;
    let score = nw.credit - cur.credit;
    if (nw.processor !== cpu) score -= CSCHED2_MIGRATE_RESIST_NS;
    // Soft-affinity bonus: with the default all-pCPU soft masks, cpu is in new's soft affinity.
    if (score > 0) score += CSCHED2_CREDIT_INIT;
    return score;
  }

  /**
   * runq_tickle: an idle, untickled pCPU of the run queue in the vCPU's affinity (its own first);
   * else the busy pCPU whose running vCPU it outscores most (its own pCPU if it outscores that one).
   */
  private runqTickle(nw: Svc, now: number): void {
    const cpu = nw.processor;
    const rqd = nw.rqd as Rqd;
    let ipid = -1;
    const idle = rqd.cpus.filter((c) => rqd.idle.has(c) && !rqd.tickled.has(c) && allows(nw.affinity, c));
    if (idle.length > 0) {
      ipid = idle.includes(cpu) ? cpu : this.cycleIn(cpu, idle);
    } else {
      const busy = rqd.cpus.filter((c) => !rqd.idle.has(c) && !rqd.tickled.has(c) && allows(nw.affinity, c));
      let max = 0;
      if (busy.includes(cpu)) {
        const score = this.tickleScore(nw, cpu, now);
        // "If this is in new's soft affinity, just take it" (it always is, by default).
        if (score > max) ipid = cpu;
      }
      if (ipid < 0) {
        for (const c of busy) {
          if (c === cpu) continue;
          const score = this.tickleScore(nw, c, now);
          if (score > max) {
            max = score;
            ipid = c;
          }
        }
      }
      if (ipid < 0) return;
    }
    this.tickleCpu(ipid, rqd);
    nw.tickledCpu = ipid;
    this.emit('tickle', now, nw, ipid);
  }

  // ---- Run queues: assignment, insertion, load ----------------------------------------------

  /** runq_insert: before the first vCPU with less credit (FIFO among equals). */
  private runqInsert(svc: Svc): void {
    if (svc.onRunq) throw new Error(`credit2: ${svc.ref.key} already on a run queue`);
    const q = (svc.rqd as Rqd).runq;
    let i = 0;
    while (i < q.length && !(svc.credit > q[i].credit)) i++;
    q.splice(i, 0, svc);
    svc.onRunq = true;
  }

  private runqRemove(svc: Svc): void {
    const q = (svc.rqd as Rqd).runq;
    const i = q.indexOf(svc);
    if (i < 0) throw new Error(`credit2: ${svc.ref.key} is not on run queue ${svc.rqd?.id}`);
    q.splice(i, 1);
    svc.onRunq = false;
  }

  /** _runq_assign. */
  private runqAssign(svc: Svc, rqd: Rqd): void {
    svc.rqd = rqd;
    rqd.svcs.push(svc);
    this.updateMaxWeight(rqd, svc.weight, 0);
    rqd.bAvgload += svc.avgload; // "Expected new load based on adding this unit"
  }

  /** _runq_deassign. */
  private runqDeassign(svc: Svc): void {
    const rqd = svc.rqd as Rqd;
    rqd.svcs.splice(rqd.svcs.indexOf(svc), 1);
    this.updateMaxWeight(rqd, 0, svc.weight);
    rqd.bAvgload = Math.max(rqd.bAvgload - svc.avgload, 0);
    svc.rqd = null;
  }

  /** update_max_weight. */
  private updateMaxWeight(rqd: Rqd, newWeight: number, oldWeight: number): void {
    if (newWeight > rqd.maxWeight) {
      rqd.maxWeight = newWeight;
    } else if (oldWeight === rqd.maxWeight) {
      let max = 1;
      for (const s of rqd.svcs) if (s.weight > max) max = s.weight;
      rqd.maxWeight = max;
    }
  }

  /** update_runq_load: the EWMA of the run queue's instantaneous load, in Q-format. */
  private updateRunqLoad(rqd: Rqd, change: number, nowNs: number): void {
    const now = Math.floor(nowNs / 2 ** LOADAVG_GRANULARITY_SHIFT);
    const load = rqd.load;
    if (rqd.loadLastUpdate + 2 ** W < now) {
      rqd.avgload = load * 2 ** P;
      rqd.bAvgload = load * 2 ** P;
    } else {
      const delta = Math.max(0, now - rqd.loadLastUpdate);
      rqd.avgload = rqd.avgload + shr(delta * load * 2 ** P, W) - shr(delta * rqd.avgload, W);
      rqd.bAvgload = rqd.bAvgload + shr(delta * load * 2 ** P, W) - shr(delta * rqd.bAvgload, W);
    }
    rqd.load += change;
    rqd.loadLastUpdate = now;
  }

  /** update_svc_load: the vCPU's own contribution (1 while runnable). */
  private updateSvcLoad(svc: Svc, change: number, nowNs: number): void {
    const now = Math.floor(nowNs / 2 ** LOADAVG_GRANULARITY_SHIFT);
    const unitLoad = change === -1 ? 1 : change === 1 ? 0 : this.runnable(svc) ? 1 : 0;
    if (svc.loadLastUpdate + 2 ** W < now) {
      svc.avgload = unitLoad * 2 ** P;
    } else {
      const delta = Math.max(0, now - svc.loadLastUpdate);
      svc.avgload = svc.avgload + shr(delta * unitLoad * 2 ** P, W) - shr(delta * svc.avgload, W);
    }
    svc.loadLastUpdate = now;
  }

  private updateLoad(rqd: Rqd, svc: Svc | null, change: number, now: number): void {
    this.updateRunqLoad(rqd, change, now);
    if (svc) this.updateSvcLoad(svc, change, now);
  }

  // ---- Placement and load balancing -----------------------------------------------------------

  /**
   * csched2_res_pick: honour a balance_load migrate request if possible; else the run queue with
   * the least b_avgload among those with a pCPU in the hard affinity (its own counted without
   * itself), and a pCPU of it by cycling from its pick_bias.
   */
  private resPick(svc: Svc): number {
    if (svc.migrateRequest) {
      svc.migrateRequest = false;
      const t = svc.migrateRqd;
      svc.migrateRqd = null;
      if (t) {
        const mask = t.cpus.filter((c) => allows(svc.affinity, c));
        if (mask.length > 0) {
          const cpu = this.cycleIn(t.pickBias, mask);
          t.pickBias = cpu;
          return cpu;
        }
      }
    }
    let min: Rqd | null = null;
    let minLoad = Number.POSITIVE_INFINITY;
    for (const rqd of this.rqds) {
      if (!rqd.cpus.some((c) => allows(svc.affinity, c))) continue;
      const load = rqd === svc.rqd ? Math.max(rqd.bAvgload - svc.avgload, 0) : rqd.bAvgload;
      if (load < minLoad) {
        minLoad = load;
        min = rqd;
      }
    }
    if (!min) throw new Error(`credit2: no run queue has a pCPU in ${svc.ref.key}'s affinity`);
    const cpu = this.cycleIn(
      min.pickBias,
      min.cpus.filter((c) => allows(svc.affinity, c)),
    );
    min.pickBias = cpu;
    return cpu;
  }

  /** csched2_unit_migrate: to another run queue through migrate(), or just another pCPU. */
  private unitMigrate(svc: Svc, newCpu: number, now: number): void {
    const trqd = this.pcpus[newCpu].rqd;
    if (trqd !== svc.rqd) this.migrate(svc, trqd, now);
    else svc.processor = newCpu;
  }

  /**
   * migrate: a running vCPU is flagged to move at its next schedule; a queued or sleeping one
   * changes run queue at once (a pCPU of the target in its affinity, from pick_bias).
   */
  private migrate(svc: Svc, trqd: Rqd, now: number): void {
    this.emit('migrate', now, svc, svc.processor, `rq ${svc.rqd?.id} -> ${trqd.id}`);
    if (svc.scheduled) {
      svc.migrateRqd = trqd;
      svc.migratePending = true;
      svc.migrateRequest = true;
      this.tickleCpu(svc.processor, svc.rqd as Rqd);
      return;
    }
    const onRunq = svc.onRunq;
    if (onRunq) {
      this.runqRemove(svc);
      this.updateLoad(svc.rqd as Rqd, null, -1, now);
    }
    this.runqDeassign(svc);
    const cpu = this.cycleIn(
      trqd.pickBias,
      trqd.cpus.filter((c) => allows(svc.affinity, c)),
    );
    svc.processor = cpu;
    trqd.pickBias = cpu;
    this.runqAssign(svc, trqd);
    if (onRunq) {
      this.updateLoad(trqd, null, 1, now);
      this.runqInsert(svc);
      this.runqTickle(svc, now);
    }
  }

  /** unit_is_migrateable: not already asked to move, and allowed on some pCPU of `rqd`. */
  private migrateable(svc: Svc, rqd: Rqd): boolean {
    return !svc.migrateRequest && rqd.cpus.some((c) => allows(svc.affinity, c));
  }

  /**
   * balance_load: find the run queue whose b_avgload is furthest from ours; if the difference is
   * over the tolerance, push, pull or swap the vCPU pair that leaves the two loads closest.
   */
  private balanceLoad(cpu: number, now: number): void {
    const lrqd = this.pcpus[cpu].rqd;
    this.updateRunqLoad(lrqd, 0, now);
    let loadDelta = 0;
    let maxDeltaRqd: Rqd | null = null;
    let orqd: Rqd = lrqd;
    for (const rqd of this.rqds) {
      orqd = rqd;
      if (rqd === lrqd) continue;
      this.updateRunqLoad(rqd, 0, now);
      const delta = Math.abs(lrqd.bAvgload - rqd.bAvgload);
      if (delta > loadDelta) {
        loadDelta = delta;
        maxDeltaRqd = rqd;
      }
    }
    if (!maxDeltaRqd) return;
    // As in credit2.c, load_max and cpus_max read st.orqd, which here is still the *last* run
    // queue the loop visited, not necessarily max_delta_rqd (kept for faithfulness).
    const loadMax = Math.max(lrqd.bAvgload, orqd.bAvgload);
    const cpusMax = Math.max(lrqd.cpus.length, orqd.cpus.length);
    if (loadMax < cpusMax * 2 ** P) {
      if (loadDelta < 2 ** (P + CSCHED2_UNDERLOAD_BALANCE_TOLERANCE)) return;
    } else if (loadDelta < 2 ** (P + CSCHED2_OVERLOAD_BALANCE_TOLERANCE)) {
      return;
    }
    const o = maxDeltaRqd;
    let bestDelta = loadDelta;
    let bestPush: Svc | null = null;
    let bestPull: Svc | null = null;
    const consider = (push: Svc | null, pull: Svc | null) => {
      let l = lrqd.bAvgload;
      let r = o.bAvgload;
      if (push) {
        l -= push.avgload;
        r += push.avgload;
      }
      if (pull) {
        l += pull.avgload;
        r -= pull.avgload;
      }
      const d = Math.abs(l - r);
      if (d < bestDelta) {
        bestDelta = d;
        bestPush = push;
        bestPull = pull;
      }
    };
    let innerUpdated = false;
    for (const push of [...lrqd.svcs]) {
      this.updateSvcLoad(push, 0, now);
      if (!this.migrateable(push, o)) continue;
      for (const pull of o.svcs) {
        if (!innerUpdated) this.updateSvcLoad(pull, 0, now);
        if (!this.migrateable(pull, lrqd)) continue;
        consider(push, pull);
      }
      innerUpdated = true;
      consider(push, null);
    }
    for (const pull of o.svcs) {
      if (!this.migrateable(pull, lrqd)) continue;
      consider(null, pull);
    }
    this.emit('load_balance', now, null, cpu, `rq ${lrqd.id} load ${lrqd.bAvgload} vs rq ${o.id} load ${o.bAvgload}`);
    const push = bestPush as Svc | null;
    const pull = bestPull as Svc | null;
    if (push) {
      this.balanceMigrations++;
      this.migrate(push, o, now);
    }
    if (pull) {
      this.balanceMigrations++;
      this.migrate(pull, lrqd, now);
    }
  }

  // ---- Helpers --------------------------------------------------------------------------------

  private runnable(svc: Svc): boolean {
    return !svc.asleep && !svc.removed && !svc.migratePending && !svc.parked;
  }

  /** cpumask_cycle(n, mask): the next member of `mask` after n, wrapping (n itself if alone). */
  private cycleIn(n: number, mask: readonly number[]): number {
    if (mask.length === 0) throw new Error('credit2: empty pCPU mask');
    for (let i = 1; i <= this.npcpus; i++) {
      const c = (n + i) % this.npcpus;
      if (mask.includes(c)) return c;
    }
    return mask[0];
  }

  private mustGet(v: VcpuRef): Svc {
    const svc = this.svcs.get(v.key);
    if (!svc) throw new Error(`credit2: unknown vCPU ${v.key}`);
    return svc;
  }

  private emit(kind: SchedTracePoint, now: number, svc: Svc | null, pcpu: number, detail = ''): void {
    this.trace?.(kind, now, { pcpu, vm: svc?.ref.vm, vcpu: svc?.ref.vcpu, detail });
  }

  /** The vCPU's credit, and its budget (ns) when its domain is capped (SchedulerPolicy.balance). */
  balance(v: VcpuRef): Readonly<Record<string, number>> | undefined {
    const s = this.svcs.get(v.key);
    if (!s) return undefined;
    return Number.isFinite(s.budget) ? { credit: s.credit, budget: s.budget } : { credit: s.credit };
  }

  // ---- For tests ------------------------------------------------------------------------------

  /** Credit, run queue and load of a vCPU (like csched2_dump_unit). */
  inspect(key: string): { credit: number; weight: number; runqueue: number; processor: number; avgload: number } | undefined {
    const s = this.svcs.get(key);
    return s && { credit: s.credit, weight: s.weight, runqueue: s.rqd?.id ?? -1, processor: s.processor, avgload: s.avgload };
  }

  /** Run queues and their loads (like csched2_dump). */
  runqueues(): { id: number; cpus: number[]; load: number; avgload: number; maxWeight: number; vcpus: string[] }[] {
    return this.rqds.map((r) => ({
      id: r.id,
      cpus: [...r.cpus],
      load: r.load,
      avgload: r.avgload,
      maxWeight: r.maxWeight,
      vcpus: r.svcs.map((s) => s.ref.key),
    }));
  }

  /**
   * Invariants after schedule(): no vCPU on two pCPUs or queued twice; a running vCPU is runnable,
   * on a pCPU of its run queue and of its affinity; every runnable vCPU runs or is queued on its
   * run queue; each run queue's instantaneous load counts exactly its runnable vCPUs; max_weight is
   * the largest weight assigned to it. Throws on a violation.
   */
  check(): Credit2Snapshot {
    const where = new Map<string, string>();
    const put = (s: Svc, w: string) => {
      if (where.has(s.ref.key)) throw new Error(`credit2 invariant: ${s.ref.key} is ${where.get(s.ref.key)} and ${w}`);
      where.set(s.ref.key, w);
    };
    this.pcpus.forEach((pc, p) => {
      const s = pc.curr;
      if (!s) {
        if (!pc.rqd.idle.has(p)) throw new Error(`credit2 invariant: idle pCPU ${p} not in its idle mask`);
        return;
      }
      if (this.svcs.get(s.ref.key) !== s) throw new Error(`credit2 invariant: removed ${s.ref.key} runs on ${p}`);
      if (!this.runnable(s))
        throw new Error(
          `credit2 invariant: ${s.ref.key} runs on ${p} but is not runnable (asleep ${s.asleep}, parked ${s.parked}, migrating ${s.migratePending}, tickled ${pc.rqd.tickled.has(p)})`,
        );
      if (s.processor !== p || s.rqd !== pc.rqd)
        throw new Error(`credit2 invariant: ${s.ref.key} runs on ${p} but belongs to ${s.processor}/rq ${s.rqd?.id}`);
      if (!allows(s.affinity, p))
        throw new Error(`credit2 invariant: ${s.ref.key} runs on ${p} outside its affinity ${describeAffinity(s.affinity)}`);
      put(s, `running on ${p}`);
    });
    for (const rqd of this.rqds) {
      for (const s of rqd.runq) {
        if (!s.onRunq || s.rqd !== rqd) throw new Error(`credit2 invariant: ${s.ref.key} in runq ${rqd.id} inconsistently`);
        if (!this.runnable(s))
          throw new Error(
            `credit2 invariant: ${s.ref.key} queued but not runnable (asleep ${s.asleep}, parked ${s.parked}, migrating ${s.migratePending}, removed ${s.removed})`,
          );
        if (!rqd.cpus.some((c) => allows(s.affinity, c)))
          throw new Error(`credit2 invariant: ${s.ref.key} queued on rq ${rqd.id} where its affinity has no pCPU`);
        put(s, `queued on rq ${rqd.id}`);
      }
      const runnable = rqd.runq.length + rqd.cpus.filter((c) => this.pcpus[c].curr !== null).length;
      if (rqd.load !== runnable) throw new Error(`credit2 invariant: rq ${rqd.id} load ${rqd.load} but ${runnable} runnable vCPUs`);
      let max = 1;
      for (const s of rqd.svcs) {
        if (s.rqd !== rqd) throw new Error(`credit2 invariant: ${s.ref.key} listed on rq ${rqd.id} but assigned to ${s.rqd?.id}`);
        max = Math.max(max, s.weight);
      }
      if (max !== rqd.maxWeight) throw new Error(`credit2 invariant: rq ${rqd.id} max_weight ${rqd.maxWeight} != ${max}`);
    }
    const blocked: string[] = [];
    const parked: string[] = [];
    for (const s of this.svcs.values()) {
      if (where.has(s.ref.key)) continue;
      if (s.parked) parked.push(s.ref.key);
      else if (s.asleep) blocked.push(s.ref.key);
      else throw new Error(`credit2 invariant: runnable ${s.ref.key} is neither running nor queued (lost)`);
      if (!s.rqd) throw new Error(`credit2 invariant: ${s.ref.key} has no run queue`);
    }
    return {
      running: this.pcpus.map((pc) => pc.curr?.ref.key ?? null),
      queued: this.rqds.map((r) => r.runq.map((s) => s.ref.key)),
      blocked,
      parked,
      runqueues: this.rqds.map((r) => [...r.cpus]),
    };
  }
}

/** x >> n for a non-negative s_time_t, without 32-bit truncation. */
function shr(x: number, n: number): number {
  return Math.floor(x / 2 ** n);
}

function readCap(vm: string, params: VmSchedParams): number {
  const c = params.cap ?? 0;
  if (!(Number.isInteger(c) && c >= 0)) throw new RangeError(`credit2: cap of ${vm} must be an integer percentage >= 0, got ${String(c)}`);
  return c;
}

function readWeight(vm: string, params: VmSchedParams, dflt: number): number {
  const w = params.weight ?? dflt;
  if (!(Number.isInteger(w) && w >= 1 && w <= 65535))
    throw new RangeError(`credit2: weight of ${vm} must be an integer in 1..65535, got ${String(w)}`);
  return w;
}

/** Registered as `credit2` (registry.ts), as credit2.c's REGISTER_SCHEDULER(sched_credit2_def). */
export const CREDIT2_SCHEDULER = registerScheduler(CREDIT2, (pcpus, p) => new Credit2Policy(pcpus, p));
