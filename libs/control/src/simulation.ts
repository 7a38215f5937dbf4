// A whole simulation described in plain data (what a scenario file normalises to), and how what
// happened becomes per-VM results and a hashed log. Running one is the Coordinator's job
// (coordinator.ts): in one process (runEmbedded, embedded.ts) or across processes.

import type { VmKind } from '@vsim/vocabulary';
import { EngineName } from '@vsim/isa';
import { Technique, IsaName, expansionFor } from '@vsim/executor';
import { Event, HostResult, VcpuResult, VcpuState, EventLog } from '@vsim/proto';
import { HypervisorCosts } from '@vsim/hypervisor';
import type { BalancerParams, NetworkSpec } from './migration/params';
import {
  PolicySpec,
  SimAction,
  MigrationSummary,
  VmSchedParams,
  type HostPoolSpec,
  HostSchedResult,
  VmSchedResult,
  hostSchedResult,
  vmSchedResult,
  placeVmsOnHosts,
  PlacementPolicy,
} from '@vsim/scheduler';

export interface HostSpec {
  readonly id: string;
  readonly pcpus: number;
  readonly clockHz: number;
  readonly quantumNs: number;
  /** The host's cost model (default: DEFAULT_HYPERVISOR_COSTS). */
  readonly costs?: HypervisorCosts;
  /** cpupools: disjoint sets of its pCPUs with their own scheduler (the rest: the pool `default`). */
  readonly pools?: readonly HostPoolSpec[];
  /** The ISA of its pCPUs (default rv32). */
  readonly isa?: IsaName;
  /** Expansion factor per engine for VMs of the other ISA (default DEFAULT_EXPANSION_FACTORS). */
  readonly expansion?: Readonly<Record<EngineName, number>>;
}

export interface VmSpec {
  readonly id: string;
  /** Absent: the VM is placed by libs/scheduler/src/placement.ts (fits, same ISA, least loaded, first listed). */
  readonly host?: string;
  readonly vcpus: number;
  readonly memoryBytes: number;
  /** Path of the guest ELF. */
  readonly image: string;
  readonly args: readonly string[];
  readonly kind: VmKind;
  readonly engine: EngineName;
  /** How the guest kernel is virtualized (kind kernel): paravirt (default) or trap-and-emulate. */
  readonly technique?: Technique;
  /** The guest's ISA (default rv32): a ring32 image is a ring32 kernel, run by emulation on an rv32 host. */
  readonly isa?: IsaName;
  readonly sched: VmSchedParams;
}

export interface SimSpec {
  /** Timed actions, in virtual-time order. */
  readonly actions?: readonly SimAction[];
  readonly name: string;
  readonly seed: number;
  readonly durationNs: number;
  /**
   * Checkpoint every host every this many ns of virtual time (scenario `checkpoint.interval`); absent:
   * none unless the runner asks. Not part of what is simulated: a spec's identity leaves it out.
   */
  readonly checkpointIntervalNs?: number;
  readonly trapPath: 'split' | 'remote';
  readonly scheduler: PolicySpec;
  readonly hosts: readonly HostSpec[];
  readonly vms: readonly VmSpec[];
  /** The network live migrations cross (run-time migrations read it; absent: the format's defaults). */
  readonly network?: NetworkSpec;
  /** How VMs without a host are placed (absent: least-loaded). */
  readonly placement?: PlacementPolicy;
  /** Load balancing by live migration (absent: none). */
  readonly balancer?: BalancerParams;
}

export interface VmResult {
  readonly id: string;
  readonly host: string;
  readonly vcpus: number;
  /** running (at the end of the run), halted (shut down) or faulted. */
  readonly state: 'running' | 'blocked' | 'halted' | 'faulted';
  readonly exitStatus?: number;
  readonly fault?: string;
  /** Virtual time on a pCPU, runnable but waiting for one, and blocked (summed over vCPUs). */
  readonly cpuNs: number;
  readonly waitingNs: number;
  readonly blockedNs: number;
  /** cpuNs over the host's capacity (pCPUs x elapsed time). */
  readonly hostShare: number;
  readonly instructions: number;
  /** Traps and hypercalls by handler, e.g. {"sbi.time.set_timer": 20}. */
  readonly exits: Readonly<Record<string, number>>;
  /**
   * The same, by kind, handler, route and how the hypervisor was reached (exitKey): an exit, or a call
   * from translated code, e.g. {"hypercall sbi.time.set_timer interpreter/exit": 20,
   * "trap tae.csr.sstatus interpreter/translated": 7}.
   */
  readonly exitRoutes: Readonly<Record<string, number>>;
  readonly console: string;
  /** The guest's ISA, and what each of its cycles cost its host: 1 (same ISA, direct execution) or the engine's expansion factor (emulation). */
  readonly isa: IsaName;
  readonly expansion: number;
  /** Scheduling metrics (libs/scheduler/src/metrics.ts); absent if the scheduler service sent none. */
  readonly sched?: VmSchedResult;
  /** As the scenario gave them (so that a report can be drawn from the results alone): the guest's kind, technique and scheduling parameters. */
  readonly kind: VmKind;
  readonly technique?: Technique;
  readonly params: VmSchedParams;
}

export interface SimResult {
  readonly name: string;
  readonly seed: number;
  readonly durationNs: number;
  readonly trapPath: 'split' | 'remote';
  /** The scenario's scheduler (a host with pools runs cpupools over it: hosts[].pools). */
  readonly scheduler: PolicySpec;
  readonly hosts: readonly {
    id: string;
    endNs: number;
    iterations: number;
    pcpus: number;
    isa: IsaName;
    clockHz: number;
    pools?: readonly HostPoolSpec[];
    sched?: HostSchedResult;
  }[];
  readonly vms: readonly VmResult[];
  /** Live migrations that completed, in event-log order (absent when there were none). */
  readonly migrations?: readonly MigrationSummary[];
  readonly events: number;
  readonly eventLogHash: string;
}

/** The completed migrations, from their `migrate-resume` events (libs/scheduler/src/migration.ts). */
export function migrationsOf(log: EventLog): MigrationSummary[] {
  return log
    .all()
    .filter((e) => e.kind === 'migrate-resume')
    .map((e) => JSON.parse(e.detail) as MigrationSummary);
}

/**
 * How a trap or hypercall event was handled, as one key: kind, handler (cause), route (the
 * dispatcher's choice: interpreter routine or allocator), and `exit` or `translated` (a direct call
 * from translated code, no exit). Whether an exit was handled in the cpu-node (split trap path) or
 * by the hypervisor service (remote) is in each event's `path`, not here: results are the same on
 * both trap paths.
 */
export function exitKey(e: Pick<Event, 'kind' | 'cause' | 'route' | 'path'>): string {
  return `${e.kind} ${e.cause} ${e.route}/${e.path === 'translated' ? 'translated' : 'exit'}`;
}

/**
 * The parameters a VM was given, without the keys the scenario left empty (`pin: null`): absent
 * and null mean the same, and the result then reads the same after the SimulationResult message
 * (which has no null) as in one process.
 */
function givenParams(p: VmSchedParams): VmSchedParams {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== null && v !== undefined));
}

/** Places VMs without a host on the host with the fewest vCPUs per pCPU (ties: scenario order). */
/** Where each VM runs: its named host, or the one placement.ts's documented rule picks. */
export function placeVms(spec: SimSpec): Map<string, string> {
  return placeVmsOnHosts(spec.hosts, spec.vms, spec.placement);
}

/**
 * Per-VM results and the summary, from what every path to a result has: the scheduler's per-host
 * results (RunResult.hosts: vCPU accounting, end time, iterations) and the canonical event log
 * (collected from vsim.<sim>.events.>). The embedded run and a distributed one both call this.
 */
export function summarize(
  spec: SimSpec,
  placement: ReadonlyMap<string, string>,
  hosts: readonly HostResult[],
  log: EventLog,
): { result: SimResult; log: EventLog } {
  const byVm = new Map<string, Event[]>();
  for (const e of log.all()) if (e.vm) (byVm.get(e.vm) ?? byVm.set(e.vm, []).get(e.vm)!).push(e);
  const hostOf = new Map(hosts.map((h) => [h.host, h]));
  const resultOf = (host: string): HostResult => {
    const r = hostOf.get(host);
    if (!r) throw new Error(`no result for host ${host}`);
    return r;
  };
  // A VM that migrated ends on the host where it last resumed (its vCPU figures went with it).
  const migrations = migrationsOf(log);
  const finalHost = new Map(migrations.map((m) => [m.vm, m.to]));
  const vms = spec.vms.map((vm): VmResult => {
    const host = finalHost.get(vm.id) ?? placement.get(vm.id)!;
    const hr = resultOf(host);
    const stats: VcpuResult[] = [];
    for (let i = 0; i < vm.vcpus; i++) {
      const s = hr.vcpus.find((v) => v.vm === vm.id && v.vcpu === i);
      if (!s) throw new Error(`host ${host} reported no vCPU ${vm.id}/${i}`);
      stats.push(s);
    }
    const events = byVm.get(vm.id) ?? [];
    const exits: Record<string, number> = {};
    const exitRoutes: Record<string, number> = {};
    let console = '';
    let fault: string | undefined;
    let exitStatus: number | undefined;
    for (const e of events) {
      if (e.kind === 'trap' || e.kind === 'hypercall') {
        exits[e.cause] = (exits[e.cause] ?? 0) + 1;
        const key = exitKey(e);
        exitRoutes[key] = (exitRoutes[key] ?? 0) + 1;
      } else if (e.kind === 'console') console += e.detail;
      else if (e.kind === 'fault') fault = e.detail;
      else if (e.kind === 'halt') exitStatus = e.value;
    }
    const sum = (f: (s: VcpuResult) => number) => stats.reduce((a, s) => a + f(s), 0);
    const states = stats.map((s) => s.state);
    const state = states.includes(VcpuState.VCPU_STATE_FAULTED)
      ? 'faulted'
      : states.every((s) => s === VcpuState.VCPU_STATE_HALTED)
        ? 'halted'
        : states.some((s) => s === VcpuState.VCPU_STATE_RUNNABLE)
          ? 'running'
          : 'blocked';
    const hostSpec = spec.hosts.find((h) => h.id === host)!;
    const capacity = hostSpec.pcpus * Math.max(hr.endNs, 1);
    return {
      id: vm.id,
      host,
      vcpus: vm.vcpus,
      state,
      exitStatus,
      fault,
      cpuNs: sum((s) => s.runningNs),
      waitingNs: sum((s) => s.waitingNs),
      blockedNs: sum((s) => s.blockedNs),
      hostShare: sum((s) => s.runningNs) / capacity,
      instructions: sum((s) => s.instructions),
      exits,
      exitRoutes,
      console,
      isa: vm.isa ?? 'rv32',
      expansion: expansionFor(vm.isa ?? 'rv32', hostSpec.isa ?? 'rv32', vm.engine, vm.technique, hostSpec.expansion),
      sched: vmSchedResult(hr.metrics, vm.id, vm.vcpus, hr.endNs),
      kind: vm.kind,
      technique: vm.technique,
      params: givenParams(vm.sched),
    };
  });
  const result: SimResult = {
    name: spec.name,
    seed: spec.seed,
    durationNs: spec.durationNs,
    trapPath: spec.trapPath,
    scheduler: spec.scheduler,
    hosts: spec.hosts.map((h) => {
      const r = resultOf(h.id);
      const onHost = vms
        .filter((v) => v.host === h.id)
        .map((v) => ({ hostShare: v.hostShare, weight: spec.vms.find((s) => s.id === v.id)!.sched.weight }));
      return {
        id: h.id,
        endNs: r.endNs,
        iterations: r.iterations,
        pcpus: h.pcpus,
        isa: h.isa ?? 'rv32',
        clockHz: h.clockHz,
        ...(h.pools && h.pools.length > 0 ? { pools: h.pools } : {}),
        sched: hostSchedResult(r.metrics, r.endNs, onHost),
      };
    }),
    vms,
    ...(migrations.length > 0 ? { migrations } : {}),
    events: log.size,
    eventLogHash: log.hash(),
  };
  return { result, log };
}
