// A whole simulation, described in plain data (what a scenario file normalises to), run on a bus:
// create the hosts on cpu-nodes, register the VMs with the hypervisor and the scheduler, drive every
// host's loop to the end of the run, and turn what happened into per-VM results and a hashed log.

import { readFileSync } from 'fs';
import { InProcessBroker } from '@vsim/bus';
import { EngineName } from '@vsim/isa';
import { Event, VcpuState } from '@vsim/proto';
import { EventLog } from './events/log';
import { HypervisorService } from './hypervisor/service';
import { CpuNodeService } from './node/service';
import { SchedulerService, PolicySpec } from './scheduler/service';
import { VmSchedParams } from './scheduler/policy';
import { HostLoopResult, VcpuStats } from './scheduler/host-loop';

export interface HostSpec {
  readonly id: string;
  readonly pcpus: number;
  readonly clockHz: number;
  readonly quantumNs: number;
}

export interface VmSpec {
  readonly id: string;
  /** Absent: the scheduler places the VM (least-loaded host). */
  readonly host?: string;
  readonly vcpus: number;
  readonly memoryBytes: number;
  /** Path of the guest ELF. */
  readonly image: string;
  readonly args: readonly string[];
  readonly kind: 'sbi' | 'linux';
  readonly engine: EngineName;
  readonly sched: VmSchedParams;
}

export interface SimSpec {
  readonly name: string;
  readonly seed: number;
  readonly durationNs: number;
  readonly trapPath: 'split' | 'remote';
  readonly scheduler: PolicySpec;
  readonly hosts: readonly HostSpec[];
  readonly vms: readonly VmSpec[];
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
  readonly console: string;
}

export interface SimResult {
  readonly name: string;
  readonly seed: number;
  readonly durationNs: number;
  readonly trapPath: 'split' | 'remote';
  readonly hosts: readonly { id: string; endNs: number; iterations: number; pcpus: number }[];
  readonly vms: readonly VmResult[];
  readonly events: number;
  readonly eventLogHash: string;
}

/** Places VMs without a host on the host with the fewest vCPUs per pCPU (ties: scenario order). */
export function placeVms(spec: SimSpec): Map<string, string> {
  const load = new Map(spec.hosts.map((h) => [h.id, 0]));
  const placed = new Map<string, string>();
  for (const vm of spec.vms) if (vm.host) {
    placed.set(vm.id, vm.host);
    load.set(vm.host, (load.get(vm.host) ?? 0) + vm.vcpus);
  }
  for (const vm of spec.vms) if (!vm.host) {
    let best = spec.hosts[0];
    for (const h of spec.hosts) if ((load.get(h.id)! + vm.vcpus) / h.pcpus < (load.get(best.id)! + vm.vcpus) / best.pcpus) best = h;
    placed.set(vm.id, best.id);
    load.set(best.id, load.get(best.id)! + vm.vcpus);
  }
  return placed;
}

/** Runs a simulation with every service in this process, on the in-process bus. */
export async function runEmbedded(spec: SimSpec, sim = 'embedded'): Promise<{ result: SimResult; log: EventLog }> {
  const broker = new InProcessBroker();
  const hv = new HypervisorService(broker.connect(), sim);
  const node = new CpuNodeService(broker.connect(), sim, 'node-0');
  const sched = new SchedulerService(broker.connect(), sim);
  hv.start();
  try {
    const placement = placeVms(spec);
    for (const h of spec.hosts) {
      node.createHost({ id: h.id, pcpus: h.pcpus, clockHz: h.clockHz, quantumNs: h.quantumNs, trapPath: spec.trapPath });
      sched.addHost(h.id, h.pcpus, spec.scheduler);
    }
    for (const vm of spec.vms) {
      const host = placement.get(vm.id)!;
      const inst = node.createVm(host, {
        id: vm.id, kind: vm.kind, vcpus: vm.vcpus, memoryBytes: vm.memoryBytes,
        image: readFileSync(vm.image), args: vm.args, engine: vm.engine,
      });
      hv.registerVm({ id: vm.id, kind: vm.kind, brkStart: inst.brkStart, brk: inst.brkStart, brkMax: inst.brkMax });
      sched.addVm(host, { id: vm.id, vcpus: vm.vcpus, sched: vm.sched });
    }
    const loops = await sched.runAll(spec.durationNs);
    return summarize(spec, placement, loops);
  } finally {
    hv.stop();
    node.stop();
  }
}

/** Per-VM results and the canonical log, from what the host loops gathered. */
export function summarize(spec: SimSpec, placement: Map<string, string>, loops: readonly HostLoopResult[]): { result: SimResult; log: EventLog } {
  const log = new EventLog();
  for (const l of loops) log.add(l.events);
  const byVm = new Map<string, Event[]>();
  for (const e of log.all()) if (e.vm) (byVm.get(e.vm) ?? byVm.set(e.vm, []).get(e.vm)!).push(e);
  const hostOf = new Map(loops.map((l) => [l.host, l]));
  const vms = spec.vms.map((vm): VmResult => {
    const host = placement.get(vm.id)!;
    const loop = hostOf.get(host)!;
    const stats: VcpuStats[] = [];
    for (let i = 0; i < vm.vcpus; i++) stats.push(loop.vcpus.get(`${vm.id}/${i}`)!);
    const events = byVm.get(vm.id) ?? [];
    const exits: Record<string, number> = {};
    let console = '';
    let fault: string | undefined;
    let exitStatus: number | undefined;
    for (const e of events) {
      if (e.kind === 'trap' || e.kind === 'hypercall') exits[e.cause] = (exits[e.cause] ?? 0) + 1;
      else if (e.kind === 'console') console += e.detail;
      else if (e.kind === 'fault') fault = e.detail;
      else if (e.kind === 'halt') exitStatus = e.value;
    }
    const sum = (f: (s: VcpuStats) => number) => stats.reduce((a, s) => a + f(s), 0);
    const states = stats.map((s) => s.state);
    const state = states.includes(VcpuState.VCPU_STATE_FAULTED) ? 'faulted'
      : states.every((s) => s === VcpuState.VCPU_STATE_HALTED) ? 'halted'
      : states.some((s) => s === VcpuState.VCPU_STATE_RUNNABLE) ? 'running' : 'blocked';
    const hostSpec = spec.hosts.find((h) => h.id === host)!;
    const capacity = hostSpec.pcpus * Math.max(loop.endNs, 1);
    return {
      id: vm.id, host, vcpus: vm.vcpus, state, exitStatus, fault,
      cpuNs: sum((s) => s.runningNs), waitingNs: sum((s) => s.waitingNs), blockedNs: sum((s) => s.blockedNs),
      hostShare: sum((s) => s.runningNs) / capacity, instructions: sum((s) => s.instructions), exits, console,
    };
  });
  const result: SimResult = {
    name: spec.name, seed: spec.seed, durationNs: spec.durationNs, trapPath: spec.trapPath,
    hosts: loops.map((l) => ({ id: l.host, endNs: l.endNs, iterations: l.iterations, pcpus: spec.hosts.find((h) => h.id === l.host)!.pcpus })),
    vms, events: log.size, eventLogHash: log.hash(),
  };
  return { result, log };
}
