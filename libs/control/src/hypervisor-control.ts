// HypervisorControl's logic: one HypervisorService (the trap responder on vsim.<sim>.trap.*) per
// open simulation, on the Bus this process was given.

import { Bus, StateStore } from '@vsim/bus';
import { VM_KINDS, vmKindOf } from '@vsim/vocabulary';
import { Ack, OpenSimulationRequest, ServiceStatus, SimulationRef, subjects } from '@vsim/proto';
import { RefusalCounter } from '@vsim/security';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts, HypervisorService, RestoredVm, VmRecord } from '@vsim/hypervisor';
import { costsOfModel } from './proto-costs';
import {
  ControlImplOptions,
  ControlLogger,
  HypervisorControl,
  RegisterVmCall,
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
  /**
   * Where this hypervisor keeps its simulations (opened, VM records, replies), so that a process
   * restarted under the same instance name takes them over (recover()). Without it a hypervisor
   * that dies takes its simulations with it.
   */
  readonly state?: StateStore;
}

/** What the state store holds per VM: its record and its host's replies since the previous change. */
interface StoredVm {
  readonly record: VmRecord;
  readonly replies: [string, number, string][];
}

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const dec = <T>(b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as T;

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
    await this.opts.state?.put(`${sim}/open`, enc({ instance: this.instance, nodes }));
    await this.serve(sim, [], nodes);
    this.log.info({ sim, subjects: nodes.length === 0 ? [subjects.allTraps(sim)] : nodes.map((n) => subjects.hvTrap(sim, n)) }, 'simulation opened');
    return {};
  }

  private get instance(): string {
    return this.opts.instance ?? 'hypervisor';
  }

  /** Answers the simulation's traps from now on, with `vms` as the previous process left them. */
  private async serve(sim: string, vms: readonly RestoredVm[], nodes: readonly string[] = []): Promise<void> {
    const log = this.log.child({ sim });
    const state = this.opts.state;
    const svc = new HypervisorService(
      this.bus,
      sim,
      this.opts.costs ?? DEFAULT_HYPERVISOR_COSTS,
      {
        onBadMessage: (subject, err) => log.warn({ subject, err }, 'bad message on the data plane: error reply sent'),
        onRefused: (r) => this.refusals.record(r, log),
      },
      state && {
        save: (vm, replies) =>
          state.put(`${sim}/vm/${vm.id}`, enc({ record: vm, replies: replies.map(([h, q, r]) => [h, q, Buffer.from(r).toString('base64')]) })),
      },
    );
    for (const vm of vms) svc.restoreVm(vm);
    svc.start(nodes);
    this.sims.set(sim, svc);
    this.closed.simulationsOpened++;
    // The subscription must have reached the NATS server before callers send traps to it
    // (otherwise an early request from another connection finds no responder).
    await this.bus.flush();
  }

  /**
   * A restarted process's first step: takes over the simulations its instance had open (from the
   * state store), VM records and replies included. Resolves with their ids.
   */
  async recover(): Promise<string[]> {
    const state = this.opts.state;
    if (!state) return [];
    const taken: string[] = [];
    for (const key of await state.list('')) {
      const m = /^([^/]+)\/open$/.exec(key);
      if (!m) continue;
      const opened = await state.get(key);
      const open = opened && dec<{ instance: string; nodes?: string[] }>(opened);
      if (!open || open.instance !== this.instance) continue;
      const sim = m[1];
      const vms: RestoredVm[] = [];
      for (const k of await state.list(`${sim}/vm/`)) {
        const b = await state.get(k);
        if (!b) continue;
        const v = dec<StoredVm>(b);
        vms.push({ record: v.record, replies: v.replies.map(([h, q, r]) => [h, q, new Uint8Array(Buffer.from(r, 'base64'))]) });
      }
      if (!this.sims.has(sim)) await this.serve(sim, vms, open.nodes ?? []);
      this.closed.vmsRegistered += vms.length;
      this.log.warn({ sim, vms: vms.length }, 'simulation taken over from the state store (the previous process of this instance died)');
      taken.push(sim);
    }
    return taken;
  }

  async registerVm(req: RegisterVmCall): Promise<Ack> {
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
    // A VM restored from a checkpoint goes on from its heap break and end as they were then.
    const brk = (req.brk ?? 0) === 0 ? req.brkStart : req.brk!;
    if (brk < req.brkStart || brk > req.brkMax) throw invalid(`VM ${id}: brk ${brk} is outside [brk_start ${req.brkStart}, brk_max ${req.brkMax}]`);
    const ended = req.ended ?? '';
    if (ended !== '' && ended !== 'shutdown' && ended !== 'fault')
      throw invalid(`VM ${id}: ended must be "", "shutdown" or "fault", got ${JSON.stringify(ended)}`);
    const record: VmRecord = {
      id,
      kind,
      brkStart: req.brkStart,
      brk,
      brkMax: req.brkMax,
      costs,
      host,
      node,
      ended: ended === '' ? undefined : ended,
    };
    await this.opts.state?.put(`${req.sim}/vm/${id}`, enc({ record, replies: [] } satisfies StoredVm));
    svc.registerVm(record);
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
    await this.opts.state?.deletePrefix(`${sim}/`);
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
      instance: this.instance,
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
