// What the gateway asks the services about the cluster as a whole (their Status over gRPC, with
// the gateway's control token): which simulations are open on the schedulers — every gateway's,
// for admission — and how many pCPUs each cpu-node simulates — to spread hosts by load.
// Each call has a short deadline; a service that does not answer counts as empty.

import { GrpcControlOptions, cpuNodeControlClient, schedulerControlClient } from '@vsim/control';
import { NatsBus } from '@vsim/bus';
import { discover } from '@vsim/service';

const STATUS_DEADLINE_MS = 2000;

/** The ids of the simulations open on every registered scheduler service. */
export async function openSimulations(bus: NatsBus, control: GrpcControlOptions | undefined, discoverTimeoutMs: number): Promise<Set<string>> {
  const schedulers = await discover(bus, 'vsim-scheduler', discoverTimeoutMs);
  const lists = await Promise.all(schedulers.map(async (s) => {
    const c = schedulerControlClient(s.grpc, { ...control, deadlineMs: STATUS_DEADLINE_MS });
    try {
      return (await c.status({})).simulations;
    } finally {
      c.close();
    }
  }));
  return new Set(lists.flat());
}

/** pCPUs each cpu-node simulates now (its Status counter livePcpus); 0 for one that does not answer. */
export async function nodeLoads(nodes: ReadonlyMap<string, string>, control: GrpcControlOptions | undefined): Promise<Map<string, number>> {
  const entries = await Promise.all([...nodes].map(async ([id, grpc]): Promise<[string, number]> => {
    const c = cpuNodeControlClient(grpc, { ...control, deadlineMs: STATUS_DEADLINE_MS });
    try {
      return [id, Number((await c.status({})).counters.livePcpus ?? 0)];
    } catch {
      return [id, 0];
    } finally {
      c.close();
    }
  }));
  return new Map(entries);
}
