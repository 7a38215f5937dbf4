// What the gateway learns about the cluster as a whole: which services a simulation will use
// (found on NATS), and — asking their Status over gRPC, with the gateway's control token — which
// simulations are open on the schedulers (every gateway's, for admission) and how many pCPUs each
// cpu-node simulates (to spread hosts by load). Status calls have a short deadline; a service that
// does not answer counts as empty.

import {
  ControlError,
  ControlStatus,
  GrpcControlOptions,
  GrpcEndpoints,
  NodeLoad,
  cpuNodeControlClient,
  schedulerControlClient,
} from '@vsim/control';
import { NatsBus } from '@vsim/bus';
import { DiscoveredService, discover, isBuiltin } from '@vsim/service';

export const SERVICE_NAMES = { hypervisor: 'vsim-hypervisor', scheduler: 'vsim-scheduler', cpuNode: 'vsim-cpu-node' } as const;

const STATUS_DEADLINE_MS = 2000;

/** The ids of the simulations open on every registered scheduler service. */
export async function openSimulations(bus: NatsBus, control: GrpcControlOptions | undefined, discoverTimeoutMs: number): Promise<Set<string>> {
  const schedulers = await discover(bus, 'vsim-scheduler', discoverTimeoutMs);
  const lists = await Promise.all(
    schedulers.map(async (s) => {
      const c = schedulerControlClient(s.grpc, { ...control, deadlineMs: STATUS_DEADLINE_MS });
      try {
        return (await c.status({})).simulations;
      } finally {
        c.close();
      }
    }),
  );
  return new Set(lists.flat());
}

/** pCPUs and VMs each cpu-node simulates now (its Status counters livePcpus, liveVms); 0 for one that does not answer. */
export async function nodeLoads(nodes: ReadonlyMap<string, string>, control: GrpcControlOptions | undefined): Promise<Map<string, NodeLoad>> {
  const entries = await Promise.all(
    [...nodes].map(async ([id, grpc]): Promise<[string, NodeLoad]> => {
      const c = cpuNodeControlClient(grpc, { ...control, deadlineMs: STATUS_DEADLINE_MS });
      try {
        const { counters } = await c.status({});
        return [id, { pcpus: Number(counters.livePcpus ?? 0), vms: Number(counters.liveVms ?? 0) }];
      } catch {
        return [id, { pcpus: 0, vms: 0 }];
      } finally {
        c.close();
      }
    }),
  );
  return new Map(entries);
}

/**
 * The scheduler to run on: the instance the submission named, else vsim's own — never an
 * external scheduler just because it is registered (or sorts first).
 */
export function pickScheduler(found: DiscoveredService[], named: string): string {
  const registered = found.map((s) => `${s.instance}${isBuiltin(s) ? ' (vsim)' : ''}`).join(', ') || 'none';
  if (named !== '') {
    const s = found.find((x) => x.instance === named);
    if (!s) throw new ControlError(ControlStatus.UNAVAILABLE, `no scheduler service '${named}' is registered on NATS (registered: ${registered})`);
    return s.grpc;
  }
  const own = found.filter(isBuiltin);
  if (own.length === 0) {
    throw new ControlError(
      ControlStatus.UNAVAILABLE,
      found.length === 0
        ? `no ${SERVICE_NAMES.scheduler} is registered on NATS`
        : `vsim's scheduler service is not registered (registered: ${registered}); to run on another, name it: vsim run --scheduler INSTANCE`,
    );
  }
  return own[0].grpc; // several of vsim's own: the first by instance name (deterministic)
}

/** The services a simulation will use, found on NATS now (`scheduler`: the instance it names, or ''). */
export async function findServices(
  bus: NatsBus,
  scheduler: string,
  t: number,
  only: { readonly oneScheduler?: boolean; readonly oneHypervisor?: boolean } = {},
): Promise<GrpcEndpoints> {
  const [hvs, scheds, nodes] = await Promise.all([
    discover(bus, SERVICE_NAMES.hypervisor, t),
    discover(bus, SERVICE_NAMES.scheduler, t),
    discover(bus, SERVICE_NAMES.cpuNode, t),
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
  const sched = pickScheduler(scheds, scheduler);
  // vsim's own scheduler, several instances registered (vsim up --schedulers N): each drives a shard
  // of the hosts (@vsim/control sharded-scheduler.ts). A named instance runs the simulation alone.
  const own = scheduler === '' ? scheds.filter(isBuiltin).map((s) => s.grpc) : [];
  // Several hypervisors: each serves the traps of a share of the cpu-nodes (sharded-hypervisor.ts).
  return {
    hypervisor: one(hvs, SERVICE_NAMES.hypervisor),
    hypervisors: hvs.length > 1 && !only.oneHypervisor ? hvs.map((h) => h.grpc) : undefined,
    scheduler: sched,
    schedulers: own.length > 1 && !only.oneScheduler ? own : undefined,
    nodes: byNode,
  };
}
