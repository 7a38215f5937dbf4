// Xen trace records (xentrace/writer.ts) decoded back with the decoder written from the documented
// layout (xentrace/decode.ts, docs/xentrace.md), record by record, against the run's own events:
// the specification below says which records each event gives, independently of the writer, and
// the decoded file must hold exactly those. Also: the time each vCPU spends running, summed from
// its runstate-change records as xenalyze sums it, is its CPU time in the results.

import type { Event } from '@vsim/proto';
import type { SimResult } from '@vsim/control';
import { decodeXentrace, domainIds, xenRecords as X, XentraceFormatError, xentrace } from '@vsim/report';
import { runExample } from './kit';

type Rec = [cpu: number | '*', tsc: string, event: number, data: number[]];

/**
 * The records docs/xentrace.md promises for `host`'s events, as [cpu, tsc, event, data] ('*': the
 * pCPU is the vCPU's last one, not checked here). `policyOf(pcpu)` is the scheduler of that pCPU.
 */
function expected(result: SimResult, events: readonly Event[], host: string, policyOf: (pcpu: number) => string): Rec[] {
  const h = result.hosts.find((x) => x.id === host)!;
  const dom = domainIds(result);
  const tsc = (ns: number) => ((BigInt(ns) * BigInt(h.clockHz)) / 1_000_000_000n).toString();
  const id = (vm: string, vcpu: number) => ((dom.get(vm)! << 16) | vcpu) >>> 0;
  const out: Rec[] = [];
  const mine = events.filter((e) => e.host === host);
  for (let cpu = 0; cpu < h.pcpus; cpu++) {
    const runs = mine.filter((e) => e.kind === 'run' && e.pcpu === cpu);
    let prev = { dom: X.DOMID_IDLE, vcpu: cpu, since: 0, leave: 'runnable' as X.Runstate };
    const sw = (t: number, next: { dom: number; vcpu: number; leave: X.Runstate }) => {
      out.push([cpu, tsc(t), X.TRC_SCHED_SWITCH_INFPREV, [prev.dom, prev.vcpu, t - prev.since]]);
      out.push([cpu, tsc(t), X.TRC_SCHED_SWITCH_INFNEXT, [next.dom, next.vcpu, 0, 0xffffffff]]);
      out.push([cpu, tsc(t), X.TRC_SCHED_SWITCH, [prev.dom, prev.vcpu, next.dom, next.vcpu]]);
      out.push([cpu, tsc(t), X.runstateChange('running', prev.leave), [((prev.dom << 16) | prev.vcpu) >>> 0]]);
      out.push([cpu, tsc(t), X.runstateChange('runnable', 'running'), [((next.dom << 16) | next.vcpu) >>> 0]]);
      prev = { ...next, since: t };
    };
    runs.forEach((r, i) => {
      const end = Math.min(r.timeNs + r.value, runs[i + 1]?.timeNs ?? Infinity);
      // How the segment ended: its vCPU blocked in it, or its VM stopped, or it was descheduled.
      const inside = (e: Event) => e.timeNs >= r.timeNs && e.timeNs <= r.timeNs + r.value && e.vm === r.vm;
      const leave: X.Runstate = mine.some((e) => inside(e) && e.vcpu === r.vcpu && e.kind === 'block')
        ? 'blocked'
        : mine.some((e) => inside(e) && (e.kind === 'halt' || e.kind === 'fault' || (e.kind === 'hart-stop' && e.vcpu === r.vcpu)))
          ? 'offline'
          : 'runnable';
      sw(r.timeNs, { dom: dom.get(r.vm)!, vcpu: r.vcpu, leave });
      if (runs[i + 1]?.timeNs !== end) sw(end, { dom: X.DOMID_IDLE, vcpu: cpu, leave: 'runnable' });
    });
  }
  for (const e of mine) {
    const at = tsc(e.timeNs);
    const c = e.pcpu >= 0 ? e.pcpu : '*';
    if ((e.kind === 'wake' && (e.source === 'sched' || e.detail)) || ((e.kind === 'ipi' || e.kind === 'hart-start') && e.detail.includes('woken'))) {
      out.push([c, at, X.TRC_SCHED_WAKE, [dom.get(e.vm)!, e.vcpu]]);
      out.push([c, at, X.runstateChange(e.kind === 'hart-start' ? 'offline' : 'blocked', 'runnable'), [id(e.vm, e.vcpu)]]);
    } else if (e.kind === 'block') out.push([c, at, X.TRC_SCHED_BLOCK, [dom.get(e.vm)!, e.vcpu]]);
    else if (e.kind === 'halt') out.push([c, at, X.TRC_SCHED_SHUTDOWN_CODE, [dom.get(e.vm)!, e.vcpu, X.SHUTDOWN_POWEROFF]]);
    else if (e.kind === 'fault' && e.vm) out.push([c, at, X.TRC_SCHED_SHUTDOWN_CODE, [dom.get(e.vm)!, e.vcpu, X.SHUTDOWN_CRASH]]);
    else if (e.kind === 'set') out.push([c, at, X.TRC_SCHED_ADJDOM, [dom.get(e.vm)!]]);
    else if (e.kind === 'sched.tickle') out.push([c, at, policyOf(e.pcpu) === 'credit' ? X.TRC_CSCHED_TICKLE : X.TRC_CSCHED2_TICKLE, [e.pcpu]]);
    else if (e.kind === 'sched.boost_start' && policyOf(e.pcpu) === 'credit') out.push([c, at, X.TRC_CSCHED_BOOST_START, [dom.get(e.vm)!, e.vcpu]]);
    else if (e.kind === 'sched.stolen_vcpu' && policyOf(e.pcpu) === 'credit')
      out.push([c, at, X.TRC_CSCHED_STOLEN_UNIT, [Number(/from (\d+)/.exec(e.detail)![1]), dom.get(e.vm)!, e.vcpu]]);
    else if (e.kind === 'sched.boost_end' && policyOf(e.pcpu) === 'credit') out.push([c, at, X.TRC_CSCHED_BOOST_END, [dom.get(e.vm)!, e.vcpu]]);
    else if (e.kind === 'sched.credit_reset' && policyOf(e.pcpu) === 'credit2') {
      for (const m of e.detail.matchAll(/(\S+)\/(\d+):(-?\d+)>(-?\d+)/g)) {
        out.push([c, at, X.TRC_CSCHED2_CREDIT_RESET, [id(m[1], Number(m[2])), Number(m[3]) >>> 0, Number(m[4]) >>> 0]]);
      }
    }
  }
  return out;
}

const key = (r: Rec) => `${r[1].padStart(20, '0')} ${r[2].toString(16)} ${r[3].join(',')}`;

function decodedOf(buf: Buffer): Rec[] {
  return decodeXentrace(buf).map((r) => [r.cpu, r.tsc!.toString(), r.event, [...r.data]]);
}

function checkAgainst(result: SimResult, events: readonly Event[], host: string, policyOf: (pcpu: number) => string): Rec[] {
  const got = decodedOf(xentrace(result, events, host));
  const want = expected(result, events, host, policyOf);
  expect(got.map(key).sort()).toEqual(want.map(key).sort());
  // Records with a pCPU are in its window; each window is in TSC order.
  const onCpu = new Set(got.map((r) => `${r[0]} ${key(r)}`));
  for (const w of want) if (w[0] !== '*') expect(onCpu.has(`${w[0]} ${key(w)}`)).toBe(true);
  for (let i = 1; i < got.length; i++) if (got[i][0] === got[i - 1][0]) expect(BigInt(got[i][1]) >= BigInt(got[i - 1][1])).toBe(true);
  return got;
}

/** Per (dom, vcpu): running time summed from the runstate changes, in TSC cycles. */
function runningTime(recs: Rec[]): Map<number, bigint> {
  const since = new Map<number, bigint>();
  const total = new Map<number, bigint>();
  for (const r of [...recs].sort((a, b) => (BigInt(a[1]) < BigInt(b[1]) ? -1 : BigInt(a[1]) > BigInt(b[1]) ? 1 : 0))) {
    if ((r[2] & 0xfffff00f) !== X.TRC_SCHED_RUNSTATE_CHANGE) continue;
    const from = (r[2] >> 8) & 0xf;
    const to = (r[2] >> 4) & 0xf;
    if (to === X.RUNSTATE.running) since.set(r[3][0], BigInt(r[1]));
    if (from === X.RUNSTATE.running && since.has(r[3][0])) total.set(r[3][0], (total.get(r[3][0]) ?? 0n) + BigInt(r[1]) - since.get(r[3][0])!);
  }
  return total;
}

describe('xentrace', () => {
  it('examples/smp-kernel.yaml (Credit): decodes back to the scheduling events; running time = CPU time', async () => {
    const { result, events } = await runExample('smp-kernel');
    const got = checkAgainst(result, events, 'h0', () => 'credit');
    expect(got.some((r) => r[2] === X.TRC_CSCHED_TICKLE)).toBe(true);
    expect(got.some((r) => r[2] === X.TRC_CSCHED_BOOST_START)).toBe(true);
    const running = runningTime(got);
    const dom = domainIds(result);
    for (const vm of result.vms) {
      let sum = 0n;
      for (let v = 0; v < vm.vcpus; v++) sum += running.get(((dom.get(vm.id)! << 16) | v) >>> 0) ?? 0n;
      expect(sum).toBe(BigInt(vm.cpuNs)); // 1 GHz: a cycle is a ns
    }
  });

  it('examples/cpupools.yaml (Credit2 and RTDS pools): Credit2 records from the pool that has it', async () => {
    const { result, events } = await runExample('cpupools');
    const got = checkAgainst(result, events, 'h0', (pcpu) => (pcpu === 3 ? 'rtds' : 'credit2'));
    expect(got.some((r) => r[2] === X.TRC_CSCHED2_CREDIT_RESET)).toBe(true);
    expect(got.some((r) => r[2] === X.TRC_CSCHED2_TICKLE)).toBe(true);
  });

  it("examples/two-hosts.yaml: a file per host, the TSC in each host's own clock (h1 at 2 GHz)", async () => {
    const { result, events } = await runExample('two-hosts');
    for (const h of ['h0', 'h1']) checkAgainst(result, events, h, () => 'credit');
    const first = events.find((e) => e.host === 'h1' && e.kind === 'run')!;
    const recs = decodedOf(xentrace(result, events, 'h1'));
    const end = first.timeNs + first.value;
    expect(
      recs.some(
        (r) =>
          r[0] === first.pcpu &&
          r[1] === String(end * 2) &&
          (r[2] & 0xfffff00f) === X.TRC_SCHED_RUNSTATE_CHANGE &&
          r[3][0] === ((domainIds(result).get(first.vm)! << 16) | first.vcpu),
      ),
    ).toBe(true);
  });

  it('refuses a damaged file with the byte offset at fault', async () => {
    const { result, events } = await runExample('smp-kernel');
    const buf = xentrace(result, events, 'h0');
    expect(() => decodeXentrace(buf.subarray(0, buf.length - 2))).toThrow(XentraceFormatError);
    const noWindow = buf.subarray(12);
    expect(() => decodeXentrace(noWindow)).toThrow(/byte 0: record 0x[0-9a-f]+ outside any pCPU window/);
  });
});
