// The scheduler service: it owns the run queues and drives each of its hosts' loops, talking to
// the cpu-nodes only through run orders on the bus. Another implementation of the same protocol
// can replace it without the other services changing.

import { Bus } from '@vsim/bus';
import { Event, EventBatch, RunOrder, RunReport, encode, subjects } from '@vsim/proto';
import { busMigrationTransport } from './migration-transport';
import { HostAt, MigrateArgs, MigrationHandle, MigrationRule, MigrationSummary, Migrations, NetworkLink } from './migration';
import { Balancer, BalancerSpec } from './balancer';
import { HostLoop, HostLoopResult, LoopState, LoopVm, withSchedulerParams } from './host-loop';
import { VmSchedParams, vcpuRef } from './policy';
import { checkPolicyParams, checkVmParams } from '@vsim/vocabulary';
import { isRegisteredPolicy, registeredScheduler } from './registry';
import { swapTarget } from './cpupool';
import { CheckpointConfig, Checkpointer } from './checkpointer';
import { PolicySpec, defaultPoolParams, loopActionsOf, makePolicy, schedulerOf } from './policy-spec';

/** A run order may take long in wall time (a slice of a busy guest): be generous. */
export const RUN_ORDER_TIMEOUT_MS = 120_000;
/**
 * A run order without a report after this long is sent again, with its sequence number: the
 * cpu-node answers a resend with the report of the first (waiting for it if it still runs), so a
 * reply lost in a NATS outage costs at most this long (less: every order in flight is resent as
 * soon as the connection is back).
 */
export const RUN_ORDER_ATTEMPT_MS = 5_000;

/** At most this many events per EventBatch message (an event encodes to ~40-100 bytes). */
export const MAX_EVENTS_PER_BATCH = 1000;

export { loopActionsOf, makePolicy, schedulerOf } from './policy-spec';
export type { PolicySpec } from './policy-spec';

/** A scenario's timed action, as the scheduler receives it. */
export type SimAction =
  | { readonly kind: 'pause' | 'unpause'; readonly at: number; readonly vm: string }
  | { readonly kind: 'set'; readonly at: number; readonly vm: string; readonly params: VmSchedParams }
  /** `host`: that host only (a resumed run's hosts that start afresh); absent: every host. */
  | { readonly kind: 'swapScheduler'; readonly at: number; readonly scheduler: PolicySpec; readonly host?: string }
  | { readonly kind: 'killHost'; readonly at: number; readonly host: string }
  /** Live migration of `vm` to host `to` over `link` (migration.ts), started at `at`. */
  | {
      readonly kind: 'migrate';
      readonly at: number;
      readonly vm: string;
      readonly to: string;
      readonly link: NetworkLink;
      readonly rule?: Partial<MigrationRule>;
    };

/** A migration command or page transfer may move megabytes: generous, like a run order. */
export const MIGRATION_TIMEOUT_MS = 120_000;

/** One host as handed over between scheduler services. */
export interface HostHandover {
  readonly host: string;
  /** The cpu-node that simulates it. */
  readonly node: string;
  readonly pcpus: number;
  /** Events published on vsim.<sim>.events.<host> so far. */
  readonly eventsPublished: number;
  readonly state: LoopState;
}

/** Watches a scheduler's host loops (a service's metrics). Called inline: cheap, never throws. */
export interface SchedulerObserver {
  /** A run order was answered: `host` advanced from `fromNs` to `toNs` of virtual time. */
  ran?(host: string, fromNs: number, toNs: number): void;
  /** One iteration's events of `host` were published. */
  published?(host: string, events: readonly Event[]): void;
}

/** A run-time call named a VM or host the scheduler does not know. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export class SchedulerService {
  private readonly loops = new Map<string, HostLoop>();
  private readonly pcpus = new Map<string, number>();
  private readonly nodes = new Map<string, string>();
  private readonly hostOfVm = new Map<string, string>();
  private readonly published = new Map<string, number>();
  /** Per host, the event batches being stored, in order (Bus.publishStored), and the first failure. */
  private readonly storing = new Map<string, Promise<void>>();
  private storeError: Error | undefined;
  /** Run orders resent (a reply lost in a NATS outage, or slow). */
  orderRetries = 0;
  private readonly migrations: Migrations;

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    private readonly observer?: SchedulerObserver,
  ) {
    this.migrations = new Migrations(busMigrationTransport(bus, sim, MIGRATION_TIMEOUT_MS), (vm, host) => this.hostOfVm.set(vm, host));
  }

  /**
   * Live migration of `vm` to host `to` at `at` (a scenario action), or at the virtual time the
   * VM's host has reached (a run-time call: `at` omitted). Throws, naming what is wrong, before
   * anything starts.
   */
  migrate(a: MigrateArgs): void {
    // The balancer's barriers and a migration it did not choose could wait for each other.
    if (this.balancer) throw new RangeError(`migrate ${a.vm}: this simulation has a load balancer, which migrates VMs itself`);
    this.startMigration(a);
  }

  private startMigration(a: MigrateArgs): MigrationHandle {
    const from = this.hostOfVm.get(a.vm);
    const src = from === undefined ? undefined : this.loops.get(from);
    if (!src || from === undefined) throw new NotFoundError(`migrate: unknown VM '${a.vm}'`);
    const dst = this.loops.get(a.to);
    if (!dst) throw new NotFoundError(`migrate: unknown host '${a.to}'`);
    const at = a.at ?? src.virtualNow;
    const hostAt = (host: string): HostAt => ({ host, node: this.nodes.get(host)! });
    return this.migrations.start({ at, vm: a.vm, to: a.to, link: a.link, rule: a.rule }, hostAt(from), hostAt(a.to), src, dst);
  }

  private balancer: Balancer | undefined;

  /**
   * Load balancing (balancer.ts): from now on, every period the hosts meet and a VM moves from the
   * most to the least loaded host when their loads differ by more than the threshold. Set before Run.
   */
  balance(spec: BalancerSpec): void {
    if (this.balancer) throw new RangeError('the simulation already has a load balancer');
    if (this.loops.size < 2) throw new RangeError('load balancing needs two hosts or more');
    this.balancer = new Balancer(spec, {
      loops: this.loops,
      pcpus: (h) => this.pcpus.get(h)!,
      hostAt: (h) => ({ host: h, node: this.nodes.get(h)! }),
      isMigrating: (vm) => this.migrations.isMigrating(vm),
      startMigration: (vm, _from, to, at, link, rule) => this.startMigration({ vm, to, at, link, rule }),
    });
    this.balancer.arm();
  }

  /** The migrations that completed (resumed on their destination), in the order they did. */
  migrationsDone(): readonly MigrationSummary[] {
    return this.migrations.done;
  }

  /** Control: take charge of a host, simulated by cpu-node `node`. */
  addHost(host: string, pcpus: number, policy: PolicySpec, node: string): void {
    const loop = new HostLoop(
      this.sim,
      host,
      pcpus,
      makePolicy(policy, pcpus),
      async (order) => {
        const reply = await this.bus.request(subjects.hostRun(this.sim, node, host), encode(RunOrder, order), {
          timeoutMs: RUN_ORDER_TIMEOUT_MS,
          attemptMs: RUN_ORDER_ATTEMPT_MS,
          onRetry: () => void this.orderRetries++,
        });
        const report = RunReport.decode(reply);
        this.observer?.ran?.(host, order.nowNs, report.nowNs);
        return report;
      },
      (events) => {
        this.observer?.published?.(host, events);
        this.checkpointer?.noteEvents(host, events);
        // Batches stay far below NATS's default 1 MiB max_payload however busy an iteration was.
        for (let i = 0; i < events.length; i += MAX_EVENTS_PER_BATCH) {
          const chunk = events.slice(i, i + MAX_EVENTS_PER_BATCH);
          const firstIndex = this.published.get(host) ?? 0;
          this.store(host, encode(EventBatch, { sim: this.sim, host, events: chunk.map(Event.toMessage), firstIndex }), firstIndex);
          this.published.set(host, firstIndex + chunk.length);
        }
      },
      policy.params,
    );
    this.loops.set(host, loop);
    this.pcpus.set(host, pcpus);
    this.nodes.set(host, node);
    this.published.set(host, 0);
  }

  /**
   * Stores one event batch after the host's previous ones (the loop goes on meanwhile): with a
   * JetStream event stream, each is retried until stored, and its message id — simulation, host
   * and first event index — makes a resent or re-run batch stored once.
   */
  private store(host: string, batch: Uint8Array, firstIndex: number): void {
    const prev = this.storing.get(host) ?? Promise.resolve();
    const next = prev.then(() =>
      this.bus.publishStored(subjects.events(this.sim, host), batch, `${this.sim}.${host}.${firstIndex}`).catch((err: unknown) => {
        this.storeError ??= err as Error;
      }),
    );
    this.storing.set(host, next);
  }

  /** Resolves once every event batch published so far is stored; throws if one could not be. */
  async eventsStored(): Promise<void> {
    await Promise.all(this.storing.values());
    if (this.storeError) throw new Error(`events could not be published: ${this.storeError.message}`, { cause: this.storeError });
  }

  /** Control: a timed action, routed to the loop(s) it concerns. */
  addAction(a: SimAction): void {
    const loopOf = (host: string | undefined, what: string) => {
      const loop = host === undefined ? undefined : this.loops.get(host);
      if (!loop) throw new RangeError(`action at ${a.at} ns: ${what}`);
      return loop;
    };
    switch (a.kind) {
      case 'pause':
      case 'unpause':
        loopOf(this.hostOfVm.get(a.vm), `unknown VM '${a.vm}'`).addAction({ kind: a.kind, at: a.at, vm: a.vm });
        return;
      case 'set':
        loopOf(this.hostOfVm.get(a.vm), `unknown VM '${a.vm}'`).addAction({ kind: 'set', at: a.at, vm: a.vm, params: a.params });
        return;
      case 'swapScheduler':
        if (a.host !== undefined) loopOf(a.host, `unknown host '${a.host}'`);
        for (const [host, loop] of this.loops) {
          if (a.host !== undefined && host !== a.host) continue;
          const pcpus = this.pcpus.get(host)!;
          const target = swapTarget(loop.currentPolicy, a.scheduler); // a host's cpupools stay
          makePolicy(target, pcpus); // validate now, not mid-run
          loop.addAction({ kind: 'swapScheduler', at: a.at, policy: target.policy, params: target.params, make: () => makePolicy(target, pcpus) });
        }
        return;
      case 'killHost':
        loopOf(a.host, `unknown host '${a.host}'`).addAction({ kind: 'killHost', at: a.at });
        return;
      case 'migrate':
        this.migrate(a);
        return;
    }
  }

  // ---- Run time (`xl sched-*`, `vsim sched swap`): each takes effect at the next decision of the
  // loop of every host concerned, i.e. at the virtual time that host has reached when it arrives.
  // Parameters are checked here, against a throwaway policy of the kind the host runs, so a bad
  // value is refused at once and never reaches a running loop.

  /** New scheduling parameters for a VM (`xl sched-credit -d VM -w W`). */
  setVmParams(vm: string, params: VmSchedParams, policy = ''): void {
    const host = this.hostOfVm.get(vm);
    const loop = host === undefined ? undefined : this.loops.get(host);
    if (!loop) throw new NotFoundError(`unknown VM '${vm}'`);
    const current = loop.currentPolicy;
    const merged = { ...loop.vmParams(vm), ...params };
    const by = schedulerOf(current, loop.vmParams(vm) ?? {});
    if (policy !== '' && policy !== by) throw new RangeError(`VM ${vm} is scheduled by ${by}, not ${policy}`);
    // The registry's schema first (the scenario validator's bounds, cap ≤ 100 × the VM's vCPUs),
    // then a throwaway policy for what only the policy knows (a `pin` naming the host's pCPUs).
    if (isRegisteredPolicy(by)) {
      const problems = checkVmParams(registeredScheduler(by).descriptor, params, loop.vcpuCount(vm), merged);
      if (problems.length > 0) throw new RangeError(`VM ${vm}: ${problems.map((p) => p.message).join('; ')}`);
    }
    const probe = makePolicy(current, this.pcpus.get(host as string)!);
    if (!probe.setParams) throw new RangeError(`${current.policy} has no per-VM parameters`);
    probe.add(vcpuRef(vm, 0), merged, 0); // throws RangeError naming the bad parameter
    loop.addAction({ kind: 'set', at: loop.virtualNow, vm, params });
  }

  /** New scheduler-wide parameters on every host (`xl sched-credit -s -t MS -r US`). */
  setSchedulerParams(params: Readonly<Record<string, unknown>>, policy = ''): void {
    for (const [host, loop] of this.loops) {
      const current = loop.currentPolicy;
      const by = schedulerOf(current);
      if (policy !== '' && policy !== by) throw new RangeError(`host ${host} runs ${by}, not ${policy}`);
      const problems = checkPolicyParams(registeredScheduler(by).descriptor, params, defaultPoolParams(current));
      if (problems.length > 0) throw new RangeError(`${by}: ${problems.map((p) => p.message).join('; ')}`);
      const probe = makePolicy(current, this.pcpus.get(host)!);
      if (!probe.setSchedulerParams) throw new RangeError(`${current.policy} has no scheduler-wide parameters`);
      probe.setSchedulerParams(params, 0);
    }
    for (const loop of this.loops.values()) loop.addAction({ kind: 'setScheduler', at: loop.virtualNow, params });
  }

  /** Hot swap: every host hands its run queues over to a new policy at its next decision. */
  swapNow(spec: PolicySpec): void {
    for (const [host, loop] of this.loops) {
      const pcpus = this.pcpus.get(host)!;
      const target = swapTarget(loop.currentPolicy, spec); // a host's cpupools stay
      makePolicy(target, pcpus); // validate now, not mid-run
      loop.addAction({
        kind: 'swapScheduler',
        at: loop.virtualNow,
        policy: target.policy,
        params: target.params,
        make: () => makePolicy(target, pcpus),
      });
    }
  }

  /**
   * What each host runs and each VM's parameters, as last set: what the loops applied, with the
   * calls they will apply at their next decision folded in (as `xl` shows what was set).
   */
  schedParams(): {
    hosts: { host: string; policy: string; params: Readonly<Record<string, unknown>>; nowNs: number }[];
    vms: { vm: string; host: string; params: VmSchedParams; policy: string }[];
  } {
    const hosts: { host: string; policy: string; params: Readonly<Record<string, unknown>>; nowNs: number }[] = [];
    const vms: { vm: string; host: string; params: VmSchedParams; policy: string }[] = [];
    for (const [host, l] of this.loops) {
      let { policy, params } = l.currentPolicy;
      const vmParams = new Map(l.vmIds().map((vm) => [vm, l.vmParams(vm) ?? {}]));
      for (const a of l.dueActions()) {
        if (a.kind === 'setScheduler') ({ policy, params } = withSchedulerParams({ policy, params }, a.params));
        else if (a.kind === 'swapScheduler') ({ policy, params } = { policy: a.policy, params: a.params ?? {} });
        else if (a.kind === 'set' && vmParams.has(a.vm)) vmParams.set(a.vm, { ...vmParams.get(a.vm), ...a.params });
      }
      hosts.push({ host, policy, params, nowNs: l.virtualNow });
      for (const [vm, p] of vmParams) vms.push({ vm, host, params: p, policy: schedulerOf({ policy, params }, p) });
    }
    return { hosts, vms };
  }

  /** Events published so far on vsim.<sim>.events.<host> (what a collector must have received). */
  publishedEvents(host: string): number {
    return this.published.get(host) ?? 0;
  }

  hosts(): string[] {
    return [...this.loops.keys()];
  }

  addVm(host: string, vm: LoopVm): void {
    const loop = this.loops.get(host);
    if (!loop) throw new Error(`scheduler does not drive host '${host}'`);
    loop.addVm(vm);
    this.hostOfVm.set(vm.id, host);
  }

  /** Runs every host's loop to `endNs`, concurrently: hosts never wait for each other. */
  /** Control: hold every host loop of the simulation between iterations, or let them go on. */
  pause(): void {
    for (const l of this.loops.values()) l.pause();
  }

  resume(): void {
    for (const l of this.loops.values()) l.resume();
  }

  // ---- Checkpoints (checkpointer.ts) --------------------------------------------------------------

  private checkpointer: Checkpointer | undefined;
  /** Hosts resumed from a checkpoint: its index and the events before it (their next checkpoints go on from there). */
  private readonly resumedFrom = new Map<string, { index: number; events: readonly Event[] }>();

  /** Checkpoints of every host from the next Run on (call before runAll). */
  enableCheckpoints(config: CheckpointConfig): Checkpointer {
    const c = new Checkpointer(this.bus, this.sim, config);
    for (const [host, loop] of this.loops) c.track(host, this.nodes.get(host)!, this.pcpus.get(host)!, loop.virtualNow, this.resumedFrom.get(host));
    this.checkpointer = c;
    return c;
  }

  get checkpoints(): Checkpointer | undefined {
    return this.checkpointer;
  }

  /**
   * Resume: continues `h` (a host's state from checkpoint `from.index`, whose events before it
   * are `from.events`) under `policy`, as adopt() does for a handed-over host.
   */
  resumeHost(h: HostHandover, policy: PolicySpec, from: { index: number; events: readonly Event[] }): void {
    this.adopt([h], policy);
    this.resumedFrom.set(h.host, from);
  }

  async runAll(endNs: number): Promise<HostLoopResult[]> {
    const c = this.checkpointer;
    for (const l of this.loops.values()) l.onBoundary(c && ((loop) => c.atBoundary(loop, loop.currentPolicy)));
    // Done once every host's loop is, and its events are stored (a collector may count them).
    this.migrations.setEnd(endNs);
    const runs = [...this.loops].map(([host, l]) =>
      l.run(endNs).finally(() => {
        this.migrations.hostEnded(host);
        this.balancer?.hostEnded(host);
      }),
    );
    this.running = Promise.all(runs).then(async (r) => {
      await this.eventsStored();
      return r;
    });
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private running: Promise<HostLoopResult[]> | undefined;

  // ---- Handover between scheduler services (docs/scheduler-protocol.md §8) ----------------------

  /**
   * Stops every loop at its next iteration boundary (the pending runAll then returns, its results
   * marked handedOver) and returns each host's state for another service to continue.
   */
  async handover(): Promise<HostHandover[]> {
    for (const l of this.loops.values()) l.requestHandover();
    await this.running?.catch(() => undefined);
    return [...this.loops].map(([host, l]) => {
      const state = l.exportState();
      return { host, node: this.nodes.get(host)!, pcpus: this.pcpus.get(host)!, eventsPublished: this.publishedEvents(host), state };
    });
  }

  // ---- Checkpoints (issue 11): one host's state without stopping its loop, and back ---------------

  /**
   * Host `host`'s state, as handover() gives it, without stopping its loop. Synchronous; only at
   * an iteration boundary, i.e. before runAll, after it returned, while the simulation is paused
   * (once the loop has reached its boundary: see snapshotHost), or from code the loop runs between
   * two iterations. Mid-iteration (a run order out) it throws rather than return a torn state.
   * `eventsPublished` counts the event batches handed to the bus so far (eventsStored() awaits them).
   */
  exportHostState(host: string): HostHandover {
    const loop = this.loops.get(host);
    if (!loop) throw new NotFoundError(`unknown host '${host}'`);
    return {
      host,
      node: this.nodes.get(host)!,
      pcpus: this.pcpus.get(host)!,
      eventsPublished: this.publishedEvents(host),
      state: loop.exportState(),
    };
  }

  /**
   * exportHostState at the host loop's next iteration boundary: holds the loop there (pause),
   * exports, and lets it go on unless it was already paused. Virtual time is unaffected.
   */
  async snapshotHost(host: string): Promise<HostHandover> {
    const loop = this.loops.get(host);
    if (!loop) throw new NotFoundError(`unknown host '${host}'`);
    const wasPaused = loop.paused;
    loop.pause();
    try {
      await loop.whenAtBoundary();
      return this.exportHostState(host);
    } finally {
      if (!wasPaused) loop.resume();
    }
  }

  /**
   * Continues hosts from exportHostState/handover output in this (fresh) service, each with the
   * policy and parameters its state names, exactly where it was: the same events follow as in an
   * uninterrupted run. RangeError naming the host if a state carries no policy state.
   */
  restoreHosts(hosts: readonly HostHandover[]): void {
    for (const h of hosts) {
      if (!h.state.policy) throw new RangeError(`host ${h.host}: state.policy: missing (a state without the policy's state can only be adopted)`);
      if (this.loops.has(h.host)) throw new RangeError(`host ${h.host} is already driven here`);
      makePolicy({ policy: h.state.policy.name, params: h.state.policy.params }, h.pcpus); // validate first
    }
    for (const h of hosts) this.adopt([h], { policy: h.state.policy!.name, params: h.state.policy!.params });
  }

  /**
   * Continues hosts another service handed over, under `policy`, from the next Run on: exactly
   * where they were if `policy` (and its parameters) is what the state names, else as in a swap
   * (HostLoop.importState).
   */
  adopt(hosts: readonly HostHandover[], policy: PolicySpec): void {
    for (const h of hosts) makePolicy(policy, h.pcpus); // validate first: all or nothing
    for (const h of hosts) {
      if (this.loops.has(h.host)) throw new RangeError(`host ${h.host} is already driven here`);
      this.addHost(h.host, h.pcpus, policy, h.node);
      try {
        this.loops.get(h.host)!.importState(h.state, loopActionsOf(h.state.actions, h.pcpus));
      } catch (err) {
        // A state that does not fit leaves no half-adopted host behind.
        this.loops.delete(h.host);
        this.pcpus.delete(h.host);
        this.nodes.delete(h.host);
        this.published.delete(h.host);
        throw err;
      }
      this.published.set(h.host, h.eventsPublished);
      for (const v of h.state.vcpus) this.hostOfVm.set(v.vm, h.host);
    }
  }
}
