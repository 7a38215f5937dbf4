// What the gateway lists (listing.proto): the caller's simulations (`vsim list`), and a
// simulation's domains, vCPUs and cpupools (`vsim list --sim`, `vsim vcpu-list`, `vsim
// cpupool-list`), as xl lists a Xen host's. Everything comes from what the gateway already holds:
// the scenario (hosts, pools, VMs and their parameters), the events it collected (who runs where,
// blocks, wakes, halts, CPU time, the parameters set since) and, while the simulation runs, the
// scheduler's current parameters (which include calls its loops have not applied yet, so a
// `vcpu-pin` shows at once, as xl shows what was set).

import { CpupoolInfo, DomainInfo, DomainList, Event, HostSchedParams, SchedParams, SimulationSummary, VcpuInfo, compareEvents } from '@vsim/proto';
import { schedulerSpecOf, vmSchedParamsOf } from '@vsim/control';
import type { Simulation } from './gateway';

/** The id of the pool of the pCPUs no other pool claims (the scheduler's DEFAULT_POOL, Xen's Pool-0). */
export const DEFAULT_POOL = 'default';

/** The policy name of a host split into cpupools (the scheduler's CPUPOOLS_POLICY). */
const CPUPOOLS_POLICY = 'cpupools';

export function simulationSummary(sim: Simulation): SimulationSummary {
  return {
    sim: sim.id,
    name: sim.spec.name,
    state: sim.state,
    virtualNs: Math.max(0, ...sim.hostNs.values()),
    durationNs: sim.spec.durationNs,
    hosts: sim.spec.hosts.length,
    vms: sim.spec.vms.length,
    submittedAtMs: sim.timing.submittedAt,
    error: sim.error,
  };
}

interface PolicySpecLike {
  readonly policy: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** One host's pools: the scenario's (or, live, the scheduler's after any swap), default first. */
function poolsOf(host: string, pcpus: number, spec: PolicySpecLike): CpupoolInfo[] {
  if (spec.policy !== CPUPOOLS_POLICY) return [{ host, pool: DEFAULT_POOL, scheduler: spec.policy, pcpus: range(pcpus) }];
  const p = spec.params as { default?: PolicySpecLike; pools?: readonly { id: string; pcpus: readonly number[]; scheduler: PolicySpecLike }[] };
  const named = p.pools ?? [];
  const claimed = new Set(named.flatMap((q) => q.pcpus));
  return [
    { host, pool: DEFAULT_POOL, scheduler: p.default?.policy ?? '', pcpus: range(pcpus).filter((c) => !claimed.has(c)) },
    ...named.map((q) => ({ host, pool: q.id, scheduler: q.scheduler.policy, pcpus: [...q.pcpus].sort((a, b) => a - b) })),
  ];
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

interface VcpuTrack {
  pcpu: number;
  running: boolean;
  blocked: boolean;
  cpuNs: number;
}

/** What a host runs, as its scheduler service says (one that gives no parameters, as an external one may: none). */
function liveSpec(l: HostSchedParams): PolicySpecLike {
  return l.scheduler ? schedulerSpecOf(l.scheduler, `hosts[${l.host}].scheduler`) : { policy: l.policy, params: {} };
}

/**
 * The domains, vCPUs and cpupools of `sim`. `live` is the scheduler's GetSchedParams while the
 * simulation runs (undefined otherwise: then the parameters are the scenario's with every `set`
 * event folded in).
 */
export function domainList(sim: Simulation, live?: SchedParams): DomainList {
  const liveHost = new Map((live?.hosts ?? []).map((h) => [h.host, h]));
  const liveVm = new Map((live?.vms ?? []).map((v) => [v.vm, v]));
  const resultVm = new Map((sim.result?.vms ?? []).map((v) => [v.id, v]));

  const pools: CpupoolInfo[] = [];
  for (const h of sim.spec.hosts) {
    const l = liveHost.get(h.id);
    const spec: PolicySpecLike = l
      ? liveSpec(l)
      : h.pools && h.pools.length > 0
        ? { policy: CPUPOOLS_POLICY, params: { default: sim.spec.scheduler, pools: h.pools } }
        : sim.spec.scheduler;
    pools.push(...poolsOf(h.id, h.pcpus, spec));
  }

  // Replay the events in their canonical order (each host's arrive in order, but node and sched
  // events of one host in separate batches).
  const events = [...sim.events].sort(compareEvents);
  const vcpus = new Map<string, VcpuTrack>();
  const onPcpu = new Map<string, string>(); // host/pcpu -> vm/vcpu key
  const params = new Map(sim.spec.vms.map((v) => [v.id, { ...v.sched } as Record<string, unknown>]));
  const paused = new Set<string>();
  const shutdown = new Map<string, string>();
  const hostOf = new Map<string, string>();
  const track = (vm: string, vcpu: number): VcpuTrack => {
    const key = `${vm}/${vcpu}`;
    let t = vcpus.get(key);
    if (!t) vcpus.set(key, (t = { pcpu: -1, running: false, blocked: false, cpuNs: 0 }));
    return t;
  };
  for (const e of events) {
    if (e.vm !== '' && !hostOf.has(e.vm)) hostOf.set(e.vm, e.host);
    applyEvent(e, { track, onPcpu, params, paused, shutdown });
  }

  const domains: DomainInfo[] = sim.spec.vms.map((v, i) => {
    const lv = liveVm.get(v.id);
    const p = lv ? vmSchedParamsOf(lv.params) : (params.get(v.id) ?? {});
    const host = lv?.host || resultVm.get(v.id)?.host || v.host || hostOf.get(v.id) || '';
    const pool = typeof p.pool === 'string' ? p.pool : DEFAULT_POOL;
    const poolInfo = pools.find((q) => q.host === host && q.pool === pool);
    const pin = Array.isArray(p.pin) ? (p.pin as unknown[]) : [];
    const down = shutdown.get(v.id) ?? '';
    return {
      vm: v.id,
      id: i + 1,
      host,
      memoryBytes: v.memoryBytes,
      pool,
      scheduler: poolInfo?.scheduler ?? '',
      paused: paused.has(v.id),
      shutdown: down,
      vcpus: Array.from({ length: v.vcpus }, (_, n): VcpuInfo => {
        const t = vcpus.get(`${v.id}/${n}`);
        const entry = pin[n];
        return {
          vcpu: n,
          pcpu: t?.pcpu ?? -1,
          online: down === '',
          running: down === '' && (t?.running ?? false),
          blocked: down === '' && (t?.blocked ?? false),
          cpuNs: t?.cpuNs ?? 0,
          affinity: Array.isArray(entry) ? entry.filter((c): c is number => Number.isInteger(c)).sort((a, b) => a - b) : [],
        };
      }),
    };
  });
  return { domains, pools };
}

interface ReplayState {
  track(vm: string, vcpu: number): VcpuTrack;
  readonly onPcpu: Map<string, string>;
  readonly params: Map<string, Record<string, unknown>>;
  readonly paused: Set<string>;
  readonly shutdown: Map<string, string>;
}

/** One event's effect on what the listing shows (docs/events.md gives each kind's meaning). */
function applyEvent(e: Event, s: ReplayState): void {
  switch (e.kind) {
    case 'schedule': {
      // pCPU e.pcpu now runs e.vm/e.vcpu (or idles): whoever ran there before stops running.
      const slot = `${e.host}/${e.pcpu}`;
      const before = s.onPcpu.get(slot);
      if (before !== undefined) {
        const [vm, vcpu] = splitKey(before);
        const t = s.track(vm, vcpu);
        if (t.pcpu === e.pcpu) t.running = false;
      }
      if (e.vm === '') {
        s.onPcpu.delete(slot);
        return;
      }
      const t = s.track(e.vm, e.vcpu);
      t.pcpu = e.pcpu;
      t.running = true;
      s.onPcpu.set(slot, `${e.vm}/${e.vcpu}`);
      return;
    }
    case 'run':
      s.track(e.vm, e.vcpu).cpuNs += e.value;
      return;
    case 'block': {
      const t = s.track(e.vm, e.vcpu);
      t.blocked = true;
      t.running = false;
      return;
    }
    case 'wake':
      if (e.vcpu >= 0) s.track(e.vm, e.vcpu).blocked = false;
      return;
    case 'halt':
      s.shutdown.set(e.vm, 'halted');
      return;
    case 'fault':
      s.shutdown.set(e.vm, 'faulted');
      return;
    case 'pause':
      s.paused.add(e.vm);
      return;
    case 'unpause':
      s.paused.delete(e.vm);
      return;
    case 'set': {
      try {
        const changed = JSON.parse(e.detail) as Record<string, unknown>;
        s.params.set(e.vm, { ...s.params.get(e.vm), ...changed });
      } catch {
        // a detail that is not JSON changes nothing shown here
      }
      return;
    }
  }
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

/** domainList with the scheduler's current parameters while the simulation runs. */
export async function listDomains(sim: Simulation): Promise<DomainList> {
  const live =
    sim.control && (sim.state === 'running' || sim.state === 'paused')
      ? await sim.control.scheduler.getSchedParams({ sim: sim.id }).catch(() => undefined) // it may just have ended
      : undefined;
  return domainList(sim, live);
}
