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

/**
 * The same limits by position in `events` (+Infinity: none), in one backward pass with no map
 * keyed by event — when the log is in time order (the canonical order is), where the per-track
 * sort above changes nothing. Otherwise (a hand-made events file) it falls back to that sort.
 */
function nextRunStartsByIndex(events: readonly Event[]): Float64Array {
  const out = new Float64Array(events.length).fill(Number.POSITIVE_INFINITY);
  for (let i = 1; i < events.length; i++) {
    if (events[i].timeNs >= events[i - 1].timeNs) continue;
    const byEvent = nextRunStarts(events);
    events.forEach((e, j) => {
      const t = byEvent.get(e);
      if (t !== undefined) out[j] = t;
    });
    return out;
  }
  const next = new Map<string, number[]>(); // host -> start of the next run per pCPU (NaN: none yet)
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.kind !== 'run') continue;
    let perPcpu = next.get(e.host);
    if (!perPcpu) next.set(e.host, (perPcpu = []));
    const slot = e.pcpu + 1; // pCPU -1 (none) too
    const t = perPcpu[slot];
    if (t !== undefined) out[i] = t;
    perPcpu[slot] = e.timeNs;
  }
  return out;
}

/** A number as JSON.stringify writes it. */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/**
 * ns as µs, as `num(ns / 1000)` writes it, from integer digits when ns is a whole number below
 * 1e15 (then ns / 1000 has at most 15 significant digits, so its shortest round-trip form is the
 * exact decimal): the float-to-text conversion was a good part of the trace's time.
 */
function usText(ns: number): string {
  if (!Number.isInteger(ns) || ns < 0 || ns >= 1e15) return num(ns / 1000);
  const whole = Math.floor(ns / 1000);
  const frac = ns - whole * 1000;
  if (frac === 0) return `${whole}`;
  if (frac % 100 === 0) return `${whole}.${frac / 100}`;
  if (frac % 10 === 0) return `${whole}.${frac < 100 ? '0' : ''}${frac / 10}`;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** JSON string literals of the short strings a log repeats (VM ids, sources, causes, routes). */
class Quoted {
  private readonly cache = new Map<string, string>();
  of(s: string): string {
    let q = this.cache.get(s);
    if (q === undefined) {
      q = JSON.stringify(s);
      if (s.length <= 64 && this.cache.size < 4096) this.cache.set(s, q);
    }
    return q;
  }
}

/** Detail keys written in place (plain identifiers that the args set before them do not hold). */
const SAFE_KEY = /^[A-Za-z_$][\w$]*$/;
const ARGS_KEYS = new Set(['timeNs', 'source', 'seq', 'vm', 'vcpu', 'cpuNs', '__proto__']);

/** Text buffered into chunks of about this many characters before each write. */
const CHUNK = 1 << 16;

/**
 * The trace as JSON text, written in chunks through `write`: byte for byte what
 * `JSON.stringify(chromeTrace(result, events))` gives, without building the array of trace
 * events or the whole text (on a long run they are most of what the outputs cost, in GC).
 */
export function writeChromeTrace(result: SimResult, events: readonly Event[], write: (chunk: string) => void): void {
  const q = new Quoted();
  const str = (text: string): string => q.of(text);
  let buf = '{"traceEvents":[';
  let first = true;
  const push = (json: string): void => {
    buf += first ? json : `,${json}`;
    first = false;
    if (buf.length >= CHUNK) {
      write(buf);
      buf = '';
    }
  };
  result.hosts.forEach((h, i) => {
    const pid = i + 1;
    push(`{"name":"process_name","ph":"M","pid":${pid},"args":{"name":${str(`host ${h.id}`)}}}`);
    push(`{"name":"process_sort_index","ph":"M","pid":${pid},"args":{"sort_index":${i}}}`);
    push(`{"name":"thread_name","ph":"M","pid":${pid},"tid":0,"args":{"name":"host events"}}`);
    push(`{"name":"thread_sort_index","ph":"M","pid":${pid},"tid":0,"args":{"sort_index":0}}`);
    for (let p = 0; p < h.pcpus; p++) {
      push(`{"name":"thread_name","ph":"M","pid":${pid},"tid":${p + 1},"args":{"name":"pCPU ${p}"}}`);
      push(`{"name":"thread_sort_index","ph":"M","pid":${pid},"tid":${p + 1},"args":{"sort_index":${p + 1}}}`);
    }
  });
  const pidOf = new Map(result.hosts.map((h, i) => [h.id, i + 1]));
  const limits = nextRunStartsByIndex(events);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const pid = pidOf.get(e.host);
    if (pid === undefined) continue;
    const tid = e.pcpu >= 0 ? e.pcpu + 1 : 0;
    let args = `"timeNs":${num(e.timeNs)},"source":${str(e.source)},"seq":${num(e.seq)}`;
    if (e.vm) args += `,"vm":${str(e.vm)},"vcpu":${num(e.vcpu)}`;
    if (e.kind === 'run') {
      const detail = jsonObject(e.detail);
      const name = str(`${e.vm}/${e.vcpu}`);
      const ts = usText(e.timeNs);
      const dur = usText(Math.min(e.value, limits[i] - e.timeNs));
      let argsJson: string | undefined = `{${args},"cpuNs":${num(e.value)}`;
      for (const k in detail) {
        if (!SAFE_KEY.test(k) || ARGS_KEYS.has(k)) {
          argsJson = undefined; // keys JSON.stringify would order or merge differently: let it
          break;
        }
        argsJson += `,${str(k)}:${JSON.stringify(detail[k])}`;
      }
      if (argsJson === undefined) {
        const a: Record<string, unknown> = { timeNs: e.timeNs, source: e.source, seq: e.seq };
        if (e.vm) {
          a.vm = e.vm;
          a.vcpu = e.vcpu;
        }
        a.cpuNs = e.value;
        for (const k in detail) a[k] = detail[k];
        argsJson = JSON.stringify(a);
      } else argsJson += '}';
      push(`{"name":${name},"cat":"run","ph":"X","ts":${ts},"dur":${dur},"pid":${pid},"tid":${tid},"args":${argsJson}}`);
      const end = usText(e.timeNs + e.value);
      if (typeof detail.credit === 'number')
        push(`{"name":${str(`credit ${e.vm}/${e.vcpu}`)},"ph":"C","ts":${end},"pid":${pid},"args":{"credit":${num(detail.credit)}}}`);
      if (typeof detail.budget === 'number')
        push(`{"name":${str(`budget ${e.vm}/${e.vcpu}`)},"ph":"C","ts":${end},"pid":${pid},"args":{"budget":${num(detail.budget)}}}`);
      continue;
    }
    const exit = e.kind === 'trap' || e.kind === 'hypercall';
    if (exit) args += `,"route":${str(e.route)},"path":${str(e.path)},"costCycles":${num(e.value)}`;
    else if (e.value) args += `,"value":${num(e.value)}`;
    if (e.detail) args += `,"detail":${str(e.detail)}`;
    if (e.cause && !exit) args += `,"cause":${str(e.cause)}`;
    const name = exit ? e.cause : e.kind;
    const cat = exit ? e.kind : e.kind.startsWith('sched.') ? 'sched' : e.source;
    push(`{"name":${str(name)},"cat":${str(cat)},"ph":"i","s":"t","ts":${usText(e.timeNs)},"pid":${pid},"tid":${tid},"args":{${args}}}`);
  }
  const otherData = { producer: 'vsim', scenario: result.name, seed: result.seed, eventLogHash: result.eventLogHash };
  write(`${buf}],"displayTimeUnit":"ns","otherData":${JSON.stringify(otherData)}}`);
}
