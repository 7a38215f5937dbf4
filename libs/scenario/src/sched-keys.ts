// Which scheduling policy reads which `vms[].sched` key, and the checks that depend on it: SEDF's
// `slice ≤ period` and RTDS's `budget ≤ period` apply only to a VM that SEDF or RTDS may run (an
// RTDS VM with `period: 5ms` is not refused for SEDF's default slice; each rule uses its own policy's defaults,
// so it takes rt.c's 4 ms budget), and a key no policy of the VM reads (`cap` under round robin, `slice` under Credit) is a
// warning: valid, but without effect.
//
// The policies that may run a VM: its pool's scheduler (or the top-level one), the pools a `set`
// action moves it to, and every `swapScheduler` action's policy — a key read by any of them is used.

import type { Ctx, Path } from './fields';
import { RTDS, SEDF, VM_SCHED_PARAMS, readersOf, vmParamDefault } from '@vsim/vocabulary';
import type { VmSchedKey } from '@vsim/vocabulary';
import type { Policy } from './types';
import { formatTime } from './units';

/** The policies that read each `vms[].sched` key (the registry's, @vsim/vocabulary); keys not listed (pin, pool) are read by every policy. */
export const SCHED_KEY_READERS: Readonly<Record<string, readonly Policy[]>> = Object.fromEntries(
  (Object.keys(VM_SCHED_PARAMS) as VmSchedKey[]).map((k) => [k, readersOf(k)]),
);

interface SchedLike {
  readonly slice?: number;
  readonly period?: number;
  readonly budget?: number;
  readonly pool?: string;
}

interface SchedulerLike {
  readonly policy?: Policy;
}

/** The parts of a (loosely decoded) scenario these checks read. */
export interface ScenarioLike {
  readonly scheduler?: SchedulerLike;
  readonly hosts?: readonly (
    { readonly id?: string; readonly pools?: readonly ({ readonly id?: string; readonly scheduler?: SchedulerLike } | undefined)[] } | undefined
  )[];
  readonly vms?: readonly ({ readonly id?: string; readonly host?: string; readonly sched?: SchedLike } | undefined)[];
  readonly actions?: readonly ({ readonly kind?: string; readonly body?: unknown } | undefined)[];
}

/**
 * Each sched mapping's keys as written in the file (the decoded one has the defaults filled in),
 * recorded by the `vms[].sched` rule as it decodes.
 */
const writtenKeys = new WeakMap<object, ReadonlySet<string>>();

export function recordWritten(sched: object, written: ReadonlySet<string>): void {
  writtenKeys.set(sched, written);
}

export function writtenOf(sched: object | undefined): ReadonlySet<string> {
  return (sched && writtenKeys.get(sched)) ?? new Set();
}

/** The policies that may run VM `vm` during the run (undefined when some are not known: check everything). */
export function vmPolicies(
  s: ScenarioLike,
  vm: { readonly id?: string; readonly host?: string; readonly sched?: SchedLike },
): Set<Policy> | undefined {
  const top = s.scheduler?.policy;
  if (top === undefined) return undefined;
  const host = vm.host === undefined ? undefined : s.hosts?.find((h) => h?.id === vm.host);
  const poolPolicy = (pool: string | undefined): Policy | undefined => {
    const p = pool === undefined ? undefined : host?.pools?.find((q) => q?.id === pool);
    return p ? (p.scheduler?.policy ?? top) : top;
  };
  const out = new Set<Policy>();
  const add = (p: Policy | undefined) => (p === undefined ? false : (out.add(p), true));
  if (!add(poolPolicy(vm.sched?.pool))) return undefined;
  for (const a of s.actions ?? []) {
    const body = a?.body as { vm?: string; pool?: string; policy?: Policy } | undefined;
    if (a?.kind === 'swapScheduler' && !add(body?.policy)) return undefined;
    if (a?.kind === 'set' && body?.vm === vm.id && body?.pool !== undefined && !add(poolPolicy(body.pool))) return undefined;
  }
  return out;
}

/** SEDF's slice ≤ period and RTDS's budget ≤ period, where that policy may run the VM (all: `policies` undefined), each over that policy's defaults. */
export function periodProblems(
  sched: SchedLike,
  policies: ReadonlySet<Policy> | undefined,
  written: ReadonlySet<string>,
): { key: 'slice' | 'budget'; message: string }[] {
  const out: { key: 'slice' | 'budget'; message: string }[] = [];
  const rules = [
    { policy: SEDF, key: 'slice' },
    { policy: RTDS, key: 'budget' },
  ] as const;
  for (const { policy, key } of rules) {
    if (policies && !policies.has(policy.name)) continue;
    const shorter = sched[key] ?? vmParamDefault(policy, key);
    const period = sched.period ?? vmParamDefault(policy, 'period');
    if (typeof shorter !== 'number' || typeof period !== 'number' || shorter <= period) continue;
    const dflt = (k: 'slice' | 'budget' | 'period') => (sched[k] !== undefined || written.has(k) ? '' : `, ${policy.name}'s default`);
    out.push({ key, message: `${key} (${formatTime(shorter)}${dflt(key)}) is longer than period (${formatTime(period)}${dflt('period')})` });
  }
  return out;
}

/** Per VM: the period rules of the policies that may run it, and a warning for each written key none of them reads. */
export function checkSchedKeys(s: ScenarioLike, path: Path, ctx: Ctx): void {
  s.vms?.forEach((vm, i) => {
    if (!vm?.sched) return;
    const policies = vmPolicies(s, vm);
    const written = writtenOf(vm.sched);
    for (const p of periodProblems(vm.sched, policies, written)) ctx.report([...path, 'vms', i, 'sched'], p.message);
    if (!policies) return;
    for (const key of written) {
      const readers = Object.hasOwn(SCHED_KEY_READERS, key) ? SCHED_KEY_READERS[key] : undefined;
      if (!readers || readers.some((r) => policies.has(r))) continue;
      const runs = [...policies].join(', ');
      ctx.warn(
        [...path, 'vms', i, 'sched', key],
        `has no effect: ${vm.id ?? `vms[${i}]`} runs under ${runs}, and only ${readers.join(' and ')} ${readers.length === 1 ? 'reads' : 'read'} ${key}`,
      );
    }
  });
}
