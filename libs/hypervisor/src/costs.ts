// What the hypervisor's work costs in virtual cycles, on top of the guest instructions around it.
// Every figure is adjustable per scenario (`costs:` at the top level and per host); where each default
// comes from, with the literature it is taken from and where it is vsim's own choice, is in
// docs/cost-model.md.
//
// The exit figure is a VM exit plus re-entry on hardware-assisted virtualization: Adams & Agesen
// (ASPLOS 2006) measured ~1,000-2,000 cycles for a VT-x round trip on the first implementations;
// later silicon brought it to a few hundred (Intel SDM latencies, KVM's vmexit microbenchmarks).
// vsim's default sits in that range. Handler costs are the software work of the routine itself.

import { COST_DEFAULTS, HypervisorCosts } from '@vsim/vocabulary';

// The figures' names and defaults are @vsim/vocabulary's (the scenario format fills the same ones in).
export type { HypervisorCosts };
export const DEFAULT_HYPERVISOR_COSTS: HypervisorCosts = COST_DEFAULTS;

export const COST_KEYS = Object.keys(DEFAULT_HYPERVISOR_COSTS) as (keyof HypervisorCosts)[];

/** Largest cost accepted for one item: far beyond any real figure, still exact in a double. */
export const MAX_COST_CYCLES = 1e9;

/**
 * The defaults with `overrides` applied. Throws a RangeError naming the key at fault for an unknown
 * key or a value that is not an integer number of cycles in 0..MAX_COST_CYCLES.
 */
export function makeHypervisorCosts(overrides: object = {}, base: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS): HypervisorCosts {
  const out: Record<string, number> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(COST_KEYS as string[]).includes(k)) throw new RangeError(`costs.${k}: unknown cost (known: ${COST_KEYS.join(', ')})`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_COST_CYCLES) {
      throw new RangeError(`costs.${k}: expected an integer number of cycles 0..${MAX_COST_CYCLES}, got ${JSON.stringify(v)}`);
    }
    out[k] = v;
  }
  return out as unknown as HypervisorCosts;
}
