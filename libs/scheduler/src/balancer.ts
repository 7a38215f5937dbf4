// Load balancing across hosts (issue 12 item 4; in the spirit of VMware DRS and OpenStack Watcher):
// every `periodNs` of virtual time the hosts meet at a barrier, each host's load is the CPU time
// its vCPUs wanted in the period (running + waiting) over its capacity (pCPUs × period), and when
// the most and the least loaded hosts differ by more than `threshold`, one VM moves from the first
// to the second by live migration (migration.ts): the VM that best evens the two out (ties: its
// id), and only if the move narrows the gap. One balancer migration at a time: a barrier that falls
// while one is in flight (started, not yet resumed) is skipped by every host.
//
// Determinism: a decision uses the loads of every live host at the same virtual time, so every
// host waits at the barrier (in wall time) until all have arrived or stopped; whether a barrier
// falls while a migration is in flight is decided by virtual times alone (the source host reaching
// the barrier before its stop-and-copy, or the resume time), never by which process is faster.

import type { HostLoop } from './host-loop';
import type { HostAt, MigrationHandle, MigrationRule, NetworkLink } from './migration';

export interface BalancerSpec {
  readonly periodNs: number;
  /** Load difference (0..n, 1 = a host's whole capacity) beyond which a VM moves. */
  readonly threshold: number;
  /** The link between two hosts. */
  readonly link: (from: string, to: string) => NetworkLink;
  readonly rule?: Partial<MigrationRule>;
}

/** What the balancer needs of the scheduler service. */
export interface BalancerHosts {
  readonly loops: ReadonlyMap<string, HostLoop>;
  pcpus(host: string): number;
  hostAt(host: string): HostAt;
  isMigrating(vm: string): boolean;
  startMigration(vm: string, from: string, to: string, at: number, link: NetworkLink, rule?: Partial<MigrationRule>): MigrationHandle;
}

export function checkBalancer(spec: Pick<BalancerSpec, 'periodNs' | 'threshold'>): void {
  if (!(Number.isSafeInteger(spec.periodNs) && spec.periodNs > 0))
    throw new RangeError(`balancer.period must be a positive integer of ns, got ${spec.periodNs}`);
  if (!(Number.isFinite(spec.threshold) && spec.threshold > 0))
    throw new RangeError(`balancer.threshold must be a positive number, got ${spec.threshold}`);
}

interface Barrier {
  readonly arrived: Set<string>;
  readonly done: Promise<void>;
  open: () => void;
}

export class Balancer {
  /** Per vCPU, the demand it had at the last barrier (the figures travel with a migrating vCPU). */
  private readonly seen = new Map<string, number>();
  private readonly live: Set<string>;
  private readonly barriers = new Map<number, Barrier>();
  private current: { handle: MigrationHandle; source: string; passed: Set<number>; passedAt: Map<number, () => void> } | undefined;

  constructor(
    private readonly spec: BalancerSpec,
    private readonly hosts: BalancerHosts,
  ) {
    checkBalancer(spec);
    this.live = new Set(hosts.loops.keys());
  }

  /** Adds the first barrier to every host's loop (before the run). */
  arm(): void {
    for (const [host, loop] of this.hosts.loops) this.schedule(host, loop, this.spec.periodNs);
  }

  private schedule(host: string, loop: HostLoop, at: number): void {
    loop.addAction({ kind: 'hook', at, label: 'load balancing', run: () => this.atBarrier(host, loop, at) });
  }

  /** A host's loop stopped: it no longer takes part in barriers. */
  hostEnded(host: string): void {
    this.live.delete(host);
    for (const [t, b] of this.barriers) this.check(t, b);
  }

  private async atBarrier(host: string, loop: HostLoop, t: number): Promise<void> {
    this.schedule(host, loop, t + this.spec.periodNs);
    if (await this.inFlightAt(host, t)) return;
    const b = this.barrier(t);
    b.arrived.add(host);
    this.check(t, b);
    await b.done;
  }

  /** Whether the balancer's migration is in flight at virtual time t (the same answer on every host). */
  private async inFlightAt(host: string, t: number): Promise<boolean> {
    const m = this.current;
    if (!m) return false;
    if (host === m.source && !m.handle.settled()) {
      m.passed.add(t);
      m.passedAt.get(t)?.();
      return true;
    }
    if (m.passed.has(t)) return true;
    const passed = new Promise<'passed'>((r) => m.passedAt.set(t, () => r('passed')));
    const outcome = await Promise.race([m.handle.resumeNs, passed]);
    if (outcome === 'passed') return true;
    return outcome !== null && outcome > t;
  }

  private barrier(t: number): Barrier {
    let b = this.barriers.get(t);
    if (!b) {
      let open!: () => void;
      const done = new Promise<void>((r) => (open = r));
      b = { arrived: new Set(), done, open };
      this.barriers.set(t, b);
    }
    return b;
  }

  private check(t: number, b: Barrier): void {
    if (b.arrived.size === 0 || ![...this.live].every((h) => b.arrived.has(h))) return;
    this.barriers.delete(t);
    this.decide(t, [...b.arrived].sort());
    b.open();
  }

  /** Every live host is at t: measure, and move one VM if the loads diverge beyond the threshold. */
  private decide(t: number, hosts: string[]): void {
    const loads = new Map<string, number>();
    const vmDemand = new Map<string, Map<string, number>>(); // host -> vm -> ns in the period
    for (const h of hosts) {
      const per = new Map<string, number>();
      let sum = 0;
      for (const [key, d] of this.hosts.loops.get(h)!.demand()) {
        const delta = d.ns - (this.seen.get(key) ?? 0);
        this.seen.set(key, d.ns);
        sum += delta;
        per.set(d.vm, (per.get(d.vm) ?? 0) + delta);
      }
      vmDemand.set(h, per);
      loads.set(h, sum / (this.hosts.pcpus(h) * this.spec.periodNs));
    }
    // (A barrier decides only when no balancer migration is in flight at t: the last one, if any, landed.)
    const byLoad = [...hosts].sort((a, b) => loads.get(b)! - loads.get(a)! || (a < b ? -1 : 1));
    const from = byLoad[0];
    const to = byLoad[byLoad.length - 1];
    const gap = loads.get(from)! - loads.get(to)!;
    if (from === to || gap <= this.spec.threshold) return;
    const capFrom = this.hosts.pcpus(from) * this.spec.periodNs;
    const capTo = this.hosts.pcpus(to) * this.spec.periodNs;
    let best: { vm: string; after: number } | undefined;
    for (const [vm, d] of [...vmDemand.get(from)!].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (d <= 0 || this.hosts.isMigrating(vm)) continue;
      const after = Math.abs(loads.get(from)! - d / capFrom - (loads.get(to)! + d / capTo));
      if (after < gap && (!best || after < best.after)) best = { vm, after };
    }
    const src = this.hosts.loops.get(from)!;
    const detail = {
      loads: Object.fromEntries(hosts.map((h) => [h, Number(loads.get(h)!.toFixed(4))])),
      threshold: this.spec.threshold,
      ...(best ? { vm: best.vm, from, to } : { from, to, vm: null }),
    };
    src.note({ kind: 'balance', vm: best?.vm ?? '', detail: JSON.stringify(detail) });
    if (!best) return;
    const handle = this.hosts.startMigration(best.vm, from, to, t, this.spec.link(from, to), this.spec.rule);
    const m = { handle, source: from, passed: new Set<number>(), passedAt: new Map<number, () => void>() };
    // Kept as the last one: barriers after t ask it whether it is still in flight (never cleared in
    // wall time, which would make the answer depend on which host asks first).
    this.current = m;
  }
}
