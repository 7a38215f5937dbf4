// Xen's Credit scheduler (credit1), after xen/common/sched/credit.c, as a vsim policy.
//
// Every domain (VM) has a weight and a cap. A master "accounting" timer (csched_acct, every tslice)
// hands the system's credit (CREDITS_PER_MSEC per ms per pCPU) to the *active* domains in
// proportion to their weights; running burns credit. A vCPU with credit is UNDER, without it OVER;
// a vCPU that wakes while UNDER is BOOSTed so it preempts CPU hogs; each pCPU has its own run
// queue ordered by priority (FIFO within a priority) and a pCPU whose best candidate is OVER or
// idle steals a better vCPU from a peer (csched_load_balance / csched_runq_steal). A capped domain
// that overspends is parked until accounting gives it positive credit again.
//
// Mapping onto vsim: the host loop owns time. Xen's timers (per-pCPU tick, master accounting
// ticker, per-pCPU slice timer) become due times checked at each schedule(now); a softirq raised
// on a pCPU (tickle, sleep of the running vCPU, park, migration) becomes `resched[p]`, served in
// the same schedule() call — so the loop never needs to be called back at `now` itself.
// Hard affinity (`pin`) is honoured where credit.c checks cpu_hard_affinity: _csched_cpu_pick
// (placement, migration), __runq_tickle (only idlers in the affinity), csched_runq_steal (a peer's
// vCPU is stolen only if allowed here); a new pin that excludes a vCPU's pCPU migrates it.
// Simplifications (documented, not hidden): one socket, no SMT, one cpupool per policy, no yield,
// no tasklets, vcpu_migration_delay = 0 (Xen's default), every pCPU's tick on one global grid.

import { PolicyStateData, loadStateInto, saveStateOf } from './policy-state';
import { Affinity, allows, firstAllowed, readAffinity } from './affinity';
import { CREDIT } from '@vsim/vocabulary';
import type { SchedTracePoint } from '@vsim/vocabulary';
import { Decision, PolicyQueues, SchedulerPolicy, SchedTrace, VcpuRef, VmSchedParams, registerScheduler } from './policy';

// ---- Constants (credit.c "Basic constants" unless stated) -----------------------------------
/** CSCHED_DEFAULT_WEIGHT. */
export const CSCHED_DEFAULT_WEIGHT = 256;
/** Weight range of XEN_DOMCTL_SCHEDOP_putinfo (uint16_t, 0 means "unchanged"). */
export const CSCHED_MIN_WEIGHT = 1;
export const CSCHED_MAX_WEIGHT = 65535;
/** CSCHED_TICKS_PER_TSLICE: the tick is tslice / 3 (= 10 ms by default), see __csched_set_tslice. */
export const CSCHED_TICKS_PER_TSLICE = 3;
/** CSCHED_DEFAULT_TSLICE_MS = 30, in ns. Also the accounting period (csched_acct re-arms at tslice). */
export const CSCHED_DEFAULT_TSLICE_NS = 30_000_000;
/** CSCHED_CREDITS_PER_MSEC. */
export const CSCHED_CREDITS_PER_MSEC = 10;
/** sched_ratelimit_us default, SCHED_DEFAULT_RATELIMIT_US = 1000 (xen/include/public/sysctl.h), in ns. */
export const CSCHED_DEFAULT_RATELIMIT_NS = 1_000_000;
/**
 * CSCHED_MIN_TIMER = XEN_SYSCTL_SCHED_RATELIMIT_MIN (100). credit.c compares it with s_time_t (ns),
 * so the shortest rate-limit timer is literally 100 ns; we keep that.
 */
export const CSCHED_MIN_TIMER_NS = 100;
/** XEN_SYSCTL_CSCHED_TSLICE_MIN/MAX (1, 1000 ms) and XEN_SYSCTL_SCHED_RATELIMIT_MIN/MAX (100, 500000 us), xen/include/public/sysctl.h, in ns. */
export const XEN_SYSCTL_CSCHED_TSLICE_MIN_NS = 1_000_000;
export const XEN_SYSCTL_CSCHED_TSLICE_MAX_NS = 1_000_000_000;
export const XEN_SYSCTL_SCHED_RATELIMIT_MIN_NS = 100_000;
export const XEN_SYSCTL_SCHED_RATELIMIT_MAX_NS = 500_000_000;
/** Priorities ("Priorities" in credit.c). */
export const CSCHED_PRI_TS_BOOST = 0;
export const CSCHED_PRI_TS_UNDER = -1;
export const CSCHED_PRI_TS_OVER = -2;
export const CSCHED_PRI_IDLE = -64;
const NS_PER_MS = 1_000_000;

export type CreditAccounting = 'precise' | 'tick';

export interface CreditOptions {
  /** ns; default 30 ms (sched_credit_tslice_ms). */
  readonly tslice?: number;
  /** ns; 0 turns rate limiting off; default 1 ms (sched_ratelimit_us). */
  readonly ratelimit?: number;
  /**
   * 'precise' (default): burn_credits() debits exactly the time run (Xen since commit 78c9b2a64b),
   * where credit.c calls it: at the pCPU's tick and at each schedule, so the accounting sees a
   * running vCPU's credit as last debited.
   * 'tick': the pre-78c9b2a64b csched_vcpu_acct(): the vCPU running when a pCPU's tick fires is
   * debited a whole tick's credits (CSCHED_CREDITS_PER_TICK = 100), time between ticks is free.
   */
  readonly accounting?: CreditAccounting;
  /** vsim extension: false disables BOOST in csched_unit_wake (for experiments). Default true. */
  readonly boost?: boolean;
  /**
   * vsim modelling choice, ns in [0, tslice] (tslice is 0): when the master ticker (csched_acct) first fires;
   * it then fires every tslice. Xen arms it when the first pCPU joins the pool (init_pdata), at
   * boot, so its phase relative to the VMs' slices is arbitrary. Default tslice / 2: accounting in
   * the middle of the slices that start at time 0. 0 makes every accounting coincide with a slice
   * end (a tie no real machine sees), which measurably skews shares for small weights (see
   * credit.test.ts).
   */
  readonly acctPhase?: number;
}

interface Dom {
  readonly id: string;
  weight: number;
  /** % of one pCPU, 0 = uncapped. */
  cap: number;
  /** active_unit list (list_add puts new entries at the head). */
  readonly active: Svc[];
}

interface Svc {
  readonly ref: VcpuRef;
  readonly dom: Dom;
  /** cpu_hard_affinity (null: every pCPU). */
  affinity: Affinity;
  pri: number;
  credit: number;
  /** burn_credits' sub-credit remainder, in credit·ns units (delta·CREDITS_PER_MSEC mod 1 ms). */
  residual: number;
  /**
   * Time run (ns) not yet debited: the host reports it per run segment (charge), but credit.c
   * debits it only where it calls burn_credits — at the pCPU's tick (csched_unit_acct) and at
   * csched_schedule — so csched_acct sees the credit as of the last of those, never charged up to
   * the accounting instant itself.
   */
  unburned: number;
  /** sched_unit_master: the pCPU whose run queue it belongs to (or runs on). */
  processor: number;
  onRunq: boolean;
  active: boolean;
  /** CSCHED_FLAG_UNIT_PARKED: capped out, paused until accounting unparks it. */
  parked: boolean;
  /** CSCHED_FLAG_UNIT_MIGRATING: set by csched_res_pick, so the next wake is not boosted. */
  migrating: boolean;
  /** _VPF_migrating: csched_unit_acct decided the running vCPU is better off elsewhere. */
  migratePending: boolean;
  /** Blocked by the guest (the loop's sleep()). */
  asleep: boolean;
  removed: boolean;
}

interface Pcpu {
  /** The vCPU on this pCPU (curr_on_cpu), null = the idle unit. */
  curr: Svc | null;
  /** Time curr started running here (state_entry_time), for the rate limit. */
  stateEntry: number;
  /** When the current decision's slice (next_time) ends. */
  sliceEnd: number;
  /** SCHEDULE_SOFTIRQ pending. */
  resched: boolean;
  readonly runq: Svc[];
  runqSortLast: number;
}

/** What check() reports: where every vCPU the policy knows is. */
export interface CreditSnapshot {
  readonly running: readonly (string | null)[];
  readonly queued: readonly (readonly string[])[];
  readonly parked: readonly string[];
  readonly blocked: readonly string[];
}

export class CreditPolicy implements SchedulerPolicy {
  readonly name = 'credit';
  trace?: SchedTrace;

  // tslice, ratelimit and what derives from them change at run time (csched_sys_cntl).
  tslice: number;
  ratelimit: number;
  readonly accounting: CreditAccounting;
  readonly boost: boolean;
  readonly acctPhase: number;
  /** prv->tick_period_us, in ns. */
  tickPeriod: number;
  /** prv->credits_per_tslice. */
  creditsPerTslice: number;
  /** CSCHED_CREDITS_PER_TICK of the old tick accounting (100 with the defaults). */
  creditsPerTick: number;

  private readonly svcs = new Map<string, Svc>();
  private readonly doms = new Map<string, Dom>();
  private readonly pcpus: Pcpu[];
  // csched_private
  private readonly idlers = new Set<number>();
  private readonly activeSdom: Dom[] = [];
  private weight = 0;
  /** prv->credit = credits_per_tslice * ncpus. */
  private credit: number;
  private creditBalance = 0;
  private runqSort = 0;
  private balanceBias = 0;
  /** per-cpu last_tickle_cpu (one global here: every wake runs "on" the scheduler). */
  private lastTickleCpu = 0;
  private nextTick: number;
  private nextAcct: number;
  private armed = false;
  private added = 0;

  constructor(npcpus: number, opts: CreditOptions = {}) {
    this.tslice = opts.tslice ?? CSCHED_DEFAULT_TSLICE_NS;
    this.ratelimit = opts.ratelimit ?? CSCHED_DEFAULT_RATELIMIT_NS;
    this.accounting = opts.accounting ?? 'precise';
    this.boost = opts.boost ?? true;
    this.acctPhase = opts.acctPhase ?? Math.floor(this.tslice / 2);
    // acctPhase = tslice is phase 0: the first accounting at tslice (see reset below).
    if (!(this.acctPhase >= 0 && this.acctPhase <= this.tslice))
      throw new RangeError(`credit: acctPhase must be in [0, tslice], got ${this.acctPhase}`);
    if (!(Number.isInteger(npcpus) && npcpus > 0)) throw new RangeError(`credit: pcpus must be a positive integer, got ${npcpus}`);
    if (!(this.tslice >= NS_PER_MS)) throw new RangeError(`credit: tslice must be at least 1 ms, got ${this.tslice} ns`);
    if (!(this.ratelimit >= 0 && this.ratelimit <= this.tslice))
      throw new RangeError(`credit: ratelimit must be in [0, tslice], got ${this.ratelimit} ns`);
    if (this.accounting !== 'precise' && this.accounting !== 'tick') throw new RangeError(`credit: accounting must be 'precise' or 'tick'`);
    // __csched_set_tslice
    const ticksPerTslice = this.tslice < CSCHED_TICKS_PER_TSLICE * NS_PER_MS ? 1 : CSCHED_TICKS_PER_TSLICE;
    this.tickPeriod = Math.floor(this.tslice / ticksPerTslice);
    this.creditsPerTslice = Math.round((CSCHED_CREDITS_PER_MSEC * this.tslice) / NS_PER_MS);
    this.creditsPerTick = Math.round((CSCHED_CREDITS_PER_MSEC * this.tickPeriod) / NS_PER_MS);
    this.credit = this.creditsPerTslice * npcpus;
    // init_pdata: every pCPU starts idle, ticker at NOW()+tick, master ticker at NOW()+tslice.
    this.pcpus = Array.from({ length: npcpus }, (_, p) => {
      this.idlers.add(p);
      return { curr: null, stateEntry: 0, sliceEnd: Number.POSITIVE_INFINITY, resched: false, runq: [], runqSortLast: 0 };
    });
    this.nextTick = this.tickPeriod;
    this.nextAcct = this.acctPhase === 0 ? this.tslice : this.acctPhase;
  }

  /**
   * The timers are armed relative to when the policy starts working (init_pdata: NOW() + tick), i.e.
   * its first add() or schedule(): at 0 for a run, at the swap time for a policy swapped in mid-run
   * (otherwise its first schedule() would fire every tick and accounting since 0 at once).
   */
  private armTimers(now: number): void {
    if (this.armed) return;
    this.armed = true;
    this.nextTick = now + this.tickPeriod;
    this.nextAcct = now + (this.acctPhase === 0 ? this.tslice : this.acctPhase);
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

  /** csched_alloc_domdata / csched_alloc_udata + csched_unit_insert, then the wake that unpauses it. */
  add(v: VcpuRef, params: VmSchedParams, now: number): void {
    if (this.svcs.has(v.key)) throw new Error(`credit: vCPU ${v.key} added twice`);
    this.armTimers(now);
    let dom = this.doms.get(v.vm);
    if (!dom) {
      dom = { id: v.vm, weight: CSCHED_DEFAULT_WEIGHT, cap: 0, active: [] };
      this.doms.set(v.vm, dom);
      this.domCntl(dom, params);
    }
    const affinity = readAffinity('credit', v, params, this.pcpus.length);
    const svc: Svc = {
      ref: v,
      dom,
      affinity,
      pri: CSCHED_PRI_TS_UNDER,
      credit: 0,
      residual: 0,
      unburned: 0,
      // sched_select_initial_cpu, simplified: round robin, within the hard affinity.
      processor: firstAllowed(affinity, this.added++ % this.pcpus.length, this.pcpus.length),
      onRunq: false,
      active: false,
      parked: false,
      migrating: false,
      migratePending: false,
      asleep: false,
      removed: false,
    };
    this.svcs.set(v.key, svc);
    // csched_unit_insert: csched_res_pick (sets MIGRATING, so the first wake is not boosted).
    this.resPick(svc);
    this.unitWake(svc, now);
  }

  /** csched_unit_remove. */
  remove(v: VcpuRef, _now: number): void {
    const svc = this.svcs.get(v.key);
    if (!svc) return;
    svc.removed = true;
    const p = this.pcpus[svc.processor];
    if (p.curr === svc) p.resched = true;
    if (svc.onRunq) this.runqRemove(svc);
    svc.parked = false;
    if (svc.active) this.acctStop(svc);
    this.svcs.delete(v.key);
  }

  wake(v: VcpuRef, now: number): void {
    const svc = this.mustGet(v);
    svc.asleep = false;
    // vcpu_wake only reaches the scheduler if the unit is runnable (a parked one is paused).
    if (svc.parked || svc.migratePending) return;
    this.unitWake(svc, now);
  }

  /** csched_unit_sleep. */
  sleep(v: VcpuRef, _now: number): void {
    const svc = this.mustGet(v);
    svc.asleep = true;
    const p = this.pcpus[svc.processor];
    if (p.curr === svc)
      p.resched = true; // cpu_raise_softirq(cpu, SCHEDULE_SOFTIRQ)
    else if (svc.onRunq) this.runqRemove(svc);
  }

  /**
   * The time a vCPU ran, as the host reports it after each run segment. In precise mode it is
   * debited by burn() at the vCPU's next tick or schedule, where credit.c calls burn_credits.
   */
  charge(v: VcpuRef, ranNs: number, _now: number): void {
    const svc = this.svcs.get(v.key);
    if (!svc || this.accounting !== 'precise' || !(ranNs > 0)) return;
    svc.unburned += Math.round(ranNs);
  }

  /** burn_credits: debit exactly the time run since the last debit (residual carried, as credit.c). */
  private burn(svc: Svc): void {
    if (svc.unburned === 0) return;
    const val = svc.unburned * CSCHED_CREDITS_PER_MSEC + svc.residual;
    const credits = Math.floor(val / NS_PER_MS);
    svc.residual = val - credits * NS_PER_MS;
    svc.credit -= credits;
    svc.unburned = 0;
  }

  /**
   * csched_sys_cntl (XEN_SYSCTL_SCHEDOP_putinfo, `xl sched-credit -s -t MS -r US`): new tslice and
   * ratelimit (ns), checked against the sysctl bounds, then __csched_set_tslice. Running timers keep
   * their deadline; they re-arm with the new periods, as Xen's do.
   */
  setSchedulerParams(params: Readonly<Record<string, unknown>>, _now: number): void {
    for (const k of Object.keys(params)) {
      if (k !== 'tslice' && k !== 'ratelimit') throw new RangeError(`credit: unknown scheduler parameter '${k}' (tslice, ratelimit)`);
    }
    const tslice = params.tslice ?? this.tslice;
    const ratelimit = params.ratelimit ?? this.ratelimit;
    if (typeof tslice !== 'number' || !(tslice >= XEN_SYSCTL_CSCHED_TSLICE_MIN_NS && tslice <= XEN_SYSCTL_CSCHED_TSLICE_MAX_NS)) {
      throw new RangeError(
        `credit: tslice must be in [${XEN_SYSCTL_CSCHED_TSLICE_MIN_NS}, ${XEN_SYSCTL_CSCHED_TSLICE_MAX_NS}] ns, got ${String(tslice)}`,
      );
    }
    if (
      typeof ratelimit !== 'number' ||
      !(ratelimit === 0 || (ratelimit >= XEN_SYSCTL_SCHED_RATELIMIT_MIN_NS && ratelimit <= XEN_SYSCTL_SCHED_RATELIMIT_MAX_NS)) ||
      ratelimit > tslice
    ) {
      throw new RangeError(
        `credit: ratelimit must be 0 or in [${XEN_SYSCTL_SCHED_RATELIMIT_MIN_NS}, ${XEN_SYSCTL_SCHED_RATELIMIT_MAX_NS}] ns and at most tslice, got ${String(ratelimit)}`,
      );
    }
    this.tslice = tslice;
    this.ratelimit = ratelimit;
    this.setTslice();
  }

  /** __csched_set_tslice: the tick, credits per tslice and prv->credit follow tslice. */
  private setTslice(): void {
    const ticksPerTslice = this.tslice < CSCHED_TICKS_PER_TSLICE * NS_PER_MS ? 1 : CSCHED_TICKS_PER_TSLICE;
    this.tickPeriod = Math.floor(this.tslice / ticksPerTslice);
    this.creditsPerTslice = Math.round((CSCHED_CREDITS_PER_MSEC * this.tslice) / NS_PER_MS);
    this.creditsPerTick = Math.round((CSCHED_CREDITS_PER_MSEC * this.tickPeriod) / NS_PER_MS);
    this.credit = this.creditsPerTslice * this.pcpus.length;
  }

  /** The run queues as check() sees them (parked and blocked vCPUs are asleep). */
  queues(): PolicyQueues {
    const c = this.check();
    return { running: c.running, queued: c.queued, asleep: [...c.parked, ...c.blocked] };
  }

  /** csched_dom_cntl (XEN_DOMCTL_SCHEDOP_putinfo): weight and cap of the vCPU's domain. */
  setParams(v: VcpuRef, params: VmSchedParams, now: number): void {
    const svc = this.mustGet(v);
    const affinity = readAffinity('credit', v, params, this.pcpus.length);
    this.domCntl(svc.dom, params);
    svc.affinity = affinity;
    if (allows(affinity, svc.processor)) return;
    // vcpu_set_hard_affinity -> vcpu_migrate: off a pCPU it may no longer use.
    this.emit('migrate', now, svc, svc.processor, 'pin');
    if (this.pcpus[svc.processor].curr === svc) {
      svc.migratePending = true; // moved by doSchedule once switched out
      this.pcpus[svc.processor].resched = true;
    } else if (svc.onRunq) {
      this.runqRemove(svc);
      this.resPick(svc);
      this.unitWake(svc, now);
    } else {
      this.resPick(svc); // asleep or parked: it wakes (or unparks) on an allowed pCPU
    }
  }

  schedule(now: number): Decision {
    this.armTimers(now);
    // Timers first: per-pCPU ticks (csched_tick) and the master accounting ticker (csched_acct).
    for (;;) {
      const t = Math.min(this.nextTick, this.nextAcct);
      if (t > now) break;
      // When both fall due together, accounting goes first, so the tick's csched_runq_sort
      // already sees the new priorities (in Xen the two timers fire microseconds apart).
      if (this.nextAcct === t) {
        this.acct(t);
        this.nextAcct += this.tslice;
      }
      if (this.nextTick === t) {
        for (let p = 0; p < this.pcpus.length; p++) this.tick(p, t);
        this.nextTick += this.tickPeriod;
      }
    }
    // Then every pCPU with a pending SCHEDULE_SOFTIRQ or an expired slice runs csched_schedule,
    // in pCPU order; a schedule may tickle another pCPU, so repeat until quiet.
    for (let round = 0; ; round++) {
      if (round > 4 * this.pcpus.length + 8) throw new Error('credit: scheduling did not settle');
      let any = false;
      for (let p = 0; p < this.pcpus.length; p++) {
        const pc = this.pcpus[p];
        if (pc.resched || pc.sliceEnd <= now) {
          pc.resched = false;
          this.doSchedule(p, now);
          any = true;
        }
      }
      if (!any) break;
    }
    let until = Math.min(this.nextTick, this.nextAcct);
    for (const pc of this.pcpus) until = Math.min(until, pc.sliceEnd);
    return { run: this.pcpus.map((pc) => pc.curr?.ref ?? null), until };
  }

  // ---- Scheduling events, one per credit.c function -----------------------------------------

  /** csched_tick: the running vCPU is accounted (csched_unit_acct), then the runq is re-sorted. */
  private tick(p: number, now: number): void {
    const pc = this.pcpus[p];
    const svc = pc.curr;
    // The ticker is stopped while the pCPU idles (csched_schedule stop_timer).
    if (!svc) return;
    if (!svc.asleep && !svc.removed) this.unitAcct(p, svc, now);
    this.runqSortCpu(p);
  }

  /** csched_unit_acct (and, in 'tick' mode, the old csched_vcpu_acct debit of a whole tick). */
  private unitAcct(p: number, svc: Svc, now: number): void {
    // A boosted vCPU found running at a tick is consuming real CPU: it loses its boost.
    if (svc.pri === CSCHED_PRI_TS_BOOST) {
      svc.pri = CSCHED_PRI_TS_UNDER;
      this.emit('boost_end', now, svc, p);
    }
    if (this.accounting === 'tick') svc.credit -= this.creditsPerTick;
    else this.burn(svc); // precise mode: burn_credits(svc, NOW())
    if (!svc.active) {
      this.acctStart(svc);
    } else {
      // "If it's been active a while, check if we'd be better off migrating it to run elsewhere."
      const newCpu = this.cpuPick(svc);
      if (newCpu !== p && !svc.parked) {
        svc.migratePending = true; // sched_set_pause_flags(_VPF_migrating)
        this.pcpus[p].resched = true;
        this.emit('migrate', now, svc, p, `to ${newCpu}`);
      }
    }
  }

  /** __csched_unit_acct_start: the vCPU (and its domain) join the active lists and earn credit. */
  private acctStart(svc: Svc): void {
    if (svc.active) return;
    const dom = svc.dom;
    svc.active = true;
    dom.active.unshift(svc);
    this.weight += dom.weight;
    if (dom.active.length === 1) this.activeSdom.unshift(dom);
  }

  /** __csched_unit_acct_stop_locked. */
  private acctStop(svc: Svc): void {
    const dom = svc.dom;
    svc.active = false;
    dom.active.splice(dom.active.indexOf(svc), 1);
    this.weight -= dom.weight;
    if (dom.active.length === 0) this.activeSdom.splice(this.activeSdom.indexOf(dom), 1);
  }

  /**
   * csched_acct: share prv->credit among active domains by weight (capped at credit_peak, with the
   * surplus handed on to the rest), recompute UNDER/OVER, park/unpark capped domains, clamp at
   * -credits_per_tslice, and take a vCPU with more than credits_per_tslice off the active list
   * with its credit halved. Integer arithmetic as in credit.c (uint32 with round-up divisions).
   */
  private acct(now: number): void {
    const weightTotal = this.weight;
    let creditTotal = this.credit;
    // "Converge balance towards 0 when it drops negative"
    if (this.creditBalance < 0) creditTotal -= this.creditBalance;
    if (weightTotal === 0) {
      this.creditBalance = 0;
      this.emit('account', now, null, -1, 'no active vCPUs');
      this.runqSort++;
      return;
    }
    let weightLeft = weightTotal;
    let creditBalance = 0;
    let creditXtra = false;
    let creditCap = 0;
    const parts: string[] = [];
    for (const sdom of [...this.activeSdom]) {
      const n = sdom.active.length;
      weightLeft -= sdom.weight * n;
      // "At most, a domain can use credits to run all its active UNITs for one full accounting
      // period. We allow a domain to earn more only when the system-wide credit balance is negative."
      let creditPeak = n * this.creditsPerTslice;
      if (this.creditBalance < 0) {
        creditPeak += Math.floor((-this.creditBalance * sdom.weight * n + (weightTotal - 1)) / weightTotal);
      }
      if (sdom.cap !== 0) {
        creditCap = Math.floor((sdom.cap * this.creditsPerTslice + 99) / 100);
        if (creditCap < creditPeak) creditPeak = creditCap;
        creditCap = Math.floor((creditCap + (n - 1)) / n);
      }
      let creditFair = Math.floor((creditTotal * sdom.weight * n + (weightTotal - 1)) / weightTotal);
      if (creditFair < creditPeak) {
        creditXtra = true;
      } else {
        if (weightLeft !== 0) {
          // "Give other domains a chance at unused credits"
          creditTotal += Math.floor(((creditFair - creditPeak) * weightTotal + (weightLeft - 1)) / weightLeft);
        }
        if (creditXtra) {
          // "Lazily keep domains with extra credits at the head of the queue"
          this.activeSdom.splice(this.activeSdom.indexOf(sdom), 1);
          this.activeSdom.unshift(sdom);
        }
        creditFair = creditPeak;
      }
      // Fair share per UNIT
      creditFair = Math.floor((creditFair + (n - 1)) / n);
      parts.push(`${sdom.id}+${creditFair}`);
      for (const svc of [...sdom.active]) {
        svc.credit += creditFair;
        let credit = svc.credit;
        if (credit < 0) {
          svc.pri = CSCHED_PRI_TS_OVER;
          // "Park running UNITs of capped-out domains"
          if (sdom.cap !== 0 && credit < -creditCap && !svc.parked) {
            svc.parked = true; // sched_unit_pause_nosync
            const p = this.pcpus[svc.processor];
            if (p.curr === svc) p.resched = true;
            else if (svc.onRunq) this.runqRemove(svc);
            this.emit('park', now, svc, svc.processor, `credit ${credit}`);
          }
          // "Lower bound on credits"
          if (credit < -this.creditsPerTslice) {
            credit = -this.creditsPerTslice;
            svc.credit = credit;
          }
        } else {
          svc.pri = CSCHED_PRI_TS_UNDER;
          // "Unpark any capped domains whose credits go positive": unpause (a wake, not boosted
          // because PARKED is still set), then clear the flag.
          if (svc.parked) {
            if (!svc.asleep && !svc.removed) this.unitWake(svc, now);
            svc.parked = false;
            this.emit('unpark', now, svc, svc.processor, `credit ${credit}`);
          }
          // "Upper bound on credits means UNIT stops earning"
          if (credit > this.creditsPerTslice) {
            this.acctStop(svc);
            // "Divide credits in half, so that when it starts accounting again, it starts a little bit ahead"
            credit = Math.trunc(credit / 2);
            svc.credit = credit;
          }
        }
        creditBalance += credit;
      }
    }
    this.creditBalance = creditBalance;
    // "Inform each CPU that its runq needs to be sorted"
    this.runqSort++;
    this.emit('account', now, null, -1, `${parts.join(' ')} balance ${creditBalance}`);
  }

  /** csched_runq_sort: once per accounting epoch, move UNDER (and BOOST) vCPUs ahead of OVER ones. */
  private runqSortCpu(p: number): void {
    const pc = this.pcpus[p];
    if (pc.runqSortLast === this.runqSort) return;
    pc.runqSortLast = this.runqSort;
    const under = pc.runq.filter((s) => s.pri >= CSCHED_PRI_TS_UNDER);
    const over = pc.runq.filter((s) => s.pri < CSCHED_PRI_TS_UNDER);
    pc.runq.splice(0, pc.runq.length, ...under, ...over);
  }

  /**
   * csched_unit_wake: a vCPU that wakes UNDER (not after a migration, not an unparking) is
   * boosted, so it preempts CPU hogs; then it joins its pCPU's run queue and a pCPU is tickled.
   */
  private unitWake(svc: Svc, now: number): void {
    const pc = this.pcpus[svc.processor];
    if (pc.curr === svc && !svc.removed) {
      // Woke before its pCPU rescheduled: it keeps running (unit_wake_running).
      svc.migrating = false;
      return;
    }
    if (svc.onRunq) return;
    const migrating = svc.migrating;
    svc.migrating = false;
    if (this.boost && !migrating && svc.pri === CSCHED_PRI_TS_UNDER && !svc.parked) {
      svc.pri = CSCHED_PRI_TS_BOOST;
      this.emit('boost_start', now, svc, svc.processor);
    }
    this.runqInsert(svc.processor, svc);
    this.runqTickle(svc, now);
  }

  /**
   * __runq_tickle: if the vCPU's pCPU idles, or no pCPU idles and the newcomer outranks the
   * running vCPU, reschedule that pCPU; else if some pCPUs idle, wake one of them (it will steal).
   */
  private runqTickle(svc: Svc, now: number): void {
    const cpu = svc.processor;
    const cur = this.pcpus[cpu].curr;
    const curPri = cur ? cur.pri : CSCHED_PRI_IDLE;
    let target = -1;
    // Only idlers in the hard affinity count (cpumask_and(&mask, &idle_mask, cpu_hard_affinity)).
    const idlers = svc.affinity === null ? this.idlers : new Set([...this.idlers].filter((c) => allows(svc.affinity, c)));
    if (curPri === CSCHED_PRI_IDLE || (idlers.size === 0 && svc.pri > curPri)) {
      target = cpu;
    } else if (idlers.size > 0) {
      // opt_tickle_one_idle: cycle through the idlers.
      this.lastTickleCpu = this.cycle(this.lastTickleCpu, idlers);
      target = this.lastTickleCpu;
    }
    if (target < 0) return;
    this.idlers.delete(target);
    this.pcpus[target].resched = true;
    this.emit('tickle', now, svc, target);
  }

  /**
   * csched_schedule: rate limit (a vCPU that ran less than ratelimit keeps its pCPU); else put the
   * current vCPU back in the run queue and take the head; if the head is OVER or idle, try to steal
   * better work from a peer (csched_load_balance).
   */
  private doSchedule(p: number, now: number): void {
    const pc = this.pcpus[p];
    const scurr = pc.curr;
    if (scurr) this.burn(scurr); // csched_schedule: burn_credits(scurr, now), before anything else
    const runtime = scurr ? Math.max(0, now - pc.stateEntry) : 0;
    const currRunnable = scurr !== null && this.runnable(scurr);
    if (this.ratelimit > 0 && currRunnable && runtime < this.ratelimit) {
      let tslice = this.ratelimit - runtime;
      if (runtime < CSCHED_MIN_TIMER_NS) tslice = CSCHED_MIN_TIMER_NS;
      pc.sliceEnd = now + tslice;
      return;
    }
    if (scurr && currRunnable) this.runqInsert(p, scurr);
    const head = pc.runq[0] ?? null;
    let snext: Svc | null;
    if (head && head.pri > CSCHED_PRI_TS_OVER) {
      this.runqRemove(head);
      snext = head;
    } else {
      snext = this.loadBalance(p, head, now);
    }
    // Update the idlers mask: "When we're idling, other CPUs will tickle us when they get extra work."
    if (snext === null) this.idlers.add(p);
    else this.idlers.delete(p);
    if (snext !== scurr) pc.stateEntry = now;
    pc.curr = snext;
    pc.sliceEnd = snext ? now + this.tslice : Number.POSITIVE_INFINITY;
    // vcpu_migrate() after the switch: csched_res_pick, then a (non-boosting) wake on the new pCPU.
    if (scurr && scurr !== snext && scurr.migratePending) {
      scurr.migratePending = false;
      if (!scurr.asleep && !scurr.removed && !scurr.parked) {
        this.resPick(scurr);
        this.unitWake(scurr, now);
      } else if (!allows(scurr.affinity, scurr.processor)) {
        this.resPick(scurr);
      }
    }
  }

  /**
   * csched_load_balance: look at the non-idle peers (starting after balance_bias) for a vCPU of
   * strictly higher priority than our best; the first found is stolen. Otherwise run our head.
   */
  private loadBalance(p: number, head: Svc | null, now: number): Svc | null {
    const pri = head ? head.pri : CSCHED_PRI_IDLE;
    const workers = new Set<number>();
    for (let q = 0; q < this.pcpus.length; q++) if (q !== p && !this.idlers.has(q)) workers.add(q);
    if (workers.size > 0) {
      const first = this.cycle(this.balanceBias, workers);
      let peer = first;
      do {
        // "If there is only one runnable unit on peer_cpu, there's no one to be stolen"
        if (this.nrRunnable(peer) > 1) {
          const speer = this.runqSteal(peer, p, pri, now);
          if (speer) {
            this.balanceBias = peer;
            return speer;
          }
        }
        peer = this.cycle(peer, workers);
      } while (peer !== first);
    }
    if (head) this.runqRemove(head);
    return head;
  }

  /** csched_runq_steal: the first queued vCPU on peer of priority above `pri` moves to `cpu`. */
  private runqSteal(peer: number, cpu: number, pri: number, now: number): Svc | null {
    // "Don't steal from an idle CPU's runq because it's about to pick up work from it itself."
    if (this.pcpus[peer].curr === null) return null;
    for (const speer of this.pcpus[peer].runq) {
      if (speer.pri <= pri) break;
      // __csched_unit_is_migrateable: never onto a pCPU outside its hard affinity.
      if (!allows(speer.affinity, cpu)) continue;
      // vcpu_migration_delay is 0 by default: nothing is cache-hot, everything is migrateable.
      this.runqRemove(speer);
      speer.processor = cpu;
      this.emit('stolen_vcpu', now, speer, cpu, `from ${peer}`);
      return speer;
    }
    return null;
  }

  /** csched_res_pick / _csched_cpu_pick (one socket, no SMT): its pCPU if idle, else the next idler. */
  private resPick(svc: Svc): void {
    svc.migrating = true; // CSCHED_FLAG_UNIT_MIGRATING
    svc.processor = this.cpuPick(svc);
  }

  private cpuPick(svc: Svc): number {
    // cpus = hard affinity & online; start from processor if in it, else the next pCPU of it.
    const n = this.pcpus.length;
    let cpu = allows(svc.affinity, svc.processor) ? svc.processor : firstAllowed(svc.affinity, (svc.processor + 1) % n, n);
    const idlers = new Set([...this.idlers].filter((c) => allows(svc.affinity, c)));
    // "iff unit is the currently running and the only runnable unit on cpu, we add cpu to the idlers"
    if (this.pcpus[cpu].runq.length === 0) idlers.add(cpu);
    if (!idlers.has(cpu) && idlers.size > 0) cpu = this.cycle(cpu, idlers);
    return cpu;
  }

  // ---- Run queue helpers (__runq_insert, runq_remove) ---------------------------------------

  /** __runq_insert: after every vCPU of equal or higher priority (FIFO within a priority). */
  private runqInsert(p: number, svc: Svc): void {
    if (svc.onRunq) throw new Error(`credit: ${svc.ref.key} already on a run queue`);
    const q = this.pcpus[p].runq;
    let i = 0;
    while (i < q.length && !(svc.pri > q[i].pri)) i++;
    q.splice(i, 0, svc);
    svc.onRunq = true;
    svc.processor = p;
  }

  private runqRemove(svc: Svc): void {
    const q = this.pcpus[svc.processor].runq;
    const i = q.indexOf(svc);
    if (i < 0) throw new Error(`credit: ${svc.ref.key} not on run queue ${svc.processor}`);
    q.splice(i, 1);
    svc.onRunq = false;
  }

  private nrRunnable(p: number): number {
    const pc = this.pcpus[p];
    return pc.runq.length + (pc.curr && this.runnable(pc.curr) ? 1 : 0);
  }

  private runnable(svc: Svc): boolean {
    return !svc.asleep && !svc.parked && !svc.removed && !svc.migratePending;
  }

  /** cpumask_cycle: the next member of `set` after n, wrapping around. */
  private cycle(n: number, set: ReadonlySet<number>): number {
    const N = this.pcpus.length;
    for (let i = 1; i <= N; i++) {
      const c = (n + i) % N;
      if (set.has(c)) return c;
    }
    return n;
  }

  private domCntl(dom: Dom, params: VmSchedParams): void {
    if (params.weight !== undefined) {
      const w = params.weight;
      if (!(Number.isInteger(w) && w >= CSCHED_MIN_WEIGHT && w <= CSCHED_MAX_WEIGHT)) {
        throw new RangeError(`credit: weight of ${dom.id} must be an integer in 1..65535, got ${w}`);
      }
      this.weight += (w - dom.weight) * dom.active.length;
      dom.weight = w;
    }
    if (params.cap !== undefined) {
      const c = params.cap;
      if (!(Number.isInteger(c) && c >= 0 && c <= 65535))
        throw new RangeError(`credit: cap of ${dom.id} must be an integer percentage >= 0, got ${c}`);
      dom.cap = c;
    }
  }

  private mustGet(v: VcpuRef): Svc {
    const svc = this.svcs.get(v.key);
    if (!svc) throw new Error(`credit: unknown vCPU ${v.key}`);
    return svc;
  }

  private emit(kind: SchedTracePoint, now: number, svc: Svc | null, pcpu: number, detail = ''): void {
    this.trace?.(kind, now, { pcpu, vm: svc?.ref.vm, vcpu: svc?.ref.vcpu, detail });
  }

  /** The vCPU's credit (SchedulerPolicy.balance): what the run segments' trace counters show. */
  balance(v: VcpuRef): Readonly<Record<string, number>> | undefined {
    const s = this.svcs.get(v.key);
    return s && { credit: s.credit };
  }

  // ---- For tests ------------------------------------------------------------------------------

  /** Credit and priority of a vCPU (for tests and debugging, like csched_dump_unit). */
  inspect(key: string): { credit: number; pri: number; active: boolean; parked: boolean; processor: number } | undefined {
    const s = this.svcs.get(key);
    return s && { credit: s.credit, pri: s.pri, active: s.active, parked: s.parked, processor: s.processor };
  }

  /**
   * Invariants, checked after schedule(): no vCPU on two pCPUs or two run queues or both; every
   * runnable vCPU is running or queued; a queued or running vCPU is runnable (a running one that is
   * not has its pCPU's reschedule pending); the active weight is the sum of the active vCPUs'
   * domain weights. Throws on a violation; returns where each vCPU is.
   */
  check(): CreditSnapshot {
    const where = new Map<string, string>();
    const put = (s: Svc, w: string) => {
      if (where.has(s.ref.key)) throw new Error(`credit invariant: ${s.ref.key} is ${where.get(s.ref.key)} and ${w}`);
      where.set(s.ref.key, w);
    };
    this.pcpus.forEach((pc, p) => {
      if (pc.curr) {
        if (!this.svcs.has(pc.curr.ref.key) && !pc.resched) throw new Error(`credit invariant: removed ${pc.curr.ref.key} runs on ${p}`);
        if (!this.runnable(pc.curr) && !pc.resched) throw new Error(`credit invariant: ${pc.curr.ref.key} runs on ${p} but is not runnable`);
        if (pc.curr.processor !== p) throw new Error(`credit invariant: ${pc.curr.ref.key} runs on ${p} but belongs to ${pc.curr.processor}`);
        if (!allows(pc.curr.affinity, p) && !pc.resched) throw new Error(`credit invariant: ${pc.curr.ref.key} runs on ${p} outside its pin`);
        put(pc.curr, `running on ${p}`);
      }
      for (const s of pc.runq) {
        if (!s.onRunq || s.processor !== p) throw new Error(`credit invariant: ${s.ref.key} in runq ${p} inconsistently`);
        if (!this.runnable(s)) throw new Error(`credit invariant: ${s.ref.key} queued but not runnable`);
        if (!allows(s.affinity, p)) throw new Error(`credit invariant: ${s.ref.key} queued on ${p} outside its pin`);
        put(s, `queued on ${p}`);
      }
    });
    let weight = 0;
    const parked: string[] = [];
    const blocked: string[] = [];
    for (const s of this.svcs.values()) {
      if (s.active) weight += s.dom.weight;
      if (s.onRunq && !where.has(s.ref.key)) throw new Error(`credit invariant: ${s.ref.key} thinks it is queued`);
      if (where.has(s.ref.key)) continue;
      if (s.parked) parked.push(s.ref.key);
      else if (s.asleep) blocked.push(s.ref.key);
      else throw new Error(`credit invariant: runnable ${s.ref.key} is neither running nor queued (lost)`);
    }
    if (weight !== this.weight) throw new Error(`credit invariant: active weight ${this.weight} != ${weight}`);
    return {
      running: this.pcpus.map((pc) => pc.curr?.ref.key ?? null),
      queued: this.pcpus.map((pc) => pc.runq.map((s) => s.ref.key)),
      parked,
      blocked,
    };
  }
}

/** Registered as `credit` (registry.ts), as credit.c's REGISTER_SCHEDULER(sched_credit_def). */
export const CREDIT_SCHEDULER = registerScheduler(CREDIT, (pcpus, p) => new CreditPolicy(pcpus, p));
