// One line of GET /v1/simulations (the caller's simulations, oldest first), with the fields of
// `vsim list` (issue 14's listing.proto SimulationSummary): what the dashboard lists.

import type { Simulation } from '../gateway';

export function summaryOf(sim: Simulation) {
  return {
    sim: sim.id,
    name: sim.spec.name,
    state: sim.state,
    virtualNs: Math.max(0, ...sim.hostNs.values()),
    durationNs: sim.spec.durationNs,
    hosts: sim.spec.hosts.length,
    vms: sim.spec.vms.length,
    submittedAtMs: sim.timing.submittedAt,
    error: sim.error,
  };
}
