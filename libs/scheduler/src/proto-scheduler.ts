// A scheduler and its scheduler-wide parameters at the control planes' edge: the plain PolicySpec
// ({policy, params}) that makePolicy and the policies read, to the SchedulerParams message
// (control.proto: a oneof case per policy, cpupools included) that AddHost, AddAction, SetSchedParams,
// SwapScheduler, Adopt, GetSchedParams and Results carry, and back.
//
// Only the shape is checked here (a key the policy does not have, a value of the wrong type): the
// bounds are the policy's, checked once where the policy is built (libs/scheduler's registry), so a
// bad value gets the same message from every path.

import { Credit2Runqueue, CreditAccounting, Cpupool as CpupoolMsg, SchedulerParams as SchedulerParamsMsg } from '@vsim/proto';
import { CPUPOOLS_POLICY } from './cpupool';
import type { PolicySpec } from './service';
import { POLICIES, Policy, checkPolicyParams, policyDescriptor, unknownPolicy } from '@vsim/vocabulary';

type Plain = Readonly<Record<string, unknown>>;
type Case = NonNullable<SchedulerParamsMsg['policy']>['$case'];

/** The oneof case of each policy (the proto's field names are the policies' names in camelCase). */
const CASE_OF: Readonly<Record<Policy | typeof CPUPOOLS_POLICY, Case>> = {
  'round-robin': 'roundRobin',
  credit: 'credit',
  sedf: 'sedf',
  rtds: 'rtds',
  credit2: 'credit2',
  [CPUPOOLS_POLICY]: 'cpupools',
};
const POLICY_OF = new Map<Case, string>(Object.entries(CASE_OF).map(([p, c]) => [c, p]));

/** Enum parameters: the vocabulary's values and the proto enum's, in the same order. */
const ENUMS: Readonly<Record<string, readonly (readonly [string, number])[]>> = {
  accounting: [
    ['precise', CreditAccounting.CREDIT_ACCOUNTING_PRECISE],
    ['tick', CreditAccounting.CREDIT_ACCOUNTING_TICK],
  ],
  runqueue: [
    ['cpu', Credit2Runqueue.CREDIT2_RUNQUEUE_CPU],
    ['core', Credit2Runqueue.CREDIT2_RUNQUEUE_CORE],
    ['socket', Credit2Runqueue.CREDIT2_RUNQUEUE_SOCKET],
    ['all', Credit2Runqueue.CREDIT2_RUNQUEUE_ALL],
  ],
};

/** The policy a message names (its oneof case); RangeError naming `field` when it names none. */
export function policyOfMessage(m: SchedulerParamsMsg | undefined, field = 'scheduler'): string {
  const c = m?.policy?.$case;
  if (c === undefined) throw new RangeError(`${field}: names no policy (${[...POLICIES, CPUPOOLS_POLICY].join(', ')})`);
  return POLICY_OF.get(c)!;
}

/**
 * The message of a scheduler with its (possibly partial) scheduler-wide parameters; RangeError
 * naming the field at fault (`scheduler.credit.tslice`) when a key is unknown or of the wrong type.
 */
export function schedulerMessage(spec: PolicySpec, field = 'scheduler'): SchedulerParamsMsg {
  const { policy } = spec;
  const params: Plain = spec.params ?? {};
  if (typeof params !== 'object' || Array.isArray(params)) throw new RangeError(`${field}.params: expected an object, got ${JSON.stringify(params)}`);
  if (policy === CPUPOOLS_POLICY) return { policy: { $case: 'cpupools', value: cpupoolsMessage(params, `${field}.cpupools`) } };
  const d = policyDescriptor(policy);
  if (!d) throw new RangeError(`${field}: ${unknownPolicy(policy)}`);
  const c = CASE_OF[policy as Policy];
  const value: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    const at = `${field}.${c}.${k}`;
    const spec = d.params[k];
    // The vocabulary's message for a key the policy does not have (it names the policies that do).
    if (!spec) throw new RangeError(`${field}: ${checkPolicyParams(d, { [k]: v })[0]!.message}`);
    if (v === undefined || v === null) continue;
    if (spec.type === 'bool') {
      if (typeof v !== 'boolean') throw new RangeError(`${at}: expected true or false, got ${JSON.stringify(v)}`);
      value[k] = v;
    } else if (spec.type === 'enum') {
      const hit = ENUMS[k]?.find(([name]) => name === v);
      if (!hit) throw new RangeError(`${at}: expected one of ${spec.values.join(', ')}, got ${JSON.stringify(v)}`);
      value[k] = hit[1];
    } else {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        throw new RangeError(`${at}: expected a non-negative integer${spec.type === 'time' ? ' (ns)' : ''}, got ${JSON.stringify(v)}`);
      value[k] = v;
    }
  }
  return { policy: { $case: c, value } } as SchedulerParamsMsg;
}

function cpupoolsMessage(p: Plain, field: string): Extract<SchedulerParamsMsg['policy'], { $case: 'cpupools' }>['value'] {
  for (const k of Object.keys(p))
    if (k !== 'default' && k !== 'pools') throw new RangeError(`${field}.${k}: not a cpupools parameter (default, pools)`);
  const pools = p.pools ?? [];
  if (!Array.isArray(pools)) throw new RangeError(`${field}.pools: expected a list, got ${JSON.stringify(pools)}`);
  return {
    defaultPool: p.default === undefined ? undefined : schedulerMessage(specOf(p.default, `${field}.default`), `${field}.default`),
    pools: pools.map((q: unknown, i): CpupoolMsg => {
      const at = `${field}.pools[${i}]`;
      const pool = (q ?? {}) as { id?: unknown; pcpus?: unknown; scheduler?: unknown };
      if (typeof pool.id !== 'string') throw new RangeError(`${at}.id: expected a pool id, got ${JSON.stringify(pool.id)}`);
      if (!Array.isArray(pool.pcpus) || !pool.pcpus.every((c) => Number.isInteger(c) && c >= 0))
        throw new RangeError(`${at}.pcpus: expected a list of pCPU ids, got ${JSON.stringify(pool.pcpus)}`);
      return {
        id: pool.id,
        pcpus: [...(pool.pcpus as number[])],
        scheduler: schedulerMessage(specOf(pool.scheduler, `${at}.scheduler`), `${at}.scheduler`),
      };
    }),
  };
}

function specOf(v: unknown, field: string): PolicySpec {
  const s = v as { policy?: unknown; params?: unknown } | undefined;
  if (!s || typeof s.policy !== 'string') throw new RangeError(`${field}: expected {policy, params}, got ${JSON.stringify(v)}`);
  return { policy: s.policy, params: (s.params ?? {}) as Plain };
}

/**
 * A SchedulerParams message as the plain PolicySpec the scheduler reads: only the parameters the
 * message gives. RangeError naming the field when it names no policy or an enum value is unset.
 */
export function schedulerSpecOf(m: SchedulerParamsMsg | undefined, field = 'scheduler'): PolicySpec {
  const policy = policyOfMessage(m, field);
  const one = m!.policy!;
  if (one.$case === 'cpupools') {
    const { defaultPool, pools } = one.value;
    return {
      policy,
      params: {
        ...(defaultPool ? { default: schedulerSpecOf(defaultPool, `${field}.cpupools.default_pool`) } : {}),
        pools: pools.map((q, i) => ({
          id: q.id,
          pcpus: [...q.pcpus],
          scheduler: schedulerSpecOf(q.scheduler, `${field}.cpupools.pools[${i}].scheduler`),
        })),
      },
    };
  }
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(one.value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const values = ENUMS[k];
    if (values) {
      const hit = values.find(([, n]) => n === v);
      if (!hit) throw new RangeError(`${field}.${one.$case}.${k}: expected one of ${values.map(([s]) => s).join(', ')}, got enum value ${String(v)}`);
      params[k] = hit[0];
    } else params[k] = v;
  }
  return { policy, params };
}

/**
 * Scheduler-wide parameters to change (SetSchedParams without a VM, a pending setScheduler action):
 * typed as `policy`'s, or, when the caller names none, as those of the first policy that takes them
 * all (the service then checks them against the policy each host runs, as before).
 */
export function schedulerUpdateMessage(params: Plain, policy = '', field = 'scheduler'): SchedulerParamsMsg {
  if (policy !== '') return schedulerMessage({ policy, params }, field);
  const keys = Object.keys(params);
  const taker = POLICIES.find((p) => keys.every((k) => Object.hasOwn(policyDescriptor(p)!.params, k)));
  if (taker) return schedulerMessage({ policy: taker, params }, field);
  const bad = keys.find((k) => !POLICIES.some((p) => Object.hasOwn(policyDescriptor(p)!.params, k))) ?? keys[0];
  throw new RangeError(
    `${field}.${bad}: not a scheduler-wide parameter of any one policy (${POLICIES.map((p) => `${p}: ${Object.keys(policyDescriptor(p)!.params).join(', ') || 'none'}`).join('; ')})`,
  );
}
