// The report's data: everything the page draws, computed here from the results and the event log
// (the page only lays it out). Times are virtual ns; shares are in pCPUs. Repeated strings (VM
// ids, causes, kinds) go through one string table so a long run's data stays compact.

import type { Event } from '@vsim/proto';
import type { SimResult } from '@vsim/control';
import { checkSums, Segment, segmentsOf, SumCheck } from './segments';
import { entitlements, measuredShare, Steps } from './share';

/** Share-over-time resolution: bins per host run. */
const SHARE_BINS = 400;

/** [pcpu, startNs, ns, vm (string index), vcpu, latencyNs or -1, balance (string index of JSON, or -1)] */
export type SegmentRow = [number, number, number, number, number, number, number];
/** [timeNs, pcpu, vm, vcpu, kind, cause, route] — vm, kind, cause, route are string indices. */
export type ExitRow = [number, number, number, number, number, number, number];
/** [timeNs, pcpu (-1: none), kind, vm (-1: none), vcpu, detail] — kind, vm, detail are string indices. */
export type MarkRow = [number, number, number, number, number, number];

export interface HostData {
  readonly id: string;
  readonly pcpus: number;
  readonly clockHz: number;
  readonly endNs: number;
  readonly policy: string;
  readonly segments: SegmentRow[];
  readonly exits: ExitRow[];
  /** Scheduler decisions and state changes: sched.* trace points, block, wake, halt, pause, set, swap… */
  readonly marks: MarkRow[];
  readonly binNs: number;
}

export interface VmData {
  readonly id: string;
  readonly host: string;
  readonly vcpus: number;
  readonly cpuNs: number;
  readonly technique: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly state: string;
  /** Measured share per bin of its host (pCPUs). */
  readonly share: number[];
  readonly entitlement: Steps;
  /** Per vCPU: running, runnable, blocked, offline ns (the results' runstates). */
  readonly runstates: { vcpu: number; running: number; runnable: number; blocked: number; offline: number }[];
  /** Wake-up latencies, ascending (from the run segments: the results' samples). */
  readonly latencies: number[];
  readonly deadlineMisses: { timeNs: number; detail: string }[];
  readonly deadlineMissCount: number;
  /** Exits by "kind cause route/how" (the results' exitRoutes). */
  readonly exitRoutes: Readonly<Record<string, number>>;
  readonly instructions: number;
}

export interface ReportData {
  readonly title: string;
  readonly name: string;
  readonly seed: number;
  readonly durationNs: number;
  readonly scheduler: string;
  readonly eventLogHash: string;
  readonly strings: string[];
  readonly hosts: HostData[];
  readonly vms: VmData[];
  /** Per VM: its bars' sum against its CPU time in the results. */
  readonly sums: SumCheck[];
  /** VMs compared against the native one (techniques side by side), if the scenario has one. */
  readonly techniques: { vm: string; technique: string; cpuNs: number; overhead: number; exits: number }[];
  readonly notes: string[];
}

class Strings {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  of(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

/**
 * Event kinds drawn as marks on the Gantt beside every `sched.*` trace point (block and wake are
 * not: a segment's end and the next one's start show them, and they would bury the rest).
 */
const MARK_KINDS = new Set([
  'halt',
  'fault',
  'pause',
  'unpause',
  'set',
  'set-scheduler',
  'swap-scheduler',
  'kill-host',
  'ipi',
  'hart-start',
  'hart-stop',
]);

export function buildReportData(result: SimResult, events: readonly Event[], title?: string): ReportData {
  const str = new Strings();
  const segments = segmentsOf(events);
  const notes: string[] = [];
  if (segments.length === 0 && result.vms.some((v) => v.cpuNs > 0)) {
    notes.push(
      'The event log has no `run` events (its scheduler does not record run segments, or it predates them): the Gantt and the share over time are empty; the figures from the results are shown.',
    );
  }
  // One pass each over the segments and the events, by host (a host's rows, then its exits and
  // marks, go through the string table in the order they always have).
  const segmentsOfHost = groupBy(segments, (s) => s.host);
  const eventsOfHost = groupBy(events, (e) => e.host);
  const routes = new Map<string, number>(); // "route\0path" -> string index of "route/path"
  const hosts = result.hosts.map((h): HostData => {
    const rows: SegmentRow[] = (segmentsOfHost.get(h.id) ?? []).map((s) => {
      const vm = str.of(s.vm);
      const balance = hasKeys(s.balance) ? str.of(JSON.stringify(s.balance)) : -1;
      return [s.pcpu, s.startNs, s.ns, vm, s.vcpu, s.latencyNs ?? -1, balance];
    });
    const exits: ExitRow[] = [];
    const marks: MarkRow[] = [];
    for (const e of eventsOfHost.get(h.id) ?? []) {
      if (e.kind === 'trap' || e.kind === 'hypercall') {
        const vm = str.of(e.vm);
        const kind = str.of(e.kind);
        const cause = str.of(e.cause);
        const key = `${e.route}\u0000${e.path}`;
        let route = routes.get(key);
        if (route === undefined) routes.set(key, (route = str.of(`${e.route}/${e.path || 'exit'}`)));
        exits.push([e.timeNs, e.pcpu, vm, e.vcpu, kind, cause, route]);
      } else if (e.kind.startsWith('sched.') || MARK_KINDS.has(e.kind)) {
        marks.push([e.timeNs, e.pcpu, str.of(e.kind), e.vm ? str.of(e.vm) : -1, e.vcpu, str.of(e.detail)]);
      }
    }
    return {
      id: h.id,
      pcpus: h.pcpus,
      clockHz: h.clockHz ?? 0,
      endNs: h.endNs,
      policy: policyOf(result, h.id),
      segments: rows,
      exits,
      marks,
      binNs: Math.max(1, Math.ceil(h.endNs / SHARE_BINS)),
    };
  });
  const entitled = new Map(result.hosts.map((h) => [h.id, entitlements(result, eventsOfHost.get(h.id) ?? [], h.id)]));
  const segmentsOfVm = groupBy(segments, (s) => s.vm);
  const misses = groupBy(
    events.filter((e) => e.kind === 'sched.deadline_miss'),
    (e) => e.vm,
  );
  const vms = result.vms.map((v): VmData =>
    vmData(
      v,
      segmentsOfVm.get(v.id) ?? [],
      misses.get(v.id) ?? [],
      hosts.find((h) => h.id === v.host)!,
      entitled.get(v.host)!.get(v.id) ?? [],
    ),
  );
  return {
    title: title ?? `vsim report: ${result.name}`,
    name: result.name,
    seed: result.seed,
    durationNs: result.durationNs,
    scheduler: result.scheduler?.policy ?? '?',
    eventLogHash: result.eventLogHash,
    strings: str.list,
    hosts,
    vms,
    sums: checkSums(result, segments),
    techniques: techniqueRows(result),
    notes,
  };
}

/** Whether `o` has an own enumerable key (without listing them all, as Object.keys does). */
function hasKeys(o: object): boolean {
  for (const _k in o) return true;
  return false;
}

function policyOf(result: SimResult, host: string): string {
  const h = result.hosts.find((x) => x.id === host);
  const base = result.scheduler?.policy ?? '?';
  return h?.pools && h.pools.length > 0 ? `cpupools (default: ${base}; ${h.pools.map((p) => `${p.id}: ${p.scheduler.policy}`).join(', ')})` : base;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = out.get(k);
    if (list) list.push(x);
    else out.set(k, [x]);
  }
  return out;
}

function vmData(v: SimResult['vms'][number], segments: readonly Segment[], misses: readonly Event[], host: HostData, entitlement: Steps): VmData {
  return {
    id: v.id,
    host: v.host,
    vcpus: v.vcpus,
    cpuNs: v.cpuNs,
    technique: v.technique ?? (v.kind === 'linux' ? 'linux (system calls)' : 'paravirt'),
    params: v.params ?? {},
    state: v.state,
    share: measuredShare(segments, v.id, host.endNs, host.binNs),
    entitlement,
    runstates: (v.sched?.vcpus ?? []).map((s) => ({
      vcpu: s.vcpu,
      running: s.runningNs,
      runnable: s.runnableNs,
      blocked: s.blockedNs,
      offline: s.offlineNs,
    })),
    latencies: segments
      .filter((s) => s.latencyNs !== undefined)
      .map((s) => s.latencyNs!)
      .sort((a, b) => a - b),
    deadlineMisses: misses.map((e) => ({ timeNs: e.timeNs, detail: e.detail })),
    deadlineMissCount: v.sched?.deadlineMisses ?? misses.length,
    exitRoutes: v.exitRoutes ?? {},
    instructions: v.instructions,
  };
}

/** Techniques side by side: when the scenario has a native VM and VMs under other techniques. */
function techniqueRows(result: SimResult): ReportData['techniques'] {
  const native = result.vms.find((v) => v.technique === 'native');
  const others = result.vms.filter((v) => v.technique !== undefined && v.technique !== 'native');
  if (!native || others.length === 0 || native.cpuNs <= 0) return [];
  const exits = (v: SimResult['vms'][number]) => Object.values(v.exits ?? {}).reduce((a, n) => a + n, 0);
  return [native, ...others].map((v) => ({ vm: v.id, technique: v.technique!, cpuNs: v.cpuNs, overhead: v.cpuNs / native.cpuNs, exits: exits(v) }));
}
