// A host's run as a Xen trace file (the binary format `xentrace` writes and `xenalyze` reads): the
// records Xen's scheduler would have written for what the event log says happened. Which record
// comes from which event, and what each carries: docs/xentrace.md.
//
// Domains are numbered in the results' VM order from 1 (dom0 is not simulated); the idle domain
// is DOMID_IDLE with vCPU n on pCPU n. The TSC is virtual time in the host's clock cycles
// (floor(ns x clockHz / 1e9)), so `xenalyze --cpu-hz` = the host's clock gives back virtual time.

import type { Event } from '@vsim/proto';
import type { SimResult } from '@vsim/control';
import { jsonObject } from '../json';
import {
  DOMID_IDLE,
  Runstate,
  runstateChange,
  SHUTDOWN_CRASH,
  SHUTDOWN_POWEROFF,
  TRC_CSCHED2_CREDIT_RESET,
  TRC_CSCHED2_TICKLE,
  TRC_CSCHED_BOOST_END,
  TRC_CSCHED_BOOST_START,
  TRC_CSCHED_STOLEN_UNIT,
  TRC_CSCHED_TICKLE,
  TRC_HD_CYCLE_FLAG,
  TRACE_EXTRA_SHIFT,
  TRC_SCHED_ADJDOM,
  TRC_SCHED_BLOCK,
  TRC_SCHED_SHUTDOWN_CODE,
  TRC_SCHED_SWITCH,
  TRC_SCHED_SWITCH_INFNEXT,
  TRC_SCHED_SWITCH_INFPREV,
  TRC_SCHED_WAKE,
  TRC_TRACE_CPU_CHANGE,
} from './records';

interface Pending {
  cpu: number;
  tsc: bigint;
  event: number;
  data: number[];
}

/** Domain ids: the results' VMs in order, from 1. */
export function domainIds(result: SimResult): Map<string, number> {
  return new Map(result.vms.map((v, i) => [v.id, i + 1]));
}

/** The transitions of a vCPU's runstate out of running, by the event that ends its segment. */
const LEAVES: Readonly<Record<string, Runstate>> = { block: 'blocked', halt: 'offline', fault: 'offline', 'hart-stop': 'offline' };

export function xentrace(result: SimResult, events: readonly Event[], host: string): Buffer {
  const h = result.hosts.find((x) => x.id === host);
  if (!h) throw new RangeError(`no host '${host}' in the results`);
  const dom = domainIds(result);
  const tscOf = (ns: number): bigint => (BigInt(Math.floor(ns)) * BigInt(h.clockHz)) / 1_000_000_000n;
  const mine = events.filter((e) => e.host === host);
  const recs: Pending[] = [];
  const put = (cpu: number, ns: number, event: number, data: number[]) => recs.push({ cpu, tsc: tscOf(ns), event, data: data.map((x) => x >>> 0) });
  const lastCpu = new Map<string, number>();
  const policy = policyTracker(result, host);

  // Run segments: switches and runstate changes on each pCPU (gaps are the idle vCPU's).
  const runs = mine.filter((e) => e.kind === 'run');
  const byCpu = new Map<number, Event[]>();
  for (const r of runs) (byCpu.get(r.pcpu) ?? byCpu.set(r.pcpu, []).get(r.pcpu)!).push(r);
  const leaving = leavingState(mine);
  for (let cpu = 0; cpu < h.pcpus; cpu++) {
    const list = (byCpu.get(cpu) ?? []).sort((a, b) => a.timeNs - b.timeNs);
    let prev: { dom: number; vcpu: number; since: number; leave: Runstate } = { dom: DOMID_IDLE, vcpu: cpu, since: 0, leave: 'runnable' };
    const switchTo = (t: number, next: { dom: number; vcpu: number; leave: Runstate }) => {
      put(cpu, t, TRC_SCHED_SWITCH_INFPREV, [prev.dom, prev.vcpu, t - prev.since]);
      put(cpu, t, TRC_SCHED_SWITCH_INFNEXT, [next.dom, next.vcpu, 0, -1]);
      put(cpu, t, TRC_SCHED_SWITCH, [prev.dom, prev.vcpu, next.dom, next.vcpu]);
      put(cpu, t, runstateChange('running', prev.leave), [pack(prev.dom, prev.vcpu)]);
      put(cpu, t, runstateChange('runnable', 'running'), [pack(next.dom, next.vcpu)]);
      prev = { ...next, since: t };
    };
    list.forEach((r, i) => {
      const end = Math.min(r.timeNs + r.value, list[i + 1]?.timeNs ?? Number.POSITIVE_INFINITY);
      const next = { dom: dom.get(r.vm) ?? 0, vcpu: r.vcpu, leave: leaving.get(r) ?? 'runnable' };
      switchTo(r.timeNs, next);
      lastCpu.set(`${r.vm}/${r.vcpu}`, cpu);
      if (list[i + 1]?.timeNs !== end) switchTo(end, { dom: DOMID_IDLE, vcpu: cpu, leave: 'runnable' });
    });
  }

  // Everything else the scheduler's trace would carry.
  for (const e of mine) {
    const d = dom.get(e.vm) ?? 0;
    const cpu = e.pcpu >= 0 ? e.pcpu : (lastCpu.get(`${e.vm}/${e.vcpu}`) ?? 0);
    const vcpu = Math.max(0, e.vcpu);
    switch (e.kind) {
      case 'wake':
        // The loop's timer wakes (source sched) and a vCPU woken by another's interrupt (node,
        // with a detail); not the node's wake at the start of an order, the same wake again.
        if (e.source === 'sched' || e.detail) {
          put(cpu, e.timeNs, TRC_SCHED_WAKE, [d, vcpu]);
          put(cpu, e.timeNs, runstateChange('blocked', 'runnable'), [pack(d, vcpu)]);
        }
        break;
      case 'ipi':
      case 'hart-start':
        // Another vCPU's IPI woke a blocked vCPU, or its HSM hart_start brought one online (node/smp.ts).
        if (e.detail.includes('woken')) {
          put(cpu, e.timeNs, TRC_SCHED_WAKE, [d, vcpu]);
          put(cpu, e.timeNs, runstateChange(e.kind === 'ipi' ? 'blocked' : 'offline', 'runnable'), [pack(d, vcpu)]);
        }
        break;
      case 'block':
        put(cpu, e.timeNs, TRC_SCHED_BLOCK, [d, vcpu]);
        break;
      case 'halt':
        put(cpu, e.timeNs, TRC_SCHED_SHUTDOWN_CODE, [d, vcpu, SHUTDOWN_POWEROFF]);
        break;
      case 'fault':
        if (d) put(cpu, e.timeNs, TRC_SCHED_SHUTDOWN_CODE, [d, vcpu, SHUTDOWN_CRASH]);
        break;
      case 'set':
        put(cpu, e.timeNs, TRC_SCHED_ADJDOM, [d]);
        break;
      case 'swap-scheduler':
        policy.swap(String(jsonObject(e.detail).policy ?? ''));
        break;
      default:
        if (e.kind.startsWith('sched.')) classRecords(policy.at(e.pcpu), e, d, vcpu, dom).forEach(([ev, data]) => put(cpu, e.timeNs, ev, data));
    }
  }
  return encode(recs, h.pcpus);
}

function pack(dom: number, vcpu: number): number {
  return ((dom & 0xffff) << 16) | (vcpu & 0xffff);
}

/** For each `run` event, the runstate its vCPU leaves running for (blocked, offline, or runnable). */
function leavingState(events: readonly Event[]): Map<Event, Runstate> {
  const out = new Map<Event, Runstate>();
  const open = new Map<string, { run: Event; end: number }[]>();
  for (const e of events) {
    if (e.kind === 'run')
      (open.get(`${e.vm}/${e.vcpu}`) ?? open.set(`${e.vm}/${e.vcpu}`, []).get(`${e.vm}/${e.vcpu}`)!).push({ run: e, end: e.timeNs + e.value });
  }
  for (const e of events) {
    const leave = LEAVES[e.kind];
    if (!leave || !e.vm) continue;
    // A halt or fault of an SMP VM ends every vCPU's segment; a block or hart-stop, its own.
    const keys = e.kind === 'halt' || e.kind === 'fault' ? [...open.keys()].filter((k) => k.startsWith(`${e.vm}/`)) : [`${e.vm}/${e.vcpu}`];
    for (const k of keys) {
      const seg = open.get(k)?.find((s) => s.run.timeNs <= e.timeNs && e.timeNs <= s.end);
      if (seg && !out.has(seg.run)) out.set(seg.run, leave);
    }
  }
  return out;
}

/** TRC_SCHED_CLASS records for one `sched.*` trace point, by the policy that emitted it. */
function classRecords(policy: string, e: Event, d: number, vcpu: number, dom: ReadonlyMap<string, number>): [number, number[]][] {
  const kind = e.kind.slice('sched.'.length);
  if (policy === 'credit') {
    if (kind === 'tickle') return [[TRC_CSCHED_TICKLE, [e.pcpu]]];
    if (kind === 'boost_start') return [[TRC_CSCHED_BOOST_START, [d, vcpu]]];
    if (kind === 'boost_end') return [[TRC_CSCHED_BOOST_END, [d, vcpu]]];
    if (kind === 'stolen_vcpu') return [[TRC_CSCHED_STOLEN_UNIT, [Number(/from (\d+)/.exec(e.detail)?.[1] ?? 0), d, vcpu]]];
  } else if (policy === 'credit2') {
    if (kind === 'tickle') return [[TRC_CSCHED2_TICKLE, [e.pcpu & 0xffff]]];
    if (kind === 'credit_reset') {
      // detail: "rq N vm/vcpu:start>end ..." (credit2.ts resetCredit)
      return [...e.detail.matchAll(/(\S+)\/(\d+):(-?\d+)>(-?\d+)/g)].map((m) => [
        TRC_CSCHED2_CREDIT_RESET,
        [pack(dom.get(m[1]) ?? 0, Number(m[2])), Number(m[3]), Number(m[4])],
      ]);
    }
  }
  return [];
}

/** The policy running each pCPU of a host, as scheduler swaps change it. */
function policyTracker(result: SimResult, host: string): { at(pcpu: number): string; swap(policy: string): void } {
  const h = result.hosts.find((x) => x.id === host)!;
  let dflt = result.scheduler?.policy ?? '';
  const poolOf = new Map<number, string>();
  for (const p of h.pools ?? []) for (const c of p.pcpus) poolOf.set(c, p.scheduler.policy);
  return {
    at: (pcpu) => poolOf.get(pcpu) ?? dflt,
    swap: (policy) => {
      if (policy === 'cpupools' || policy === '') return;
      dflt = policy;
    },
  };
}

/** One window per pCPU, its records in TSC order (stable: same-TSC records keep Xen's order). */
function encode(recs: Pending[], pcpus: number): Buffer {
  const parts: Buffer[] = [];
  for (let cpu = 0; cpu < pcpus; cpu++) {
    const mine = recs.filter((r) => r.cpu === cpu).sort((a, b) => (a.tsc < b.tsc ? -1 : a.tsc > b.tsc ? 1 : 0));
    const body = Buffer.alloc(mine.reduce((a, r) => a + 12 + 4 * r.data.length, 0));
    let o = 0;
    for (const r of mine) {
      body.writeUInt32LE((r.event | (r.data.length << TRACE_EXTRA_SHIFT) | TRC_HD_CYCLE_FLAG) >>> 0, o);
      body.writeBigUInt64LE(r.tsc, o + 4);
      o += 12;
      for (const w of r.data) {
        body.writeUInt32LE(w, o);
        o += 4;
      }
    }
    const head = Buffer.alloc(12);
    head.writeUInt32LE((TRC_TRACE_CPU_CHANGE | (2 << TRACE_EXTRA_SHIFT)) >>> 0, 0);
    head.writeUInt32LE(cpu, 4);
    head.writeUInt32LE(body.length, 8);
    parts.push(head, body);
  }
  return Buffer.concat(parts);
}
