// The scheduler service: it owns the run queues and drives each of its hosts' loops, talking to
// the cpu-nodes only through run orders on the bus. Another implementation of the same protocol
// can replace it without the other services changing.

import { Bus } from '@vsim/bus';
import { Event, EventBatch, RunOrder, RunReport, encode, subjects } from '@vsim/proto';
import { HostLoop, HostLoopResult, LoopAction, LoopState, LoopVm, PlainLoopAction, withSchedulerParams } from './host-loop';
import { SchedulerPolicy, VmSchedParams, vcpuRef } from './policy';
import { checkPolicyParams, checkVmParams } from '@vsim/vocabulary';
import { isRegisteredPolicy, makeRegisteredPolicy, registeredScheduler } from './registry';
import { CPUPOOLS_POLICY, CpupoolPolicy, DEFAULT_POOL, swapTarget } from './cpupool';

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

export interface PolicySpec {
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
}

export function makePolicy(spec: PolicySpec, pcpus: number): SchedulerPolicy {
  if (spec.policy !== CPUPOOLS_POLICY) return makeRegisteredPolicy(spec.policy, spec.params, pcpus);
  // A host split into cpupools (hostPolicySpec): {default: PolicySpec, pools: [{id, pcpus, scheduler}]}.
  const p = spec.params as { default?: PolicySpec; pools?: { id: string; pcpus: number[]; scheduler: PolicySpec }[] };
  if (!p.default || !Array.isArray(p.pools)) throw new RangeError('cpupools: params must be {default: scheduler, pools: [{id, pcpus, scheduler}]}');
  const def = p.default;
  return new CpupoolPolicy(
    pcpus,
    p.pools.map((q) => ({ id: q.id, pcpus: q.pcpus, make: (n: number) => makePolicy(q.scheduler, n) })),
    (n) => makePolicy(def, n),
  );
}

/**
 * Pending actions from a LoopState back into LoopActions: a swap gets the factory of the policy it
 * names (validated now: RangeError naming the parameter).
 */
export function loopActionsOf(actions: readonly PlainLoopAction[], pcpus: number): LoopAction[] {
  return actions.map((a) => {
    if (a.kind !== 'swapScheduler') return a;
    const spec = { policy: a.policy, params: a.params ?? {} };
    makePolicy(spec, pcpus);
    return { ...a, make: () => makePolicy(spec, pcpus) };
  });
}

/** A scenario's timed action, as the scheduler receives it. */
export type SimAction =
  | { readonly kind: 'pause' | 'unpause'; readonly at: number; readonly vm: string }
  | { readonly kind: 'set'; readonly at: number; readonly vm: string; readonly params: VmSchedParams }
  | { readonly kind: 'swapScheduler'; readonly at: number; readonly scheduler: PolicySpec }
  | { readonly kind: 'killHost'; readonly at: number; readonly host: string };

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

/**
 * The scheduler that decides for a VM (with its parameters) or, without, for the host's default
 * pool: on a host split into cpupools, the policy of the VM's pool, as `xl sched-*` sees it.
 */
/** The scheduler-wide parameters of the policy schedulerOf(spec) names for the default pool. */
function defaultPoolParams(spec: PolicySpec): Readonly<Record<string, unknown>> {
  if (spec.policy !== CPUPOOLS_POLICY) return spec.params;
  return (spec.params as { default?: PolicySpec }).default?.params ?? {};
}

export function schedulerOf(spec: PolicySpec, vmParams?: VmSchedParams): string {
  if (spec.policy !== CPUPOOLS_POLICY) return spec.policy;
  const p = spec.params as { default?: PolicySpec; pools?: readonly { id: string; scheduler: PolicySpec }[] };
  const pool = typeof vmParams?.pool === 'string' ? vmParams.pool : DEFAULT_POOL;
  const named = pool === DEFAULT_POOL ? p.default : p.pools?.find((x) => x.id === pool)?.scheduler;
  return named?.policy ?? spec.policy;
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

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    private readonly observer?: SchedulerObserver,
  ) {}

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
        for (const [host, loop] of this.loops) {
          const pcpus = this.pcpus.get(host)!;
          const target = swapTarget(loop.currentPolicy, a.scheduler); // a host's cpupools stay
          makePolicy(target, pcpus); // validate now, not mid-run
          loop.addAction({ kind: 'swapScheduler', at: a.at, policy: target.policy, params: target.params, make: () => makePolicy(target, pcpus) });
        }
        return;
      case 'killHost':
        loopOf(a.host, `unknown host '${a.host}'`).addAction({ kind: 'killHost', at: a.at });
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

  async runAll(endNs: number): Promise<HostLoopResult[]> {
    // Done once every host's loop is, and its events are stored (a collector may count them).
    this.running = Promise.all([...this.loops.values()].map((l) => l.run(endNs))).then(async (r) => {
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
