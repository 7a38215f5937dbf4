// Hard affinity (`xl vcpu-pin`): the pCPUs a vCPU may run on. The scenario gives one list of pCPU
// ids per vCPU in `sched.pin` (libs/scenario format.ts); every policy reads it through here, so the
// same rules hold everywhere: no `pin` (or no entry for this vCPU) means every pCPU; the ids are
// the policy's own pCPU indices (a cpupool translates host ids to pool indices before the policy
// sees them, see cpupool.ts); an id the policy does not have is an error naming the field.
//
// Xen keeps the mask in sched_unit->cpu_hard_affinity and every scheduler checks it where it picks
// a pCPU (credit.c _csched_cpu_pick / csched_runq_steal, credit2.c runq_candidate / csched2_res_pick,
// rt.c runq_pick); vcpu_set_hard_affinity migrates a vCPU off a pCPU it may no longer use.

import { VcpuRef, VmSchedParams } from './policy';

/** The pCPUs a vCPU may run on; null = all of them (no pin). */
export type Affinity = ReadonlySet<number> | null;

/**
 * The hard affinity `params.pin` gives vCPU `v`, for a policy with `npcpus` pCPUs. Throws a
 * RangeError naming `pin[i]` if the entry is malformed or names a pCPU the policy does not have.
 */
export function readAffinity(who: string, v: VcpuRef, params: VmSchedParams, npcpus: number): Affinity {
  const pin = params.pin;
  if (pin === undefined || pin === null) return null;
  if (!Array.isArray(pin)) throw new RangeError(`${who}: pin of ${v.vm} must be a list of lists of pCPU ids, got ${JSON.stringify(pin)}`);
  const entry: unknown = pin[v.vcpu];
  if (entry === undefined) return null;
  if (!Array.isArray(entry) || entry.length === 0) {
    throw new RangeError(`${who}: pin[${v.vcpu}] of ${v.vm} must be a non-empty list of pCPU ids, got ${JSON.stringify(entry)}`);
  }
  const set = new Set<number>();
  for (const p of entry) {
    if (!(Number.isInteger(p) && p >= 0 && p < npcpus)) {
      throw new RangeError(
        `${who}: pin[${v.vcpu}] of ${v.vm} names pCPU ${JSON.stringify(p)}, but there ${npcpus === 1 ? 'is only pCPU 0' : `are pCPUs 0-${npcpus - 1}`}`,
      );
    }
    set.add(p);
  }
  return set.size === npcpus ? null : set;
}

export function allows(aff: Affinity, pcpu: number): boolean {
  return aff === null || aff.has(pcpu);
}

/** The first pCPU of the affinity at or after `from` (cyclically): cpumask_cycle over the mask. */
export function firstAllowed(aff: Affinity, from: number, npcpus: number): number {
  for (let i = 0; i < npcpus; i++) {
    const p = (from + i) % npcpus;
    if (allows(aff, p)) return p;
  }
  throw new Error('empty affinity'); // readAffinity never returns an empty set
}

/** For messages and traces: "any" or "0,2,3". */
export function describeAffinity(aff: Affinity): string {
  return aff === null ? 'any' : [...aff].sort((a, b) => a - b).join(',');
}
