// The gateway's state: the simulations submitted to it, each run with the Coordinator over a gRPC
// ControlPlane built from the services discovered on NATS at Start time. Several simulations may
// run at once (each has its own subjects, vsim.<sim>.…). Ids are sim-<n>, counted per gateway.

import { NatsBus } from '@vsim/bus';
import { Event, HandoverState, SchedParams, SetSchedParamsRequest, SimulationStatus, SwapSchedulerRequest, EventLog } from '@vsim/proto';
import {
  ControlError, ControlStatus, Coordinator, GrpcEndpoints, SchedulerControl, SimResult, SimSpec, grpcControlPlane,
  schedulerControlClient,
} from '@vsim/control';
import { HostEnds } from '@vsim/control';
import { DiscoveredService, Logger, discover, isBuiltin } from '@vsim/service';
import { SubmissionError, parseSubmission } from './submission';

export type SimState = 'created' | 'running' | 'paused' | 'done' | 'failed';

/** Receives a simulation's events as they arrive, then `end` once it is over. */
export interface EventListener {
  events(events: readonly Event[]): void;
  end(state: SimState, error: string): void;
}

export interface Simulation {
  readonly id: string;
  readonly spec: SimSpec;
  readonly images: ReadonlyMap<string, Uint8Array>;
  state: SimState;
  error: string;
  /** Virtual time each host has reached (from its events, then from the run's result). */
  readonly hostNs: Map<string, number>;
  /** Which hosts' VMs have all ended (their loops stop there): HostEnds over the events. */
  readonly ends: HostEnds;
  /** Events in arrival order (each host's in its own order). */
  readonly events: Event[];
  readonly listeners: Set<EventListener>;
  result?: SimResult;
  log?: EventLog;
  /** Wall-clock figures (performance, never part of the results). */
  readonly timing: { submittedAt: number; startedAt?: number; discoveryMs?: number; runMs?: number; finishedAt?: number };
  /** Host -> cpu-node id, once running. */
  assignment?: Readonly<Record<string, string>>;
  /** The control plane the simulation runs on, while it runs (for Pause/Resume). */
  control?: { scheduler: Pick<SchedulerControl, 'pause' | 'resume' | 'setSchedParams' | 'getSchedParams' | 'swapScheduler' | 'handover' | 'adopt'> };
  /** The gRPC address of the scheduler running it now. */
  schedulerAddress?: string;
  /** While it is handed to another scheduler service: resolves with that one once it adopted it. */
  adoption?: Promise<SchedulerControl>;
  /** Clients of schedulers it was handed to (closed when it ends). */
  readonly extraClients: { close(): void }[];
  /** The scheduler service instance the submission named ('' : vsim's own). */
  readonly scheduler: string;
  /** Paused before its hosts were set up: the pause is applied as soon as they are, before the run. */
  pauseAtStart?: boolean;
  /** Hosts and VMs are set up on the services (Pause/Resume go to the scheduler from then on). */
  setUp?: boolean;
}

export interface GatewayOptions {
  /** How long one discovery of a service name may take. Default 1500 ms. */
  readonly discoverTimeoutMs?: number;
  /** Passed to the Coordinator. Default 30 s. */
  readonly eventsTimeoutMs?: number;
  /** Finished simulations kept for Status/Results (oldest forgotten first). Default 64. */
  readonly keepFinished?: number;
}

export const SERVICE_NAMES = { hypervisor: 'vsim-hypervisor', scheduler: 'vsim-scheduler', cpuNode: 'vsim-cpu-node' } as const;

export class Gateway {
  private readonly sims = new Map<string, Simulation>();
  private next = 0;
  private closing = false;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly bus: NatsBus,
    private readonly log: Logger,
    private readonly opts: GatewayOptions = {},
  ) {}

  /** Parses and checks a submission; the simulation waits for start(). */
  submit(text: string, images: Readonly<Record<string, Uint8Array>>, seed?: number, scheduler = ''): string {
    this.checkOpen();
    let parsed;
    try {
      parsed = parseSubmission(text, images, seed);
    } catch (err) {
      if (err instanceof SubmissionError) throw new ControlError(ControlStatus.INVALID_ARGUMENT, err.message);
      throw err;
    }
    const id = `sim-${++this.next}`;
    this.sims.set(id, {
      id, spec: parsed.spec, images: parsed.images, state: 'created', error: '', hostNs: new Map(parsed.spec.hosts.map((h) => [h.id, 0])), ends: new HostEnds(parsed.spec),
      events: [], listeners: new Set(), timing: { submittedAt: Date.now() }, extraClients: [], scheduler,
    });
    this.log.info({ sim: id, name: parsed.spec.name, hosts: parsed.spec.hosts.length, vms: parsed.spec.vms.length }, 'simulation submitted');
    this.forgetOld();
    return id;
  }

  /**
   * Starts a submitted simulation in the background, once the services it needs are found (a
   * missing one, or a scheduler that is not the one it should run on, is refused here, not later).
   */
  async start(id: string): Promise<void> {
    this.checkOpen();
    const sim = this.get(id);
    if (sim.state !== 'created') throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: it can be started once`);
    sim.state = 'running';
    sim.timing.startedAt = Date.now();
    let ep: GrpcEndpoints;
    try {
      ep = await this.endpoints(sim.scheduler);
    } catch (err) {
      sim.state = 'created';
      throw err;
    }
    sim.timing.discoveryMs = Date.now() - sim.timing.startedAt;
    const p = this.execute(sim, ep).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Holds a running simulation between host-loop iterations (virtual time stands still). */
  async pause(id: string): Promise<void> {
    const sim = this.get(id);
    if (sim.state === 'paused') return;
    if (sim.state !== 'running') throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: only a running simulation can be paused`);
    if (!sim.setUp || !sim.control) {
      // Just started: its hosts are still being set up. It will hold at virtual time 0.
      sim.pauseAtStart = true;
      sim.state = 'paused';
      this.log.info({ sim: id }, 'simulation paused before its run began');
      return;
    }
    await sim.control.scheduler.pause({ sim: id });
    sim.state = 'paused';
    this.log.info({ sim: id }, 'simulation paused');
  }

  async resume(id: string): Promise<void> {
    const sim = this.get(id);
    if (sim.state !== 'paused') throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: only a paused simulation can be resumed`);
    if (sim.pauseAtStart && !sim.setUp) sim.pauseAtStart = false;
    else if (sim.control) await sim.control.scheduler.resume({ sim: id });
    sim.state = 'running';
    this.log.info({ sim: id }, 'simulation resumed');
  }

  /**
   * Run-time scheduling parameters (`vsim sched-credit`, ...) and hot swap (`vsim sched swap`),
   * forwarded to the scheduler that runs the simulation: effective at each host's next decision.
   */
  async setSchedParams(req: SetSchedParamsRequest): Promise<void> {
    await this.liveScheduler(req.sim, 'scheduling parameters can be set').setSchedParams(req);
    this.log.info({ sim: req.sim, vm: req.vm || undefined, params: req.paramsJson }, 'scheduling parameters set');
  }

  async getSchedParams(id: string): Promise<SchedParams> {
    return this.liveScheduler(id, 'scheduling parameters can be read').getSchedParams({ sim: id });
  }

  async swapScheduler(req: SwapSchedulerRequest): Promise<void> {
    if (req.service !== '') return this.handOver(req);
    await this.liveScheduler(req.sim, 'the scheduler can be swapped').swapScheduler(req);
    this.log.info({ sim: req.sim, policy: req.policy }, 'scheduler swap requested');
  }

  /**
   * Hands a running simulation to another scheduler service (the vsim-scheduler registered with
   * instance name `req.service`), which continues it under `req.policy`: the current scheduler
   * stops its loops at their next boundary and returns their state (Handover), the other takes it
   * over (Adopt, then Pause if the simulation is paused), and the Coordinator's Run continues
   * there (docs/scheduler-protocol.md §8). If Adopt fails, the simulation fails with its reason.
   */
  private async handOver(req: SwapSchedulerRequest): Promise<void> {
    const sim = this.get(req.sim);
    const current = this.liveScheduler(req.sim, 'it can be handed to another scheduler');
    if (sim.adoption) throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${req.sim} is already being handed over`);
    const found = (await discover(this.bus, SERVICE_NAMES.scheduler, this.opts.discoverTimeoutMs ?? 1500)).find((s) => s.instance === req.service);
    if (!found) throw new ControlError(ControlStatus.NOT_FOUND, `no ${SERVICE_NAMES.scheduler} named ${JSON.stringify(req.service)} is registered on NATS`);
    if (found.grpc === sim.schedulerAddress) throw new ControlError(ControlStatus.INVALID_ARGUMENT, `simulation ${req.sim} already runs on ${req.service}`);
    const next = schedulerControlClient(found.grpc);
    let adopted!: (s: SchedulerControl) => void;
    let failed!: (err: unknown) => void;
    sim.adoption = new Promise<SchedulerControl>((res, rej) => {
      adopted = res;
      failed = rej;
    });
    sim.adoption.catch(() => undefined); // the Coordinator reports it
    sim.extraClients.push(next);
    // What the current scheduler runs, to take the simulation back if the other one refuses it.
    const before = await current.getSchedParams({ sim: req.sim }).catch(() => undefined);
    let state: HandoverState | undefined;
    try {
      state = await current.handover({ sim: req.sim });
      await next.adopt({ sim: req.sim, state, policy: req.policy, paramsJson: req.paramsJson });
      if (sim.state === 'paused') await next.pause({ sim: req.sim });
      sim.control = { scheduler: next };
      sim.schedulerAddress = found.grpc;
      sim.adoption = undefined;
      adopted(next);
      this.log.info({ sim: req.sim, to: req.service, grpc: found.grpc, policy: req.policy, hosts: state.hosts.map((h) => ({ host: h.host, nowNs: h.nowNs })) }, 'simulation handed to another scheduler');
    } catch (err) {
      // Refused after the loops stopped: hand them back to where they were, if that one can adopt.
      const back = state && before?.hosts[0] && await current.adopt({ sim: req.sim, state, policy: before.hosts[0].policy, paramsJson: before.hosts[0].paramsJson })
        .then(async () => {
          if (sim.state === 'paused') await current.pause({ sim: req.sim });
          return true;
        }, () => false);
      sim.adoption = undefined;
      if (back) {
        adopted(current as SchedulerControl);
        this.log.warn({ sim: req.sim, to: req.service, err }, 'the other scheduler refused the simulation: it goes on where it was');
      } else {
        failed(err);
      }
      throw err;
    }
  }

  private liveScheduler(id: string, what: string): NonNullable<Simulation['control']>['scheduler'] {
    const sim = this.get(id);
    if ((sim.state !== 'running' && sim.state !== 'paused') || !sim.control) {
      throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: only while it runs ${what}`);
    }
    return sim.control.scheduler;
  }

  status(id: string): SimulationStatus {
    const sim = this.get(id);
    return { sim: id, state: sim.state, error: sim.error, hostNs: Object.fromEntries(sim.hostNs), hostsDone: sim.spec.hosts.map((h) => h.id).filter((h) => sim.ends.done(h)) };
  }

  get(id: string): Simulation {
    const sim = this.sims.get(id);
    if (!sim) throw new ControlError(ControlStatus.NOT_FOUND, `no simulation ${JSON.stringify(id)} on this gateway`);
    return sim;
  }

  results(id: string): SimResult {
    const sim = this.get(id);
    if (sim.state === 'failed') throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} failed: ${sim.error}`);
    if (sim.state !== 'done' || !sim.result) throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: no results yet`);
    return sim.result;
  }

  /** What Results returns: the SimResult plus its wall time, as `vsim run --json` writes it. */
  resultDocument(id: string): SimResult & { wallSeconds: number } {
    const result = this.results(id);
    return { ...result, wallSeconds: (this.get(id).timing.runMs ?? 0) / 1000 };
  }

  /**
   * Sends every event received so far, then the live ones, then `end`. Returns an unsubscribe
   * function (for a client that goes away).
   */
  watch(id: string, l: EventListener): () => void {
    const sim = this.get(id);
    if (sim.events.length > 0) l.events(sim.events);
    if (sim.state === 'done' || sim.state === 'failed') {
      l.end(sim.state, sim.error);
      return () => undefined;
    }
    sim.listeners.add(l);
    return () => sim.listeners.delete(l);
  }

  /** Graceful stop: refuse new work, give running simulations `graceMs` to finish. */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    if (this.running.size === 0) return;
    this.log.info({ running: this.running.size }, 'waiting for running simulations');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  private checkOpen(): void {
    if (this.closing) throw new ControlError(ControlStatus.UNAVAILABLE, 'the gateway is shutting down');
  }

  /**
   * The scheduler to run on: the instance the submission named, else vsim's own — never an
   * external scheduler just because it is registered (or sorts first).
   */
  private pickScheduler(found: DiscoveredService[], named: string): string {
    const registered = found.map((s) => `${s.instance}${isBuiltin(s) ? ' (vsim)' : ''}`).join(', ') || 'none';
    if (named !== '') {
      const s = found.find((x) => x.instance === named);
      if (!s) throw new ControlError(ControlStatus.UNAVAILABLE, `no scheduler service '${named}' is registered on NATS (registered: ${registered})`);
      return s.grpc;
    }
    const own = found.filter(isBuiltin);
    if (own.length === 0) {
      throw new ControlError(ControlStatus.UNAVAILABLE, found.length === 0
        ? `no ${SERVICE_NAMES.scheduler} is registered on NATS`
        : `vsim's scheduler service is not registered (registered: ${registered}); to run on another, name it: vsim run --scheduler INSTANCE`);
    }
    return own[0].grpc; // several of vsim's own: the first by instance name (deterministic)
  }

  /** The services this simulation will use, found on NATS now. */
  private async endpoints(scheduler: string): Promise<GrpcEndpoints> {
    const t = this.opts.discoverTimeoutMs ?? 1500;
    const [hvs, scheds, nodes] = await Promise.all([
      discover(this.bus, SERVICE_NAMES.hypervisor, t),
      discover(this.bus, SERVICE_NAMES.scheduler, t),
      discover(this.bus, SERVICE_NAMES.cpuNode, t),
    ]);
    const one = (found: DiscoveredService[], name: string): string => {
      if (found.length === 0) throw new ControlError(ControlStatus.UNAVAILABLE, `no ${name} is registered on NATS`);
      return found[0].grpc; // several instances: the first by instance name (deterministic)
    };
    if (nodes.length === 0) throw new ControlError(ControlStatus.UNAVAILABLE, `no ${SERVICE_NAMES.cpuNode} is registered on NATS`);
    const byNode = new Map<string, string>();
    for (const n of nodes) {
      const id = n.metadata.node ?? n.instance;
      if (byNode.has(id)) throw new ControlError(ControlStatus.FAILED_PRECONDITION, `two cpu-nodes registered with node id ${id}`);
      byNode.set(id, n.grpc);
    }
    return { hypervisor: one(hvs, SERVICE_NAMES.hypervisor), scheduler: this.pickScheduler(scheds, scheduler), nodes: byNode };
  }

  private async execute(sim: Simulation, ep: GrpcEndpoints): Promise<void> {
    const log = this.log.child({ sim: sim.id });
    try {
      log.info({ hypervisor: ep.hypervisor, scheduler: ep.scheduler, nodes: Object.fromEntries(ep.nodes) }, 'services discovered');
      const control = grpcControlPlane(ep);
      sim.control = control;
      sim.schedulerAddress = ep.scheduler;
      try {
        const t1 = Date.now();
        const out = await new Coordinator(control, this.bus, {
          readImage: (path) => {
            const bytes = sim.images.get(path);
            if (!bytes) throw new Error(`image ${path} was not submitted`);
            return bytes;
          },
          eventsTimeoutMs: this.opts.eventsTimeoutMs,
          onEvents: (host, events) => this.onEvents(sim, host, events),
          beforeRun: async () => {
            sim.setUp = true;
            if (sim.pauseAtStart) await control.scheduler.pause({ sim: sim.id });
          },
          onHandover: () => sim.adoption ?? Promise.reject(new Error('the scheduler handed the simulation over, but the gateway asked no other to adopt it')),
          log,
        }).run(sim.spec, sim.id);
        sim.timing.runMs = Date.now() - t1;
        sim.result = out.result;
        sim.log = out.log;
        sim.assignment = Object.fromEntries(out.assignment);
        for (const h of out.result.hosts) sim.hostNs.set(h.id, h.endNs);
        sim.state = 'done';
        log.info({ runMs: sim.timing.runMs, discoveryMs: sim.timing.discoveryMs, events: out.result.events, eventLogHash: out.result.eventLogHash }, 'simulation done');
      } finally {
        sim.control = undefined;
        control.close();
        for (const c of sim.extraClients) c.close();
      }
    } catch (err) {
      sim.state = 'failed';
      sim.error = (err as Error).message;
      log.error({ err }, 'simulation failed');
    } finally {
      sim.timing.finishedAt = Date.now();
      for (const l of sim.listeners) l.end(sim.state, sim.error);
      sim.listeners.clear();
    }
  }

  private onEvents(sim: Simulation, host: string, events: readonly Event[]): void {
    sim.events.push(...events);
    const last = events[events.length - 1];
    if (last && last.timeNs > (sim.hostNs.get(host) ?? 0)) sim.hostNs.set(host, last.timeNs);
    sim.ends.see(host, events);
    for (const l of sim.listeners) l.events(events);
  }

  private forgetOld(): void {
    const keep = this.opts.keepFinished ?? 64;
    const finished = [...this.sims.values()].filter((s) => s.state === 'done' || s.state === 'failed');
    for (const s of finished.slice(0, Math.max(0, finished.length - keep))) this.sims.delete(s.id);
  }
}
