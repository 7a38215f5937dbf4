// What a report is drawn from: a run's results (SimResult, as `vsim run --json` writes it) and its
// event log (as `--events` writes it: one JSON event per line, canonical order). Both are checked
// before anything is drawn; an error names the file, the line or the field at fault.

import { Event } from '@vsim/proto';
import type { SimResult } from '@vsim/control';

export class ReportInputError extends Error {
  override readonly name = 'ReportInputError';
}

/** Parses an events file (JSON lines); `file` names it in errors. */
export function parseEventLines(text: string, file = 'events'): Event[] {
  const out: Event[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new ReportInputError(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || typeof (raw as { kind?: unknown }).kind !== 'string') {
      throw new ReportInputError(`${file}:${i + 1}: not an event (an object with a "kind")`);
    }
    try {
      out.push(Event.fromJSON(raw));
    } catch (e) {
      throw new ReportInputError(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return out;
}

/** Checks that `raw` (parsed JSON) is a SimResult with what a report reads; `file` names it in errors. */
export function checkResults(raw: unknown, file = 'results'): SimResult {
  const fail = (field: string, what: string): never => {
    throw new ReportInputError(`${file}: ${field}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('(top)', 'not a JSON object (write it with `vsim run --json FILE`)');
  const r = raw as Record<string, unknown>;
  if (typeof r.name !== 'string') fail('name', 'missing or not a string');
  if (!Array.isArray(r.hosts) || r.hosts.length === 0) fail('hosts', 'missing or empty');
  if (!Array.isArray(r.vms)) fail('vms', 'missing');
  (r.hosts as unknown[]).forEach((h, i) => {
    const o = h as Record<string, unknown>;
    if (typeof o?.id !== 'string') fail(`hosts[${i}].id`, 'missing');
    for (const k of ['pcpus', 'endNs']) if (typeof o[k] !== 'number') fail(`hosts[${i}].${k}`, 'missing or not a number');
  });
  (r.vms as unknown[]).forEach((v, i) => {
    const o = v as Record<string, unknown>;
    if (typeof o?.id !== 'string') fail(`vms[${i}].id`, 'missing');
    if (typeof o.host !== 'string') fail(`vms[${i}].host`, 'missing');
    for (const k of ['vcpus', 'cpuNs']) if (typeof o[k] !== 'number') fail(`vms[${i}].${k}`, 'missing or not a number');
  });
  return raw as SimResult;
}
