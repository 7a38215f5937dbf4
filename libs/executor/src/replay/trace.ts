// A demand trace (issue 12 item 5, docs/replay.md): what each vCPU of a recorded VM asked of its
// pCPUs, taken from a run's event log — compute bursts, exits with their costs, console output,
// blocks with when they woke, how the VM ended — so that a `kind: replay` VM can replay it under
// another scheduler without executing an instruction. This file is the format and its checks; the
// extraction is extract.ts, the replaying runner runners/replay.ts.

import { EVENT_PATHS, EventPathName, TRAP_ROUTES, TrapRouteName } from '@vsim/vocabulary';

/** What the format is called in its files, and its version (a reader refuses other versions). */
export const TRACE_FORMAT = 'vsim-demand-trace';
export const TRACE_VERSION = 1;

/**
 * One step of a vCPU's demand, in order:
 * - a number: compute for that many ns of pCPU time (what the recorded vCPU ran between two of its
 *   events, exit costs included: an exit's cost is paid in the compute after it, as recorded);
 * - `[kind, cause, detail, value, route, path]`: an event the recorded vCPU's cpu-node logged at this
 *   point — `trap`, `hypercall`, `console` are logged as recorded; `block` waits (value: ns from the
 *   block until it woke: its timer, else when the recorded run woke it; 0: nothing woke it);
 *   `halt` and `fault` end the VM (a compute step right after one is the ending exit's cost, which
 *   the recorded host charged after logging the end: it is charged at once, whatever the budget).
 */
export type TraceOp =
  number | readonly [kind: TraceEventKind, cause: string, detail: string, value: number, route: TrapRouteName | '', path: EventPathName | ''];

/** How the recorded vCPU was at the end of the recording (what it does once its steps are spent). */
export type TraceEnd = 'running' | 'blocked' | 'ended';

export interface VcpuTrace {
  readonly ops: readonly TraceOp[];
  /**
   * What it does once its steps are spent: `running`, it keeps computing (it was computing when the
   * recording stopped: a CPU-bound vCPU stays so); `blocked`, it waits forever (its last step was a
   * block: what it did after waking is not in the recording); `ended`, its VM ended.
   */
  readonly end: TraceEnd;
}

export interface VmTrace {
  /** The recorded VM's id and host. */
  readonly vm: string;
  readonly host: string;
  readonly vcpus: readonly VcpuTrace[];
}

export interface DemandTrace {
  readonly format: typeof TRACE_FORMAT;
  readonly version: typeof TRACE_VERSION;
  /** The event-log hash of the recorded run, when known (provenance only). */
  readonly recordedHash?: string;
  readonly vms: readonly VmTrace[];
}

/** Node event kinds a trace replays (others — wake, ipi, hart-* — come from the replaying run itself). */
export const TRACE_EVENT_KINDS = ['trap', 'hypercall', 'console', 'block', 'halt', 'fault'] as const;
export type TraceEventKind = (typeof TRACE_EVENT_KINDS)[number];

const ENDS: readonly TraceEnd[] = ['running', 'blocked', 'ended'];

/** A trace file's fault, naming where: `vms[0].vcpus[1].ops[7]: ...`. */
export class TraceError extends RangeError {}

/**
 * Parses and checks a trace file's bytes (JSON). Every problem names the field; nothing is
 * replayed from a trace that does not check.
 */
export function parseTrace(bytes: Uint8Array | string): DemandTrace {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
  } catch (e) {
    throw new TraceError(`not a demand trace: not JSON (${(e as Error).message})`);
  }
  const o = obj(raw, '(trace)');
  if (o.format !== TRACE_FORMAT) throw new TraceError(`format: expected "${TRACE_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (o.version !== TRACE_VERSION) throw new TraceError(`version: this vsim reads version ${TRACE_VERSION}, got ${JSON.stringify(o.version)}`);
  if (o.recordedHash !== undefined && typeof o.recordedHash !== 'string') throw new TraceError('recordedHash: must be a string');
  const vms = arr(o.vms, 'vms').map((v, i) => vmTrace(v, `vms[${i}]`));
  return { format: TRACE_FORMAT, version: TRACE_VERSION, recordedHash: o.recordedHash as string | undefined, vms };
}

/** The trace of recorded VM `name` (any, when the trace holds one VM and no name is given). */
export function traceOf(trace: DemandTrace, name: string | undefined): VmTrace {
  if (name === undefined) {
    if (trace.vms.length === 1) return trace.vms[0];
    throw new TraceError(`the trace holds ${trace.vms.length} VMs (${trace.vms.map((v) => v.vm).join(', ')}): name one (args: [VM])`);
  }
  const t = trace.vms.find((v) => v.vm === name);
  if (!t) throw new TraceError(`the trace has no VM '${name}' (it has ${trace.vms.map((v) => v.vm).join(', ') || 'none'})`);
  return t;
}

function vmTrace(raw: unknown, at: string): VmTrace {
  const o = obj(raw, at);
  const vm = str(o.vm, `${at}.vm`);
  const host = str(o.host, `${at}.host`);
  const vcpus = arr(o.vcpus, `${at}.vcpus`).map((v, i) => vcpuTrace(v, `${at}.vcpus[${i}]`));
  if (vcpus.length === 0) throw new TraceError(`${at}.vcpus: a VM has at least one vCPU`);
  return { vm, host, vcpus };
}

function vcpuTrace(raw: unknown, at: string): VcpuTrace {
  const o = obj(raw, at);
  if (!ENDS.includes(o.end as TraceEnd)) throw new TraceError(`${at}.end: must be ${ENDS.join(', ')} (got ${JSON.stringify(o.end)})`);
  const ops = arr(o.ops, `${at}.ops`).map((op, i) => traceOp(op, `${at}.ops[${i}]`));
  return { ops, end: o.end as TraceEnd };
}

function traceOp(op: unknown, at: string): TraceOp {
  if (typeof op === 'number') {
    if (!Number.isSafeInteger(op) || op < 0) throw new TraceError(`${at}: a compute step is a whole number of ns ≥ 0 (got ${op})`);
    return op;
  }
  const a = arr(op, at);
  if (a.length !== 6) throw new TraceError(`${at}: an event step is [kind, cause, detail, value, route, path] (got ${a.length} items)`);
  const kind = str(a[0], `${at}[0] (kind)`);
  if (!(TRACE_EVENT_KINDS as readonly string[]).includes(kind))
    throw new TraceError(`${at}[0] (kind): must be one of ${TRACE_EVENT_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  const value = a[3];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TraceError(`${at}[3] (value): must be an integer`);
  if (kind === 'block' && value < 0) throw new TraceError(`${at}[3] (value): a block's wake delay is ≥ 0 ns`);
  const route = str(a[4], `${at}[4] (route)`);
  if (route !== '' && !(TRAP_ROUTES as readonly string[]).includes(route))
    throw new TraceError(`${at}[4] (route): must be "" or one of ${TRAP_ROUTES.join(', ')} (got ${JSON.stringify(route)})`);
  const path = str(a[5], `${at}[5] (path)`);
  if (path !== '' && !(EVENT_PATHS as readonly string[]).includes(path))
    throw new TraceError(`${at}[5] (path): must be "" or one of ${EVENT_PATHS.join(', ')} (got ${JSON.stringify(path)})`);
  return [
    kind as TraceEventKind,
    str(a[1], `${at}[1] (cause)`),
    str(a[2], `${at}[2] (detail)`),
    value,
    route as TrapRouteName | '',
    path as EventPathName | '',
  ];
}

function obj(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TraceError(`${at}: must be an object`);
  return v as Record<string, unknown>;
}

function arr(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new TraceError(`${at}: must be a list`);
  return v;
}

function str(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new TraceError(`${at}: must be a string`);
  return v;
}
