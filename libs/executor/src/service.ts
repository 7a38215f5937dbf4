// The cpu-node service: the hosts this process simulates. It answers run orders for its hosts, and
// sends the traps its vCPUs take to the hypervisor (all of them on the `remote` trap path; only
// allocator work on `split`, where interpreter routines run here from the same library).

import { Bus } from '@vsim/bus';
import { RunOrder, RunReport, TrapRequest, TrapResolution, encode, subjects } from '@vsim/proto';
import { handleTrap, DEFAULT_HYPERVISOR_COSTS, HypervisorCosts, DataPlaneHooks } from '@vsim/hypervisor';
import { HostConfig, HostExecutor } from './host';
import { VmInstance, VmSetup } from './vm';

/** How long a trap may wait for the hypervisor before the VM is failed. */
export const TRAP_TIMEOUT_MS = 30_000;

export class CpuNodeService {
  private readonly hosts = new Map<string, HostExecutor>();
  private readonly subs: { unsubscribe(): void }[] = [];
  readonly stats = { runOrders: 0, badMessages: 0, remoteTraps: 0, localTraps: 0 };

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    readonly nodeId: string,
    private readonly costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS,
    private readonly hooks: DataPlaneHooks = {},
  ) {}

  /** Control: start simulating a host here. */
  createHost(config: Omit<HostConfig, 'sim'>, hostCosts: HypervisorCosts = this.costs): void {
    if (this.hosts.has(config.id)) throw new Error(`host ${config.id} already exists on node ${this.nodeId}`);
    const exec = new HostExecutor({ ...config, sim: this.sim }, {
      exitCost: hostCosts.exit,
      costs: hostCosts,
      local: (req) => {
        this.stats.localTraps++;
        return handleTrap(req, undefined, hostCosts);
      },
      remote: async (req) => {
        this.stats.remoteTraps++;
        const reply = await this.bus.request(subjects.hvTrap(this.sim), encode(TrapRequest, req), { timeoutMs: TRAP_TIMEOUT_MS });
        return TrapResolution.decode(reply);
      },
    });
    this.hosts.set(config.id, exec);
    const subject = subjects.hostRun(this.sim, config.id);
    const bad = (err: Error): Error => {
      this.stats.badMessages++;
      this.hooks.onBadMessage?.(subject, err);
      return err;
    };
    let busy = 0;
    this.subs.push(this.bus.serve(subject, async (data) => {
      let order: RunOrder;
      try {
        order = RunOrder.decode(data);
      } catch (err) {
        throw bad(new Error(`undecodable RunOrder (${data.length} bytes): ${(err as Error).message}`));
      }
      if (order.host !== config.id) throw bad(new Error(`run order for host '${order.host}' sent to host '${config.id}'`));
      if (order.sim !== this.sim) throw bad(new Error(`run order of simulation '${order.sim}' sent to simulation '${this.sim}'`));
      // One host loop drives a host, one order at a time: a second order meanwhile is not its.
      if (busy) throw bad(new Error(`run order ${order.seq} for host '${config.id}' arrived while order ${busy} runs`));
      busy = order.seq || -1;
      this.stats.runOrders++;
      try {
        return encode(RunReport, await exec.run(order));
      } finally {
        busy = 0;
      }
    }));
  }

  /** Control: create a VM on one of this node's hosts. */
  createVm(host: string, setup: VmSetup): VmInstance {
    const exec = this.hosts.get(host);
    if (!exec) throw new Error(`node ${this.nodeId} does not simulate host '${host}'`);
    return exec.createVm(setup);
  }

  host(id: string): HostExecutor | undefined {
    return this.hosts.get(id);
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}
