// Every NATS subject of a simulation, in one place, with the message each carries.
// All are namespaced by simulation id: vsim.<sim>.…; a subject that one identity alone may publish
// to (or serve) carries that identity's node id, so nats-server's permissions can say who
// (libs/security/src/permissions.ts has the table; its test checks it against these functions).
//
// Who serves what (apps/*/README.md): the hypervisor serves every trapsOf(sim) of each simulation
// it opened; a cpu-node serves hostRun of each host it simulates; the scheduler requests hostRun
// and publishes events; the Coordinator (embedded, or in the gateway) subscribes to allEvents and
// expects, per host, exactly the number of events the scheduler's Run says it published.
//
// Outside vsim.<sim>.…, services register with the NATS service API (@nats-io/services) for
// discovery: $SRV.PING|INFO|STATS[.<name>[.<id>]], names vsim-hypervisor, vsim-cpu-node,
// vsim-scheduler, vsim-gateway, with metadata `grpc` (host:port of the gRPC control API),
// `instance`, and `node` (cpu-node id) or `http` (gateway). Control itself goes over gRPC.

export const subjects = {
  /**
   * Request RunOrder → reply RunReport: the scheduler drives one host's loop (architecture §4).
   * Only the scheduler may publish here, only cpu-node `node` may serve it.
   */
  hostRun: (sim: string, node: string, host: string) => `vsim.${sim}.run.${node}.${host}`,
  /**
   * Request TrapRequest → reply TrapResolution: a vCPU exit that needs the hypervisor service, sent
   * by cpu-node `node` (only it may publish here; the hypervisor checks the VM runs there).
   */
  hvTrap: (sim: string, node: string) => `vsim.${sim}.trap.${node}`,
  /** What the hypervisor serves: every node's traps of a simulation. */
  allTraps: (sim: string) => `vsim.${sim}.trap.*`,
  /** Publish EventBatch: one host-loop iteration's events, from the scheduler that drives the host. */
  events: (sim: string, host: string) => `vsim.${sim}.events.${host}`,
  /**
   * Request JSON {session, op, vm, ...} → reply JSON: `vsim gdb`'s sessions on the VMs of cpu-node
   * `node` (libs/executor/src/debug/agent.ts). Only the gateway may publish here, only that node serve it.
   */
  gdb: (sim: string, node: string) => `vsim.${sim}.gdb.${node}`,
  /**
   * Request SnapshotHostRequest → reply SnapshotHostReply (checkpoint.proto): the scheduler asks the
   * cpu-node simulating `host` to store its VMs' snapshots. Only the scheduler may publish here, only
   * cpu-node `node` may serve it.
   */
  checkpoint: (sim: string, node: string, host: string) => `vsim.${sim}.checkpoint.${node}.${host}`,
  /**
   * Request AllocatorStateRequest → reply AllocatorStateReply: the scheduler reads the hypervisor's
   * allocator records for a checkpoint. Only the scheduler may publish here; the hypervisor serves it.
   */
  allocators: (sim: string) => `vsim.${sim}.allocators`,
  /** Subscribe to every host's events of a simulation. */
  allEvents: (sim: string) => `vsim.${sim}.events.>`,
  /**
   * Request MigrationCommand → reply MigrationRoundReply (ROUND) or empty (RESUME, DROP): the
   * scheduler drives a live migration on cpu-node `node` (only the scheduler publishes here).
   */
  migrate: (sim: string, node: string) => `vsim.${sim}.migrate.${node}`,
  /** Request MigrationChunk → empty reply: a migration round's pages, from the source cpu-node to `node`. */
  migrateIn: (sim: string, node: string) => `vsim.${sim}.migrate-in.${node}`,
  /** Request VmMoved → empty reply: the scheduler tells the hypervisor a migrated VM's new host and node. */
  vmMoved: (sim: string) => `vsim.${sim}.vm-moved`,
} as const;

/** The node id of a trap subject (vsim.<sim>.trap.<node>). */
export function nodeOfTrapSubject(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** Simulation ids become subject tokens: keep them to safe characters. */
export function checkSimId(sim: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(sim)) throw new RangeError(`simulation id '${sim}' must be 1-64 characters of [A-Za-z0-9_-]`);
  return sim;
}
