// Live migration by pre-copy (Clark et al., NSDI 2005; issue 12 item 3), as the scheduler service
// drives it. All of it happens in virtual time, at host-loop iteration boundaries (hook actions):
//
//   at T on the source host: round 1 sends every non-zero page; a round of B bytes over the link
//   takes latency + B / bandwidth; when it ends the next round sends the pages dirtied meanwhile.
//   Stop-and-copy rule: round n ≥ 2 is the last when its dirty set is at most `stopPages` pages, or
//   n = `maxRounds` (so a VM that dirties pages faster than the link sends them converges only through
//   the round limit). The VM stops at that round's start — its vCPUs leave the source loop — and
//   resumes on the destination when the round has crossed: downtime = latency + B_last / bandwidth.
//
// The destination's loop waits at T (in wall time, never in virtual time) until the source knows
// when the VM resumes, then stops exactly then: both loops meet at explicit points (architecture §4),
// so the result is the same whatever process runs which host. The pages themselves go from the
// source cpu-node to the destination's (libs/executor/src/migration.ts); the scheduler only times them.

import type { DetachedVcpu, HostLoop } from './host-loop';

/** One network link between two hosts (or the scenario's default). */
export interface NetworkLink {
  /** Bytes per second of virtual time. */
  readonly bandwidthBytesPerSec: number;
  readonly latencyNs: number;
}

/** When pre-copy stops (see the header). */
export interface MigrationRule {
  readonly stopPages: number;
  readonly maxRounds: number;
}

/** Xen's xc_domain_save iterates at most 30 times and stops below 50 dirty pages. */
export const DEFAULT_MIGRATION_RULE: MigrationRule = { stopPages: 50, maxRounds: 30 };

export interface MigrationSpec {
  readonly at: number;
  readonly vm: string;
  /** The destination host. */
  readonly to: string;
  readonly link: NetworkLink;
  readonly rule?: Partial<MigrationRule>;
}

/** A migration as the scheduler service is asked for one (`at` omitted: now, on the VM's host). */
export type MigrateArgs = Omit<MigrationSpec, 'at'> & { readonly at?: number };

/** Where a host is simulated. */
export interface HostAt {
  readonly host: string;
  readonly node: string;
}

/** What the migration asks of the cpu-nodes and the hypervisor (the service sends it on the bus). */
export interface MigrationTransport {
  round(vm: string, round: number, from: HostAt, to: HostAt, nowNs: number): Promise<{ pages: number; bytes: number }>;
  resume(vm: string, to: HostAt, nowNs: number): Promise<void>;
  drop(vm: string, from: HostAt, nowNs: number): Promise<void>;
  moved(vm: string, to: HostAt): Promise<void>;
}

/** A migration's figures, in the `migrate-resume` event's detail and the results. */
export interface MigrationSummary {
  readonly vm: string;
  readonly from: string;
  readonly to: string;
  readonly startNs: number;
  readonly rounds: number;
  readonly pages: number;
  readonly bytes: number;
  /** From the start to the resumption on the destination. */
  readonly totalNs: number;
  /** From the stop on the source to the resumption. */
  readonly downtimeNs: number;
  /** Why pre-copy stopped: the dirty set was small, or the round limit. */
  readonly stoppedBy: 'dirty-set' | 'round-limit';
}

export interface MigrationHandle {
  /** The source decided (stop-and-copy, abandoned, or its host stopped). */
  settled(): boolean;
  readonly resumeNs: Promise<number | null>;
}

interface Landing {
  readonly stopNs: number;
  readonly resumeNs: number;
  readonly vcpus: DetachedVcpu[];
  readonly summary: Omit<MigrationSummary, 'totalNs' | 'downtimeNs'>;
}

interface InFlight {
  readonly spec: MigrationSpec;
  readonly rule: MigrationRule;
  readonly from: HostAt;
  readonly to: HostAt;
  readonly src: HostLoop;
  readonly dst: HostLoop;
  settled: boolean;
  settle: (l: Landing | null) => void;
  readonly landing: Promise<Landing | null>;
  pages: number;
  bytes: number;
}

/** Checks a link (as the scenario validator does), naming the field at fault. */
export function checkLink(link: NetworkLink, where = 'network'): void {
  if (!(Number.isFinite(link.bandwidthBytesPerSec) && link.bandwidthBytesPerSec > 0))
    throw new RangeError(`${where}.bandwidth must be a positive number of bytes per second, got ${link.bandwidthBytesPerSec}`);
  if (!(Number.isSafeInteger(link.latencyNs) && link.latencyNs >= 0))
    throw new RangeError(`${where}.latency must be a non-negative integer of ns, got ${link.latencyNs}`);
}

export function transferNs(link: NetworkLink, bytes: number): number {
  return link.latencyNs + Math.ceil((bytes * 1e9) / link.bandwidthBytesPerSec);
}

/** The migrations of one simulation (one per SchedulerService). */
export class Migrations {
  private readonly inFlight = new Map<string, InFlight>();
  /** Per destination host held at a migration's start: the source host it waits for (deadlock check). */
  private readonly waitsFor = new Map<string, string>();
  private endNs = Number.POSITIVE_INFINITY;
  readonly done: MigrationSummary[] = [];

  constructor(
    private readonly transport: MigrationTransport,
    /** The VM now lives on `host` (the service's VM → host map). */
    private readonly onMoved: (vm: string, host: string) => void,
  ) {}

  /** The run's end: a migration that would resume after it is abandoned (the VM stays). */
  setEnd(endNs: number): void {
    this.endNs = endNs;
  }

  isMigrating(vm: string): boolean {
    return this.inFlight.has(vm);
  }

  /**
   * Schedules a migration on both loops (validated by the caller: VM, hosts, link). Returns what a
   * caller may watch: whether the stop-and-copy was decided yet, and when the VM resumes (null: it
   * stays, abandoned or its host stopped).
   */
  start(spec: MigrationSpec, from: HostAt, to: HostAt, src: HostLoop, dst: HostLoop): MigrationHandle {
    if (this.inFlight.has(spec.vm)) throw new RangeError(`VM ${spec.vm} is already migrating`);
    if (from.host === to.host) throw new RangeError(`VM ${spec.vm} is already on host ${to.host}`);
    checkLink(spec.link);
    for (const [loop, what] of [
      [src, `its host ${from.host}`],
      [dst, `host ${to.host}`],
    ] as const)
      if (loop.finished) throw new RangeError(`VM ${spec.vm} cannot migrate: ${what} has stopped (every VM on it ended, or the run reached its end)`);
    const rule = { ...DEFAULT_MIGRATION_RULE, ...spec.rule };
    if (!(Number.isSafeInteger(rule.maxRounds) && rule.maxRounds >= 1))
      throw new RangeError(`migration.maxRounds must be an integer ≥ 1, got ${rule.maxRounds}`);
    if (!(Number.isSafeInteger(rule.stopPages) && rule.stopPages >= 0))
      throw new RangeError(`migration.stopPages must be an integer ≥ 0, got ${rule.stopPages}`);
    let settle!: (l: Landing | null) => void;
    const landing = new Promise<Landing | null>((r) => (settle = r));
    const m: InFlight = { spec, rule, from, to, src, dst, settled: false, settle, landing, pages: 0, bytes: 0 };
    const finish = (l: Landing | null) => {
      if (m.settled) return;
      m.settled = true;
      settle(l);
    };
    m.settle = finish;
    this.inFlight.set(spec.vm, m);
    src.addAction({ kind: 'hook', at: spec.at, label: `migration of ${spec.vm}`, run: () => this.begin(m) });
    dst.addAction({ kind: 'hook', at: spec.at, label: `migration of ${spec.vm} (arrival)`, run: () => this.arrive(m) });
    return { settled: () => m.settled, resumeNs: landing.then((l) => (l ? l.resumeNs : null)) };
  }

  /** The source host's loop ended: its migrations that did not stop-and-copy yet never will. */
  hostEnded(host: string): void {
    for (const m of this.inFlight.values()) if (m.from.host === host) m.settle(null);
  }

  private async begin(m: InFlight): Promise<void> {
    const { spec, src } = m;
    const detail = { to: spec.to, bandwidth: spec.link.bandwidthBytesPerSec, latencyNs: spec.link.latencyNs, ...m.rule };
    src.note({ kind: 'migrate-start', vm: spec.vm, detail: JSON.stringify(detail) });
    await this.round(m, 1);
  }

  /** Round `n` at the source's current time: send, then either go on or stop-and-copy. */
  private async round(m: InFlight, n: number): Promise<void> {
    const { spec, src } = m;
    const now = src.virtualNow;
    const sent = await this.transport.round(spec.vm, n, m.from, m.to, now);
    m.pages += sent.pages;
    m.bytes += sent.bytes;
    const ns = transferNs(spec.link, sent.bytes);
    const last = n === m.rule.maxRounds || (n >= 2 && sent.pages <= m.rule.stopPages);
    if (!last) {
      src.note({
        kind: 'migrate-round',
        vm: spec.vm,
        value: sent.pages,
        detail: JSON.stringify({ round: n, pages: sent.pages, bytes: sent.bytes, ns }),
      });
      src.addAction({ kind: 'hook', at: now + ns, label: `migration of ${spec.vm}`, run: () => this.round(m, n + 1) });
      return;
    }
    if (now + ns >= this.endNs) {
      // It would resume after the run ends: the VM stays (the pages sent are forgotten).
      src.note({ kind: 'migrate-abandoned', vm: spec.vm, detail: `would resume at ${now + ns} ns, after the run's end` });
      m.settle(null);
      return;
    }
    const stoppedBy = sent.pages <= m.rule.stopPages && n >= 2 ? 'dirty-set' : 'round-limit';
    src.note({
      kind: 'migrate-stop',
      vm: spec.vm,
      value: sent.pages,
      detail: JSON.stringify({ round: n, pages: sent.pages, bytes: sent.bytes, ns, stoppedBy }),
    });
    const vcpus = src.detachVm(spec.vm);
    await this.transport.drop(spec.vm, m.from, now);
    m.settle({
      stopNs: now,
      resumeNs: now + ns,
      vcpus,
      summary: { vm: spec.vm, from: m.from.host, to: m.to.host, startNs: spec.at, rounds: n, pages: m.pages, bytes: m.bytes, stoppedBy },
    });
  }

  /** On the destination, at the start time: wait for the source to say when the VM resumes here. */
  private async arrive(m: InFlight): Promise<void> {
    const dstHost = m.to.host;
    this.waitsFor.set(dstHost, m.from.host);
    for (let h: string | undefined = m.from.host, hops = 0; h !== undefined && hops <= this.waitsFor.size; h = this.waitsFor.get(h), hops++) {
      if (h === dstHost && !m.settled) {
        this.waitsFor.delete(dstHost);
        throw new Error(
          `migration of ${m.spec.vm} from ${m.from.host} to ${dstHost}: the hosts wait for each other's migrations (a cycle); migrate one way at a time`,
        );
      }
    }
    const l = await m.landing;
    this.waitsFor.delete(dstHost);
    if (!l) {
      this.inFlight.delete(m.spec.vm);
      return;
    }
    m.dst.addAction({ kind: 'hook', at: l.resumeNs, label: `migration of ${m.spec.vm} (resume)`, run: () => this.resume(m, l) });
  }

  private async resume(m: InFlight, l: Landing): Promise<void> {
    const now = m.dst.virtualNow;
    await this.transport.moved(m.spec.vm, m.to);
    await this.transport.resume(m.spec.vm, m.to, now);
    m.dst.attachVm(l.vcpus, now - l.stopNs);
    const summary: MigrationSummary = { ...l.summary, totalNs: now - l.summary.startNs, downtimeNs: now - l.stopNs };
    m.dst.note({ kind: 'migrate-resume', vm: m.spec.vm, value: summary.downtimeNs, detail: JSON.stringify(summary) });
    this.done.push(summary);
    this.inFlight.delete(m.spec.vm);
    this.onMoved(m.spec.vm, m.to.host);
  }
}
