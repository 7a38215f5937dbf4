// A run as a Chrome Trace Event file (the JSON Object Format of the Trace Event Format, which
// Perfetto UI and chrome://tracing open). Every event of the log is in it, once:
//   - one process per host (pid = host's position + 1, named "host <id>");
//   - one thread per pCPU (tid = pCPU + 1, "pCPU <n>") and one for events of no pCPU (tid 0,
//     "host events": scheduler accounting, actions, timer wakes);
//   - a `run` event is a complete slice ("X") named "<vm>/<vcpu>" on its pCPU's track; its
//     duration is its CPU time, cut where needed so that slices on a track never overlap (a
//     segment's CPU time can exceed its interval by less than one host cycle, run-segments.ts);
//     args.cpuNs keeps the exact figure;
//   - traps and hypercalls are thread-scoped instants ("i") named after their cause, category
//     trap or hypercall, args route/path/cost;
//   - every other event is an instant named after its kind, on its pCPU's track or tid 0;
//   - after each `run` slice, the vCPU's credit or budget as the policy left it is a counter
//     ("C") named "credit <vm>/<vcpu>" or "budget <vm>/<vcpu>".
// ts and dur are in µs (the format's unit) with ns as decimals; every event's args carry its
// exact virtual time (timeNs), its source and seq, which identify it in the canonical log.

import type { Event } from '@vsim/proto';
import type { SimResult } from '@vsim/control';
import { jsonObject } from './json';

export interface TraceEvent {
  name: string;
  cat?: string;
  ph: 'X' | 'i' | 'C' | 'M';
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
  otherData: Record<string, string | number>;
}

const us = (ns: number): number => ns / 1000;

export function chromeTrace(result: SimResult, events: readonly Event[]): ChromeTrace {
  const pidOf = new Map(result.hosts.map((h, i) => [h.id, i + 1]));
  const out: TraceEvent[] = [];
  result.hosts.forEach((h, i) => {
    const pid = i + 1;
    out.push({ name: 'process_name', ph: 'M', pid, args: { name: `host ${h.id}` } });
    out.push({ name: 'process_sort_index', ph: 'M', pid, args: { sort_index: i } });
    out.push({ name: 'thread_name', ph: 'M', pid, tid: 0, args: { name: 'host events' } });
    out.push({ name: 'thread_sort_index', ph: 'M', pid, tid: 0, args: { sort_index: 0 } });
    for (let p = 0; p < h.pcpus; p++) {
      out.push({ name: 'thread_name', ph: 'M', pid, tid: p + 1, args: { name: `pCPU ${p}` } });
      out.push({ name: 'thread_sort_index', ph: 'M', pid, tid: p + 1, args: { sort_index: p + 1 } });
    }
  });
  const nextStart = nextRunStarts(events);
  for (const e of events) {
    const pid = pidOf.get(e.host);
    if (pid === undefined) continue;
    const tid = e.pcpu >= 0 ? e.pcpu + 1 : 0;
    // (Plain assignments, no spreads: a long run has hundreds of thousands of events.)
    const args: Record<string, unknown> = { timeNs: e.timeNs, source: e.source, seq: e.seq };
    if (e.vm) {
      args.vm = e.vm;
      args.vcpu = e.vcpu;
    }
    if (e.kind === 'run') {
      const detail = jsonObject(e.detail);
      const limit = nextStart.get(e) ?? Number.POSITIVE_INFINITY;
      args.cpuNs = e.value;
      for (const k in detail) args[k] = detail[k];
      out.push({ name: `${e.vm}/${e.vcpu}`, cat: 'run', ph: 'X', ts: us(e.timeNs), dur: us(Math.min(e.value, limit - e.timeNs)), pid, tid, args });
      if (typeof detail.credit === 'number')
        out.push({ name: `credit ${e.vm}/${e.vcpu}`, ph: 'C', ts: us(e.timeNs + e.value), pid, args: { credit: detail.credit } });
      if (typeof detail.budget === 'number')
        out.push({ name: `budget ${e.vm}/${e.vcpu}`, ph: 'C', ts: us(e.timeNs + e.value), pid, args: { budget: detail.budget } });
      continue;
    }
    const exit = e.kind === 'trap' || e.kind === 'hypercall';
    if (exit) {
      args.route = e.route;
      args.path = e.path;
      args.costCycles = e.value;
    } else if (e.value) args.value = e.value;
    if (e.detail) args.detail = e.detail;
    if (e.cause && !exit) args.cause = e.cause;
    out.push({
      name: exit ? e.cause : e.kind,
      cat: exit ? e.kind : e.kind.startsWith('sched.') ? 'sched' : e.source,
      ph: 'i',
      s: 't',
      ts: us(e.timeNs),
      pid,
      tid,
      args,
    });
  }
  return {
    traceEvents: out,
    displayTimeUnit: 'ns',
    otherData: { producer: 'vsim', scenario: result.name, seed: result.seed, eventLogHash: result.eventLogHash },
  };
}

/** For each `run` event, the start of the next one on the same host and pCPU. */
function nextRunStarts(events: readonly Event[]): Map<Event, number> {
  const byTrack = new Map<string, Event[]>();
  for (const e of events) {
    if (e.kind !== 'run') continue;
    const k = `${e.host}\u0000${e.pcpu}`;
    (byTrack.get(k) ?? byTrack.set(k, []).get(k)!).push(e);
  }
  const out = new Map<Event, number>();
  for (const list of byTrack.values()) {
    list.sort((a, b) => a.timeNs - b.timeNs);
    for (let i = 0; i + 1 < list.length; i++) out.set(list[i], list[i + 1].timeNs);
  }
  return out;
}
