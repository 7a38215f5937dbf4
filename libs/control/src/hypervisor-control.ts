// HypervisorControl's logic: one HypervisorService (the trap responder on vsim.<sim>.trap.*) per
// open simulation, on the Bus this process was given.

import { Bus } from '@vsim/bus';
import { VM_KINDS, vmKindOf } from '@vsim/vocabulary';
import { Ack, OpenSimulationRequest, RegisterVmRequest, ServiceStatus, SimulationRef, subjects } from '@vsim/proto';
import { RefusalCounter } from '@vsim/security';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts, HypervisorService } from '@vsim/hypervisor';
import { costsOfModel } from './proto-costs';
import {
  ControlImplOptions,
  ControlLogger,
  HypervisorControl,
  addCounters,
  checkHostId,
  checkNodeId,
  checkSim,
  checkVmId,
  exists,
  invalid,
  precondition,
  silentLogger,
} from './control-plane';
import { Drain } from './drain';

export interface HypervisorControlOptions extends ControlImplOptions {
  readonly costs?: HypervisorCosts;
}

export class HypervisorControlImpl implements HypervisorControl {
  private readonly sims = new Map<string, HypervisorService>();
  private readonly log: ControlLogger;
  /** Counters of closed simulations (live ones are added on Status). */
  private readonly closed: Record<string, number> = {
    simulationsOpened: 0,
    simulationsClosed: 0,
    vmsRegistered: 0,
    traps: 0,
    badMessages: 0,
    refused: 0,
  };
  /** Traps refused (from a node that does not run the VM, or out of sequence), logged with host, vm, vcpu. */
  private readonly refusals: RefusalCounter;
  /** SIGTERM: finish the simulations here, take no new one. */
  readonly drain = new Drain();

  constructor(
    private readonly bus: Bus,
    private readonly opts: HypervisorControlOptions = {},
  ) {
    this.log = opts.log ?? silentLogger;
    this.refusals = new RefusalCounter(this.log);
  }

  async openSimulation(req: OpenSimulationRequest): Promise<Ack> {
    const sim = checkSim(req.sim);
    const nodes = (req.nodes ?? []).map(checkNodeId);
    if (this.sims.has(sim)) return {}; // idempotent: a retried Open must not fail
    this.drain.refuseNew(`simulation ${sim}`);
    const log = this.log.child({ sim });
    const svc = new HypervisorService(this.bus, sim, this.opts.costs ?? DEFAULT_HYPERVISOR_COSTS, {
      onBadMessage: (subject, err) => log.warn({ subject, err }, 'bad message on the data plane: error reply sent'),
      onRefused: (r) => this.refusals.record(r, log),
    });
    svc.start(nodes);
    this.sims.set(sim, svc);
    this.closed.simulationsOpened++;
    // The subscription must have reached the NATS server before callers send traps to it
    // (otherwise an early request from another connection finds no responder).
    await this.bus.flush();
    log.info({ subjects: nodes.length === 0 ? [subjects.allTraps(sim)] : nodes.map((n) => subjects.hvTrap(sim, n)) }, 'simulation opened');
    return {};
  }

  async registerVm(req: RegisterVmRequest): Promise<Ack> {
    const svc = this.open(req.sim);
    const id = checkVmId(req.vm);
    const kind = vmKindOf(req.kind); // an older client's "sbi" still means "kernel"
    if (kind === undefined) throw invalid(`VM ${id}: kind must be ${VM_KINDS.map((k) => `"${k}"`).join(' or ')}, got ${JSON.stringify(req.kind)}`);
    if (req.brkMax < req.brkStart) throw invalid(`VM ${id}: brk_max ${req.brkMax} is below brk_start ${req.brkStart}`);
    // Where the VM runs: its traps are accepted only from that node, for that host.
    const host = checkHostId(req.host);
    const node = checkNodeId(req.node);
    if (svc.vm(id)) throw exists(`VM ${id} is already registered in simulation ${req.sim}`);
    let costs: HypervisorCosts | undefined;
    try {
      costs = req.costs === undefined ? undefined : costsOfModel(req.costs);
    } catch (err) {
      throw invalid(`VM ${id}: ${(err as Error).message}`);
    }
    svc.registerVm({ id, kind, brkStart: req.brkStart, brk: req.brkStart, brkMax: req.brkMax, costs, host, node });
    this.closed.vmsRegistered++;
    this.log.debug({ sim: req.sim, vm: id, kind: req.kind }, 'VM registered');
    return {};
  }

  async closeSimulation(req: SimulationRef): Promise<Ack> {
    const sim = checkSim(req.sim);
    const svc = this.sims.get(sim);
    if (!svc) return {}; // idempotent: closing twice (or after a failed setup) is fine
    svc.stop();
    this.sims.delete(sim);
    addCounters(this.closed, svc.stats);
    this.closed.simulationsClosed++;
    this.log.info({ sim, traps: svc.stats.traps, badMessages: svc.stats.badMessages }, 'simulation closed');
    return {};
  }

  async status(): Promise<ServiceStatus> {
    const counters = { ...this.closed, ...this.refusals.asCounters(), ...this.opts.counters?.() };
    for (const svc of this.sims.values()) addCounters(counters, svc.stats);
    return {
      service: 'vsim-hypervisor',
      instance: this.opts.instance ?? 'hypervisor',
      version: this.opts.version ?? '0.1.0',
      simulations: [...this.sims.keys()].sort(),
      counters,
    };
  }

  /** Graceful stop: resolves once every simulation here was closed (false: not within the limit). */
  finishWork(limitMs?: number): Promise<boolean> {
    return this.drain.until(() => this.sims.size === 0, limitMs);
  }

  /** Stops answering traps of every simulation (process shutdown). */
  closeAll(): void {
    for (const sim of [...this.sims.keys()]) void this.closeSimulation({ sim });
  }

  private open(sim: string): HypervisorService {
    const svc = this.sims.get(checkSim(sim));
    if (!svc) throw precondition(`simulation ${sim} is not open on this hypervisor (call OpenSimulation first)`);
    return svc;
  }
}
