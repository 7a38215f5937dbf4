// Several hypervisor service instances answering one simulation's traps, behind the one
// HypervisorControl interface the Coordinator uses. A trap travels on vsim.<sim>.trap.<node> and a
// VM's traps all come from the node that simulates its host, so the simulation is split by
// cpu-node: node i (in sorted order) belongs to instance i mod N, which serves that node's trap
// subject only (OpenSimulation with its nodes) and holds the records of the VMs there
// (RegisterVm follows the VM's node). Each VM's record evolves as with one instance, so results
// do not depend on the number of instances.

import { Ack, OpenSimulationRequest, ServiceStatus, SimulationRef, StatusRequest } from '@vsim/proto';
import { HypervisorControl, RegisterVmCall, invalid } from './control-plane';

export class ShardedHypervisor implements HypervisorControl {
  /** node id -> instance index. */
  private readonly instanceOf = new Map<string, number>();

  constructor(
    private readonly instances: readonly HypervisorControl[],
    nodeIds: Iterable<string>,
  ) {
    if (instances.length === 0) throw new RangeError('a sharded hypervisor needs at least one instance');
    [...nodeIds].sort().forEach((n, i) => this.instanceOf.set(n, i % instances.length));
  }

  /** Instance index -> the nodes whose traps it serves (instances with none are left out). */
  get shares(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const [n, i] of this.instanceOf) out.set(i, [...(out.get(i) ?? []), n]);
    return out;
  }

  async openSimulation(req: OpenSimulationRequest): Promise<Ack> {
    // An instance given no node would serve every node's traps: only those with a share open it.
    await Promise.all([...this.shares].map(([i, nodes]) => this.instances[i].openSimulation({ sim: req.sim, nodes })));
    return {};
  }

  async registerVm(req: RegisterVmCall): Promise<Ack> {
    const i = this.instanceOf.get(req.node);
    if (i === undefined) throw invalid(`VM ${req.vm}: node ${JSON.stringify(req.node)} is not a cpu-node of this simulation`);
    return this.instances[i].registerVm(req);
  }

  async closeSimulation(req: SimulationRef): Promise<Ack> {
    await Promise.all([...this.shares.keys()].map((i) => this.instances[i].closeSimulation(req)));
    return {};
  }

  /** The first instance's status, with the simulations of every instance. */
  async status(req: StatusRequest): Promise<ServiceStatus> {
    const all = await Promise.all(this.instances.map((s) => s.status(req)));
    return { ...all[0], simulations: [...new Set(all.flatMap((s) => s.simulations))].sort() };
  }
}
