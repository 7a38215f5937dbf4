// The cost model and the expansion factors at the control planes' edge: domain values (the
// hypervisor's HypervisorCosts, the executor's factors per engine) to their proto messages and back.
// Inside the services they are only ever the domain types.

import { CostModel } from '@vsim/proto';
import { HypervisorCosts, makeHypervisorCosts } from '@vsim/hypervisor';

/** A host's cost model as CreateHost/RegisterVm carry it (absent: the defaults). */
export function costModelOf(costs: HypervisorCosts | undefined): CostModel | undefined {
  return costs === undefined ? undefined : { ...costs };
}

/** A CostModel received: each figure given replaces the default; RangeError naming a figure out of range. */
export function costsOfModel(model: CostModel): HypervisorCosts {
  return makeHypervisorCosts(model);
}
