// Several scheduler service instances driving one simulation, each a shard of its hosts, behind the
// one SchedulerControl interface the Coordinator and the gateway use. Host loops never wait for
// each other (libs/scheduler service.ts runs them concurrently and independently), so which
// instance drives a host changes no result: the same run orders go to the same cpu-nodes and the
// same events are published on vsim.<sim>.events.<host>. Splitting them spreads the scheduler's
// work (decisions, run orders, event encoding) over processes.
//
// Routing: AddHost picks the shard (the one with the fewest pCPUs so far, ties to the first:
// deterministic in scenario order); AddVm, per-VM actions and parameters follow the VM's host,
// killHost its host; Run, Pause, Resume, scheduler-wide parameters, swaps and Close go to every
// shard that has hosts, and their answers are merged (hosts in the order they were added).

import {
  Ack,
  AddActionRequest,
  AddVmRequest,
  AdoptRequest,
  HandoverState,
  MigrateVmRequest,
  RunResult,
  SchedParams,
  ServiceStatus,
  SetSchedParamsRequest,
  SimulationRef,
  StatusRequest,
  SwapSchedulerRequest,
} from '@vsim/proto';
import { AddHostCall, RunCall, SchedulerControl, notFound, precondition } from './control-plane';

export class ShardedScheduler implements SchedulerControl {
  /** host -> shard index, in the order the hosts were added. */
  private readonly shardOfHost = new Map<string, number>();
  private readonly shardOfVm = new Map<string, number>();
  private readonly pcpus: number[];

  constructor(private readonly shards: readonly SchedulerControl[]) {
    if (shards.length === 0) throw new RangeError('a sharded scheduler needs at least one instance');
    this.pcpus = shards.map(() => 0);
  }

  /** Host -> the index of the instance that drives it. */
  get assignment(): ReadonlyMap<string, number> {
    return this.shardOfHost;
  }

  /** The shards that drive at least one host, in index order. */
  private used(): SchedulerControl[] {
    const idx = [...new Set(this.shardOfHost.values())].sort((a, b) => a - b);
    return idx.map((i) => this.shards[i]);
  }

  private all<T>(f: (s: SchedulerControl) => Promise<T>): Promise<T[]> {
    return Promise.all(this.used().map(f));
  }

  private ofHost(host: string): SchedulerControl {
    const i = this.shardOfHost.get(host);
    if (i === undefined) throw notFound(`no scheduler instance drives host ${JSON.stringify(host)}`);
    return this.shards[i];
  }

  private ofVm(vm: string): SchedulerControl {
    const i = this.shardOfVm.get(vm);
    if (i === undefined) throw notFound(`no scheduler instance schedules VM ${JSON.stringify(vm)}`);
    return this.shards[i];
  }

  async addHost(req: AddHostCall): Promise<Ack> {
    let best = this.shardOfHost.get(req.host);
    if (best === undefined) {
      best = 0;
      for (let i = 1; i < this.shards.length; i++) if (this.pcpus[i] < this.pcpus[best]) best = i;
    }
    const ack = await this.shards[best].addHost(req);
    if (!this.shardOfHost.has(req.host)) this.pcpus[best] += req.pcpus;
    this.shardOfHost.set(req.host, best);
    return ack;
  }

  async addVm(req: AddVmRequest): Promise<Ack> {
    const i = this.shardOfHost.get(req.host);
    const ack = await this.ofHost(req.host).addVm(req);
    this.shardOfVm.set(req.vm, i!);
    return ack;
  }

  async addAction(req: AddActionRequest): Promise<Ack> {
    switch (req.kind) {
      case 'pause':
      case 'unpause':
      case 'set':
        return this.ofVm(req.vm).addAction(req);
      case 'killHost':
        return this.ofHost(req.host).addAction(req);
      case 'migrate':
        return this.withDestination(req.vm, req.host).addAction(req);
      case 'balance':
        // The balancer compares every host's load in one service: one shard only.
        if (this.used().length > 1) throw precondition('the load balancer needs every host on one scheduler instance (one shard)');
        await this.all((s) => s.addAction(req));
        return {};
      default: // swapScheduler (to one host when it names one; a kind the instances will name as unknown)
        if (req.host) return this.ofHost(req.host).addAction(req);
        await this.all((s) => s.addAction(req));
        return {};
    }
  }

  /** A live migration synchronises two host loops of one service: both hosts on the VM's shard. */
  private withDestination(vm: string, host: string): SchedulerControl {
    const from = this.ofVm(vm);
    if (this.ofHost(host) !== from)
      throw precondition(`VM ${vm} cannot migrate to host ${host}: another scheduler instance drives that host (migration stays within a shard)`);
    return from;
  }

  migrateVm(req: MigrateVmRequest): Promise<Ack> {
    return this.withDestination(req.vm, req.host).migrateVm(req);
  }

  async run(req: RunCall): Promise<RunResult> {
    const results = await this.all((s) => s.run(req));
    const byHost = new Map(results.flatMap((r) => r.hosts.map((h) => [h.host, h] as const)));
    return {
      hosts: [...this.shardOfHost.keys()].filter((h) => byHost.has(h)).map((h) => byHost.get(h)!),
      handedOver: results.some((r) => r.handedOver),
    };
  }

  async pause(req: SimulationRef): Promise<Ack> {
    await this.all((s) => s.pause(req));
    return {};
  }

  async resume(req: SimulationRef): Promise<Ack> {
    await this.all((s) => s.resume(req));
    return {};
  }

  async setSchedParams(req: SetSchedParamsRequest): Promise<Ack> {
    if (req.vm !== '') return this.ofVm(req.vm).setSchedParams(req);
    await this.all((s) => s.setSchedParams(req));
    return {};
  }

  async getSchedParams(req: SimulationRef): Promise<SchedParams> {
    const parts = await this.all((s) => s.getSchedParams(req));
    return { hosts: parts.flatMap((p) => p.hosts), vms: parts.flatMap((p) => p.vms) };
  }

  async swapScheduler(req: SwapSchedulerRequest): Promise<Ack> {
    await this.all((s) => s.swapScheduler(req));
    return {};
  }

  /** Every shard's hosts, as one state: another (single) scheduler service can adopt them all. */
  async handover(req: SimulationRef): Promise<HandoverState> {
    const parts = await this.all((s) => s.handover(req));
    return { sim: req.sim, hosts: parts.flatMap((p) => p.hosts) };
  }

  /** Hosts handed back: each to the shard that drove it (a host new here, to the first). */
  async adopt(req: AdoptRequest): Promise<Ack> {
    const hosts = req.state?.hosts ?? [];
    const groups = new Map<number, typeof hosts>();
    for (const h of hosts) {
      const i = this.shardOfHost.get(h.host) ?? 0;
      groups.set(i, [...(groups.get(i) ?? []), h]);
      this.shardOfHost.set(h.host, i);
    }
    await Promise.all([...groups].map(([i, hs]) => this.shards[i].adopt({ ...req, state: { sim: req.sim, hosts: hs } })));
    return {};
  }

  async closeSimulation(req: SimulationRef): Promise<Ack> {
    await this.all((s) => s.closeSimulation(req));
    return {};
  }

  /** The first instance's status, with the simulations of every instance. */
  async status(req: StatusRequest): Promise<ServiceStatus> {
    const all = await Promise.all(this.shards.map((s) => s.status(req)));
    return { ...all[0], simulations: [...new Set(all.flatMap((s) => s.simulations))].sort() };
  }
}
