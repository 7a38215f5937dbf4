// SchedulerControl's logic: one SchedulerService per simulation (created by its first AddHost),
// which drives each of its hosts' loops over the bus when Run is called.

import { status } from '@grpc/grpc-js';
import { Bus } from '@vsim/bus';
import {
  Ack,
  AddActionRequest,
  AddHostRequest,
  AddVmRequest,
  AdoptRequest,
  HandoverState,
  HostHandover as HostHandoverMsg,
  HostResult,
  RunRequest,
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
  PlainLoopAction,
  HostHandover,
  NotFoundError,
  SchedulerObserver,
  SchedulerService,
  SimAction,
  PolicySpec,
  schedMetricsOf,
} from '@vsim/scheduler';
import {
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
  parseJsonObject,
  precondition,
  silentLogger,
} from './control-plane';
import { MAX_PCPUS, MAX_VCPUS } from './cpu-node-control';
import { Drain } from './drain';
import { linkFor, parseBalancerParams, parseMigrationParams } from './migration/params';
import { vmSchedMessage, vmSchedParamsOf } from './proto-sched';
import { loopStateMessage, loopStateOf, vcpuFiguresMessage, vcpuFiguresOf } from './loop-state-proto';
import { schedulerMessage, schedulerSpecOf, schedulerUpdateMessage } from './proto-scheduler';

export interface SchedulerControlOptions extends ControlImplOptions {
  /** Sees every simulation's host loops (the service's metrics). */
  readonly observer?: SchedulerObserver;
}

interface SimState {
  readonly svc: SchedulerService;
  readonly vms: Set<string>;
  running: boolean;
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

  async addHost(req: AddHostRequest): Promise<Ack> {
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
    try {
      st.svc.addHost(host, req.pcpus, scheduler, node);
    } catch (err) {
      throw invalid(`host ${host}: ${(err as Error).message}`); // unknown policy, bad parameters
    }
    if (fresh) this.sims.set(sim, st);
    this.counters.hostsAdded++;
    this.log.info({ sim, host, node, policy: scheduler.policy }, 'host added');
    return {};
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
        action = { kind: 'swapScheduler', at, scheduler: this.spec(req.scheduler) };
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
            ...parseMigrationParams(parseJsonObject('migration_json', req.migrationJson ?? '')),
          };
        } catch (err) {
          throw invalid(`migrate action at ${at} ns: ${(err as Error).message}`);
        }
        break;
      case 'balance': {
        // Not timed: the simulation's load balancer, from the start (params_json: BalancerParams and the network).
        try {
          const b = parseBalancerParams(parseJsonObject('migration_json', req.migrationJson ?? ''));
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

  /** Drives every host to end_ns. A simulation runs once at a time; a later Run continues it. */
  async run(req: RunRequest): Promise<RunResult> {
    const st = this.state(req.sim);
    if (st.running) throw precondition(`simulation ${req.sim} is already running`);
    if (!(Number.isSafeInteger(req.endNs) && req.endNs > 0)) throw invalid(`end_ns must be > 0, got ${req.endNs}`);
    st.running = true;
    this.counters.runs++;
    const started = Date.now();
    this.log.info({ sim: req.sim, endNs: req.endNs, hosts: st.svc.hosts() }, 'run started');
    try {
      const loops = await st.svc.runAll(req.endNs);
      const hosts = loops.map((l) => hostResultOf(l, st.svc.publishedEvents(l.host)));
      for (const h of hosts) this.counters.iterations += h.iterations;
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
    let params: ReturnType<typeof parseMigrationParams>;
    try {
      params = parseMigrationParams(parseJsonObject('params_json', req.paramsJson));
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

/** A handed-over host as HostHandover (control.proto); the policy's own state travels as its JSON (loop-state-proto.ts). */
export function hostHandoverOf(sim: string, h: HostHandover): HostHandoverMsg {
  const s = h.state;
  return {
    host: h.host,
    node: h.node,
    pcpus: h.pcpus,
    nowNs: s.nowNs,
    seq: s.seq,
    eventSeq: s.eventSeq,
    eventsPublished: h.eventsPublished,
    vcpus: s.vcpus.map((v) => ({
      vm: v.vm,
      vcpu: v.vcpu,
      state: v.stats.state,
      wakeNs: v.wakeNs,
      paused: v.paused,
      params: vmSchedMessage(v.params),
      runningNs: v.stats.runningNs,
      waitingNs: v.stats.waitingNs,
      blockedNs: v.stats.blockedNs,
      instructions: v.stats.instructions,
      figures: vcpuFiguresMessage(v.stats, v.marks),
    })),
    actions: s.actions.map((a) => ({
      sim,
      atNs: a.at,
      kind: a.kind,
      vm: 'vm' in a ? a.vm : '',
      host: a.kind === 'killHost' ? h.host : '',
      vmParams: a.kind === 'set' ? vmSchedMessage(a.params) : undefined,
      scheduler:
        a.kind === 'swapScheduler'
          ? schedulerMessage({ policy: a.policy, params: a.params ?? {} })
          : a.kind === 'setScheduler'
            ? schedulerUpdateMessage(a.params)
            : undefined,
    })),
    loop: loopStateMessage(s),
  };
}

/** HostHandover (control.proto) back to a host's state; another implementation may leave `figures` and `loop` out. */
export function hostHandoverFrom(m: HostHandoverMsg): HostHandover {
  const vcpus = m.vcpus.map((v) => {
    const { stats, marks } = vcpuFiguresOf(v.figures, {
      runningNs: v.runningNs,
      waitingNs: v.waitingNs,
      blockedNs: v.blockedNs,
      instructions: v.instructions,
      state: v.state,
    });
    return {
      vm: checkVmId(v.vm),
      vcpu: v.vcpu,
      wakeNs: v.wakeNs,
      paused: v.paused,
      params: vmSchedParamsOf(v.params),
      stats,
      marks,
    };
  });
  const actions = m.actions.map((a): PlainLoopAction => {
    const at = `host ${m.host}: actions[${a.kind}@${a.atNs}]`;
    switch (a.kind) {
      case 'pause':
      case 'unpause':
        return { kind: a.kind, at: a.atNs, vm: a.vm };
      case 'set':
        return { kind: 'set', at: a.atNs, vm: a.vm, params: vmSchedParamsOf(a.vmParams) };
      case 'setScheduler':
        return { kind: 'setScheduler', at: a.atNs, params: schedulerSpecOf(a.scheduler, `${at}.scheduler`).params };
      case 'swapScheduler': {
        const spec = schedulerSpecOf(a.scheduler, `${at}.scheduler`);
        return { kind: 'swapScheduler', at: a.atNs, policy: spec.policy, params: spec.params };
      }
      case 'killHost':
        return { kind: 'killHost', at: a.atNs };
      default:
        throw invalid(`host ${m.host}: unknown pending action kind ${JSON.stringify(a.kind)}`);
    }
  });
  return {
    host: m.host,
    node: m.node,
    pcpus: m.pcpus,
    eventsPublished: m.eventsPublished,
    state: { nowNs: m.nowNs, seq: m.seq, eventSeq: m.eventSeq, vcpus, actions, ...loopStateOf(m.host, m.pcpus, m.loop) },
  };
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
