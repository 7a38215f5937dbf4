// CpuNodeControl's logic: one CpuNodeService per simulation this node takes part in (created by the
// first CreateHost of that simulation), each serving vsim.<sim>.run.<node>.<host> for its hosts.

import { Bus, CheckpointStore } from '@vsim/bus';
import { MAX_PCPUS, MAX_VCPUS, VM_KINDS, vmKindOf } from '@vsim/vocabulary';
import { isEngineName } from '@vsim/isa';
import { TECHNIQUES, Technique, GUEST_ISAS as ISAS, IsaName, makeExpansionFactors, CpuNodeService } from '@vsim/executor';
import { Ack, CreateHostRequest, CreateVmReply, CreateVmRequest, RestoreVmRequest, ServiceStatus, SimulationRef, subjects } from '@vsim/proto';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from '@vsim/hypervisor';
import { costsOfModel } from './proto-costs';
import { RefusalCounter } from '@vsim/security';
import {
  ControlImplOptions,
  ControlLogger,
  CpuNodeControl,
  addCounters,
  checkCount,
  checkHostId,
  checkSim,
  checkVmId,
  exists,
  invalid,
  notFound,
  silentLogger,
} from './control-plane';
import { Drain } from './drain';

/** Guest memory per VM is allocated on the node: refuse absurd requests rather than die of them. */
export const MAX_VM_MEMORY_BYTES = 1 << 30;
/**
 * The largest guest image a cpu-node takes: it arrives whole in one CreateVm call, whose size the
 * node's gRPC server bounds (CPU_NODE_MAX_MESSAGE_BYTES). The gateway refuses a bigger image at
 * submission, naming this limit.
 */
export const MAX_IMAGE_BYTES = 32 << 20;
/** A cpu-node's gRPC receive limit: an image plus the rest of a CreateVm request. */
export const CPU_NODE_MAX_MESSAGE_BYTES = MAX_IMAGE_BYTES + (1 << 20);
/** vCPUs per VM and pCPUs per host: the scenario format's limits (@vsim/vocabulary). */
export { MAX_PCPUS, MAX_VCPUS };

export interface CpuNodeControlOptions extends ControlImplOptions {
  /** The node id the coordinator assigns hosts by. */
  readonly nodeId: string;
  readonly costs?: HypervisorCosts;
  /** Where this node stores its VMs' snapshots for checkpoints and reads them to resume (none: both refused). */
  readonly checkpointStore?: CheckpointStore;
}

export class CpuNodeControlImpl implements CpuNodeControl {
  private readonly sims = new Map<string, CpuNodeService>();
  /** VMs created per open simulation (Status liveVms: host placement weighs VMs too, placement.ts). */
  private readonly vmsOf = new Map<string, number>();
  private readonly log: ControlLogger;
  private readonly closed: Record<string, number> = {
    hostsCreated: 0,
    vmsCreated: 0,
    runOrders: 0,
    localTraps: 0,
    remoteTraps: 0,
    badMessages: 0,
    refused: 0,
    simulationsClosed: 0,
  };
  /** Data-plane messages refused (sender or sequence did not fit), logged with their host. */
  private readonly refusals: RefusalCounter;
  /** SIGTERM: finish the simulations here, take no new one. */
  readonly drain = new Drain();

  constructor(
    private readonly bus: Bus,
    private readonly opts: CpuNodeControlOptions,
  ) {
    this.log = opts.log ?? silentLogger;
    this.refusals = new RefusalCounter(this.log);
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  /** The simulation's cpu-node service here, while it is open (tests read its VMs' memory). */
  simulation(sim: string): CpuNodeService | undefined {
    return this.sims.get(sim);
  }

  async createHost(req: CreateHostRequest): Promise<Ack> {
    const sim = checkSim(req.sim);
    const host = checkHostId(req.host);
    checkCount(`host ${host}: pcpus`, req.pcpus, MAX_PCPUS);
    if (!(req.clockHz > 0)) throw invalid(`host ${host}: clock_hz must be > 0`);
    if (!(req.quantumNs > 0)) throw invalid(`host ${host}: quantum_ns must be > 0`);
    if (req.trapPath !== 'split' && req.trapPath !== 'remote')
      throw invalid(`host ${host}: trap_path must be "split" or "remote", got ${JSON.stringify(req.trapPath)}`);
    let costs: HypervisorCosts;
    try {
      costs = req.costs === undefined ? DEFAULT_HYPERVISOR_COSTS : costsOfModel(req.costs);
    } catch (err) {
      throw invalid(`host ${host}: ${(err as Error).message}`);
    }
    const isa = (req.isa || 'rv32') as IsaName;
    if (!ISAS.includes(isa)) throw invalid(`host ${host}: isa must be one of ${ISAS.join(', ')}, got ${JSON.stringify(req.isa)}`);
    let expansion;
    try {
      expansion = makeExpansionFactors(req.expansion);
    } catch (err) {
      throw invalid(`host ${host}: expansion: ${(err as Error).message}`);
    }
    let svc = this.sims.get(sim);
    if (!svc) this.drain.refuseNew(`simulation ${sim} on node ${this.nodeId}`);
    if (svc?.host(host)) throw exists(`host ${host} of simulation ${sim} already exists on node ${this.nodeId}`);
    if (!svc) {
      const log = this.log.child({ sim });
      svc = new CpuNodeService(
        this.bus,
        sim,
        this.nodeId,
        this.opts.costs ?? DEFAULT_HYPERVISOR_COSTS,
        {
          onBadMessage: (subject, err) => log.warn({ subject, err }, 'bad message on the data plane: error reply sent'),
          onRefused: (r) => this.refusals.record(r, log),
        },
        this.opts.checkpointStore,
      );
      this.sims.set(sim, svc);
    }
    svc.createHost(
      { id: host, pcpus: req.pcpus, clockHz: req.clockHz, quantumNs: req.quantumNs, trapPath: req.trapPath, isa, expansion },
      req.costs === undefined ? undefined : costs,
    );
    this.closed.hostsCreated++;
    this.log.info({ sim, host, pcpus: req.pcpus, trapPath: req.trapPath, subject: subjects.hostRun(sim, this.nodeId, host) }, 'host created');
    await this.bus.flush(); // the run subject is served before anyone sends orders to it
    return {};
  }

  async createVm(req: CreateVmRequest): Promise<CreateVmReply> {
    const sim = checkSim(req.sim);
    const svc = this.sims.get(sim);
    if (!svc) throw notFound(`simulation ${sim} has no host on node ${this.nodeId} (call CreateHost first)`);
    const exec = svc.host(req.host);
    if (!exec) throw notFound(`node ${this.nodeId} does not simulate host ${JSON.stringify(req.host)} of simulation ${sim}`);
    const id = checkVmId(req.vm);
    if (exec.vms.has(id)) throw exists(`VM ${id} already exists on host ${req.host}`);
    const kind = vmKindOf(req.kind); // an older client's "sbi" still means "kernel"
    if (kind === undefined) throw invalid(`VM ${id}: kind must be ${VM_KINDS.map((k) => `"${k}"`).join(' or ')}, got ${JSON.stringify(req.kind)}`);
    if (!isEngineName(req.engine)) throw invalid(`VM ${id}: unknown engine ${JSON.stringify(req.engine)}`);
    const technique = (req.technique || 'paravirt') as Technique;
    if (!TECHNIQUES.includes(technique))
      throw invalid(`VM ${id}: technique ${JSON.stringify(req.technique)} is not implemented (${TECHNIQUES.join(', ')})`);
    const isa = (req.isa || 'rv32') as IsaName;
    if (!ISAS.includes(isa)) throw invalid(`VM ${id}: isa must be one of ${ISAS.join(', ')}, got ${JSON.stringify(req.isa)}`);
    checkCount(`VM ${id}: vcpus`, req.vcpus, MAX_VCPUS);
    checkCount(`VM ${id}: memory_bytes`, req.memoryBytes, MAX_VM_MEMORY_BYTES);
    if (req.image.length === 0) throw invalid(`VM ${id}: the image is empty`);
    if (req.image.length > MAX_IMAGE_BYTES)
      throw invalid(`VM ${id}: the image is ${req.image.length} bytes; a cpu-node takes images up to ${MAX_IMAGE_BYTES} bytes`);
    let inst;
    try {
      inst = svc.createVm(req.host, {
        id,
        kind,
        vcpus: req.vcpus,
        memoryBytes: req.memoryBytes,
        image: req.image,
        args: req.args,
        engine: req.engine,
        technique,
        isa,
      });
    } catch (err) {
      // A bad ELF, a layout that does not fit in memory, an SMP Linux program, ...
      throw invalid(`VM ${id}: ${(err as Error).message}`);
    }
    this.closed.vmsCreated++;
    this.vmsOf.set(sim, (this.vmsOf.get(sim) ?? 0) + 1);
    this.log.info({ sim, host: req.host, vm: id, kind, engine: req.engine, imageBytes: req.image.length }, 'VM created');
    return { brkStart: inst.brkStart, brkMax: inst.brkMax };
  }

  async restoreVm(req: RestoreVmRequest): Promise<CreateVmReply> {
    const sim = checkSim(req.sim);
    const svc = this.sims.get(sim);
    if (!svc) throw notFound(`simulation ${sim} has no host on node ${this.nodeId} (call CreateHost first)`);
    if (!svc.host(req.host)) throw notFound(`node ${this.nodeId} does not simulate host ${JSON.stringify(req.host)} of simulation ${sim}`);
    const id = checkVmId(req.vm);
    if (svc.host(req.host)!.vms.has(id)) throw exists(`VM ${id} already exists on host ${req.host}`);
    if (!Number.isSafeInteger(req.orderSeq) || req.orderSeq < 0) throw invalid(`VM ${id}: order_seq must be a non-negative integer`);
    let inst;
    try {
      inst = await svc.restoreVm(req.host, id, req.chain, req.orderSeq);
    } catch (err) {
      // A missing or corrupted blob, a chain that does not fit together: the message names the key.
      throw invalid((err as Error).message);
    }
    this.closed.vmsRestored = (this.closed.vmsRestored ?? 0) + 1;
    this.log.info({ sim, host: req.host, vm: id, chain: req.chain.length }, 'VM restored from a checkpoint');
    return { brkStart: inst.brkStart, brkMax: inst.brkMax };
  }

  async closeSimulation(req: SimulationRef): Promise<Ack> {
    const sim = checkSim(req.sim);
    const svc = this.sims.get(sim);
    if (!svc) return {};
    svc.stop();
    this.sims.delete(sim);
    this.vmsOf.delete(sim);
    addCounters(this.closed, svc.stats);
    this.closed.simulationsClosed++;
    this.log.info({ sim, ...svc.stats }, 'simulation closed');
    return {};
  }

  async status(): Promise<ServiceStatus> {
    const counters = { ...this.closed, ...this.refusals.asCounters(), ...this.opts.counters?.(), liveHosts: 0, livePcpus: 0, liveVms: 0 };
    for (const svc of this.sims.values()) {
      addCounters(counters, svc.stats);
      const l = svc.load();
      counters.liveHosts += l.hosts;
      counters.livePcpus += l.pcpus;
      counters.liveVms += this.vmsOf.get(svc.sim) ?? 0;
    }
    return {
      service: 'vsim-cpu-node',
      instance: this.opts.instance ?? this.nodeId,
      version: this.opts.version ?? '0.1.0',
      simulations: [...this.sims.keys()].sort(),
      counters,
    };
  }

  /** Graceful stop: resolves once every simulation here was closed (false: not within the limit). */
  finishWork(limitMs?: number): Promise<boolean> {
    return this.drain.until(() => this.sims.size === 0, limitMs);
  }

  closeAll(): void {
    for (const sim of [...this.sims.keys()]) void this.closeSimulation({ sim });
  }
}
