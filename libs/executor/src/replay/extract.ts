// From a run's event log to the demand trace of each VM (trace.ts). A vCPU's demand is measured in
// its own pCPU time: the scheduler's `run` segments (sched, timeNs = start, value = length) say
// when it held a pCPU, so an event its cpu-node logged at time t inside a segment lies at
// (the lengths of its earlier segments) + (t − the segment's start) of pCPU time. The compute
// between two of its events is the difference of their positions.

import { compareEvents } from '@vsim/proto';
import type { Event } from '@vsim/proto';
import { DemandTrace, TRACE_EVENT_KINDS, TRACE_FORMAT, TRACE_VERSION, TraceEventKind, TraceOp, VcpuTrace, VmTrace } from './trace';

type LogEvent = Pick<Event, 'timeNs' | 'host' | 'source' | 'seq' | 'vm' | 'vcpu' | 'kind' | 'route' | 'path' | 'cause' | 'detail' | 'value'>;

interface VcpuLog {
  host: string;
  /** run segments, in start order. */
  segments: { start: number; len: number }[];
  events: LogEvent[];
  /** times of its wake events (node or sched). */
  wakes: number[];
}

const REPLAYED = new Set<string>(TRACE_EVENT_KINDS);

/**
 * Every VM's demand trace from an event log (any order: it is sorted canonically first). `vms`
 * limits it to those VMs (all, when absent or empty).
 */
export function extractTraces(log: readonly LogEvent[], opts: { vms?: readonly string[]; recordedHash?: string } = {}): DemandTrace {
  const events = [...log].sort((a, b) => compareEvents(a as Event, b as Event));
  const want = opts.vms && opts.vms.length > 0 ? new Set(opts.vms) : undefined;
  const byVcpu = new Map<string, Map<number, VcpuLog>>();
  for (const e of events) {
    if (!e.vm || e.vcpu < 0 || (want && !want.has(e.vm))) continue;
    let vm = byVcpu.get(e.vm);
    if (!vm) byVcpu.set(e.vm, (vm = new Map()));
    let v = vm.get(e.vcpu);
    if (!v) vm.set(e.vcpu, (v = { host: e.host, segments: [], events: [], wakes: [] }));
    v.host = e.host;
    if (e.source === 'sched' && e.kind === 'run') v.segments.push({ start: e.timeNs, len: e.value });
    else if (e.kind === 'wake') v.wakes.push(e.timeNs);
    else if (e.source === 'node' && REPLAYED.has(e.kind)) v.events.push(e);
  }
  if (want) for (const name of want) if (!byVcpu.has(name)) throw new RangeError(`the event log has no events of VM '${name}'`);
  const vms: VmTrace[] = [];
  for (const [name, vcpus] of [...byVcpu].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const n = Math.max(...vcpus.keys()) + 1;
    const list: VcpuTrace[] = [];
    for (let i = 0; i < n; i++) list.push(vcpus.has(i) ? vcpuTrace(vcpus.get(i)!) : { ops: [], end: 'blocked' });
    vms.push({ vm: name, host: [...vcpus.values()][0].host, vcpus: list });
  }
  return { format: TRACE_FORMAT, version: TRACE_VERSION, ...(opts.recordedHash ? { recordedHash: opts.recordedHash } : {}), vms };
}

/** One vCPU's steps: its events at their positions in its pCPU time, and the compute between them. */
function vcpuTrace(v: VcpuLog): VcpuTrace {
  const ops: TraceOp[] = [];
  let seg = -1;
  let before = 0; // pCPU time of the segments before `seg`
  let pos = 0; // where the last step left the vCPU
  let wake = 0;
  let end: VcpuTrace['end'] = 'running';
  const positionAt = (t: number): number => {
    // The last segment starting at or before t (events at a segment's very start belong to it).
    while (seg + 1 < v.segments.length && v.segments[seg + 1].start <= t) {
      if (seg >= 0) before += v.segments[seg].len;
      seg++;
    }
    if (seg < 0) return 0;
    const s = v.segments[seg];
    return before + Math.min(Math.max(0, t - s.start), s.len);
  };
  for (const e of v.events) {
    const at = positionAt(e.timeNs);
    if (at > pos) ops.push(at - pos);
    pos = Math.max(pos, at);
    let value = e.value;
    if (e.kind === 'block') {
      // Its timer if one was armed, else when the recorded run woke it (0: nothing did).
      while (wake < v.wakes.length && v.wakes[wake] < e.timeNs) wake++;
      const woke = wake < v.wakes.length ? v.wakes[wake] - e.timeNs : 0;
      value = e.value > 0 ? Math.max(0, e.value - e.timeNs) : woke;
      // What it did after its last block is unknown unless the recording shows it running again.
      end = 'blocked';
    } else end = e.kind === 'halt' || e.kind === 'fault' ? 'ended' : 'running';
    // Only TRACE_EVENT_KINDS reach v.events (REPLAYED, above).
    ops.push([e.kind as TraceEventKind, e.cause, e.detail, value, e.route, e.path]);
  }
  // What it ran after its last event, until the recording stopped — or, after a halt or fault, the
  // cost of the exit that ended it, which the host charged after logging the end (runners/replay.ts).
  let total = 0;
  for (const s of v.segments) total += s.len;
  if (total > pos) {
    ops.push(total - pos);
    if (end === 'blocked') end = 'running'; // it woke and was still computing when the recording stopped
  }
  return { ops, end };
}
