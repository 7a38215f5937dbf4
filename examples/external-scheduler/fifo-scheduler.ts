// An external vsim scheduler service: FIFO round robin with its own time slice, written against
// the protocol alone (docs/scheduler-protocol.md). It imports nothing of vsim but the generated
// contracts (@vsim/proto: protobuf messages and the gRPC service definition) and talks through
// the plain NATS and gRPC clients, so it is what a scheduler in any other language would do:
//
//   1. serve vsim.v1.SchedulerControl over gRPC (AddHost, AddVm, AddAction, Run, Pause, Resume,
//      CloseSimulation, Status, and Adopt: it can take over a simulation another scheduler service
//      hands over mid-run; the run-time calls answer UNIMPLEMENTED, which the protocol allows);
//   2. register on NATS with the service API as "vsim-scheduler", metadata {grpc, instance};
//   3. on Run, drive each host's loop: RunOrder requests on vsim.<sim>.run.<node>.<host>, account the
//      RunReport, publish the iteration's events as EventBatch on vsim.<sim>.events.<host>, and
//      reply with the per-vCPU figures and the number of events published per host.
//
// Policy: one FIFO of runnable vCPUs per host; an idle pCPU takes the head for one slice; a vCPU
// whose slice ended goes to the tail (pCPUs in index order, so runs are deterministic); a vCPU that
// blocks leaves the queue until its timer wakes it, then joins the tail.
//
//   node --import tsx examples/external-scheduler/fifo-scheduler.ts --nats nats://127.0.0.1:4222 [--slice-ns N]
//
// `--fault double-run` (one vCPU on two pCPUs) and `--fault ignore-pause` (pause actions ignored)
// make it deliberately wrong, for the tests of `vsim sched-check`, which must catch both.

import { Server, ServerCredentials, handleUnaryCall, sendUnaryData, status } from '@grpc/grpc-js';
import { Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  AddHostRequest,
  AdoptRequest,
  Event,
  EventBatch,
  HostResult,
  RunOrder,
  RunReport,
  RunResult,
  SchedulerControlServer,
  SchedulerParams,
  SchedulerControlService,
  VcpuState,
} from '@vsim/proto';

/** Default slice: 1 ms. */
const DEFAULT_SLICE_NS = 1_000_000;
/** A run order may take long in wall time (a busy guest's slice): be generous. */
const RUN_ORDER_TIMEOUT_MS = 120_000;
/** At most this many events per EventBatch (NATS's default max payload is 1 MiB). */
const MAX_EVENTS_PER_BATCH = 1000;
/** The NATS service API's error headers (what a server sets on an error reply). */
const SERVICE_ERROR_HEADER = 'Nats-Service-Error';

interface Vcpu {
  readonly vm: string;
  readonly vcpu: number;
  readonly key: string;
  state: VcpuState;
  wakeNs: number;
  paused: boolean;
  runningNs: number;
  waitingNs: number;
  blockedNs: number;
  instructions: number;
}

interface Action {
  readonly at: number;
  readonly kind: string;
  readonly vm: string;
  readonly host: string;
}

class Host {
  now = 0;
  seq = 0;
  eventSeq = 0;
  published = 0;
  killed = false;
  readonly vcpus = new Map<string, Vcpu>();
  readonly queue: string[] = [];
  readonly running: ({ key: string; sliceEnd: number } | null)[];
  readonly actions: Action[] = [];

  /** `node`: the cpu-node simulating the host (AddHostRequest.node); its run orders go to vsim.<sim>.run.<node>.<host>. */
  constructor(
    readonly sim: string,
    readonly id: string,
    readonly node: string,
    readonly pcpus: number,
    readonly sliceNs: number,
  ) {
    this.running = new Array(pcpus).fill(null);
  }
}

class Simulation {
  readonly hosts = new Map<string, Host>();
  readonly hostOfVm = new Map<string, string>();
  running = false;
  gate: { promise: Promise<void>; open: () => void } | null = null;
}

class FifoScheduler {
  private readonly sims = new Map<string, Simulation>();
  private readonly counters: Record<string, number> = { hostsAdded: 0, vmsAdded: 0, runs: 0, iterations: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly instance: string,
    private readonly sliceNs: number,
    private readonly fault: string,
  ) {}

  addHost(req: AddHostRequest): void {
    if (![req.sim, req.host, req.node].every((t) => /^[A-Za-z0-9_-]{1,64}$/.test(t)))
      throw rpcError(status.INVALID_ARGUMENT, 'sim, host and node must be 1-64 characters of [A-Za-z0-9_-]');
    if (!(Number.isInteger(req.pcpus) && req.pcpus >= 1))
      throw rpcError(status.INVALID_ARGUMENT, `pcpus must be a positive integer, got ${req.pcpus}`);
    const slice = this.sliceOf(req.scheduler);
    let sim = this.sims.get(req.sim);
    if (!sim) this.sims.set(req.sim, (sim = new Simulation()));
    if (sim.running) throw rpcError(status.FAILED_PRECONDITION, `simulation ${req.sim} is running`);
    if (sim.hosts.has(req.host)) throw rpcError(status.ALREADY_EXISTS, `host ${req.host} already added`);
    sim.hosts.set(req.host, new Host(req.sim, req.host, req.node, req.pcpus, slice));
    this.counters.hostsAdded++;
  }

  /**
   * This service has one policy: it serves scenarios that ask for round robin (SchedulerParams'
   * roundRobin case), with their time slice, else its own.
   */
  private sliceOf(scheduler: SchedulerParams | undefined): number {
    const p = scheduler?.policy;
    if (p?.$case !== 'roundRobin')
      throw rpcError(status.INVALID_ARGUMENT, `scheduler: this scheduler implements fifo round robin only, not ${p?.$case ?? 'no policy'}`);
    const t = p.value.timeslice;
    return t !== undefined && t > 0 ? t : this.sliceNs;
  }

  addVm(req: { sim: string; host: string; vm: string; vcpus: number }): void {
    const sim = this.sim(req.sim);
    const host = sim.hosts.get(req.host);
    if (!host) throw rpcError(status.NOT_FOUND, `no host ${req.host} in simulation ${req.sim}`);
    if (sim.hostOfVm.has(req.vm)) throw rpcError(status.ALREADY_EXISTS, `VM ${req.vm} already added`);
    if (!(Number.isInteger(req.vcpus) && req.vcpus >= 1))
      throw rpcError(status.INVALID_ARGUMENT, `vcpus must be a positive integer, got ${req.vcpus}`);
    for (let i = 0; i < req.vcpus; i++) {
      const key = `${req.vm}/${i}`;
      host.vcpus.set(key, {
        vm: req.vm,
        vcpu: i,
        key,
        state: VcpuState.VCPU_STATE_RUNNABLE,
        wakeNs: 0,
        paused: false,
        runningNs: 0,
        waitingNs: 0,
        blockedNs: 0,
        instructions: 0,
      });
      host.queue.push(key);
    }
    sim.hostOfVm.set(req.vm, req.host);
    this.counters.vmsAdded++;
  }

  addAction(req: { sim: string; atNs: number; kind: string; vm: string; host: string }): void {
    const sim = this.sim(req.sim);
    if (req.kind === 'pause' || req.kind === 'unpause') {
      const host = sim.hosts.get(sim.hostOfVm.get(req.vm) ?? '');
      if (!host) throw rpcError(status.INVALID_ARGUMENT, `action at ${req.atNs} ns: unknown VM '${req.vm}'`);
      host.actions.push({ at: req.atNs, kind: req.kind, vm: req.vm, host: host.id });
    } else if (req.kind === 'killHost') {
      const host = sim.hosts.get(req.host);
      if (!host) throw rpcError(status.INVALID_ARGUMENT, `action at ${req.atNs} ns: unknown host '${req.host}'`);
      host.actions.push({ at: req.atNs, kind: req.kind, vm: '', host: host.id });
    } else {
      throw rpcError(status.UNIMPLEMENTED, `action ${req.kind} is not supported by this scheduler`);
    }
    for (const h of sim.hosts.values()) h.actions.sort((a, b) => a.at - b.at); // stable: ties keep their order
  }

  async run(req: { sim: string; endNs: number }): Promise<RunResult> {
    const sim = this.sim(req.sim);
    if (sim.running) throw rpcError(status.FAILED_PRECONDITION, `simulation ${req.sim} is already running`);
    if (!(Number.isSafeInteger(req.endNs) && req.endNs > 0)) throw rpcError(status.INVALID_ARGUMENT, `end_ns must be > 0, got ${req.endNs}`);
    sim.running = true;
    this.counters.runs++;
    try {
      const hosts = await Promise.all([...sim.hosts.values()].map((h) => this.runHost(sim, h, req.endNs)));
      return { hosts, handedOver: false };
    } catch (err) {
      throw rpcError(status.ABORTED, `simulation ${req.sim}: ${(err as Error).message}`);
    } finally {
      sim.running = false;
    }
  }

  /**
   * Adopt: take over a simulation another scheduler service handed over (it stopped its loops at
   * an iteration boundary): each host continues from its virtual time, order seq, event seq and
   * published-event count; the runnable, unpaused vCPUs queue in the order given.
   */
  adopt(req: AdoptRequest): void {
    if (this.sims.has(req.sim)) throw rpcError(status.ALREADY_EXISTS, `simulation ${req.sim} is already here`);
    const slice = this.sliceOf(req.scheduler);
    const sim = new Simulation();
    for (const hh of req.state?.hosts ?? []) {
      const h = new Host(req.sim, hh.host, hh.node, hh.pcpus, slice);
      h.now = hh.nowNs;
      h.seq = hh.seq;
      h.eventSeq = hh.eventSeq;
      h.published = hh.eventsPublished;
      for (const v of hh.vcpus) {
        const key = `${v.vm}/${v.vcpu}`;
        h.vcpus.set(key, {
          vm: v.vm,
          vcpu: v.vcpu,
          key,
          state: v.state,
          wakeNs: v.wakeNs,
          paused: v.paused,
          runningNs: v.runningNs,
          waitingNs: v.waitingNs,
          blockedNs: v.blockedNs,
          instructions: v.instructions,
        });
        if (v.state === VcpuState.VCPU_STATE_RUNNABLE && !v.paused) h.queue.push(key);
        sim.hostOfVm.set(v.vm, hh.host);
      }
      for (const a of hh.actions) {
        if (a.kind !== 'pause' && a.kind !== 'unpause' && a.kind !== 'killHost')
          throw rpcError(status.INVALID_ARGUMENT, `host ${hh.host}: cannot take over a pending ${a.kind} action`);
        h.actions.push({ at: a.atNs, kind: a.kind, vm: a.vm, host: hh.host });
      }
      sim.hosts.set(hh.host, h);
    }
    if (sim.hosts.size === 0) throw rpcError(status.INVALID_ARGUMENT, 'state names no host to adopt');
    this.sims.set(req.sim, sim);
    this.counters.adopted = (this.counters.adopted ?? 0) + 1;
  }

  pause(simId: string): void {
    const sim = this.sim(simId);
    if (sim.gate) return;
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    sim.gate = { promise, open };
  }

  resume(simId: string): void {
    const sim = this.sim(simId);
    sim.gate?.open();
    sim.gate = null;
  }

  close(simId: string): void {
    this.sims.delete(simId);
  }

  status(): { service: string; instance: string; version: string; simulations: string[]; counters: Record<string, number> } {
    return {
      service: 'vsim-scheduler',
      instance: this.instance,
      version: '0.1.0',
      simulations: [...this.sims.keys()].sort(),
      counters: { ...this.counters },
    };
  }

  private sim(id: string): Simulation {
    const sim = this.sims.get(id);
    if (!sim) throw rpcError(status.NOT_FOUND, `simulation ${id} has no host on this scheduler (call AddHost first)`);
    return sim;
  }

  // ---- one host's loop -----------------------------------------------------------------------

  private async runHost(sim: Simulation, h: Host, endNs: number): Promise<HostResult> {
    const alive = () => [...h.vcpus.values()].some((v) => v.state === VcpuState.VCPU_STATE_RUNNABLE || v.state === VcpuState.VCPU_STATE_BLOCKED);
    for (;;) {
      while (sim.gate) await sim.gate.promise;
      const own: Event[] = [];
      this.applyActions(h, own);
      if (h.killed || h.now >= endNs || !alive()) {
        this.publish(h, own);
        break;
      }
      // Timers that fired wake their vCPUs (to the tail of the queue).
      for (const v of h.vcpus.values()) {
        if (v.state === VcpuState.VCPU_STATE_BLOCKED && v.wakeNs > 0 && v.wakeNs <= h.now) {
          v.state = VcpuState.VCPU_STATE_RUNNABLE;
          if (!v.paused) h.queue.push(v.key);
          own.push(this.event(h, { kind: 'wake', vm: v.vm, vcpu: v.vcpu }));
        }
      }
      const before = h.running.map((r) => r?.key ?? null);
      this.decide(h);
      h.running.forEach((r, pcpu) => {
        if ((r?.key ?? null) === before[pcpu]) return;
        const v = r ? h.vcpus.get(r.key)! : undefined;
        own.push(this.event(h, { kind: 'schedule', pcpu, vm: v?.vm ?? '', vcpu: v?.vcpu ?? -1 }));
      });
      let until = endNs;
      for (const r of h.running) if (r) until = Math.min(until, r.sliceEnd);
      for (const v of h.vcpus.values()) if (v.state === VcpuState.VCPU_STATE_BLOCKED && v.wakeNs > h.now) until = Math.min(until, v.wakeNs);
      if (h.actions.length > 0) until = Math.min(until, Math.max(h.actions[0].at, h.now + 1));
      const order: RunOrder = {
        sim: h.sim,
        host: h.id,
        seq: ++h.seq,
        nowNs: h.now,
        untilNs: until,
        pcpus: h.running.map((r, pcpu) => {
          const v = r ? h.vcpus.get(r.key)! : undefined;
          return { pcpu, vm: v?.vm ?? '', vcpu: v?.vcpu ?? 0 };
        }),
      };
      if (this.fault === 'double-run' && order.pcpus.length > 1 && order.pcpus[0].vm !== '') order.pcpus[1] = { ...order.pcpus[0], pcpu: 1 };
      this.publish(h, own);
      const report = await this.request(h, order);
      this.account(h, order, report);
      this.publish(h, report.events.map(Event.fromMessage));
      this.counters.iterations++;
    }
    return HostResult.fromPartial({
      host: h.id,
      endNs: h.now,
      iterations: h.seq,
      events: h.published,
      vcpus: [...h.vcpus.values()].map((v) => ({
        vm: v.vm,
        vcpu: v.vcpu,
        state: v.state,
        runningNs: v.runningNs,
        waitingNs: v.waitingNs,
        blockedNs: v.blockedNs,
        instructions: v.instructions,
      })),
    });
  }

  /** FIFO round robin: expired slices to the tail (pCPU order), then idle pCPUs take the head. */
  private decide(h: Host): void {
    h.running.forEach((r, p) => {
      if (!r) return;
      const v = h.vcpus.get(r.key)!;
      const runnable = v.state === VcpuState.VCPU_STATE_RUNNABLE && !v.paused;
      if (!runnable) h.running[p] = null;
      else if (r.sliceEnd <= h.now) {
        h.running[p] = null;
        h.queue.push(r.key);
      }
    });
    h.running.forEach((r, p) => {
      if (r === null && h.queue.length > 0) h.running[p] = { key: h.queue.shift()!, sliceEnd: h.now + h.sliceNs };
    });
  }

  private applyActions(h: Host, own: Event[]): void {
    while (h.actions.length > 0 && h.actions[0].at <= h.now) {
      const a = h.actions.shift()!;
      if (a.kind === 'killHost') {
        h.killed = true;
        for (const v of h.vcpus.values()) {
          if (v.state !== VcpuState.VCPU_STATE_RUNNABLE && v.state !== VcpuState.VCPU_STATE_BLOCKED) continue;
          v.state = VcpuState.VCPU_STATE_FAULTED;
          own.push(this.event(h, { kind: 'fault', vm: v.vm, vcpu: v.vcpu, detail: `host ${h.id} killed` }));
        }
        own.push(this.event(h, { kind: 'kill-host', detail: 'action' }));
        continue;
      }
      if (this.fault === 'ignore-pause') continue;
      const pause = a.kind === 'pause';
      for (const v of h.vcpus.values()) {
        if (v.vm !== a.vm || v.paused === pause) continue;
        v.paused = pause;
        const i = h.queue.indexOf(v.key);
        if (pause && i >= 0) h.queue.splice(i, 1);
        if (!pause && v.state === VcpuState.VCPU_STATE_RUNNABLE && i < 0 && !h.running.some((r) => r?.key === v.key)) h.queue.push(v.key);
      }
      own.push(this.event(h, { kind: pause ? 'pause' : 'unpause', vm: a.vm, detail: 'action' }));
    }
  }

  private account(h: Host, order: RunOrder, report: RunReport): void {
    if (report.seq !== order.seq || report.nowNs < order.nowNs || report.nowNs > order.untilNs) {
      throw new Error(
        `host ${h.id}: report ${report.seq} at ${report.nowNs} ns does not answer order ${order.seq} [${order.nowNs}, ${order.untilNs}]`,
      );
    }
    const elapsed = report.nowNs - h.now;
    const ran = new Set<string>();
    for (const r of report.vcpus) {
      const v = h.vcpus.get(`${r.vm}/${r.vcpu}`);
      if (!v) throw new Error(`host ${h.id}: report names unknown vCPU ${r.vm}/${r.vcpu}`);
      ran.add(v.key);
      v.runningNs += r.ranNs;
      v.instructions += r.instructions;
      if (r.state !== v.state) {
        if (r.state === VcpuState.VCPU_STATE_BLOCKED) v.wakeNs = r.wakeNs;
        // It left the runnable state: off its pCPU and out of the queue (a later wake re-queues it).
        const i = h.queue.indexOf(v.key);
        if (i >= 0) h.queue.splice(i, 1);
        h.running.forEach((x, p) => {
          if (x?.key === v.key) h.running[p] = null;
        });
        v.state = r.state;
      }
    }
    for (const v of h.vcpus.values()) {
      if (ran.has(v.key) || v.paused) continue;
      if (v.state === VcpuState.VCPU_STATE_RUNNABLE) v.waitingNs += elapsed;
      else if (v.state === VcpuState.VCPU_STATE_BLOCKED) v.blockedNs += elapsed;
    }
    h.now = report.nowNs;
  }

  private async request(h: Host, order: RunOrder): Promise<RunReport> {
    const msg = await this.nc.request(`vsim.${order.sim}.run.${h.node}.${order.host}`, RunOrder.encode(order).finish(), {
      timeout: RUN_ORDER_TIMEOUT_MS,
    });
    const err = msg.headers?.get(SERVICE_ERROR_HEADER);
    if (err) throw new Error(`host ${order.host} refused run order ${order.seq}: ${err}`);
    return RunReport.decode(msg.data);
  }

  /** This scheduler's own events: source "sched", numbered per host. */
  private event(h: Host, f: Partial<Event> & Pick<Event, 'kind'>): Event {
    return Event.fromPartial({ timeNs: h.now, host: h.id, source: 'sched', seq: ++h.eventSeq, pcpu: -1, vcpu: -1, ...f });
  }

  private publish(h: Host, events: readonly Event[]): void {
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_BATCH) {
      const chunk = events.slice(i, i + MAX_EVENTS_PER_BATCH);
      // first_index: where this batch starts among the host's events (the collector checks it).
      this.nc.publish(
        `vsim.${h.sim}.events.${h.id}`,
        EventBatch.encode({ sim: h.sim, host: h.id, events: chunk.map(Event.toMessage), firstIndex: h.published }).finish(),
      );
      h.published += chunk.length;
    }
  }
}

class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

function rpcError(code: status, message: string): RpcError {
  return new RpcError(code, message);
}

/** A gRPC handler around a (possibly async) function; RpcError keeps its code, anything else is INTERNAL. */
function unary<Req, Res>(f: (req: Req) => Res | Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => f(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) =>
          callback({
            code: err instanceof RpcError ? err.code : status.INTERNAL,
            details: String((err as Error).message ?? err).replace(/[\r\n]+/g, ' '),
          }),
      );
  };
}

const unimplemented = (rpc: string) =>
  unary(() => {
    throw rpcError(status.UNIMPLEMENTED, `${rpc} is not implemented by the fifo scheduler`);
  });

function flag(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const natsUrl = flag(argv, 'nats', process.env.VSIM_NATS_URL ?? 'nats://127.0.0.1:4222');
  const instance = flag(argv, 'instance', `fifo-scheduler-${process.pid}`);
  const sliceNs = Number(flag(argv, 'slice-ns', String(DEFAULT_SLICE_NS)));
  const fault = flag(argv, 'fault', 'none');
  if (!(Number.isSafeInteger(sliceNs) && sliceNs > 0)) throw new Error(`--slice-ns must be a positive integer, got ${sliceNs}`);
  if (!['none', 'double-run', 'ignore-pause'].includes(fault)) throw new Error(`--fault must be none, double-run or ignore-pause, got ${fault}`);
  const nc = await connect({ servers: natsUrl.split(','), name: `fifo-scheduler/${instance}` });
  const sched = new FifoScheduler(nc, instance, sliceNs, fault);
  const impl: SchedulerControlServer = {
    addHost: unary((r) => (sched.addHost(r), {})),
    addVm: unary((r) => (sched.addVm(r), {})),
    addAction: unary((r) => (sched.addAction(r), {})),
    run: unary((r) => sched.run(r)),
    pause: unary((r) => (sched.pause(r.sim), {})),
    resume: unary((r) => (sched.resume(r.sim), {})),
    setSchedParams: unimplemented('SetSchedParams'),
    getSchedParams: unimplemented('GetSchedParams'),
    swapScheduler: unimplemented('SwapScheduler'),
    migrateVm: unimplemented('MigrateVm'),
    handover: unimplemented('Handover'),
    adopt: unary((r) => (sched.adopt(r), {})),
    closeSimulation: unary((r) => (sched.close(r.sim), {})),
    status: unary(() => sched.status()),
  };
  const server = new Server();
  server.addService(SchedulerControlService, impl);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const registration = await new Svcm(nc).add({
    name: 'vsim-scheduler',
    version: '0.1.0',
    description: 'fifo round robin (examples/external-scheduler)',
    metadata: { grpc: `127.0.0.1:${port}`, instance },
  });
  process.stdout.write(`${JSON.stringify({ msg: 'ready', instance, grpc: `127.0.0.1:${port}`, sliceNs, fault })}\n`);
  const stop = async () => {
    await registration.stop().catch(() => undefined);
    server.forceShutdown();
    await nc.drain().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`fifo-scheduler: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
