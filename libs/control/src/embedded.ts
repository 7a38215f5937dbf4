// `vsim run` without a cluster: every service's control logic in this process, on one in-process
// broker, driven by the same Coordinator that drives a distributed run (one code path).

import { InProcessBroker } from '@vsim/bus';
import { Coordinator } from './coordinator';
import { CpuNodeControlImpl } from './cpu-node-control';
import { HypervisorControlImpl } from './hypervisor-control';
import { SchedulerControlImpl } from './scheduler-control';
import { inProcessControlPlane } from './grpc-adapters';
import { Event, EventLog } from '@vsim/proto';
import { HostEnds } from './host-ends';
import { SimResult, SimSpec } from './simulation';

export interface EmbeddedOptions {
  /**
   * Live progress: `host` has reached virtual time `ns` (from its events, as they arrive after each
   * of its loop's iterations); `done` once every VM on it has ended (its loop stops there). Display
   * only: it never changes the run.
   */
  readonly onProgress?: (host: string, ns: number, done: boolean) => void;
}

/** Runs a simulation with every service in this process, on the in-process bus. */
export async function runEmbedded(spec: SimSpec, sim = 'embedded', opts: EmbeddedOptions = {}): Promise<{ result: SimResult; log: EventLog }> {
  const broker = new InProcessBroker();
  // One connection per service, as separate processes would have.
  const buses = [broker.connect(), broker.connect(), broker.connect(), broker.connect()];
  const [hvBus, nodeBus, schedBus, coordBus] = buses;
  const control = inProcessControlPlane({
    hypervisor: new HypervisorControlImpl(hvBus),
    nodes: [new CpuNodeControlImpl(nodeBus, { nodeId: 'node-0' })],
    scheduler: new SchedulerControlImpl(schedBus),
  });
  try {
    const { onProgress } = opts;
    const ends = new HostEnds(spec);
    const onEvents =
      onProgress &&
      ((host: string, events: readonly Event[]) => {
        if (events.length > 0) onProgress(host, events[events.length - 1].timeNs, ends.see(host, events));
      });
    const { result, log } = await new Coordinator(control, coordBus, { onEvents }).run(spec, sim);
    if (onProgress) for (const h of result.hosts) onProgress(h.id, h.endNs, true);
    return { result, log };
  } finally {
    await Promise.all(buses.map((b) => b.close()));
  }
}
