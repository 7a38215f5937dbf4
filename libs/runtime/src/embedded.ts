// `vsim run` without a cluster: every service's control logic in this process, on one in-process
// broker, driven by the same Coordinator that drives a distributed run (one code path).

import { InProcessBroker } from '@vsim/bus';
import { Coordinator, CpuNodeControlImpl, HypervisorControlImpl, SchedulerControlImpl, inProcessControlPlane } from './cluster';
import { EventLog } from './events/log';
import { SimResult, SimSpec } from './simulation';

/** Runs a simulation with every service in this process, on the in-process bus. */
export async function runEmbedded(spec: SimSpec, sim = 'embedded'): Promise<{ result: SimResult; log: EventLog }> {
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
    const { result, log } = await new Coordinator(control, coordBus).run(spec, sim);
    return { result, log };
  } finally {
    await Promise.all(buses.map((b) => b.close()));
  }
}
