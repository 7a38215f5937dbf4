// Run segments as the event log records them: one `run` event per stretch of a vCPU on a pCPU
// (libs/scheduler/src/run-segments.ts), dated at its start, `value` = its CPU time in ns,
// `detail` = JSON {latencyNs?, credit?, budget?}. Everything that draws "who ran where when" reads
// them from here; nothing rebuilds them from `schedule`/`block` events, which cannot be exact.

import type { Event } from '@vsim/proto';
import type { SimResult } from '@vsim/control';
import { jsonObject } from './json';

export interface Segment {
  readonly host: string;
  readonly pcpu: number;
  readonly vm: string;
  readonly vcpu: number;
  readonly startNs: number;
  /** CPU time, ns (what the results count). */
  readonly ns: number;
  /** The wake-up latency the decision that started it recorded. */
  readonly latencyNs?: number;
  /** The policy's balance for the vCPU after it (credit, budget). */
  readonly balance: Readonly<Record<string, number>>;
}

/** The segments of a log, in log order (start time, then host). */
export function segmentsOf(events: readonly Event[]): Segment[] {
  const out: Segment[] = [];
  for (const e of events) {
    if (e.kind !== 'run') continue;
    // The detail's numbers: latencyNs apart, the rest (in the detail's order) the balance.
    const d = jsonObject(e.detail);
    let latencyNs: number | undefined;
    const balance: Record<string, number> = {};
    for (const k in d) {
      const v = d[k];
      if (typeof v !== 'number') continue;
      if (k === 'latencyNs') latencyNs = v;
      else if (k === '__proto__') Object.defineProperty(balance, k, { value: v, enumerable: true, writable: true, configurable: true });
      else balance[k] = v;
    }
    out.push(
      latencyNs !== undefined
        ? { host: e.host, pcpu: e.pcpu, vm: e.vm, vcpu: e.vcpu, startNs: e.timeNs, ns: e.value, latencyNs, balance }
        : { host: e.host, pcpu: e.pcpu, vm: e.vm, vcpu: e.vcpu, startNs: e.timeNs, ns: e.value, balance },
    );
  }
  return out;
}

export interface SumCheck {
  readonly vm: string;
  /** CPU time in the results (the sum of the reports' ran_ns over the VM's vCPUs). */
  readonly cpuNs: number;
  /** Sum of its segments, and how many there are. */
  readonly barsNs: number;
  readonly bars: number;
  readonly ok: boolean;
}

/** Per VM: the sum of its segments against its CPU time in the results (equal, to the ns, or not ok). */
export function checkSums(result: SimResult, segments: readonly Segment[]): SumCheck[] {
  const sum = new Map<string, { ns: number; n: number }>();
  for (const s of segments) {
    const a = sum.get(s.vm) ?? { ns: 0, n: 0 };
    a.ns += s.ns;
    a.n++;
    sum.set(s.vm, a);
  }
  return result.vms.map((vm) => {
    const a = sum.get(vm.id) ?? { ns: 0, n: 0 };
    return { vm: vm.id, cpuNs: vm.cpuNs, barsNs: a.ns, bars: a.n, ok: a.ns === vm.cpuNs };
  });
}
