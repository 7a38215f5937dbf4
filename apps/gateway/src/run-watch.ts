// What the gateway adds to a run for reliability: a watch over the services it uses (their
// heartbeats, @vsim/service LivenessMonitor) that fails the run within ~2 s of one being lost,
// naming it, instead of when a request to it times out. A recoverable hypervisor (its state in
// JetStream KV, Heartbeat.recoverable) is not lost when its process dies: the run waits for the
// process restarted under the same instance name (vsim up restarts it within seconds), which takes
// the simulation over while the cpu-nodes resend their traps; only no replacement within
// HYPERVISOR_REPLACEMENT_MS fails the run.

import { GrpcEndpoints } from '@vsim/control';
import { LivenessMonitor, Lost } from '@vsim/service';

/** How long a run waits for a recoverable hypervisor's replacement: as long as a trap may wait. */
export const HYPERVISOR_REPLACEMENT_MS = 30_000;

export interface RunWatch {
  /** Rejects with the lost service's reason (give it to the Coordinator as `abort`). */
  readonly abort: Promise<never>;
  /** The cpu-nodes the hosts were assigned to (host -> node id) are watched from now on. */
  watchNodes(assignment: ReadonlyMap<string, string>): void;
  /** What was lost, once something was. */
  lost(): Lost | undefined;
  stop(): void;
}

/**
 * Watches the hypervisor and the scheduler of `ep` now (every instance, when the run is shared by
 * several: sharded-scheduler.ts, sharded-hypervisor.ts), and the cpu-nodes once assigned.
 */
export function watchRun(monitor: LivenessMonitor, ep: GrpcEndpoints): RunWatch {
  let fail!: (err: Error) => void;
  const abort = new Promise<never>((_, reject) => (fail = reject));
  abort.catch(() => undefined); // observed by the Coordinator; unobserved when nothing was lost
  let lost: Lost | undefined;
  const hv = monitor.last(ep.hypervisor);
  const w = monitor.watch(
    [
      ...(ep.hypervisors ?? [ep.hypervisor]).map((grpc, i) => ({
        label: i === 0 ? 'the hypervisor' : `hypervisor instance ${i + 1}`,
        grpc,
        ...(i === 0 && hv?.recoverable ? { replaceable: { service: hv.service, instance: hv.instance, withinMs: HYPERVISOR_REPLACEMENT_MS } } : {}),
      })),
      ...(ep.schedulers ?? [ep.scheduler]).map((grpc, i) => ({ label: i === 0 ? 'the scheduler' : `scheduler instance ${i + 1}`, grpc })),
    ],
    (l) => {
      lost = l;
      fail(new Error(`${l.reason}; the run cannot go on without it (recovery needs checkpoints)`));
    },
  );
  return {
    abort,
    watchNodes: (assignment) => {
      for (const node of new Set(assignment.values())) {
        const grpc = ep.nodes.get(node);
        if (grpc) w.add({ label: `cpu-node ${node}`, grpc });
      }
    },
    lost: () => lost,
    stop: () => w.stop(),
  };
}
