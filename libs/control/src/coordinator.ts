// The Coordinator runs one SimSpec through a ControlPlane and a Bus, whatever is behind them: the
// services' logic in this process (runEmbedded) or services in other processes reached over gRPC
// (the gateway). Steps:
//   1. OpenSimulation on the hypervisor;
//   2. place VMs without a host (placeVms), assign hosts to cpu-nodes (assignHosts, placement.ts);
//   3. CreateHost on each host's node, AddHost on the scheduler;
//   4. per VM, in scenario order: CreateVm on its host's node (with the image bytes, read here, so
//      nodes need no access to the submitter's files), RegisterVm on the hypervisor (with the heap
//      bounds the node computed), AddVm on the scheduler;
//   5. subscribe to vsim.<sim>.events.> and collect the EventBatches into an EventLog;
//   6. Run on the scheduler; then wait until the events received per host equal the number the
//      scheduler says it published (RunResult.hosts[].events), or fail after a timeout;
//   7. summarize (the same function for every path), and CloseSimulation everywhere.

import { balancerMessage, migrationMessage } from './proto-migration';
import { readFileSync } from 'fs';
import { Bus, CheckpointStore } from '@vsim/bus';
import { Event, EventBatch, RunResult, EventLog, subjects } from '@vsim/proto';
import { Refusal, RefusalCounter } from '@vsim/security';
import { SimResult, SimSpec, placeVms, summarize } from './simulation';
import { TECHNIQUES } from '@vsim/executor';
import { hostPolicySpec, schedulerMessage, vmSchedMessage } from '@vsim/scheduler';
import { ControlLogger, ControlPlane, SchedulerControl, checkHostId, checkSim, checkVmId, invalid, silentLogger } from './control-plane';
import { costModelOf } from './proto-costs';
import { HostToPlace, assignHosts, vmsPerHost } from './placement';
import { readCheckpoints, restoreVms } from './checkpoint/resume';
import { step } from './step';
import { specIdentity } from './checkpoint/spec-id';

export interface CoordinatorOptions {
  /** Reads a VM's image by the path the spec names. Default: the local file system. */
  readonly readImage?: (path: string) => Uint8Array;
  /** How long to wait, after Run returned, for every published event to arrive. Default 30 s. */
  readonly eventsTimeoutMs?: number;
  /** Called with each batch of events as it arrives (live progress, event streaming). */
  readonly onEvents?: (host: string, events: readonly Event[]) => void;
  readonly log?: ControlLogger;
  /**
   * When the scheduler's Run returns handed over (the simulation went to another scheduler service,
   * docs/scheduler-protocol.md §8): resolves with the scheduler that adopted it, whose Run continues.
   */
  readonly onHandover?: () => Promise<SchedulerControl>;
  /** Once every host, VM and action is set up, just before the scheduler's Run (e.g. to pause first). */
  readonly beforeRun?: () => Promise<void>;
  /**
   * Chooses each host's cpu-node (default: assignHosts, least-loaded with no load; placement.ts).
   * The gateway passes the nodes' current loads, so that simulations spread over the cluster.
   */
  readonly assign?: (hosts: readonly (HostToPlace & { pcpus: number })[], nodeIds: readonly string[]) => Map<string, string>;
  /** An event batch was refused (not from where the host's events stand): logged, never applied. */
  readonly onRefused?: (refusal: Refusal) => void;
  /**
   * Rejects when the run cannot go on (e.g. a service it uses stopped heartbeating): the run fails
   * at once with that error, instead of when a request to the lost service times out.
   */
  readonly abort?: Promise<never>;
  /**
   * Checkpoint every host every this many ns of virtual time, into the scheduler's checkpoint store
   * (0: none; absent: the spec's checkpointIntervalNs, if any).
   */
  readonly checkpointIntervalNs?: number;
  /**
   * Resume: continue simulation `sim`'s run from its hosts' checkpoints in `store` (checkpoint
   * `index` of every host, default each host's newest) instead of setting it up from the start.
   * The cpu-nodes and the scheduler read the same store.
   */
  readonly resume?: { readonly store: CheckpointStore; readonly sim: string; readonly index?: number };
}

export interface CoordinatedRun {
  readonly result: SimResult;
  readonly log: EventLog;
  /** What the scheduler's Run returned. */
  readonly run: RunResult;
  /** VM -> host, after placement. */
  readonly placement: ReadonlyMap<string, string>;
  /** Host -> cpu-node id. */
  readonly assignment: ReadonlyMap<string, string>;
  /** A resumed run: per host restored from a checkpoint, which one, its virtual time and the events before it. */
  readonly resumed?: ReadonlyMap<string, { readonly index: number; readonly nowNs: number; readonly eventsBefore: number }>;
}

/** Throws on a spec the services would reject half-way through setup. */
export function checkSpec(spec: SimSpec): void {
  if (spec.hosts.length === 0) throw new Error('the simulation has no host');
  const hosts = new Set<string>();
  for (const h of spec.hosts) {
    checkHostId(h.id);
    if (hosts.has(h.id)) throw new Error(`host ${h.id} is defined twice`);
    hosts.add(h.id);
  }
  const vms = new Set<string>();
  for (const vm of spec.vms) {
    checkVmId(vm.id);
    if (vms.has(vm.id)) throw new Error(`VM ${vm.id} is defined twice`);
    vms.add(vm.id);
    if (vm.host !== undefined && !hosts.has(vm.host)) throw new Error(`VM ${vm.id} names unknown host ${vm.host}`);
    if (vm.technique !== undefined && !TECHNIQUES.includes(vm.technique)) {
      throw new Error(`VM ${vm.id}: technique ${vm.technique} is not implemented yet (available: ${TECHNIQUES.join(', ')})`);
    }
    if (vm.technique === 'trap-and-emulate' && vm.kind === 'linux')
      throw new Error(`VM ${vm.id}: trap-and-emulate virtualizes a guest kernel (kind kernel), not a Linux user program`);
    if (vm.isa === 'ring32' && (vm.kind !== 'kernel' || vm.vcpus !== 1))
      throw new Error(`VM ${vm.id}: a ring32 guest is a kernel image on one vCPU (kind kernel, vcpus 1)`);
    if (vm.technique === 'code-patching' && vm.isa !== 'ring32')
      throw new Error(`VM ${vm.id}: technique code-patching is for ring32 guests (isa ring32)`);
  }
  if (!(Number.isSafeInteger(spec.durationNs) && spec.durationNs > 0))
    throw new Error(`durationNs must be a positive integer, got ${spec.durationNs}`);
}

export class Coordinator {
  private readonly log: ControlLogger;

  constructor(
    private readonly control: ControlPlane,
    private readonly bus: Bus,
    private readonly opts: CoordinatorOptions = {},
  ) {
    this.log = opts.log ?? silentLogger;
  }

  async run(spec: SimSpec, sim: string): Promise<CoordinatedRun> {
    checkSim(sim);
    checkSpec(spec);
    const { hypervisor, scheduler } = this.control;
    const placement = placeVms(spec);
    const vms = vmsPerHost(placement);
    const sizes = spec.hosts.map((h) => ({ id: h.id, pcpus: h.pcpus, vms: vms.get(h.id) ?? 0 }));
    const assignment = (this.opts.assign ?? assignHosts)(sizes, [...this.control.nodes.keys()]);
    for (const h of spec.hosts)
      if (!this.control.nodes.has(assignment.get(h.id) ?? '')) throw new Error(`host ${h.id} was assigned to no known cpu-node`);
    const nodeOf = (host: string) => this.control.nodes.get(assignment.get(host)!)!;
    const readImage = this.opts.readImage ?? ((path: string) => readFileSync(path));
    const log = this.log.child({ sim });
    const collector = new EventCollector(
      this.bus,
      sim,
      spec.hosts.map((h) => h.id),
      log,
      this.opts.onEvents,
      this.opts.onRefused,
    );
    const checkpointIntervalNs = this.opts.checkpointIntervalNs ?? spec.checkpointIntervalNs ?? 0;
    const needsId = checkpointIntervalNs > 0 || this.opts.resume !== undefined;
    // A migration moves a VM between two hosts' loops, which a per-host checkpoint cannot hold yet
    // (HostLoop.exportState refuses while one is pending; a resumed host would hold VMs the spec
    // places elsewhere): refused before anything is set up.
    if (needsId && (spec.balancer || (spec.actions ?? []).some((a) => a.kind === 'migrate')))
      throw invalid('checkpoint: checkpoints and resume do not support live migration yet (the scenario has a migrate action or a balancer)');
    const specId = needsId ? specIdentity(spec, readImage) : '';
    const work = (async (): Promise<CoordinatedRun> => {
      // Every checkpoint is read (and checked) before anything is set up.
      const resumed = this.opts.resume && (await readCheckpoints(this.opts.resume, spec, specId, placement));
      await step('OpenSimulation on the hypervisor', () => hypervisor.openSimulation({ sim, nodes: [] }));
      for (const h of spec.hosts) {
        await step(`CreateHost ${h.id} on node ${assignment.get(h.id)}`, () =>
          nodeOf(h.id).createHost({
            sim,
            host: h.id,
            pcpus: h.pcpus,
            clockHz: h.clockHz,
            quantumNs: h.quantumNs,
            trapPath: spec.trapPath,
            costs: costModelOf(h.costs),
            isa: h.isa ?? 'rv32',
            expansion: { ...h.expansion },
          }),
        );
        const r = resumed?.get(h.id);
        await step(`AddHost ${h.id} on the scheduler`, () =>
          scheduler.addHost({
            sim,
            host: h.id,
            pcpus: h.pcpus,
            node: assignment.get(h.id)!,
            scheduler: r ? r.manifest.scheduler : schedulerMessage(hostPolicySpec(spec.scheduler, h.pools), `host ${h.id}: scheduler`),
            ...(r ? { resumeKey: r.key } : {}),
          }),
        );
      }
      // A resumed run restores the hosts that have a checkpoint; the others (they ended before their
      // first one) start from the beginning, with the actions that concern them.
      const fresh = (host: string) => !resumed?.has(host);
      if (resumed) await restoreVms(this.control, spec, sim, placement, assignment, resumed);
      await this.createVms(spec, sim, placement, assignment, readImage, fresh);
      for (const [i, a] of (spec.actions ?? []).entries()) {
        // A swap concerns every host: to the fresh ones only, one by one, when others were resumed.
        const targets: string[] =
          a.kind === 'swapScheduler'
            ? resumed
              ? spec.hosts.map((h) => h.id).filter(fresh)
              : ['']
            : [a.kind === 'killHost' ? a.host : placement.get(a.vm)!];
        for (const host of targets) {
          if (host !== '' && !fresh(host)) continue; // a resumed host's pending actions came with its checkpoint
          await step(`AddAction ${i} (${a.kind} at ${a.at} ns) on the scheduler`, () =>
            scheduler.addAction({
              sim,
              atNs: a.at,
              kind: a.kind,
              vm: 'vm' in a ? a.vm : '',
              host: a.kind === 'killHost' || a.kind === 'swapScheduler' ? host : a.kind === 'migrate' ? a.to : '',
              vmParams: a.kind === 'set' ? vmSchedMessage(a.params) : undefined,
              scheduler: a.kind === 'swapScheduler' ? schedulerMessage(a.scheduler, `actions[${i}].swapScheduler`) : undefined,
              migration: a.kind === 'migrate' ? migrationMessage({ link: a.link, rule: a.rule ?? {} }) : undefined,
              balancer: undefined,
            }),
          );
        }
      }
      if (spec.balancer) {
        const balancer = spec.balancer;
        await step('AddAction balance on the scheduler', () =>
          scheduler.addAction({
            sim,
            atNs: 0,
            kind: 'balance',
            vm: '',
            host: '',
            vmParams: undefined,
            scheduler: undefined,
            migration: undefined,
            balancer: balancerMessage(balancer, spec.network),
          }),
        );
      }
      // The events before the checkpoints come from them.
      if (resumed) for (const [host, r] of resumed) collector.seed(host, r.events);
      log.info({ hosts: Object.fromEntries(assignment), vms: spec.vms.length }, 'simulation set up');
      await collector.start();
      await this.opts.beforeRun?.();
      let run = await step('Run on the scheduler', () =>
        scheduler.run({ sim, endNs: spec.durationNs, checkpointIntervalNs, checkpointSpecId: specId }),
      );
      while (run.handedOver) {
        const adopt = this.opts.onHandover;
        if (!adopt) throw new Error('the scheduler handed the simulation over, but no other scheduler adopts it');
        const next = await step('waiting for the scheduler that adopts the simulation', adopt);
        this.adopters.push(next);
        run = await step('Run on the adopting scheduler', () => next.run({ sim, endNs: spec.durationNs }));
      }
      await collector.waitFor(run, this.opts.eventsTimeoutMs ?? 30_000);
      const { result } = summarize(spec, placement, run.hosts, collector.events);
      log.info({ events: result.events, eventLogHash: result.eventLogHash }, 'simulation done');
      const from =
        resumed && new Map([...resumed].map(([h, r]) => [h, { index: r.manifest.index, nowNs: r.manifest.nowNs, eventsBefore: r.events.length }]));
      return { result, log: collector.events, run, placement, assignment, resumed: from };
    })();
    try {
      if (!this.opts.abort) return await work;
      work.catch(() => undefined); // if the abort wins, how the rest ends no longer matters
      return await Promise.race([work, this.opts.abort]);
    } finally {
      collector.stop();
      await this.closeEverywhere(sim, log);
    }
  }

  /**
   * Takes over a simulation whose set-up and Run another coordinator did before it died (a gateway
   * killed mid-run, issue 11): follows its events from the start of the JetStream event stream,
   * joins the scheduler's run (a repeated Run with the same end waits for the same result), and
   * ends it as run() does. The services kept the simulation meanwhile; nothing is set up again.
   */
  async reattach(spec: SimSpec, sim: string, assignment: ReadonlyMap<string, string>): Promise<CoordinatedRun> {
    checkSim(sim);
    const placement = placeVms(spec);
    const log = this.log.child({ sim });
    const collector = new EventCollector(
      this.bus,
      sim,
      spec.hosts.map((h) => h.id),
      log,
      this.opts.onEvents,
      this.opts.onRefused,
    );
    const work = (async (): Promise<CoordinatedRun> => {
      await collector.start();
      const run = await step('Run (joined) on the scheduler', () => this.control.scheduler.run({ sim, endNs: spec.durationNs }));
      if (run.handedOver) throw new Error('the scheduler handed the simulation over while its gateway was replaced: it cannot be followed');
      await collector.waitFor(run, this.opts.eventsTimeoutMs ?? 30_000);
      const { result } = summarize(spec, placement, run.hosts, collector.events);
      log.info({ events: result.events, eventLogHash: result.eventLogHash }, 'simulation done (taken over)');
      return { result, log: collector.events, run, placement, assignment };
    })();
    try {
      if (!this.opts.abort) return await work;
      work.catch(() => undefined);
      return await Promise.race([work, this.opts.abort]);
    } finally {
      collector.stop();
      await this.closeEverywhere(sim, log);
    }
  }

  private nodeOf(assignment: ReadonlyMap<string, string>, host: string) {
    return this.control.nodes.get(assignment.get(host)!)!;
  }

  /** Step 4 of a run from the start: each VM created from its image, registered, scheduled. */
  private async createVms(
    spec: SimSpec,
    sim: string,
    placement: ReadonlyMap<string, string>,
    assignment: ReadonlyMap<string, string>,
    readImage: (path: string) => Uint8Array,
    onHost: (host: string) => boolean = () => true,
  ): Promise<void> {
    for (const vm of spec.vms) {
      const host = placement.get(vm.id)!;
      if (!onHost(host)) continue;
      const image = await step(`reading the image of VM ${vm.id}`, async () => Buffer.from(readImage(vm.image)));
      const created = await step(`CreateVm ${vm.id} on node ${assignment.get(host)}`, () =>
        this.nodeOf(assignment, host).createVm({
          sim,
          host,
          vm: vm.id,
          kind: vm.kind,
          vcpus: vm.vcpus,
          memoryBytes: vm.memoryBytes,
          image,
          args: [...vm.args],
          engine: vm.engine,
          technique: vm.technique ?? 'paravirt',
          isa: vm.isa ?? 'rv32',
        }),
      );
      await step(`RegisterVm ${vm.id} on the hypervisor`, () =>
        this.control.hypervisor.registerVm({
          sim,
          vm: vm.id,
          kind: vm.kind,
          brkStart: created.brkStart,
          brkMax: created.brkMax,
          host,
          node: assignment.get(host)!,
          costs: costModelOf(spec.hosts.find((h) => h.id === host)!.costs),
        }),
      );
      await step(`AddVm ${vm.id} on the scheduler`, () =>
        this.control.scheduler.addVm({
          sim,
          host,
          vm: vm.id,
          vcpus: vm.vcpus,
          sched: vmSchedMessage(vm.sched),
          // SBI HSM: a virtualized guest kernel boots on vCPU 0 (a native machine starts all its harts).
          onlineVcpus: vm.kind === 'kernel' && vm.technique !== 'native' && vm.technique !== 'emulation' ? 1 : 0,
        }),
      );
    }
  }

  /** CloseSimulation on every service; failures are logged, never thrown (the run's outcome stands). */
  /** Schedulers that adopted the simulation from the first one, in order. */
  private readonly adopters: SchedulerControl[] = [];

  private async closeEverywhere(sim: string, log: ControlLogger): Promise<void> {
    const targets: [string, () => Promise<unknown>][] = [
      ['scheduler', () => this.control.scheduler.closeSimulation({ sim })],
      ...this.adopters.map((s, i): [string, () => Promise<unknown>] => [`adopting scheduler ${i + 1}`, () => s.closeSimulation({ sim })]),
      ...[...this.control.nodes].map(([id, n]): [string, () => Promise<unknown>] => [`node ${id}`, () => n.closeSimulation({ sim })]),
      ['hypervisor', () => this.control.hypervisor.closeSimulation({ sim })],
    ];
    const outcomes = await Promise.allSettled(targets.map(([, f]) => f()));
    outcomes.forEach((o, i) => {
      if (o.status === 'rejected') log.warn({ err: o.reason, target: targets[i][0] }, 'CloseSimulation failed');
    });
  }
}

/** Collects a simulation's EventBatches and counts them per host. */
class EventCollector {
  readonly events = new EventLog();
  private readonly received = new Map<string, number>();
  private sub: { unsubscribe(): void } | undefined;
  private wake: (() => void) | undefined;
  private bad = 0;
  private readonly refusals: RefusalCounter;

  constructor(
    private readonly bus: Bus,
    private readonly sim: string,
    hosts: readonly string[],
    private readonly log: ControlLogger,
    private readonly onEvents?: (host: string, events: readonly Event[]) => void,
    private readonly onRefused?: (refusal: Refusal) => void,
  ) {
    for (const h of hosts) this.received.set(h, 0);
    this.refusals = new RefusalCounter(log);
  }

  /**
   * Follows the simulation's events (from the JetStream event stream when there is one: nothing is
   * lost while NATS restarts), and makes sure the server knows of it before Run publishes anything.
   */
  async start(): Promise<void> {
    const prefix = `vsim.${this.sim}.events.`;
    this.sub = await this.bus.followStored(subjects.allEvents(this.sim), (data, meta) => {
      const host = meta.subject.slice(prefix.length);
      let batch: EventBatch;
      let events: Event[];
      try {
        batch = EventBatch.decode(data);
        // An event kind, route or path this build does not know is refused here, by field.
        events = batch.events.map(Event.fromMessage);
      } catch (err) {
        this.bad++;
        this.log.warn({ subject: meta.subject, err }, 'undecodable EventBatch ignored');
        return;
      }
      const n = this.received.get(host);
      if (n === undefined || batch.host !== host || batch.sim !== this.sim) {
        this.bad++;
        this.log.warn({ subject: meta.subject, batchHost: batch.host, batchSim: batch.sim }, 'EventBatch for another host or simulation ignored');
        return;
      }
      // Each batch starts where the host's events stand: a replayed or forged one does not fit.
      if (Number(batch.firstIndex) !== n) {
        const r: Refusal = {
          kind: 'sequence',
          subject: meta.subject,
          host,
          seq: Number(batch.firstIndex),
          reason: `event batch starting at event ${batch.firstIndex} of host ${host}, which stands at ${n}`,
        };
        this.refusals.record(r);
        this.onRefused?.(r);
        return;
      }
      this.events.add(events);
      this.received.set(host, n + events.length);
      this.onEvents?.(host, events);
      this.wake?.();
    });
    await this.bus.flush();
  }

  /** Resume: `host`'s events before its checkpoint, which the run publishes no more. */
  seed(host: string, events: readonly Event[]): void {
    this.events.add(events);
    this.received.set(host, (this.received.get(host) ?? 0) + events.length);
  }

  /** Resolves once every host's count matches what the scheduler published; rejects on timeout. */
  async waitFor(run: RunResult, timeoutMs: number): Promise<void> {
    const expected = new Map(run.hosts.map((h) => [h.host, h.events]));
    const missing = () => [...this.received].filter(([h, n]) => n !== (expected.get(h) ?? 0));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const off = missing();
      if (off.length === 0) return;
      const over = off.find(([h, n]) => n > (expected.get(h) ?? 0));
      const left = deadline - Date.now();
      if (over || left <= 0) {
        const what = off.map(([h, n]) => `host ${h}: ${n} of ${expected.get(h) ?? 0}`).join(', ');
        throw new Error(
          over
            ? `received more events than the scheduler published (${what}): something else publishes on vsim.${this.sim}.events`
            : `events missing ${timeoutMs} ms after the run ended (${what}; ${this.bad} unusable batches)`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
