// A validated scenario (@vsim/scenario's normalised form) as the runtime's SimSpec: the one
// mapping both `vsim run` and the gateway use.

import type { Scenario } from '@vsim/scenario';
import { SimSpec, placeVms } from './simulation';
import { linkFor } from './migration/params';
import { SimAction } from '@vsim/scheduler';
import { makeHypervisorCosts } from '@vsim/hypervisor';
import { Technique, makeExpansionFactors } from '@vsim/executor';

export function simSpecFromScenario(s: Scenario, seedOverride?: number): SimSpec {
  const spec = simSpecWithoutMigrations(s, seedOverride);
  if (!s.actions.some((a) => a.kind === 'migrate')) return spec;
  // A migration crosses the link from the VM's host (where placement puts it: one migration per VM)
  // to its destination; the scheduler gets the link itself, so it needs no network of its own.
  const placement = placeVms(spec);
  const actions = s.actions.map((a, i): SimAction => {
    if (a.kind !== 'migrate') return spec.actions![i];
    const rule = {
      ...(a.stopPages !== undefined ? { stopPages: a.stopPages } : {}),
      ...(a.maxRounds !== undefined ? { maxRounds: a.maxRounds } : {}),
    };
    return { kind: 'migrate', at: a.at, vm: a.vm, to: a.to, link: linkFor(s.network, placement.get(a.vm)!, a.to), rule };
  });
  return { ...spec, actions };
}

function simSpecWithoutMigrations(s: Scenario, seedOverride?: number): SimSpec {
  return {
    name: s.name,
    seed: seedOverride ?? s.seed,
    durationNs: s.duration,
    ...(s.checkpoint ? { checkpointIntervalNs: s.checkpoint.interval } : {}),
    network: s.network,
    placement: s.placement,
    ...(s.balancer
      ? {
          balancer: {
            periodNs: s.balancer.period,
            threshold: s.balancer.threshold / 100,
            stopPages: s.balancer.stopPages,
            maxRounds: s.balancer.maxRounds,
          },
        }
      : {}),
    trapPath: s.trapPath,
    scheduler: { policy: s.scheduler.policy, params: { ...s.scheduler.params } },
    hosts: s.hosts.map((h) => ({
      id: h.id,
      pcpus: h.pcpus,
      clockHz: h.clock,
      quantumNs: h.quantum,
      costs: makeHypervisorCosts(h.costs),
      isa: h.isa,
      expansion: makeExpansionFactors(h.expansion),
      pools: h.pools.map((p) => ({ id: p.id, pcpus: [...p.pcpus], scheduler: { policy: p.scheduler.policy, params: { ...p.scheduler.params } } })),
    })),
    vms: s.vms.map((v) => ({
      id: v.id,
      host: v.host ?? undefined,
      vcpus: v.vcpus,
      memoryBytes: v.memory,
      image: v.image,
      args: [...v.args],
      kind: v.kind,
      engine: v.engine,
      sched: { ...v.sched },
      // The runtime refuses (checkSpec) the techniques it does not implement yet, naming them.
      technique: v.technique as Technique,
      isa: v.isa,
    })),
    actions: s.actions.map((a): SimAction => {
      switch (a.kind) {
        case 'pause':
        case 'unpause':
          return { kind: a.kind, at: a.at, vm: a.vm };
        case 'set':
          return { kind: 'set', at: a.at, vm: a.vm, params: { ...a.params } };
        case 'swapScheduler':
          return { kind: 'swapScheduler', at: a.at, scheduler: { policy: a.scheduler.policy, params: { ...a.scheduler.params } } };
        case 'killHost':
          return { kind: 'killHost', at: a.at, host: a.host };
        case 'migrate': // the link is filled in by simSpecFromScenario
          return { kind: 'migrate', at: a.at, vm: a.vm, to: a.to, link: { bandwidthBytesPerSec: 1, latencyNs: 0 } };
      }
    }),
  };
}
