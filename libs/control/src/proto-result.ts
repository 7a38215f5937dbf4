// A simulation's results at the gateway's edge: the SimResult a run summarises to (simulation.ts)
// to the SimulationResult message (control.proto) that Gateway.Results returns, and back, so that
// `vsim run --json` prints the same document from a remote run as from an embedded one.

import { SchedLatency, SchedVmResult as SchedVmResultMsg, SimHostResult, SimVmResult, SimulationResult as SimulationResultMsg } from '@vsim/proto';
import {
  HostPoolSpec,
  HostSchedResult,
  LatencyStats,
  VmSchedResult,
  schedulerMessage,
  schedulerSpecOf,
  vmSchedMessage,
  vmSchedParamsOf,
} from '@vsim/scheduler';
import { IsaName } from '@vsim/executor';
import { Technique } from '@vsim/executor';
import { SimResult, VmResult } from './simulation';

type HostOf<R> = R extends { readonly hosts: readonly (infer H)[] } ? H : never;

const TRAP_PATHS = ['split', 'remote'] as const;
const VM_STATES = ['running', 'blocked', 'halted', 'faulted'] as const;
const VM_KINDS = ['kernel', 'linux', 'replay'] as const;

/** The message of a run's results (`wallSeconds`: the gateway's measure of the run, 0 when unknown). */
export function simulationResultMessage(sim: string, r: SimResult, wallSeconds = 0): SimulationResultMsg {
  return {
    sim,
    name: r.name,
    seed: r.seed,
    durationNs: r.durationNs,
    trapPath: r.trapPath,
    scheduler: schedulerMessage(r.scheduler, 'result.scheduler'),
    hosts: r.hosts.map((h, i): SimHostResult => ({
      id: h.id,
      endNs: h.endNs,
      iterations: h.iterations,
      pcpus: h.pcpus,
      isa: h.isa,
      clockHz: h.clockHz,
      pools: (h.pools ?? []).map((p, j) => ({
        id: p.id,
        pcpus: [...p.pcpus],
        scheduler: schedulerMessage(p.scheduler, `result.hosts[${i}].pools[${j}].scheduler`),
      })),
      sched: h.sched && {
        pcpus: h.sched.pcpus.map((p) => ({ ...p })),
        idleWaitingNs: h.sched.idleWaitingNs,
        jainIndex: h.sched.jainIndex,
      },
    })),
    vms: r.vms.map((v): SimVmResult => ({
      id: v.id,
      host: v.host,
      vcpus: v.vcpus,
      state: v.state,
      exitStatus: v.exitStatus,
      fault: v.fault,
      cpuNs: v.cpuNs,
      waitingNs: v.waitingNs,
      blockedNs: v.blockedNs,
      hostShare: v.hostShare,
      instructions: v.instructions,
      exits: { ...v.exits },
      exitRoutes: { ...v.exitRoutes },
      console: v.console,
      isa: v.isa,
      expansion: v.expansion,
      sched: v.sched && vmSchedMessage_(v.sched),
      kind: v.kind,
      technique: v.technique,
      params: vmSchedMessage(v.params),
    })),
    events: r.events,
    eventLogHash: r.eventLogHash,
    wallSeconds,
    migrations: [...(r.migrations ?? [])],
  };
}

function vmSchedMessage_(s: VmSchedResult): SchedVmResultMsg {
  return { ...s, wakeLatency: { ...s.wakeLatency }, vcpus: s.vcpus.map((v) => ({ ...v, wakeLatency: { ...v.wakeLatency } })) };
}

function oneOf<T extends string>(field: string, v: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(v)) throw new RangeError(`${field}: expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function latency(m: SchedLatency | undefined): LatencyStats {
  return { count: m?.count ?? 0, meanNs: m?.meanNs ?? 0, p50Ns: m?.p50Ns ?? 0, p90Ns: m?.p90Ns ?? 0, p99Ns: m?.p99Ns ?? 0, maxNs: m?.maxNs ?? 0 };
}

/** A SimulationResult message as the SimResult document; RangeError naming the field at fault. */
export function simResultOf(m: SimulationResultMsg): SimResult & { wallSeconds: number } {
  const hosts = m.hosts.map((h, i): HostOf<SimResult> => {
    const pools: HostPoolSpec[] = h.pools.map((p, j) => ({
      id: p.id,
      pcpus: [...p.pcpus],
      scheduler: schedulerSpecOf(p.scheduler, `result.hosts[${i}].pools[${j}].scheduler`),
    }));
    const sched: HostSchedResult | undefined = h.sched && {
      pcpus: h.sched.pcpus.map((p) => ({ pcpu: p.pcpu, busyNs: p.busyNs, utilization: p.utilization, idleWaitingNs: p.idleWaitingNs })),
      idleWaitingNs: h.sched.idleWaitingNs,
      jainIndex: h.sched.jainIndex,
    };
    return {
      id: h.id,
      endNs: h.endNs,
      iterations: h.iterations,
      pcpus: h.pcpus,
      isa: h.isa as IsaName,
      clockHz: h.clockHz,
      ...(pools.length > 0 ? { pools } : {}),
      sched,
    };
  });
  const vms = m.vms.map((v, i): VmResult => ({
    id: v.id,
    host: v.host,
    vcpus: v.vcpus,
    state: oneOf(`result.vms[${i}].state`, v.state, VM_STATES),
    exitStatus: v.exitStatus,
    fault: v.fault,
    cpuNs: v.cpuNs,
    waitingNs: v.waitingNs,
    blockedNs: v.blockedNs,
    hostShare: v.hostShare,
    instructions: v.instructions,
    exits: { ...v.exits },
    exitRoutes: { ...v.exitRoutes },
    console: v.console,
    isa: v.isa as IsaName,
    expansion: v.expansion,
    sched: v.sched && {
      runningNs: v.sched.runningNs,
      runnableNs: v.sched.runnableNs,
      blockedNs: v.sched.blockedNs,
      offlineNs: v.sched.offlineNs,
      preemptions: v.sched.preemptions,
      migrations: v.sched.migrations,
      deadlineMisses: v.sched.deadlineMisses,
      wakeLatency: latency(v.sched.wakeLatency),
      vcpus: v.sched.vcpus.map((c) => ({
        vcpu: c.vcpu,
        runningNs: c.runningNs,
        runnableNs: c.runnableNs,
        blockedNs: c.blockedNs,
        offlineNs: c.offlineNs,
        share: c.share,
        preemptions: c.preemptions,
        migrations: c.migrations,
        deadlineMisses: c.deadlineMisses,
        wakeLatency: latency(c.wakeLatency),
      })),
    },
    kind: oneOf(`result.vms[${i}].kind`, v.kind, VM_KINDS),
    technique: v.technique as Technique | undefined,
    params: vmSchedParamsOf(v.params),
  }));
  return {
    name: m.name,
    seed: m.seed,
    durationNs: m.durationNs,
    trapPath: oneOf('result.trap_path', m.trapPath, TRAP_PATHS),
    scheduler: schedulerSpecOf(m.scheduler, 'result.scheduler'),
    hosts,
    vms,
    ...(m.migrations.length > 0
      ? {
          migrations: m.migrations.map((x, i) => ({
            ...x,
            stoppedBy: oneOf(`result.migrations[${i}].stopped_by`, x.stoppedBy, ['dirty-set', 'round-limit'] as const),
          })),
        }
      : {}),
    events: m.events,
    eventLogHash: m.eventLogHash,
    wallSeconds: m.wallSeconds,
  };
}
