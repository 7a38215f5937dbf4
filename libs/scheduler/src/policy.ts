// The interface a vCPU scheduling policy implements (after SimSo's: the simulator owns time and
// calls the policy on each event). The host loop tells the policy what happened — a vCPU arrived,
// woke, blocked, left, ran for so long — and asks it what every pCPU runs next and until when.
// Xen's Credit, SEDF, RTDS and Credit2 will be further implementations of this interface.

import type { ParamsOf, PolicyDescriptor, SchedTracePoint } from '@vsim/vocabulary';

export interface VcpuRef {
  readonly vm: string;
  readonly vcpu: number;
  /** "vm/vcpu": a stable key, also the tie-breaker wherever order matters. */
  readonly key: string;
}

/** Per-VM scheduling parameters from the scenario; each policy reads the ones it knows. */
export interface VmSchedParams {
  readonly weight?: number;
  readonly cap?: number;
  readonly [param: string]: unknown;
}

export interface Decision {
  /** For each pCPU (by index), the vCPU it runs, or null to idle. */
  readonly run: readonly (VcpuRef | null)[];
  /** The latest virtual time until which this decision holds (e.g. the earliest slice end). */
  readonly until: number;
}

/**
 * A policy's trace point (after Xen's TRACE_xD: BOOST_START, STOLEN_UNIT, TICKLE, ...): the host
 * loop sets it and records each call as an event of kind `sched.<kind>` at virtual time `now`.
 */
export type SchedTrace = (kind: SchedTracePoint, now: number, fields: { pcpu?: number; vm?: string; vcpu?: number; detail?: string }) => void;

export interface SchedulerPolicy {
  readonly name: string;
  /** Set by the host loop when the policy has trace points to report. */
  trace?: SchedTrace;
  /** A vCPU joined this host, runnable. */
  add(v: VcpuRef, params: VmSchedParams, now: number): void;
  /** A vCPU left for good (its VM shut down or faulted). */
  remove(v: VcpuRef, now: number): void;
  /** A blocked vCPU became runnable. */
  wake(v: VcpuRef, now: number): void;
  /** A vCPU blocked (wfi): it must not be picked until it wakes. */
  sleep(v: VcpuRef, now: number): void;
  /** Charges a vCPU for the virtual time it just ran. */
  charge(v: VcpuRef, ranNs: number, now: number): void;
  /** What runs on each pCPU from `now`. */
  schedule(now: number): Decision;
  /** New scheduling parameters for a vCPU (an `xl sched-*` call), effective at the next decision. */
  setParams?(v: VcpuRef, params: VmSchedParams, now: number): void;
  /**
   * New scheduler-wide parameters (`xl sched-credit -s -t TSLICE -r RATELIMIT`: the policy's own
   * keys, in ns), effective at the next decision. Throws RangeError, changing nothing, on a value
   * the policy refuses.
   */
  setSchedulerParams?(params: Readonly<Record<string, unknown>>, now: number): void;
  /** Where every vCPU the policy holds is, by key (for hand-over checks after a swap). */
  queues?(): PolicyQueues;
  /**
   * What the vCPU has left to run on, in the policy's own units (Credit, Credit2: `credit`;
   * Credit2 with a cap: `budget` ns; RTDS, SEDF: `budget` ns of the current period); undefined if
   * the policy keeps no such balance. Logged with each run segment (`run` events) for traces.
   */
  balance?(v: VcpuRef): Readonly<Record<string, number>> | undefined;
  /**
   * Its complete internal state as plain JSON-safe data (queues in order, credits, budgets,
   * deadlines, timers, counters and tie-breakers): everything that influences a future decision.
   * Every registered policy has it (policy-state.ts); a checkpoint or a handover to the same policy
   * uses it, so the run goes on with exactly the events of an uninterrupted one.
   */
  saveState?(): unknown;
  /**
   * Replaces the state of a policy just made (same kind, parameters and pCPU count, no vCPU added)
   * with saveState's output; the next call behaves as the saved policy's would. Throws a
   * TypeError naming the field at fault, changing nothing, when the state does not fit.
   */
  loadState?(state: unknown): void;
}

/** A policy's run queues, by vCPU key: each vCPU it holds appears in exactly one place. */
export interface PolicyQueues {
  /** Per pCPU, the vCPU it runs (or null). */
  readonly running: readonly (string | null)[];
  /** Runnable, waiting for a pCPU (one list per run queue). */
  readonly queued: readonly (readonly string[])[];
  /** Held but not runnable: blocked, paused, parked. */
  readonly asleep: readonly string[];
}

export function vcpuRef(vm: string, vcpu: number): VcpuRef {
  return { vm, vcpu, key: `${vm}/${vcpu}` };
}

/**
 * One entry of the policy registry (registry.ts), as Xen's REGISTER_SCHEDULER: the policy's
 * vocabulary entry (name, parameter schema and defaults, per-VM parameters, `xl` command) and the
 * constructor that builds it for a host of `pcpus` pCPUs from parameters already checked against
 * that schema.
 */
export interface PolicyRegistration<D extends PolicyDescriptor = PolicyDescriptor> {
  readonly descriptor: D;
  readonly make: (pcpus: number, params: Partial<ParamsOf<D>>) => SchedulerPolicy;
}

export function registerScheduler<D extends PolicyDescriptor>(
  descriptor: D,
  make: (pcpus: number, params: Partial<ParamsOf<D>>) => SchedulerPolicy,
): PolicyRegistration<D> {
  return { descriptor, make };
}
