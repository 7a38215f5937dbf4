// `vsim run` without a cluster: every service's control logic in this process, on one in-process
// broker, driven by the same Coordinator that drives a distributed run (one code path).

import { CheckpointStore, InProcessBroker } from '@vsim/bus';
import { CoordinatedRun, Coordinator } from './coordinator';
import { CpuNodeControlImpl } from './cpu-node-control';
import { HypervisorControlImpl } from './hypervisor-control';
import { SchedulerControlImpl } from './scheduler-control';
import { inProcessControlPlane } from './grpc-adapters';
import { Event } from '@vsim/proto';
import { HostEnds } from './host-ends';
import type { CheckpointTaken } from '@vsim/scheduler';
import { SimSpec } from './simulation';

export interface EmbeddedOptions {
  /**
   * Live progress: `host` has reached virtual time `ns` (from its events, as they arrive after each
   * of its loop's iterations); `done` once every VM on it has ended (its loop stops there). Display
   * only: it never changes the run.
   */
  readonly onProgress?: (host: string, ns: number, done: boolean) => void;
  /** How many cpu-nodes simulate the hosts (default 1); where a host runs never changes results. */
  readonly cpuNodes?: number;
  /** Checkpoint every host every `intervalNs` of virtual time into `store` (checkpoint.proto). */
  readonly checkpoint?: {
    readonly store: CheckpointStore;
    readonly intervalNs: number;
    /** VM snapshots are full again every this many checkpoints of a host (default DEFAULT_FULL_EVERY). */
    readonly fullEvery?: number;
    /** Told of each checkpoint taken (bench:checkpoint). */
    readonly onTaken?: (t: CheckpointTaken) => void;
  };
  /**
   * Continue the run of simulation `sim` (the embedded runner's is `embedded`) from its hosts'
   * checkpoints in `store` — checkpoint `index` of each host, default each one's newest.
   */
  readonly resume?: { readonly store: CheckpointStore; readonly sim?: string; readonly index?: number };
}

/** Runs a simulation with every service in this process, on the in-process bus. */
export async function runEmbedded(
  spec: SimSpec,
  sim = 'embedded',
  opts: EmbeddedOptions = {},
): Promise<Pick<CoordinatedRun, 'result' | 'log' | 'resumed'>> {
  const broker = new InProcessBroker();
  // One connection per service, as separate processes would have.
  const nodeCount = opts.cpuNodes ?? 1;
  if (!(Number.isInteger(nodeCount) && nodeCount >= 1)) throw new RangeError(`cpuNodes must be a positive integer, got ${nodeCount}`);
  const buses = [broker.connect(), broker.connect(), broker.connect(), ...Array.from({ length: nodeCount }, () => broker.connect())];
  const [hvBus, schedBus, coordBus, ...nodeBuses] = buses;
  // One store serves the scheduler (manifests), the nodes (VM snapshots) and resume (reading them back).
  const store = opts.checkpoint?.store ?? opts.resume?.store;
  if (opts.checkpoint && opts.resume && opts.checkpoint.store !== opts.resume.store)
    throw new RangeError('checkpoints of a resumed embedded run go to the store it resumes from');
  const control = inProcessControlPlane({
    hypervisor: new HypervisorControlImpl(hvBus),
    nodes: nodeBuses.map((b, i) => new CpuNodeControlImpl(b, { nodeId: `node-${i}`, checkpointStore: store })),
    scheduler: new SchedulerControlImpl(schedBus, {
      checkpointFullEvery: opts.checkpoint?.fullEvery,
      checkpointStore: store,
      onCheckpoint: opts.checkpoint?.onTaken && ((_sim, t) => opts.checkpoint?.onTaken?.(t)),
    }),
  });
  try {
    const { onProgress } = opts;
    const ends = new HostEnds(spec);
    const onEvents =
      onProgress &&
      ((host: string, events: readonly Event[]) => {
        if (events.length > 0) onProgress(host, events[events.length - 1].timeNs, ends.see(host, events));
      });
    const { result, log, resumed } = await new Coordinator(control, coordBus, {
      onEvents,
      checkpointIntervalNs: opts.checkpoint?.intervalNs ?? 0,
      resume: opts.resume && { store: opts.resume.store, sim: opts.resume.sim ?? sim, index: opts.resume.index },
    }).run(spec, sim);
    if (onProgress) for (const h of result.hosts) onProgress(h.id, h.endNs, true);
    return { result, log, resumed };
  } finally {
    await Promise.all(buses.map((b) => b.close()));
  }
}
