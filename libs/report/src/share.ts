// CPU share over time, measured and entitled, per VM, in pCPUs (1 = one whole pCPU).
//
// Measured: the VM's run segments cut into equal time bins. Entitled: what the VM's scheduling
// parameters give it if every VM on its host (in its cpupool) wanted CPU all the time — the
// host's pCPUs shared out by weight (Credit, Credit2; round robin: equally), each VM held to at
// most its vCPU count and its cap (% of one pCPU), what a held VM leaves over going to the others
// (water-filling); under RTDS and SEDF, its reservation: vCPUs x budget / period. It changes when
// the log says so: `set` (new parameters, a cpupool move), `swap-scheduler`, `pause`/`unpause`,
// and a VM's `halt`/`fault` (it stops competing). Hard affinity (`pin`) is not modelled.

import type { Event } from '@vsim/proto';
import {
  CSCHED_DEFAULT_WEIGHT,
  RTDS_DEFAULT_BUDGET_NS,
  RTDS_DEFAULT_PERIOD_NS,
  SEDF_DEFAULT_PERIOD_NS,
  SEDF_DEFAULT_SLICE_NS,
} from '@vsim/scheduler';
import type { SimResult } from '@vsim/control';
import { jsonObject } from './json';
import type { Segment } from './segments';

/** [time ns, pCPUs] points: a step function (the value holds until the next point). */
export type Steps = [number, number][];

/** Measured share per bin: bin `i` covers [i*binNs, (i+1)*binNs). */
export function measuredShare(segments: readonly Segment[], vm: string, endNs: number, binNs: number): number[] {
  const bins = new Array<number>(Math.max(1, Math.ceil(endNs / binNs))).fill(0);
  for (const s of segments) {
    if (s.vm !== vm) continue;
    let t = s.startNs;
    const end = s.startNs + s.ns;
    while (t < end) {
      const i = Math.floor(t / binNs);
      const next = Math.min(end, (i + 1) * binNs);
      if (i < bins.length) bins[i] += next - t;
      t = next;
    }
  }
  return bins.map((ns) => ns / binNs);
}

interface VmState {
  params: Record<string, unknown>;
  alive: boolean;
  paused: boolean;
}

/** The event kinds that change an entitlement (the branches below). */
const ENTITLEMENT_KINDS = new Set(['set', 'halt', 'fault', 'pause', 'unpause', 'kill-host', 'swap-scheduler']);

/** Entitlement over time of every VM of `host`, as steps from 0 to the host's end. */
export function entitlements(result: SimResult, events: readonly Event[], host: string): Map<string, Steps> {
  const h = result.hosts.find((x) => x.id === host)!;
  const vms = result.vms.filter((v) => v.host === host);
  const state = new Map<string, VmState>(vms.map((v) => [v.id, { params: { ...(v.params ?? {}) }, alive: true, paused: false }]));
  let policy = result.scheduler?.policy ?? 'credit';
  const out = new Map<string, Steps>(vms.map((v) => [v.id, []]));
  const record = (t: number): void => {
    const e = entitledNow(result, host, policy, state);
    for (const v of vms) {
      const steps = out.get(v.id)!;
      const value = e.get(v.id) ?? 0;
      if (steps.length > 0 && steps[steps.length - 1][0] === t) steps[steps.length - 1][1] = value;
      else if (steps.length === 0 || steps[steps.length - 1][1] !== value) steps.push([t, value]);
    }
  };
  record(0);
  for (const e of events) {
    if (e.host !== host || !ENTITLEMENT_KINDS.has(e.kind)) continue;
    const s = e.vm ? state.get(e.vm) : undefined;
    if (e.kind === 'set' && s) Object.assign(s.params, jsonObject(e.detail));
    else if ((e.kind === 'halt' || e.kind === 'fault') && s) s.alive = false;
    else if (e.kind === 'pause' && s) s.paused = true;
    else if (e.kind === 'unpause' && s) s.paused = false;
    else if (e.kind === 'kill-host') for (const x of state.values()) x.alive = false;
    else if (e.kind === 'swap-scheduler') policy = String((jsonObject(e.detail) as { policy?: unknown }).policy ?? policy);
    else continue;
    record(e.timeNs);
  }
  for (const steps of out.values())
    if (steps.length === 0 || steps[steps.length - 1][0] < h.endNs) steps.push([h.endNs, steps[steps.length - 1]?.[1] ?? 0]);
  return out;
}

/** The pools of a host now: id -> pCPU count and policy (one pool `default` without cpupools). */
function poolsOf(result: SimResult, host: string, policy: string): Map<string, { pcpus: number; policy: string }> {
  const h = result.hosts.find((x) => x.id === host)!;
  const pools = new Map<string, { pcpus: number; policy: string }>();
  const claimed = (h.pools ?? []).reduce((a, p) => a + p.pcpus.length, 0);
  if (h.pcpus - claimed > 0) pools.set('default', { pcpus: h.pcpus - claimed, policy });
  for (const p of h.pools ?? []) pools.set(p.id, { pcpus: p.pcpus.length, policy: p.scheduler.policy });
  return pools;
}

function entitledNow(result: SimResult, host: string, policy: string, state: ReadonlyMap<string, VmState>): Map<string, number> {
  const out = new Map<string, number>();
  const pools = poolsOf(result, host, policy);
  for (const [poolId, pool] of pools) {
    const members = result.vms.filter((v) => {
      const s = state.get(v.id)!;
      return v.host === host && s.alive && !s.paused && String(s.params.pool ?? 'default') === poolId;
    });
    if (pool.policy === 'rtds' || pool.policy === 'sedf') {
      for (const v of members) out.set(v.id, Math.min(v.vcpus, pool.pcpus) * reservation(pool.policy, state.get(v.id)!.params));
      continue;
    }
    const claims = members.map((v) => {
      const p = state.get(v.id)!.params;
      const cap = typeof p.cap === 'number' && p.cap > 0 ? p.cap / 100 : Number.POSITIVE_INFINITY;
      const weight = pool.policy === 'round-robin' ? 1 : typeof p.weight === 'number' ? p.weight : CSCHED_DEFAULT_WEIGHT;
      return { id: v.id, weight, limit: Math.min(v.vcpus, cap, pool.pcpus) };
    });
    for (const [id, value] of waterFill(pool.pcpus, claims)) out.set(id, value);
  }
  return out;
}

/** Budget over period of an RTDS or SEDF VM's parameters (the policies' defaults where absent). */
function reservation(policy: string, p: Record<string, unknown>): number {
  const num = (k: string, d: number) => (typeof p[k] === 'number' ? (p[k] as number) : d);
  return policy === 'rtds'
    ? num('budget', RTDS_DEFAULT_BUDGET_NS) / num('period', RTDS_DEFAULT_PERIOD_NS)
    : num('slice', SEDF_DEFAULT_SLICE_NS) / num('period', SEDF_DEFAULT_PERIOD_NS);
}

/** Shares `capacity` out in proportion to weight, none above its limit, the surplus to the rest. */
export function waterFill(capacity: number, claims: readonly { id: string; weight: number; limit: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  let left = capacity;
  let open = claims.filter((c) => c.weight > 0 && c.limit > 0);
  while (open.length > 0 && left > 1e-12) {
    const total = open.reduce((a, c) => a + c.weight, 0);
    const held = open.filter((c) => (left * c.weight) / total >= c.limit - (out.get(c.id) ?? 0));
    if (held.length === 0) {
      for (const c of open) out.set(c.id, (out.get(c.id) ?? 0) + (left * c.weight) / total);
      break;
    }
    for (const c of held) {
      left -= c.limit - (out.get(c.id) ?? 0);
      out.set(c.id, c.limit);
    }
    open = open.filter((c) => !held.includes(c));
  }
  for (const c of claims) if (!out.has(c.id)) out.set(c.id, 0);
  return out;
}
