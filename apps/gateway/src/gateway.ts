// The gateway's state: the simulations submitted to it, each run with the Coordinator over a gRPC
// ControlPlane built from the services discovered on NATS at Start time. Several simulations may
// run at once (each has its own subjects, vsim.<sim>.…). Ids are sim-<ULID>, unique across gateways.
// Each simulation belongs to the API principal that submitted it; the APIs let a caller reach its
// own simulations only (authorize).

import { CheckpointStore, NatsBus, StateStore } from '@vsim/bus';
import {
  Event,
  HandoverState,
  MigrateVmRequest,
  SchedParams,
  SetSchedParamsRequest,
  SimulationStatus,
  SwapSchedulerRequest,
  EventLog,
} from '@vsim/proto';
import {
  ControlError,
  ControlStatus,
  Coordinator,
  GrpcControlOptions,
  GrpcControlPlane,
  GrpcEndpoints,
  HostEnds,
  SchedulerControl,
  SimResult,
  SimSpec,
  NodeLoad,
  PlacementOptions,
  assignHosts,
  grpcControlPlane,
  isControlError,
  linkFor,
  schedulerControlClient,
  withScenarioLink,
} from '@vsim/control';
import { AdmissionLimits, AdmissionQueue, DEFAULT_LIMITS } from './admission';
import { SERVICE_NAMES, findServices, nodeLoads, openSimulations } from './cluster-view';
import { newSimId } from './ids';
import { HEARTBEAT_MS, LivenessMonitor, Logger, discover } from '@vsim/service';
import { watchRun } from './run-watch';
import { followHypervisor } from './hypervisor-failover';
import { ResultPickup } from './pickup';
import { SubmissionError, parseSubmission } from './submission';

/** created: submitted, not started; queued: started, waiting for a slot (admission.ts). */
export type SimState = 'created' | 'queued' | 'running' | 'paused' | 'done' | 'failed';

/** Receives a simulation's events as they arrive, then `end` once it is over. */
export interface EventListener {
  events(events: readonly Event[]): void;
  end(state: SimState, error: string): void;
}

export interface Simulation {
  readonly id: string;
  /** The API principal that submitted it ('' when the gateway runs without credentials). */
  readonly owner: string;
  readonly spec: SimSpec;
  /** Emptied once the simulation ran (the nodes have them) or expired. */
  readonly images: Map<string, Uint8Array>;
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
  control?: {
    scheduler: Pick<
      SchedulerControl,
      'pause' | 'resume' | 'setSchedParams' | 'getSchedParams' | 'swapScheduler' | 'migrateVm' | 'handover' | 'adopt'
    >;
  };
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
  /** The services found at Start, which it runs on once admitted. */
  endpoints?: GrpcEndpoints;
  /** Resume: continue the run of simulation `sim` from its checkpoints (checkpoint `index`, default each host's newest). */
  readonly resume?: { readonly sim: string; readonly index?: number };
}

export interface GatewayOptions {
  /** How long one discovery of a service name may take. Default 1500 ms. */
  readonly discoverTimeoutMs?: number;
  /** Passed to the Coordinator. Default 30 s. */
  readonly eventsTimeoutMs?: number;
  /** Finished simulations kept for Status/Results (oldest forgotten first). Default 64. */
  readonly keepFinished?: number;
  /** How the gateway's control calls authenticate (its control token) and travel (TLS). */
  readonly control?: GrpcControlOptions;
  /** Admission and retention (admission.ts); each defaults to DEFAULT_LIMITS'. */
  readonly limits?: Partial<AdmissionLimits>;
  /** More figures for stats() (the service shell's refused calls). */
  readonly counters?: () => Readonly<Record<string, number>>;
  /** Where resumed simulations' checkpoints are read from (the store the scheduler and cpu-nodes share). */
  readonly checkpointStore?: CheckpointStore;
  /**
   * Where running simulations are recorded (the KV bucket vsim-gateway) so that this gateway's
   * restart — a process with the same `instance` — takes them over (recover()). Without it a
   * gateway that dies loses its simulations' state (the services finish them unobserved).
   */
  readonly state?: StateStore;
  /** This gateway's instance name (its records in `state` are its own). */
  readonly instance?: string;
  /** How hosts are placed on cpu-nodes (--placement; @vsim/control placement.ts). Default least-loaded. */
  readonly placement?: PlacementOptions;
}

/** What `state` holds of a running simulation: enough to follow it to its end from another process. */
interface RunRecord {
  readonly instance: string;
  readonly owner: string;
  readonly scheduler: string;
  readonly spec: SimSpec;
  readonly assignment: Readonly<Record<string, string>>;
  readonly endpoints: { readonly hypervisor: string; readonly scheduler: string; readonly nodes: Readonly<Record<string, string>> };
}

export { SERVICE_NAMES } from './cluster-view';

export class Gateway {
  private readonly sims = new Map<string, Simulation>();
  private closing = false;
  private readonly running = new Set<Promise<void>>();
  readonly limits: AdmissionLimits;
  private readonly admission: AdmissionQueue;
  private readonly sweeper: NodeJS.Timeout;
  /** pCPUs and VMs this gateway's running simulations put on each cpu-node (the nodes' own figure lags). */
  private readonly localLoad = new Map<string, NodeLoad>();
  /** What the gateway counted: submissions expired, refused for room, event batches refused, calls on another principal's simulation. */
  readonly counters = { expired: 0, refusedAdmission: 0, refusedEvents: 0, refusedOwner: 0, lostServices: 0 };
  /** A graceful stop waits for the clients of the simulations that end meanwhile (pickup.ts). */
  private readonly pickup = new ResultPickup();
  /** The services' heartbeats: a run whose service is lost fails within ~2 s (run-watch.ts). */
  readonly liveness: LivenessMonitor;

  constructor(
    private readonly bus: NatsBus,
    private readonly log: Logger,
    private readonly opts: GatewayOptions = {},
  ) {
    const l = opts.limits ?? {};
    this.limits = {
      maxRunning: l.maxRunning ?? DEFAULT_LIMITS.maxRunning,
      maxQueued: l.maxQueued ?? DEFAULT_LIMITS.maxQueued,
      submissionTtlMs: l.submissionTtlMs ?? DEFAULT_LIMITS.submissionTtlMs,
      maxHeldBytes: l.maxHeldBytes ?? DEFAULT_LIMITS.maxHeldBytes,
    };
    this.admission = new AdmissionQueue(
      this.limits,
      () => openSimulations(this.bus, this.opts.control, this.discoverMs),
      (id) => this.launch(id),
      log,
    );
    this.sweeper = setInterval(() => this.expire(), Math.min(this.limits.submissionTtlMs / 4, 30_000));
    this.sweeper.unref();
    this.liveness = new LivenessMonitor(bus, log);
    this.liveness.start();
  }

  private get discoverMs(): number {
    return this.opts.discoverTimeoutMs ?? 1500;
  }

  /** Image bytes held for simulations that have not run yet. */
  heldBytes(): number {
    let n = 0;
    for (const s of this.sims.values()) if (s.state === 'created' || s.state === 'queued') for (const b of s.images.values()) n += b.length;
    return n;
  }

  /** The gateway's own figures (GET /v1/gateway). */
  stats(): Record<string, number> {
    const states: Record<string, number> = { created: 0, queued: 0, running: 0, paused: 0, done: 0, failed: 0 };
    for (const s of this.sims.values()) states[s.state]++;
    return {
      ...states,
      heldBytes: this.heldBytes(),
      maxRunning: this.limits.maxRunning,
      maxQueued: this.limits.maxQueued,
      ...this.counters,
      ...this.opts.counters?.(),
    };
  }

  /**
   * Parses and checks a submission; the simulation waits for start(). `scheduler`: the scheduler
   * service instance to run on ('' for vsim's own); `owner`: the API principal submitting it.
   */
  submit(
    text: string,
    images: Readonly<Record<string, Uint8Array>>,
    seed?: number,
    scheduler = '',
    owner = '',
    resume?: { readonly sim: string; readonly index?: number },
  ): string {
    this.checkOpen();
    if (resume) {
      if (!this.opts.checkpointStore)
        throw new ControlError(
          ControlStatus.FAILED_PRECONDITION,
          'this gateway has no checkpoint store (--checkpoint-dir): it cannot resume a simulation',
        );
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(resume.sim))
        throw new ControlError(ControlStatus.INVALID_ARGUMENT, `resume_sim ${JSON.stringify(resume.sim)} is not a simulation id`);
    }
    let parsed;
    try {
      parsed = parseSubmission(text, images, seed);
    } catch (err) {
      if (err instanceof SubmissionError) throw new ControlError(ControlStatus.INVALID_ARGUMENT, err.message);
      throw err;
    }
    let bytes = 0;
    for (const b of parsed.images.values()) bytes += b.length;
    const held = this.heldBytes();
    if (held + bytes > this.limits.maxHeldBytes) {
      this.counters.refusedAdmission++;
      throw new ControlError(
        ControlStatus.RESOURCE_EXHAUSTED,
        `the gateway holds ${held} bytes of images of simulations not run yet; ${bytes} more would pass its limit of ${this.limits.maxHeldBytes} (--max-held-mib): start them or let them expire (${this.limits.submissionTtlMs / 1000} s)`,
      );
    }
    const id = newSimId();
    this.sims.set(id, {
      id,
      owner,
      spec: parsed.spec,
      images: new Map(parsed.images),
      state: 'created',
      error: '',
      hostNs: new Map(parsed.spec.hosts.map((h) => [h.id, 0])),
      ends: new HostEnds(parsed.spec),
      events: [],
      listeners: new Set(),
      timing: { submittedAt: Date.now() },
      extraClients: [],
      scheduler,
      resume,
    });
    this.log.info({ sim: id, owner, name: parsed.spec.name, hosts: parsed.spec.hosts.length, vms: parsed.spec.vms.length }, 'simulation submitted');
    this.forgetOld();
    return id;
  }

  /**
   * Starts a submitted simulation in the background, once the services it needs are found (a
   * missing one, or a scheduler that is not the one it should run on, is refused here, not later)
   * and the cluster has room for it (admission.ts; queued till then).
   */
  async start(id: string): Promise<void> {
    this.checkOpen();
    const sim = this.get(id);
    if (sim.state !== 'created')
      throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: it can be started once`);
    sim.state = 'queued'; // taken: a second Start meanwhile is refused
    sim.timing.startedAt = Date.now();
    try {
      sim.endpoints = await this.endpoints(sim.scheduler, sim.spec);
      sim.timing.discoveryMs = Date.now() - sim.timing.startedAt;
      this.admission.enqueue(id);
    } catch (err) {
      sim.state = 'created';
      if (isControlError(err, ControlStatus.RESOURCE_EXHAUSTED)) this.counters.refusedAdmission++;
      throw err;
    }
  }

  /** The admission queue's turn for `id`. */
  private launch(id: string): void {
    const sim = this.sims.get(id);
    if (!sim || sim.state !== 'queued' || !sim.endpoints) return this.admission.finished(id);
    // Paused while it waited: it holds at virtual time 0 (beforeRun), as one paused during setup.
    sim.state = sim.pauseAtStart ? 'paused' : 'running';
    const p = this.execute(sim, sim.endpoints!).finally(() => {
      this.running.delete(p);
      this.admission.finished(id);
    });
    this.running.add(p);
  }

  /** Forgets submissions never started within the TTL (their images with them). */
  private expire(): void {
    const before = Date.now() - this.limits.submissionTtlMs;
    for (const s of this.sims.values()) {
      if (s.state !== 'created' || s.timing.submittedAt > before) continue;
      this.sims.delete(s.id);
      this.counters.expired++;
      this.log.info({ sim: s.id, owner: s.owner, ttlS: this.limits.submissionTtlMs / 1000 }, 'submission expired: never started');
    }
  }

  /** Holds a running simulation between host-loop iterations (virtual time stands still). */
  async pause(id: string): Promise<void> {
    const sim = this.get(id);
    if (sim.state === 'paused') return;
    if (sim.state === 'queued') {
      sim.pauseAtStart = true;
      this.log.info({ sim: id }, 'simulation paused while it waits to start: it will hold at virtual time 0');
      return;
    }
    if (sim.state !== 'running')
      throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: only a running simulation can be paused`);
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
    if (sim.state === 'queued') {
      sim.pauseAtStart = false;
      return;
    }
    if (sim.state !== 'paused')
      throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: only a paused simulation can be resumed`);
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
    this.log.info({ sim: req.sim, vm: req.vm || undefined, params: req.vm ? req.vmParams : req.scheduler }, 'scheduling parameters set');
  }

  async getSchedParams(id: string): Promise<SchedParams> {
    return this.liveScheduler(id, 'scheduling parameters can be read').getSchedParams({ sim: id });
  }

  async swapScheduler(req: SwapSchedulerRequest): Promise<void> {
    if (req.service !== '') return this.handOver(req);
    await this.liveScheduler(req.sim, 'the scheduler can be swapped').swapScheduler(req);
    this.log.info({ sim: req.sim, policy: req.scheduler?.policy?.$case }, 'scheduler swap requested');
  }

  /**
   * Live migration (`vsim migrate VM HOST`): the link is the scenario's (`network:`) from the VM's
   * host now to `req.host`, unless `req.params` overrides either of its fields; the rule is
   * `req.params.rule` (absent fields: the defaults). The scheduler checks the whole and starts the
   * migration at the virtual time the VM's host has reached.
   */
  async migrateVm(req: MigrateVmRequest): Promise<void> {
    const sched = this.liveScheduler(req.sim, 'a VM can be migrated');
    const where = (await sched.getSchedParams({ sim: req.sim })).vms.find((v) => v.vm === req.vm);
    if (!where) throw new ControlError(ControlStatus.NOT_FOUND, `simulation ${req.sim} has no VM '${req.vm}'`);
    const params = withScenarioLink(req.params, linkFor(this.get(req.sim).spec.network, where.host, req.host));
    await sched.migrateVm({ sim: req.sim, vm: req.vm, host: req.host, params });
    this.log.info({ sim: req.sim, vm: req.vm, from: where.host, to: req.host, params }, 'migration requested');
  }

  /**
   * Hands a running simulation to another scheduler service (the vsim-scheduler registered with
   * instance name `req.service`), which continues it under `req.scheduler`: the current scheduler
   * stops its loops at their next boundary and returns their state (Handover), the other takes it
   * over (Adopt, then Pause if the simulation is paused), and the Coordinator's Run continues
   * there (docs/scheduler-protocol.md §8). If Adopt fails, the simulation fails with its reason.
   */
  private async handOver(req: SwapSchedulerRequest): Promise<void> {
    const sim = this.get(req.sim);
    const current = this.liveScheduler(req.sim, 'it can be handed to another scheduler');
    if (sim.adoption) throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${req.sim} is already being handed over`);
    const found = (await discover(this.bus, SERVICE_NAMES.scheduler, this.opts.discoverTimeoutMs ?? 1500)).find((s) => s.instance === req.service);
    if (!found)
      throw new ControlError(ControlStatus.NOT_FOUND, `no ${SERVICE_NAMES.scheduler} named ${JSON.stringify(req.service)} is registered on NATS`);
    if (found.grpc === sim.schedulerAddress)
      throw new ControlError(ControlStatus.INVALID_ARGUMENT, `simulation ${req.sim} already runs on ${req.service}`);
    const next = schedulerControlClient(found.grpc, this.opts.control);
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
      await next.adopt({ sim: req.sim, state, scheduler: req.scheduler });
      if (sim.state === 'paused') await next.pause({ sim: req.sim });
      sim.control = { scheduler: next };
      sim.schedulerAddress = found.grpc;
      sim.adoption = undefined;
      adopted(next);
      this.log.info(
        {
          sim: req.sim,
          to: req.service,
          grpc: found.grpc,
          policy: req.scheduler?.policy?.$case,
          hosts: state.hosts.map((h) => ({ host: h.host, nowNs: h.nowNs })),
        },
        'simulation handed to another scheduler',
      );
    } catch (err) {
      // Refused after the loops stopped: hand them back to where they were, if that one can adopt.
      const back =
        state &&
        before?.hosts[0] &&
        (await current.adopt({ sim: req.sim, state, scheduler: before.hosts[0].scheduler }).then(
          async () => {
            if (sim.state === 'paused') await current.pause({ sim: req.sim });
            return true;
          },
          () => false,
        ));
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
    if (sim.state === 'failed') this.pickup.fetched(id); // its outcome is the error, delivered here
    return {
      sim: id,
      state: sim.state,
      error: sim.error,
      hostNs: Object.fromEntries(sim.hostNs),
      hostsDone: sim.spec.hosts.map((h) => h.id).filter((h) => sim.ends.done(h)),
    };
  }

  /**
   * Throws NOT_FOUND unless `caller` may act on simulation `id` (it submitted it). Another
   * principal's simulation reads as absent, so ids cannot be probed. The APIs call this first.
   */
  /** The data plane (`vsim gdb`'s requests go to the cpu-nodes on it: gdb-relay.ts). */
  get dataPlane(): NatsBus {
    return this.bus;
  }

  authorize(id: string, caller: string): void {
    const sim = this.sims.get(id);
    if (sim && sim.owner === caller) return;
    if (sim) {
      this.counters.refusedOwner++;
      this.log.warn({ sim: id, caller, owner: sim.owner }, 'call refused: the simulation belongs to another principal');
    }
    throw new ControlError(ControlStatus.NOT_FOUND, `no simulation ${JSON.stringify(id)} on this gateway`);
  }

  /** The caller's simulations, oldest submission first (`vsim list`; listing.ts). */
  simulationsOf(caller: string): Simulation[] {
    return [...this.sims.values()].filter((s) => s.owner === caller);
  }

  get(id: string): Simulation {
    const sim = this.sims.get(id);
    if (!sim) throw new ControlError(ControlStatus.NOT_FOUND, `no simulation ${JSON.stringify(id)} on this gateway`);
    return sim;
  }

  results(id: string): SimResult {
    const sim = this.get(id);
    if (sim.state === 'failed') throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} failed: ${sim.error}`);
    if (sim.state !== 'done' || !sim.result)
      throw new ControlError(ControlStatus.FAILED_PRECONDITION, `simulation ${id} is ${sim.state}: no results yet`);
    return sim.result;
  }

  /** What Results returns: the SimResult plus its wall time, as `vsim run --json` writes it. */
  resultDocument(id: string): SimResult & { wallSeconds: number } {
    const result = this.results(id);
    this.pickup.fetched(id);
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
    this.pickup.begin();
    this.admission.close();
    clearInterval(this.sweeper);
    for (const s of this.sims.values()) {
      if (s.state !== 'queued') continue;
      s.state = 'failed';
      s.error = 'the gateway shut down before the simulation could start';
      for (const l of s.listeners) l.end(s.state, s.error);
    }
    if (this.running.size === 0) return;
    this.log.info({ running: this.running.size }, 'waiting for running simulations');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  /** Graceful stop, after close(): the clients of simulations that ended meanwhile fetch their outcome (at most `lingerMs`). */
  deliverResults(lingerMs = 10_000): Promise<void> {
    return this.pickup.delivered(lingerMs);
  }

  private checkOpen(): void {
    if (this.closing) throw new ControlError(ControlStatus.UNAVAILABLE, 'the gateway is shutting down');
  }

  /** The services this simulation will use, found on NATS now. */
  private endpoints(scheduler: string, spec: SimSpec): Promise<GrpcEndpoints> {
    // Live migration synchronises two host loops in one scheduler service, and a checkpoint or a
    // migration asks "the" hypervisor about a VM: such runs use one instance of each.
    const migrates = !!spec.balancer || (spec.actions ?? []).some((a) => a.kind === 'migrate');
    return findServices(this.bus, scheduler, this.discoverMs, {
      oneScheduler: migrates,
      oneHypervisor: migrates || (spec.checkpointIntervalNs ?? 0) > 0,
    });
  }

  /** The run's control plane; calls to a recoverable hypervisor follow it to its replacement. */
  private controlPlane(ep: GrpcEndpoints): GrpcControlPlane {
    const plane = grpcControlPlane(ep, this.opts.control);
    const hv = this.liveness.last(ep.hypervisor);
    if (!hv?.recoverable) return plane;
    const hypervisor = followHypervisor(plane.hypervisor, ep.hypervisor, this.liveness, hv, this.opts.control ?? {});
    return { ...plane, hypervisor, close: () => (plane.close(), hypervisor.close()) };
  }

  /**
   * A restarted gateway's first step: takes over the simulations its instance was running when it
   * died (recorded in `state` once set up), following each to its end (Coordinator.reattach) so a
   * client reattaches by id (`vsim run --attach SIM`). Resolves with their ids.
   */
  async recover(): Promise<string[]> {
    const store = this.opts.state;
    if (!store) return [];
    const taken: string[] = [];
    const keys = await store.list('');
    // The services' heartbeats first: whether the hypervisor is recoverable decides how its loss is
    // watched (run-watch.ts) and whether control calls follow it (hypervisor-failover.ts).
    if (keys.length > 0) await new Promise((r) => setTimeout(r, 2 * HEARTBEAT_MS));
    for (const key of keys) {
      const m = /^([^/]+)\/run$/.exec(key);
      if (!m || this.sims.has(m[1])) continue;
      const bytes = await store.get(key);
      if (!bytes) continue;
      const r = JSON.parse(new TextDecoder().decode(bytes)) as RunRecord;
      if (r.instance !== (this.opts.instance ?? '')) continue;
      const id = m[1];
      const sim: Simulation = {
        id,
        owner: r.owner,
        spec: r.spec,
        images: new Map(),
        state: 'running',
        error: '',
        hostNs: new Map(r.spec.hosts.map((h) => [h.id, 0])),
        ends: new HostEnds(r.spec),
        events: [],
        listeners: new Set(),
        timing: { submittedAt: Date.now(), startedAt: Date.now() },
        extraClients: [],
        scheduler: r.scheduler,
        setUp: true,
        assignment: r.assignment,
      };
      this.sims.set(id, sim);
      const ep: GrpcEndpoints = {
        hypervisor: r.endpoints.hypervisor,
        scheduler: r.endpoints.scheduler,
        nodes: new Map(Object.entries(r.endpoints.nodes)),
      };
      const p = this.execute(sim, ep, new Map(Object.entries(r.assignment))).finally(() => this.running.delete(p));
      this.running.add(p);
      this.log.warn({ sim: id, owner: r.owner }, 'simulation taken over from the state store (the previous gateway process died)');
      taken.push(id);
    }
    return taken;
  }

  /** Records a set-up simulation for a restarted gateway (recover()). */
  private async record(sim: Simulation, ep: GrpcEndpoints): Promise<void> {
    const r: RunRecord = {
      instance: this.opts.instance ?? '',
      owner: sim.owner,
      scheduler: sim.scheduler,
      spec: sim.spec,
      assignment: sim.assignment ?? {},
      endpoints: { hypervisor: ep.hypervisor, scheduler: ep.scheduler, nodes: Object.fromEntries(ep.nodes) },
    };
    await this.opts.state?.put(`${sim.id}/run`, new TextEncoder().encode(JSON.stringify(r)));
  }

  /** `taken`: the host assignment of a simulation taken over (recover()), followed rather than set up. */
  private async execute(sim: Simulation, ep: GrpcEndpoints, taken?: ReadonlyMap<string, string>): Promise<void> {
    const log = this.log.child({ sim: sim.id });
    /** The pCPUs and VMs this simulation put on each node (localLoad), taken back at the end. */
    let placed: [string, NodeLoad][] = [];
    try {
      const reported = await nodeLoads(ep.nodes, this.opts.control);
      log.info(
        { hypervisor: ep.hypervisor, scheduler: ep.scheduler, nodes: Object.fromEntries(ep.nodes), load: Object.fromEntries(reported) },
        'services discovered',
      );
      const control = this.controlPlane(ep);
      const watch = watchRun(this.liveness, ep);
      sim.control = control;
      sim.schedulerAddress = ep.scheduler;
      try {
        const t1 = Date.now();
        const store = this.opts.checkpointStore;
        const coordinator = new Coordinator(control, this.bus, {
          resume: sim.resume && store && { store, sim: sim.resume.sim, index: sim.resume.index },
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
            await this.record(sim, ep).catch((err: unknown) =>
              log.warn({ err }, 'could not record the simulation: a restarted gateway will not take it over'),
            );
          },
          onHandover: () =>
            sim.adoption ?? Promise.reject(new Error('the scheduler handed the simulation over, but the gateway asked no other to adopt it')),
          // By load: what each node reports, or what this gateway put there if more (the report lags).
          assign: (hosts, all) => {
            // Not onto a node that is stopping (its heartbeat says draining), if another is there.
            const up = all.filter((n) => !this.liveness.last(ep.nodes.get(n) ?? '')?.draining);
            const ids = up.length > 0 ? up : all;
            const load = new Map(ids.map((n) => [n, heavier(reported.get(n), this.localLoad.get(n))]));
            const a = assignHosts(hosts, ids, load, this.opts.placement);
            placed = hosts.map((h) => [a.get(h.id)!, { pcpus: h.pcpus, vms: h.vms ?? 0 }]);
            sim.assignment = Object.fromEntries(a);
            for (const [n, p] of placed) this.localLoad.set(n, addLoad(this.localLoad.get(n), p, 1));
            watch.watchNodes(a);
            return a;
          },
          abort: watch.abort,
          onRefused: () => void this.counters.refusedEvents++,
          log,
        });
        const out = taken ? await coordinator.reattach(sim.spec, sim.id, taken) : await coordinator.run(sim.spec, sim.id);
        sim.timing.runMs = Date.now() - t1;
        sim.result = out.result;
        sim.log = out.log;
        sim.assignment = Object.fromEntries(out.assignment);
        for (const h of out.result.hosts) sim.hostNs.set(h.id, h.endNs);
        sim.state = 'done';
        log.info(
          { runMs: sim.timing.runMs, discoveryMs: sim.timing.discoveryMs, events: out.result.events, eventLogHash: out.result.eventLogHash },
          'simulation done',
        );
      } finally {
        watch.stop();
        if (watch.lost()) this.counters.lostServices++;
        sim.control = undefined;
        control.close();
        for (const c of sim.extraClients) c.close();
      }
    } catch (err) {
      sim.state = 'failed';
      sim.error = (err as Error).message;
      log.error({ err }, 'simulation failed');
    } finally {
      for (const [n, p] of placed) this.localLoad.set(n, addLoad(this.localLoad.get(n), p, -1));
      sim.images.clear(); // the nodes have them; a finished simulation keeps only its results
      sim.timing.finishedAt = Date.now();
      this.pickup.ended(sim.id);
      void this.opts.state?.deletePrefix(`${sim.id}/`).catch((err: unknown) => log.warn({ err }, 'could not delete the simulation record'));
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

/** The larger of two loads, field by field (a node's report lags what this gateway just put there). */
function heavier(a: NodeLoad | undefined, b: NodeLoad | undefined): NodeLoad {
  return { pcpus: Math.max(a?.pcpus ?? 0, b?.pcpus ?? 0), vms: Math.max(a?.vms ?? 0, b?.vms ?? 0) };
}

function addLoad(a: NodeLoad | undefined, b: NodeLoad, sign: 1 | -1): NodeLoad {
  return { pcpus: (a?.pcpus ?? 0) + sign * b.pcpus, vms: (a?.vms ?? 0) + sign * b.vms };
}
