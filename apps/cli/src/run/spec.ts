// From a validated scenario (what the user wrote, normalised) to the runtime's SimSpec.

import { Scenario } from '@vsim/scenario';
import { SimSpec } from '@vsim/runtime';

export function toSimSpec(s: Scenario, seedOverride?: number): SimSpec {
  return {
    name: s.name,
    seed: seedOverride ?? s.seed,
    durationNs: s.duration,
    trapPath: s.trapPath,
    scheduler: { policy: s.scheduler.policy, params: { ...s.scheduler.params } },
    hosts: s.hosts.map((h) => ({ id: h.id, pcpus: h.pcpus, clockHz: h.clock, quantumNs: h.quantum })),
    vms: s.vms.map((v) => ({
      id: v.id,
      host: v.host ?? undefined,
      vcpus: v.vcpus,
      memoryBytes: v.memory,
      image: v.image,
      args: v.args,
      kind: v.kind,
      engine: v.engine,
      sched: { ...v.sched },
    })),
  };
}
