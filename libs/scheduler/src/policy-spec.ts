// A scheduler as the services name it (a registered policy, or cpupools of them) and the policy
// objects made from it.

import { LoopAction, PlainLoopAction } from './host-loop';
import { SchedulerPolicy, VmSchedParams } from './policy';
import { makeRegisteredPolicy } from './registry';
import { CPUPOOLS_POLICY, CpupoolPolicy, DEFAULT_POOL } from './cpupool';

export interface PolicySpec {
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
}

export function makePolicy(spec: PolicySpec, pcpus: number): SchedulerPolicy {
  if (spec.policy !== CPUPOOLS_POLICY) return makeRegisteredPolicy(spec.policy, spec.params, pcpus);
  // A host split into cpupools (hostPolicySpec): {default: PolicySpec, pools: [{id, pcpus, scheduler}]}.
  const p = spec.params as { default?: PolicySpec; pools?: { id: string; pcpus: number[]; scheduler: PolicySpec }[] };
  if (!p.default || !Array.isArray(p.pools)) throw new RangeError('cpupools: params must be {default: scheduler, pools: [{id, pcpus, scheduler}]}');
  const def = p.default;
  return new CpupoolPolicy(
    pcpus,
    p.pools.map((q) => ({ id: q.id, pcpus: q.pcpus, make: (n: number) => makePolicy(q.scheduler, n) })),
    (n) => makePolicy(def, n),
  );
}

/**
 * Pending actions from a LoopState back into LoopActions: a swap gets the factory of the policy it
 * names (validated now: RangeError naming the parameter).
 */
export function loopActionsOf(actions: readonly PlainLoopAction[], pcpus: number): LoopAction[] {
  return actions.map((a) => {
    if (a.kind !== 'swapScheduler') return a;
    const spec = { policy: a.policy, params: a.params ?? {} };
    makePolicy(spec, pcpus);
    return { ...a, make: () => makePolicy(spec, pcpus) };
  });
}

/** The scheduler-wide parameters of the policy schedulerOf(spec) names for the default pool. */
export function defaultPoolParams(spec: PolicySpec): Readonly<Record<string, unknown>> {
  if (spec.policy !== CPUPOOLS_POLICY) return spec.params;
  return (spec.params as { default?: PolicySpec }).default?.params ?? {};
}

/**
 * The scheduler that decides for a VM (with its parameters) or, without, for the host's default
 * pool: on a host split into cpupools, the policy of the VM's pool, as `xl sched-*` sees it.
 */
export function schedulerOf(spec: PolicySpec, vmParams?: VmSchedParams): string {
  if (spec.policy !== CPUPOOLS_POLICY) return spec.policy;
  const p = spec.params as { default?: PolicySpec; pools?: readonly { id: string; scheduler: PolicySpec }[] };
  const pool = typeof vmParams?.pool === 'string' ? vmParams.pool : DEFAULT_POOL;
  const named = pool === DEFAULT_POOL ? p.default : p.pools?.find((x) => x.id === pool)?.scheduler;
  return named?.policy ?? spec.policy;
}
