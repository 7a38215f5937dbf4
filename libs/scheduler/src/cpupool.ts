// cpupools (Xen's `xl cpupool-create` / `cpupool-migrate`, xen/common/sched/cpupool.c): a host's
// pCPUs split into disjoint pools, each run by its own scheduler with its own parameters; every VM
// belongs to exactly one pool and its vCPUs only ever run on that pool's pCPUs.
//
// Mapping onto vsim: the host loop drives one SchedulerPolicy per host, so the pools are one
// composite policy: N policies over disjoint pCPU sets whose decisions are merged (pool-local pCPU
// index i is the pool's i-th host pCPU) and whose `until` is the earliest of theirs. Every call
// about a vCPU goes to the policy of its pool. A VM names its pool in its scheduling parameters
// (`pool`); the default pool ("Pool-0") holds the pCPUs no pool claims, with the host's scheduler.
// Moving a VM (`set` with a new `pool`, like cpupool_move_domain -> sched_move_domain) removes each
// vCPU from the old pool's policy and adds it to the new one, asleep if it was: never lost, never
// in both. Hard affinity (`pin`) names host pCPUs; a pool's policy sees it in its own indices,
// restricted to the pool; a pin with no pCPU in the pool is reset to the whole pool, as
// sched_move_domain resets the affinity of a domain moved to a pool its affinity does not reach
// (reported as `sched.affinity_broken`).

import { Decision, SchedulerPolicy, SchedTrace, VcpuRef, VmSchedParams } from './policy';
import type { PolicySpec } from './service';

/** The id of the pool of the pCPUs no other pool claims (Xen's Pool-0). */
export const DEFAULT_POOL = 'default';

/** The policy name under which a split host's scheduler travels (AddHost, makePolicy). */
export const CPUPOOLS_POLICY = 'cpupools';

/**
 * What a scheduler swap installs on a host: the new scheduler itself, or, on a host split into
 * cpupools, the same pools with the new scheduler on the default pool (the pools keep theirs).
 */
export function swapTarget(current: PolicySpec, next: PolicySpec): PolicySpec {
  if (current.policy !== CPUPOOLS_POLICY) return next;
  return { policy: CPUPOOLS_POLICY, params: { ...current.params, default: next } };
}

/** A pool of a host, as a scenario gives it. */
export interface HostPoolSpec {
  readonly id: string;
  /** Host pCPU ids. */
  readonly pcpus: readonly number[];
  readonly scheduler: PolicySpec;
}

/**
 * The scheduler a host is built with: the scenario's own, or — if the host has pools — cpupools
 * over it: `{policy: 'cpupools', params: {default: scheduler, pools}}`, which makePolicy turns into
 * a CpupoolPolicy. It travels as any policy does (AddHost's SchedulerParams, case `cpupools`).
 */
export function hostPolicySpec(scheduler: PolicySpec, pools: readonly HostPoolSpec[] | undefined): PolicySpec {
  if (!pools || pools.length === 0) return scheduler;
  return { policy: CPUPOOLS_POLICY, params: { default: scheduler, pools } };
}

export interface PoolSetup {
  readonly id: string;
  /** Host pCPU ids, in the order the pool's policy numbers them. */
  readonly pcpus: readonly number[];
  /** The pool's scheduler, for that many pCPUs. */
  readonly make: (npcpus: number) => SchedulerPolicy;
}

interface Pool {
  readonly id: string;
  readonly pcpus: readonly number[];
  readonly policy: SchedulerPolicy;
}

/** CpupoolPolicy.saveState's output (JSON-safe). */
export interface CpupoolState {
  readonly pools: readonly { readonly id: string; readonly policy: string; readonly state: unknown }[];
  readonly members: readonly { readonly key: string; readonly pool: string; readonly asleep: boolean }[];
}

interface Member {
  pool: Pool;
  asleep: boolean;
}

/** Checks a pool layout on a host of `npcpus` pCPUs; the error names the field at fault. */
export function checkPools(npcpus: number, pools: readonly { id: string; pcpus: readonly number[] }[]): void {
  const owner = new Map<number, string>();
  const ids = new Set<string>();
  pools.forEach((p, i) => {
    if (p.id === DEFAULT_POOL) throw new RangeError(`pools[${i}].id: '${DEFAULT_POOL}' is the pool of the unclaimed pCPUs; choose another id`);
    if (ids.has(p.id)) throw new RangeError(`pools[${i}].id: duplicate pool '${p.id}'`);
    ids.add(p.id);
    if (p.pcpus.length === 0) throw new RangeError(`pools[${i}].pcpus: pool '${p.id}' has no pCPUs`);
    p.pcpus.forEach((c, j) => {
      if (!(Number.isInteger(c) && c >= 0 && c < npcpus))
        throw new RangeError(`pools[${i}].pcpus[${j}]: the host has no pCPU ${c} (it has 0-${npcpus - 1})`);
      const other = owner.get(c);
      if (other !== undefined) throw new RangeError(`pools[${i}].pcpus[${j}]: pCPU ${c} is already in pool '${other}'`);
      owner.set(c, p.id);
    });
  });
}

export class CpupoolPolicy implements SchedulerPolicy {
  readonly name = CPUPOOLS_POLICY;
  private traceFn?: SchedTrace;
  private readonly pools = new Map<string, Pool>();
  private readonly members = new Map<string, Member>();

  /**
   * `pools` take the pCPUs they list; the rest form the default pool, run by `makeDefault` (if no
   * pCPU is left there is no default pool, and a vCPU must name a pool).
   */
  constructor(
    private readonly npcpus: number,
    pools: readonly PoolSetup[],
    makeDefault: (npcpus: number) => SchedulerPolicy,
  ) {
    checkPools(npcpus, pools);
    const claimed = new Set(pools.flatMap((p) => p.pcpus));
    const rest = Array.from({ length: npcpus }, (_, c) => c).filter((c) => !claimed.has(c));
    const all: PoolSetup[] = rest.length > 0 ? [{ id: DEFAULT_POOL, pcpus: rest, make: makeDefault }, ...pools] : [...pools];
    for (const p of all) this.pools.set(p.id, { id: p.id, pcpus: [...p.pcpus], policy: p.make(p.pcpus.length) });
  }

  get trace(): SchedTrace | undefined {
    return this.traceFn;
  }

  /** Each pool's trace points, with its pCPU indices turned back into host pCPU ids. */
  set trace(fn: SchedTrace | undefined) {
    this.traceFn = fn;
    for (const pool of this.pools.values()) {
      pool.policy.trace = fn && ((kind, now, f) => fn(kind, now, { ...f, pcpu: f.pcpu !== undefined && f.pcpu >= 0 ? pool.pcpus[f.pcpu] : f.pcpu }));
    }
  }

  /** The pools, in order (the default pool first if it exists), with their host pCPUs and policy. */
  poolList(): { id: string; pcpus: readonly number[]; policy: SchedulerPolicy }[] {
    return [...this.pools.values()].map((p) => ({ id: p.id, pcpus: p.pcpus, policy: p.policy }));
  }

  /** The pool a vCPU is in now. */
  poolOf(key: string): string | undefined {
    return this.members.get(key)?.pool.id;
  }

  add(v: VcpuRef, params: VmSchedParams, now: number): void {
    if (this.members.has(v.key)) throw new Error(`cpupools: vCPU ${v.key} added twice`);
    const pool = this.poolNamed(v, params);
    pool.policy.add(v, this.localParams(v, params, pool, now), now);
    this.members.set(v.key, { pool, asleep: false });
  }

  remove(v: VcpuRef, now: number): void {
    const m = this.members.get(v.key);
    if (!m) return;
    m.pool.policy.remove(v, now);
    this.members.delete(v.key);
  }

  wake(v: VcpuRef, now: number): void {
    const m = this.mustGet(v);
    m.asleep = false;
    m.pool.policy.wake(v, now);
  }

  sleep(v: VcpuRef, now: number): void {
    const m = this.mustGet(v);
    m.asleep = true;
    m.pool.policy.sleep(v, now);
  }

  charge(v: VcpuRef, ranNs: number, now: number): void {
    this.members.get(v.key)?.pool.policy.charge(v, ranNs, now);
  }

  /**
   * Parameters for the vCPU's pool, or (new `pool`) cpupool_move_domain: out of the old pool's
   * policy, into the new one's with its parameters, asleep there if it was asleep.
   */
  setParams(v: VcpuRef, params: VmSchedParams, now: number): void {
    const m = this.mustGet(v);
    const target = this.poolNamed(v, params);
    if (target === m.pool) {
      m.pool.policy.setParams?.(v, this.localParams(v, params, m.pool, now), now);
      return;
    }
    const local = this.localParams(v, params, target, now); // may throw: nothing moved yet
    m.pool.policy.remove(v, now);
    target.policy.add(v, local, now);
    if (m.asleep) target.policy.sleep(v, now);
    this.traceFn?.('cpupool_migrate', now, { vm: v.vm, vcpu: v.vcpu, detail: `${m.pool.id} -> ${target.id}` });
    m.pool = target;
  }

  /** Scheduler-wide parameters go to the default pool's scheduler (`xl sched-* -s` without -p). */
  setSchedulerParams(params: Readonly<Record<string, unknown>>, now: number): void {
    const pool = this.pools.get(DEFAULT_POOL) ?? [...this.pools.values()][0];
    if (!pool.policy.setSchedulerParams) throw new RangeError(`${pool.policy.name} (pool ${pool.id}) has no scheduler-wide parameters`);
    pool.policy.setSchedulerParams(params, now);
  }

  /** Each pool decides for its own pCPUs; the merge is their union, until the earliest `until`. */
  schedule(now: number): Decision {
    const run: (VcpuRef | null)[] = new Array(this.npcpus).fill(null);
    let until = Number.POSITIVE_INFINITY;
    for (const pool of this.pools.values()) {
      const d = pool.policy.schedule(now);
      if (d.run.length !== pool.pcpus.length)
        throw new Error(`cpupools: pool ${pool.id} decided for ${d.run.length} pCPUs, it has ${pool.pcpus.length}`);
      d.run.forEach((v, i) => {
        if (v && this.members.get(v.key)?.pool !== pool) throw new Error(`cpupools: pool ${pool.id} runs ${v.key}, which is not in it`);
        run[pool.pcpus[i]] = v;
      });
      until = Math.min(until, d.until);
    }
    return { run, until };
  }

  /** Where every vCPU is: each pool's queues, pCPUs mapped back to host ids. */
  /** The balance the vCPU's pool's policy keeps (SchedulerPolicy.balance). */
  balance(v: VcpuRef): Readonly<Record<string, number>> | undefined {
    return this.members.get(v.key)?.pool.policy.balance?.(v);
  }

  queues(): { running: (string | null)[]; queued: string[][]; asleep: string[] } {
    const running: (string | null)[] = new Array(this.npcpus).fill(null);
    const queued: string[][] = [];
    const asleep: string[] = [];
    for (const pool of this.pools.values()) {
      const q = pool.policy.queues?.();
      if (!q) continue;
      q.running.forEach((k, i) => (running[pool.pcpus[i]] = k));
      queued.push(...q.queued.map((l) => [...l]));
      asleep.push(...q.asleep);
    }
    return { running, queued, asleep };
  }

  private poolNamed(v: VcpuRef, params: VmSchedParams): Pool {
    const id = params.pool ?? DEFAULT_POOL;
    if (typeof id !== 'string') throw new RangeError(`cpupools: pool of ${v.vm} must be a pool id, got ${JSON.stringify(id)}`);
    const pool = this.pools.get(id);
    if (!pool) {
      const known = [...this.pools.keys()].join(', ');
      throw new RangeError(
        id === DEFAULT_POOL
          ? `cpupools: ${v.vm} names no pool, but every pCPU of the host is in a named pool (${known})`
          : `cpupools: ${v.vm} names unknown pool '${id}' (pools: ${known})`,
      );
    }
    return pool;
  }

  /** The parameters as the pool's policy sees them: `pin` in pool indices, restricted to the pool. */
  private localParams(v: VcpuRef, params: VmSchedParams, pool: Pool, now: number): VmSchedParams {
    const { pool: _pool, pin, ...rest } = params;
    if (!Array.isArray(pin)) return rest;
    const local = pin.map((entry: unknown, i) => {
      if (i !== v.vcpu || !Array.isArray(entry)) return entry;
      const mine = entry.filter((c) => pool.pcpus.includes(c as number)).map((c) => pool.pcpus.indexOf(c as number));
      if (mine.length > 0) return mine;
      this.traceFn?.('affinity_broken', now, {
        vm: v.vm,
        vcpu: v.vcpu,
        detail: `pin ${entry.join(',')} has no pCPU in pool ${pool.id} (${pool.pcpus.join(',')}): reset to the whole pool`,
      });
      return pool.pcpus.map((_, j) => j);
    });
    return { ...rest, pin: local };
  }

  /**
   * Its complete state: each pool's policy state (by pool id, in order) and which pool every vCPU
   * is in. The pool layout itself comes from the parameters the loading policy is built with.
   */
  saveState(): CpupoolState {
    return {
      pools: [...this.pools.values()].map((p) => {
        if (!p.policy.saveState) throw new TypeError(`cpupools: the policy of pool ${p.id} (${p.policy.name}) cannot save its state`);
        return { id: p.id, policy: p.policy.name, state: p.policy.saveState() };
      }),
      members: [...this.members].map(([key, m]) => ({ key, pool: m.pool.id, asleep: m.asleep })),
    };
  }

  /** Continues from saveState's output; TypeError naming the field at fault, changing nothing. */
  loadState(state: unknown): void {
    const fail = (what: string): never => {
      throw new TypeError(`cpupools state: ${what}`);
    };
    const s = state as Partial<CpupoolState> | null;
    if (typeof s !== 'object' || s === null || !Array.isArray(s.pools) || !Array.isArray(s.members))
      return fail('must be {pools: [...], members: [...]}');
    const mine = [...this.pools.values()];
    if (s.pools.length !== mine.length || s.pools.some((p, i) => p?.id !== mine[i].id))
      fail(`pools: the state has pools ${s.pools.map((p) => p?.id).join(', ')}, this host ${mine.map((p) => p.id).join(', ')}`);
    s.pools.forEach((p, i) => {
      if (p.policy !== mine[i].policy.name) fail(`pools[${i}].policy: the state is of ${String(p.policy)}, pool ${p.id} runs ${mine[i].policy.name}`);
      if (!mine[i].policy.loadState) fail(`pools[${i}]: ${mine[i].policy.name} cannot load a state`);
    });
    const members = new Map<string, Member>();
    s.members.forEach((m, i) => {
      if (typeof m?.key !== 'string' || typeof m.asleep !== 'boolean') fail(`members[${i}]: must be {key, pool, asleep}`);
      const pool = this.pools.get(m.pool);
      if (!pool) return fail(`members[${i}].pool: unknown pool ${JSON.stringify(m.pool)}`);
      members.set(m.key, { pool, asleep: m.asleep });
    });
    // Each pool's policy checks its own state before changing anything. A later pool's refusal
    // leaves the earlier ones loaded: loadState is for a policy just made, which is then dropped.
    s.pools.forEach((p, i) => {
      try {
        mine[i].policy.loadState!(p.state);
      } catch (err) {
        fail(`pools[${i}].state (pool ${p.id}): ${(err as Error).message}`);
      }
    });
    this.members.clear();
    for (const [k, m] of members) this.members.set(k, m);
  }

  private mustGet(v: VcpuRef): Member {
    const m = this.members.get(v.key);
    if (!m) throw new Error(`cpupools: unknown vCPU ${v.key}`);
    return m;
  }
}
