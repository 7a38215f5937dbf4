// A host loop's state at the edge (Handover/Adopt, control.proto; a checkpoint's manifest, checkpoint.proto): the typed
// LoopState and VcpuLoopFigures messages to the scheduler's LoopState and back. The policy and its
// parameters are a SchedulerParams message (proto-scheduler.ts); the policy's own state stays the
// policy's: UTF-8 JSON bytes (PolicyState.state), opaque here.

import { LoopState as LoopStateMsg, PolicyState as PolicyStateMsg, VcpuLoopFigures } from '@vsim/proto';
import type { LoopState, VcpuStats } from './host-loop';
import { newVcpuCounters } from './metrics';
import type { PolicySpec } from './service';
import { schedulerMessage, schedulerSpecOf } from './proto-scheduler';

type VcpuEntry = LoopState['vcpus'][number];
type Marks = VcpuEntry['marks'];

const NO_MARKS: Marks = { addedNs: 0, wokeAtNs: -1, blockedAtNs: -1, lastPcpu: -1 };

/** A vCPU's counters and the loop's marks for it, as VcpuHandover.figures. */
export function vcpuFiguresMessage(stats: VcpuStats, marks: Marks): VcpuLoopFigures {
  return {
    onPcpuNs: stats.onPcpuNs,
    offlineNs: stats.offlineNs,
    preemptions: stats.preemptions,
    migrations: stats.migrations,
    deadlineMisses: stats.deadlineMisses,
    wakeLatenciesNs: [...stats.wakeLatenciesNs],
    addedNs: marks.addedNs,
    wokeAtNs: marks.wokeAtNs,
    blockedAtNs: marks.blockedAtNs,
    lastPcpu: marks.lastPcpu,
  };
}

/** VcpuHandover.figures back (absent: counters from zero, no mark), over the runstates the message carries. */
export function vcpuFiguresOf(
  f: VcpuLoopFigures | undefined,
  runstates: Pick<VcpuStats, 'runningNs' | 'waitingNs' | 'blockedNs' | 'instructions' | 'state'>,
): { stats: VcpuStats; marks: Marks } {
  if (!f) return { stats: { ...newVcpuCounters(), ...runstates }, marks: { ...NO_MARKS } };
  return {
    stats: {
      ...runstates,
      onPcpuNs: f.onPcpuNs,
      offlineNs: f.offlineNs,
      preemptions: f.preemptions,
      migrations: f.migrations,
      deadlineMisses: f.deadlineMisses,
      wakeLatenciesNs: [...f.wakeLatenciesNs],
    },
    marks: { addedNs: f.addedNs, wokeAtNs: f.wokeAtNs, blockedAtNs: f.blockedAtNs, lastPcpu: f.lastPcpu },
  };
}

const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The loop's own state (beyond HostHandover's common fields) as HostHandover.loop. */
export function loopStateMessage(s: LoopState): LoopStateMsg {
  const policy: PolicyStateMsg | undefined = s.policy && {
    scheduler: schedulerMessage({ policy: s.policy.name, params: s.policy.params }, 'loop.policy.scheduler'),
    state: Buffer.from(JSON.stringify(s.policy.state), 'utf8'),
  };
  return {
    pcpus: s.pcpus.map((p, pcpu) => ({ pcpu, busyNs: p.busyNs, idleWaitingNs: p.idleWaitingNs })),
    segments: (s.segments ?? [])
      .filter((g) => g !== null)
      .map((g) => ({
        pcpu: g.pcpu,
        vm: g.vm,
        vcpu: g.vcpu,
        startNs: g.startNs,
        ns: g.ns,
        latencyNs: g.latencyNs,
        balance: Object.entries(g.balance ?? {}).map(([key, value]) => ({ key, value })),
      })),
    current: s.current?.map((k) => k ?? '') ?? [],
    lastRun: [...(s.lastRun ?? [])],
    killed: s.killed ?? false,
    policy,
  };
}

/**
 * HostHandover.loop back, for a host of `pcpus` pCPUs (absent: another implementation's handover,
 * with none of it). RangeError naming the field when it does not fit the host (the
 * control plane answers it as INVALID_ARGUMENT).
 */
export function loopStateOf(
  host: string,
  pcpus: number,
  m: LoopStateMsg | undefined,
): Pick<LoopState, 'pcpus' | 'segments' | 'current' | 'lastRun' | 'killed' | 'policy'> {
  if (!m) return { pcpus: [], segments: [] };
  const at = `host ${host}: loop`;
  const stats = Array.from({ length: pcpus }, () => ({ busyNs: 0, idleWaitingNs: 0 }));
  m.pcpus.forEach((p, i) => {
    if (p.pcpu >= pcpus) throw new RangeError(`${at}.pcpus[${i}].pcpu: the host has no pCPU ${p.pcpu} (it has ${pcpus})`);
    stats[p.pcpu] = { busyNs: p.busyNs, idleWaitingNs: p.idleWaitingNs };
  });
  const segments: LoopState['segments'] & unknown[] = new Array(pcpus).fill(null);
  m.segments.forEach((g, i) => {
    if (g.pcpu >= pcpus) throw new RangeError(`${at}.segments[${i}].pcpu: the host has no pCPU ${g.pcpu} (it has ${pcpus})`);
    segments[g.pcpu] = {
      pcpu: g.pcpu,
      vm: g.vm,
      vcpu: g.vcpu,
      startNs: g.startNs,
      ns: g.ns,
      ...(g.latencyNs !== undefined ? { latencyNs: g.latencyNs } : {}),
      ...(g.balance.length > 0 ? { balance: Object.fromEntries(g.balance.map((b) => [b.key, b.value])) } : {}),
    };
  });
  if (m.current.length !== 0 && m.current.length !== pcpus)
    throw new RangeError(`${at}.current: ${m.current.length} entries, the host has ${pcpus} pCPUs`);
  const json = (field: string, bytes: Uint8Array): unknown => {
    try {
      return JSON.parse(fromUtf8.decode(bytes));
    } catch (err) {
      throw new RangeError(`${at}.policy.${field}: not UTF-8 JSON: ${(err as Error).message}`, { cause: err });
    }
  };
  let policy: LoopState['policy'];
  if (m.policy) {
    const spec: PolicySpec = schedulerSpecOf(m.policy.scheduler, `${at}.policy.scheduler`);
    policy = { name: spec.policy, params: spec.params, state: json('state', m.policy.state) };
  }
  return {
    pcpus: stats,
    segments,
    ...(m.current.length > 0 ? { current: m.current.map((k) => (k === '' ? null : k)) } : {}),
    lastRun: [...m.lastRun],
    killed: m.killed,
    ...(policy ? { policy } : {}),
  };
}
