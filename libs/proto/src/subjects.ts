// Every NATS subject of a simulation, in one place, with the message each carries.
// All are namespaced by simulation id: vsim.<sim>.…
//
// Who serves what (apps/*/README.md): the hypervisor serves hvTrap of each simulation it opened;
// a cpu-node serves hostRun of each host it simulates; the scheduler requests hostRun and publishes
// events; the Coordinator (embedded, or in the gateway) subscribes to allEvents and expects, per
// host, exactly the number of events the scheduler's Run says it published.
//
// Outside vsim.<sim>.…, services register with the NATS service API (@nats-io/services) for
// discovery: $SRV.PING|INFO|STATS[.<name>[.<id>]], names vsim-hypervisor, vsim-cpu-node,
// vsim-scheduler, vsim-gateway, with metadata `grpc` (host:port of the gRPC control API),
// `instance`, and `node` (cpu-node id) or `http` (gateway). Control itself goes over gRPC.

export const subjects = {
  /** Request RunOrder → reply RunReport: the scheduler drives one host's loop (architecture §4). */
  hostRun: (sim: string, host: string) => `vsim.${sim}.host.${host}.run`,
  /** Request TrapRequest → reply TrapResolution: a vCPU exit that needs the hypervisor service. */
  hvTrap: (sim: string) => `vsim.${sim}.hv.trap`,
  /** Publish EventBatch: one host-loop iteration's events, from the scheduler that drives the host. */
  events: (sim: string, host: string) => `vsim.${sim}.events.${host}`,
  /** Subscribe to every host's events of a simulation. */
  allEvents: (sim: string) => `vsim.${sim}.events.>`,
} as const;

/** Simulation ids become subject tokens: keep them to safe characters. */
export function checkSimId(sim: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(sim)) throw new RangeError(`simulation id '${sim}' must be 1-64 characters of [A-Za-z0-9_-]`);
  return sim;
}
