// The policy registry: every scheduling policy vsim implements, by name, as Xen's schedulers
// register with REGISTER_SCHEDULER. Each policy file exports its registration (its vocabulary entry
// in @vsim/vocabulary — name, parameter schema, defaults, per-VM parameters, `xl` command — and its
// constructor); makePolicy builds from here, after checking the parameters against the schema, so
// a bad value gets the same message at run time as in a scenario file.

import { POLICIES, Policy, checkPolicyParams, unknownPolicy } from '@vsim/vocabulary';
import { PolicyRegistration, SchedulerPolicy } from './policy';
import { ROUND_ROBIN_SCHEDULER } from './round-robin';
import { CREDIT_SCHEDULER } from './credit';
import { CREDIT2_SCHEDULER } from './credit2';
import { SEDF_SCHEDULER } from './sedf';
import { RTDS_SCHEDULER } from './rtds';

export const SCHEDULERS: Readonly<Record<Policy, PolicyRegistration>> = {
  'round-robin': ROUND_ROBIN_SCHEDULER as PolicyRegistration,
  credit: CREDIT_SCHEDULER as PolicyRegistration,
  sedf: SEDF_SCHEDULER as PolicyRegistration,
  rtds: RTDS_SCHEDULER as PolicyRegistration,
  credit2: CREDIT2_SCHEDULER as PolicyRegistration,
};

export function isRegisteredPolicy(name: string): name is Policy {
  return (POLICIES as readonly string[]).includes(name);
}

/** The registration of `name`; RangeError naming the known policies when there is none. */
export function registeredScheduler(name: string): PolicyRegistration {
  if (!isRegisteredPolicy(name)) throw new RangeError(unknownPolicy(name));
  return SCHEDULERS[name];
}

/** Builds policy `name` for `pcpus` pCPUs; RangeError naming the first parameter that does not fit its schema. */
export function makeRegisteredPolicy(name: string, params: Readonly<Record<string, unknown>>, pcpus: number): SchedulerPolicy {
  const reg = registeredScheduler(name);
  const problems = checkPolicyParams(reg.descriptor, params);
  if (problems.length > 0) throw new RangeError(`${name}: ${problems.map((p) => p.message).join('; ')}`);
  return reg.make(pcpus, params as Parameters<typeof reg.make>[1]);
}
