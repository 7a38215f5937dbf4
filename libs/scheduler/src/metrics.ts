// Scheduling metrics: what the host loop (host-loop.ts) accumulates in virtual time, how it travels
// (SchedMetrics in HostResult, metrics.proto) and the figures derived from it in the run summary.
//
// Per vCPU (xenalyze's runstates): running, runnable (waiting for a pCPU), blocked (waiting for an
// event: its timer), offline (paused by an action, or after it halted or faulted); they add up to
// the time the vCPU existed on its host. Preemptions: descheduled while still runnable.
// Migrations: given a pCPU other than the one it last ran on. Wake-up latency: from the moment the
// vCPU's wake-up timer fired to the first scheduling decision that gives it a pCPU. Deadline
// misses: the policy's `deadline_miss` trace points (SEDF, RTDS).
// Per pCPU: busy time (a vCPU ran) and idle-while-waiting time (it idled while some vCPU of the
// host was runnable but not running — including a cap's deliberate idling, a pinned vCPU that may
// not run there, and the rest of a quantum after a vCPU blocked).

import { LatencySummary, PcpuMetrics, SchedMetrics, VcpuMetrics } from '@vsim/proto';

/** Percentiles reported for a latency distribution (nearest-rank). */
export const LATENCY_PERCENTILES = [50, 90, 99] as const;

/** The nearest-rank p-th percentile of ascending `sorted` (the smallest sample >= p % of them). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/** Count, sum, p50/p90/p99 and max of latency samples (integer ns). */
export function latencySummary(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    sumNs: sorted.reduce((a, x) => a + x, 0),
    p50Ns: percentile(sorted, 50),
    p90Ns: percentile(sorted, 90),
    p99Ns: percentile(sorted, 99),
    maxNs: sorted.length > 0 ? sorted[sorted.length - 1] : 0,
  };
}

/**
 * Jain's fairness index (Jain, Chiu & Hawe, DEC-TR-301, 1984): J = (Σ xᵢ)² / (n · Σ xᵢ²), in
 * [1/n, 1], 1 when every xᵢ is equal. For CPU shares against weights, xᵢ = shareᵢ / weightᵢ (or
 * measuredᵢ / idealᵢ): J = 1 exactly when every VM got its weighted share. No samples, or all zero:
 * 1 (nothing was shared unfairly).
 */
export function jainIndex(xs: readonly number[]): number {
  const sum = xs.reduce((a, x) => a + x, 0);
  const sumSq = xs.reduce((a, x) => a + x * x, 0);
  if (xs.length === 0 || sumSq === 0) return 1;
  return (sum * sum) / (xs.length * sumSq);
}

/**
 * Of the pCPUs' idle time in one iteration, the part during which some vCPU was waiting: each
 * waiting vCPU could have used one idle pCPU, so the `waiting` largest idle times count.
 */
export function idleWhileWaiting(idlePerPcpu: readonly number[], waiting: number): number[] {
  const out = idlePerPcpu.map(() => 0);
  if (waiting <= 0) return out;
  const order = idlePerPcpu
    .map((ns, p) => ({ ns, p }))
    .filter((x) => x.ns > 0)
    .sort((a, b) => b.ns - a.ns || a.p - b.p);
  for (const { ns, p } of order.slice(0, waiting)) out[p] = ns;
  return out;
}

/** What the host loop accumulates per vCPU beyond running/waiting/blocked (see VcpuStats). */
export interface VcpuSchedCounters {
  /**
   * The running runstate: time on a pCPU within the loop's iterations. The host charges a trap's
   * cost that overran a slice to the vCPU's next slice, which can then exceed its iteration;
   * runningNs (the CPU time charged) includes that, this does not.
   */
  onPcpuNs: number;
  offlineNs: number;
  preemptions: number;
  migrations: number;
  deadlineMisses: number;
  /** Every wake-up latency, in ns, in order. */
  wakeLatenciesNs: number[];
}

export interface PcpuStats {
  busyNs: number;
  idleWaitingNs: number;
}

export function newVcpuCounters(): VcpuSchedCounters {
  return { onPcpuNs: 0, offlineNs: 0, preemptions: 0, migrations: 0, deadlineMisses: 0, wakeLatenciesNs: [] };
}

/** A host loop's figures as SchedMetrics (metrics.proto): vCPUs and VMs sorted by key. */
export function schedMetricsOf(
  vcpus: ReadonlyMap<string, VcpuSchedCounters & { waitingNs: number; blockedNs: number }>,
  pcpus: readonly PcpuStats[],
): SchedMetrics {
  const out: VcpuMetrics[] = [];
  const byVm = new Map<string, number[]>();
  for (const key of [...vcpus.keys()].sort()) {
    const s = vcpus.get(key)!;
    const slash = key.lastIndexOf('/');
    const vm = key.slice(0, slash);
    out.push({
      vm,
      vcpu: Number(key.slice(slash + 1)),
      runningNs: s.onPcpuNs,
      runnableNs: s.waitingNs,
      blockedNs: s.blockedNs,
      offlineNs: s.offlineNs,
      preemptions: s.preemptions,
      migrations: s.migrations,
      deadlineMisses: s.deadlineMisses,
      wakeLatency: latencySummary(s.wakeLatenciesNs),
    });
    (byVm.get(vm) ?? byVm.set(vm, []).get(vm)!).push(...s.wakeLatenciesNs);
  }
  return {
    vcpus: out,
    vms: [...byVm].map(([vm, l]) => ({ vm, wakeLatency: latencySummary(l) })),
    pcpus: pcpus.map((p, pcpu): PcpuMetrics => ({ pcpu, busyNs: p.busyNs, idleWaitingNs: p.idleWaitingNs })),
  };
}

// ---- In the run's result (@vsim/control simulation.ts summarize) ---------------------------------

/** CSCHED_DEFAULT_WEIGHT: the weight of a VM whose scenario entry gives none (credit.ts). */
const DEFAULT_WEIGHT = 256;

export interface LatencyStats {
  readonly count: number;
  readonly meanNs: number;
  readonly p50Ns: number;
  readonly p90Ns: number;
  readonly p99Ns: number;
  readonly maxNs: number;
}

export interface VcpuSchedResult {
  readonly vcpu: number;
  readonly runningNs: number;
  readonly runnableNs: number;
  readonly blockedNs: number;
  readonly offlineNs: number;
  /** runningNs over the host's elapsed time: its share of one pCPU. */
  readonly share: number;
  readonly preemptions: number;
  readonly migrations: number;
  readonly deadlineMisses: number;
  readonly wakeLatency: LatencyStats;
}

/** A VM's scheduling metrics: runstates and counters summed over its vCPUs, latency over all. */
export interface VmSchedResult {
  readonly runningNs: number;
  readonly runnableNs: number;
  readonly blockedNs: number;
  readonly offlineNs: number;
  readonly preemptions: number;
  readonly migrations: number;
  readonly deadlineMisses: number;
  readonly wakeLatency: LatencyStats;
  readonly vcpus: readonly VcpuSchedResult[];
}

export interface HostSchedResult {
  readonly pcpus: readonly { pcpu: number; busyNs: number; utilization: number; idleWaitingNs: number }[];
  /** Summed over the pCPUs. */
  readonly idleWaitingNs: number;
  /**
   * Jain's index of the host's VMs' CPU shares normalised by weight: xᵢ = hostShareᵢ / weightᵢ
   * (weight from the scenario, default 256; so for policies without weights, of plain shares).
   * 1 = every VM got CPU in exact proportion to its weight. VMs that block or are capped use less
   * by choice and lower it: it measures the outcome, not the policy alone.
   */
  readonly jainIndex: number;
}

export function latencyStats(s: LatencySummary | undefined): LatencyStats {
  const count = s?.count ?? 0;
  return {
    count,
    meanNs: count > 0 ? s!.sumNs / count : 0,
    p50Ns: s?.p50Ns ?? 0,
    p90Ns: s?.p90Ns ?? 0,
    p99Ns: s?.p99Ns ?? 0,
    maxNs: s?.maxNs ?? 0,
  };
}

/** A VM's metrics from its host's SchedMetrics (undefined when the scheduler sent none). */
export function vmSchedResult(m: SchedMetrics | undefined, vm: string, vcpus: number, hostEndNs: number): VmSchedResult | undefined {
  if (!m) return undefined;
  const per: VcpuSchedResult[] = [];
  for (let i = 0; i < vcpus; i++) {
    const v = m.vcpus.find((x) => x.vm === vm && x.vcpu === i);
    if (!v) throw new Error(`scheduling metrics name no vCPU ${vm}/${i}`);
    per.push({
      vcpu: i,
      runningNs: v.runningNs,
      runnableNs: v.runnableNs,
      blockedNs: v.blockedNs,
      offlineNs: v.offlineNs,
      share: v.runningNs / Math.max(hostEndNs, 1),
      preemptions: v.preemptions,
      migrations: v.migrations,
      deadlineMisses: v.deadlineMisses,
      wakeLatency: latencyStats(v.wakeLatency),
    });
  }
  const sum = (f: (v: VcpuSchedResult) => number) => per.reduce((a, v) => a + f(v), 0);
  return {
    runningNs: sum((v) => v.runningNs),
    runnableNs: sum((v) => v.runnableNs),
    blockedNs: sum((v) => v.blockedNs),
    offlineNs: sum((v) => v.offlineNs),
    preemptions: sum((v) => v.preemptions),
    migrations: sum((v) => v.migrations),
    deadlineMisses: sum((v) => v.deadlineMisses),
    wakeLatency: latencyStats(m.vms.find((x) => x.vm === vm)?.wakeLatency),
    vcpus: per,
  };
}

/** A host's pCPU figures and Jain's index over its VMs (hostShare and weight of each). */
export function hostSchedResult(
  m: SchedMetrics | undefined,
  endNs: number,
  vms: readonly { hostShare: number; weight?: number }[],
): HostSchedResult | undefined {
  if (!m) return undefined;
  const pcpus = m.pcpus.map((p) => ({ pcpu: p.pcpu, busyNs: p.busyNs, utilization: p.busyNs / Math.max(endNs, 1), idleWaitingNs: p.idleWaitingNs }));
  return {
    pcpus,
    idleWaitingNs: pcpus.reduce((a, p) => a + p.idleWaitingNs, 0),
    jainIndex: jainIndex(vms.map((v) => v.hostShare / (v.weight ?? DEFAULT_WEIGHT))),
  };
}
