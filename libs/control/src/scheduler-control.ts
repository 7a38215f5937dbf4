// SchedulerControl's logic: one SchedulerService per simulation (created by its first AddHost),
// which drives each of its hosts' loops over the bus when Run is called.

import { status } from '@grpc/grpc-js';
import { Bus, CheckpointStore } from '@vsim/bus';
import {
  Ack,
  AddActionRequest,
  AddVmRequest,
  AdoptRequest,
  HandoverState,
  HostResult,
  RunResult,
  SchedParams,
  ServiceStatus,
  SetSchedParamsRequest,
  SimulationRef,
  SwapSchedulerRequest,
  MigrateVmRequest,
  SchedulerParams as SchedulerParamsMsg,
} from '@vsim/proto';
import {
  HostLoopResult,
  NotFoundError,
  SchedulerObserver,
  SchedulerService,
  SimAction,
  PolicySpec,
  hostHandoverOf,
  schedMetricsOf,
  schedulerMessage,
  schedulerSpecOf,
  vmSchedMessage,
  vmSchedParamsOf,
  type CheckpointTaken,
} from '@vsim/scheduler';
import { CheckpointError, readCheckpointEvents, readManifest } from './checkpoint/read';
import {
  AddHostCall,
  RunCall,
  ControlError,
  ControlImplOptions,
  ControlLogger,
  SchedulerControl,
  checkCount,
  checkHostId,
  checkNodeId,
  checkSim,
  checkVmId,
  exists,
  invalid,
  notFound,
  precondition,
  silentLogger,
} from './control-plane';
import { MAX_PCPUS, MAX_VCPUS } from './cpu-node-control';
import { hostHandoverFrom } from './handover';
import { Drain } from './drain';
import { linkFor } from './migration/params';
import { balancerParamsOf, migrationParamsOf } from './proto-migration';

export interface SchedulerControlOptions extends ControlImplOptions {
  /** Sees every simulation's host loops (the service's metrics). */
  readonly observer?: SchedulerObserver;
  /** Where checkpoints go (RunRequest.checkpoint_interval_ns) and resumed hosts are read from (AddHost resume_key). */
  readonly checkpointStore?: CheckpointStore;
  /** A host's VM snapshots are full again every this many checkpoints (default DEFAULT_FULL_EVERY). */
  readonly checkpointFullEvery?: number;
  /** Told of each checkpoint taken (bench:checkpoint); each is logged at debug level anyway. */
  readonly onCheckpoint?: (sim: string, t: CheckpointTaken) => void;
}

interface SimState {
  readonly svc: SchedulerService;
  readonly vms: Set<string>;
  running: boolean;
  /** The run started by Run (joined by a repeated Run with the same end). */
  run?: { readonly endNs: number; readonly result: Promise<RunResult> };
  /** Its loops were handed to another service (it may be adopted back, e.g. when that one refused). */
  handedOver?: boolean;
}

export class SchedulerControlImpl implements SchedulerControl {
  private readonly sims = new Map<string, SimState>();
  private readonly log: ControlLogger;
  private readonly counters: Record<string, number> = {
    hostsAdded: 0,
    vmsAdded: 0,
    runs: 0,
    runsFailed: 0,
    iterations: 0,
    eventsPublished: 0,
    simulationsClosed: 0,
  };
  /** SIGTERM: finish the simulations here, take no new one. */
  readonly drain = new Drain();

  constructor(
    private readonly bus: Bus,
    private readonly opts: SchedulerControlOptions = {},
  ) {
    this.log = opts.log ?? silentLogger;
  }

  async addHost(req: AddHostCall): Promise<Ack> {
    const sim = checkSim(req.sim);
    const host = checkHostId(req.host);
    const node = checkNodeId(req.node);
    checkCount(`host ${host}: pcpus`, req.pcpus, MAX_PCPUS);
    let scheduler: PolicySpec;
    try {
      scheduler = schedulerSpecOf(req.scheduler);
    } catch (err) {
      throw invalid(`host ${host}: ${(err as Error).message}`);
    }
    let st = this.sims.get(sim);
    if (st?.running) throw precondition(`simulation ${sim} is running: hosts cannot be added now`);
    if (st?.svc.hosts().includes(host)) throw exists(`the scheduler already drives host ${host} of simulation ${sim}`);
    const fresh = !st;
    if (fresh) this.drain.refuseNew(`simulation ${sim}`);
    st ??= { svc: new SchedulerService(this.bus, sim, this.opts.observer), vms: new Set(), running: false };
    if (req.resumeKey) {
      await this.resumeHost(st, host, node, req.pcpus, req.resumeKey);
    } else {
      try {
        st.svc.addHost(host, req.pcpus, scheduler, node);
      } catch (err) {
        throw invalid(`host ${host}: ${(err as Error).message}`); // unknown policy, bad parameters
      }
    }
    if (fresh) this.sims.set(sim, st);
    this.counters.hostsAdded++;
    this.log.info({ sim, host, node, policy: scheduler.policy }, 'host added');
    return {};
  }

  /** AddHost with resume_key: the host's loop continues from the checkpoint the key names. */
  private async resumeHost(st: SimState, host: string, node: string, pcpus: number, key: string): Promise<void> {
    const store = this.opts.checkpointStore;
    if (!store) throw precondition(`host ${host}: this scheduler has no checkpoint store to resume from`);
    try {
      const m = await readManifest(store, key);
      if (m.host !== host) throw new CheckpointError(`checkpoint ${key} is of host ${m.host}, not ${host}`);
      if (m.pcpus !== pcpus) throw new CheckpointError(`checkpoint ${key}: host ${host} had ${m.pcpus} pCPUs, AddHost says ${pcpus}`);
      const events = await readCheckpointEvents(store, m);
      const { state } = hostHandoverFrom(m.loop!);
      const policy = schedulerSpecOf(m.scheduler, `checkpoint ${key}: scheduler`);
      st.svc.resumeHost({ host, node, pcpus, eventsPublished: m.eventsPublished, state }, policy, { index: m.index, events });
      for (const v of state.vcpus) st.vms.add(v.vm);
      this.log.info({ sim: st.svc.sim, host, node, checkpoint: key, nowNs: m.nowNs }, 'host resumed from a checkpoint');
    } catch (err) {
      if (err instanceof ControlError) throw err;
      throw invalid(`host ${host}: ${(err as Error).message}`);
    }
  }

  async addVm(req: AddVmRequest): Promise<Ack> {
    const st = this.state(req.sim);
    if (!st.svc.hosts().includes(req.host)) throw notFound(`the scheduler does not drive host ${JSON.stringify(req.host)} of simulation ${req.sim}`);
    const id = checkVmId(req.vm);
    if (st.vms.has(id)) throw exists(`VM ${id} is already scheduled in simulation ${req.sim}`);
    checkCount(`VM ${id}: vcpus`, req.vcpus, MAX_VCPUS);
    let sched: Record<string, unknown>;
    try {
      sched = vmSchedParamsOf(req.sched);
    } catch (err) {
      throw invalid(`VM ${id}: ${(err as Error).message}`);
    }
    if (st.running) throw precondition(`simulation ${req.sim} is running: VMs cannot be added now`);
    if (req.onlineVcpus > req.vcpus) throw invalid(`VM ${id}: online_vcpus ${req.onlineVcpus} exceeds its ${req.vcpus} vCPUs`);
    st.svc.addVm(req.host, { id, vcpus: req.vcpus, sched, online: req.onlineVcpus || undefined });
    st.vms.add(id);
    this.counters.vmsAdded++;
    return {};
  }

  async addAction(req: AddActionRequest): Promise<Ack> {
    const st = this.state(req.sim);
    if (st.running) throw precondition(`simulation ${req.sim} is running: actions cannot be added now`);
    if (!Number.isSafeInteger(req.atNs) || req.atNs < 0) throw invalid(`at_ns must be a non-negative integer, got ${req.atNs}`);
    const at = req.atNs;
    let action: SimAction;
    switch (req.kind) {
      case 'pause':
      case 'unpause':
        action = { kind: req.kind, at, vm: req.vm };
        break;
      case 'set':
        action = { kind: 'set', at, vm: req.vm, params: vmSchedParamsOf(req.vmParams) };
        break;
      case 'swapScheduler':
        action = { kind: 'swapScheduler', at, scheduler: this.spec(req.scheduler), ...(req.host !== '' ? { host: req.host } : {}) };
        break;
      case 'killHost':
        action = { kind: 'killHost', at, host: req.host };
        break;
      case 'migrate':
        try {
          action = {
            kind: 'migrate',
            at,
            vm: req.vm,
            to: req.host,
            ...migrationParamsOf(req.migration, 'migration'),
          };
        } catch (err) {
          throw invalid(`migrate action at ${at} ns: ${(err as Error).message}`);
        }
        break;
      case 'balance': {
        // Not timed: the simulation's load balancer, from the start (`balancer`: its parameters and the network).
        try {
          const b = balancerParamsOf(req.balancer, 'balancer');
          const rule = {
            ...(b.stopPages !== undefined ? { stopPages: b.stopPages } : {}),
            ...(b.maxRounds !== undefined ? { maxRounds: b.maxRounds } : {}),
          };
          st.svc.balance({ periodNs: b.periodNs, threshold: b.threshold, link: (from, to) => linkFor(b.network, from, to), rule });
        } catch (err) {
          throw invalid(`balance: ${(err as Error).message}`);
        }
        return {};
      }
      default:
        throw invalid(`unknown action kind ${JSON.stringify(req.kind)} (pause, unpause, set, swapScheduler, killHost, migrate, balance)`);
    }
    try {
      st.svc.addAction(action);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    return {};
  }

  /**
   * Drives every host to `end_ns`. A simulation runs once at a time; a later Run continues it. The same Run again (same end) while it runs, or after it ended
   * until CloseSimulation, joins it: a gateway that took the simulation over from one that died
   * (issue 11) gets the run's result without running it twice.
   */
  async run(req: RunCall): Promise<RunResult> {
    const st = this.state(req.sim);
    if (st.run && st.run.endNs === req.endNs) {
      this.log.info({ sim: req.sim, endNs: req.endNs }, 'Run joined: the result of the run already started');
      return st.run.result;
    }
    const result = this.runOnce(st, req);
    st.run = { endNs: req.endNs, result };
    result.then(
      (r) => void (r.handedOver && (st.run = undefined)),
      () => undefined,
    );
    return result;
  }

  private async runOnce(st: SimState, req: RunCall): Promise<RunResult> {
    if (st.running) throw precondition(`simulation ${req.sim} is already running`);
    if (!(Number.isSafeInteger(req.endNs) && req.endNs > 0)) throw invalid(`end_ns must be > 0, got ${req.endNs}`);
    const interval = req.checkpointIntervalNs ?? 0;
    if (interval > 0 && !st.svc.checkpoints) {
      if (!this.opts.checkpointStore) throw precondition(`simulation ${req.sim}: checkpoints asked for, but this scheduler has no checkpoint store`);
      if (!Number.isSafeInteger(interval)) throw invalid(`checkpoint_interval_ns must be a safe integer, got ${interval}`);
      const sim = req.sim;
      st.svc.enableCheckpoints({
        store: this.opts.checkpointStore,
        intervalNs: interval,
        specId: req.checkpointSpecId ?? '',
        fullEvery: this.opts.checkpointFullEvery,
        onTaken: (t) => {
          this.log.debug({ sim, ...t }, 'checkpoint taken');
          this.opts.onCheckpoint?.(sim, t);
        },
      });
    }
    st.running = true;
    this.counters.runs++;
    const started = Date.now();
    this.log.info({ sim: req.sim, endNs: req.endNs, hosts: st.svc.hosts() }, 'run started');
    try {
      const loops = await st.svc.runAll(req.endNs);
      const hosts = loops.map((l) => hostResultOf(l, st.svc.publishedEvents(l.host)));
      for (const h of hosts) this.counters.iterations += h.iterations;
      this.counters.checkpoints = (this.counters.checkpoints ?? 0) + (st.svc.checkpoints?.taken.length ?? 0);
      this.counters.orderRetries = (this.counters.orderRetries ?? 0) + st.svc.orderRetries;
      st.svc.orderRetries = 0;
      this.log.info(
        {
          sim: req.sim,
          wallMs: Date.now() - started,
          hosts: hosts.map((h) => ({ host: h.host, endNs: h.endNs, iterations: h.iterations, events: h.events })),
        },
        'run done',
      );
      return { hosts, handedOver: loops.some((l) => l.handedOver === true) };
    } catch (err) {
      this.counters.runsFailed++;
      this.log.error({ sim: req.sim, err }, 'run failed');
      throw new ControlError(status.ABORTED, `simulation ${req.sim}: ${(err as Error).message}`, { cause: err });
    } finally {
      st.running = false;
    }
  }

  async pause(req: SimulationRef): Promise<Ack> {
    this.state(req.sim).svc.pause();
    this.log.info({ sim: req.sim }, 'paused');
    return {};
  }

  async resume(req: SimulationRef): Promise<Ack> {
    this.state(req.sim).svc.resume();
    this.log.info({ sim: req.sim }, 'resumed');
    return {};
  }

  async setSchedParams(req: SetSchedParamsRequest): Promise<Ack> {
    const st = this.state(req.sim);
    const params = req.vm === '' ? this.spec(req.scheduler).params : vmSchedParamsOf(req.vmParams);
    if (Object.keys(params).length === 0) throw invalid(`${req.vm === '' ? 'scheduler' : 'vm_params'} names no parameter to set`);
    this.runTime(() => (req.vm === '' ? st.svc.setSchedulerParams(params, req.policy) : st.svc.setVmParams(checkVmId(req.vm), params, req.policy)));
    this.counters.paramsSet = (this.counters.paramsSet ?? 0) + 1;
    this.log.info({ sim: req.sim, vm: req.vm || undefined, params, policy: req.policy || undefined }, 'scheduling parameters set');
    return {};
  }

  async getSchedParams(req: SimulationRef): Promise<SchedParams> {
    const p = this.state(req.sim).svc.schedParams();
    return {
      hosts: p.hosts.map((h) => ({
        host: h.host,
        policy: h.policy,
        scheduler: schedulerMessage({ policy: h.policy, params: h.params }),
        nowNs: h.nowNs,
      })),
      vms: p.vms.map((v) => ({ vm: v.vm, host: v.host, params: vmSchedMessage(v.params), policy: v.policy })),
    };
  }

  async swapScheduler(req: SwapSchedulerRequest): Promise<Ack> {
    const st = this.state(req.sim);
    const spec = this.spec(req.scheduler);
    this.runTime(() => st.svc.swapNow(spec));
    this.counters.swaps = (this.counters.swaps ?? 0) + 1;
    this.log.info({ sim: req.sim, policy: spec.policy, params: spec.params }, 'scheduler swap requested');
    return {};
  }

  /** Live migration (`vsim migrate`): pre-copy of the VM to `host`, from the virtual time its host has reached. */
  async migrateVm(req: MigrateVmRequest): Promise<Ack> {
    const st = this.state(req.sim);
    let params: ReturnType<typeof migrationParamsOf>;
    try {
      params = migrationParamsOf(req.params, 'params');
    } catch (err) {
      throw invalid(`migrate ${req.vm} to ${req.host}: ${(err as Error).message}`);
    }
    this.runTime(() => st.svc.migrate({ vm: checkVmId(req.vm), to: req.host, ...params }));
    this.counters.migrations = (this.counters.migrations ?? 0) + 1;
    this.log.info({ sim: req.sim, vm: req.vm, to: req.host, ...params }, 'migration requested');
    return {};
  }

  /** Stops the simulation's loops at their next boundary and returns their state (the pending Run returns handed_over). */
  async handover(req: SimulationRef): Promise<HandoverState> {
    const st = this.state(req.sim);
    const hosts = await st.svc.handover();
    st.handedOver = true;
    this.counters.handedOver = (this.counters.handedOver ?? 0) + 1;
    this.log.info({ sim: req.sim, hosts: hosts.map((h) => ({ host: h.host, nowNs: h.state.nowNs, seq: h.state.seq })) }, 'simulation handed over');
    return { sim: req.sim, hosts: hosts.map((h) => hostHandoverOf(req.sim, h)) };
  }

  /** Takes over hosts another scheduler service handed over; the next Run continues them. */
  async adopt(req: AdoptRequest): Promise<Ack> {
    const sim = checkSim(req.sim);
    const had = this.sims.get(sim);
    if (had && !(had.handedOver && !had.running)) throw exists(`simulation ${sim} is already on this scheduler`);
    if (!req.state || req.state.hosts.length === 0) throw invalid('state names no host to adopt');
    const spec = this.spec(req.scheduler);
    const st: SimState = { svc: new SchedulerService(this.bus, sim, this.opts.observer), vms: new Set(), running: false };
    const hosts = req.state.hosts.map((h) => {
      checkHostId(h.host);
      checkNodeId(h.node);
      checkCount(`host ${h.host}: pcpus`, h.pcpus, MAX_PCPUS);
      return hostHandoverFrom(h);
    });
    this.runTime(() => st.svc.adopt(hosts, spec));
    for (const h of hosts) for (const v of h.state.vcpus) st.vms.add(v.vm);
    this.sims.set(sim, st);
    this.counters.adopted = (this.counters.adopted ?? 0) + 1;
    this.log.info({ sim, policy: spec.policy, hosts: hosts.map((h) => h.host) }, 'simulation adopted');
    return {};
  }

  /** A request's scheduler (INVALID_ARGUMENT naming the field when it names no policy). */
  private spec(m: SchedulerParamsMsg | undefined): PolicySpec {
    try {
      return schedulerSpecOf(m);
    } catch (err) {
      throw invalid((err as Error).message);
    }
  }

  /** A run-time call: bad values are INVALID_ARGUMENT, unknown VMs NOT_FOUND. */
  private runTime(f: () => void): void {
    try {
      f();
    } catch (err) {
      if (err instanceof NotFoundError) throw notFound(err.message);
      if (err instanceof RangeError) throw invalid(err.message);
      throw err;
    }
  }

  async closeSimulation(req: SimulationRef): Promise<Ack> {
    const sim = checkSim(req.sim);
    const st = this.sims.get(sim);
    if (!st) return {};
    // A running loop finishes its current order and fails on the next one (the node is gone too).
    this.closedPublished += st.svc.hosts().reduce((a, h) => a + st.svc.publishedEvents(h), 0);
    this.sims.delete(sim);
    this.counters.simulationsClosed++;
    this.log.info({ sim }, 'simulation closed');
    return {};
  }

  /** Graceful stop: resolves once every simulation here was closed (false: not within the limit). */
  finishWork(limitMs?: number): Promise<boolean> {
    return this.drain.until(() => this.sims.size === 0, limitMs);
  }

  async status(): Promise<ServiceStatus> {
    return {
      service: 'vsim-scheduler',
      instance: this.opts.instance ?? 'scheduler',
      version: this.opts.version ?? '0.1.0',
      simulations: [...this.sims.keys()].sort(),
      counters: { ...this.counters, eventsPublished: this.livePublished() + this.closedPublished, ...this.opts.counters?.() },
    };
  }

  private closedPublished = 0;

  private livePublished(): number {
    let n = 0;
    for (const st of this.sims.values()) for (const h of st.svc.hosts()) n += st.svc.publishedEvents(h);
    return n;
  }

  private state(sim: string): SimState {
    const st = this.sims.get(checkSim(sim));
    if (!st) throw notFound(`simulation ${sim} has no host on this scheduler (call AddHost first)`);
    return st;
  }
}

/** A host loop's outcome as the RunResult carries it; `events` is what the loop published. */
export function hostResultOf(l: HostLoopResult, events: number): HostResult {
  const vcpus = [...l.vcpus].map(([key, s]) => {
    const slash = key.lastIndexOf('/');
    return {
      vm: key.slice(0, slash),
      vcpu: Number(key.slice(slash + 1)),
      state: s.state,
      runningNs: s.runningNs,
      waitingNs: s.waitingNs,
      blockedNs: s.blockedNs,
      instructions: s.instructions,
    };
  });
  return { host: l.host, endNs: l.endNs, iterations: l.iterations, vcpus, events, metrics: schedMetricsOf(l.vcpus, l.pcpus) };
}
