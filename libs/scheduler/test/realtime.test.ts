// Xen's real-time schedulers, SEDF and RTDS, driving real guests on a real HostExecutor: a
// schedulable set gets its slice/budget in every period and misses no deadline, an overloaded set
// misses deadlines (counted per vCPU), extratime lets an RTDS VM use an otherwise idle host, and
// the invariants hold at every decision over seeded random mixes. Tolerances, never exact timings.
//
// The host clock is 10 MHz (as credit.test.ts): seconds of virtual time cost only tens of millions
// of guest instructions; the scheduler only sees nanoseconds.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { VcpuState } from '@vsim/proto';
import { handleTrap } from '@vsim/hypervisor';
import { HostExecutor } from '@vsim/executor';
import { HostLoop, HostLoopResult, makePolicy, RtdsPolicy, SedfPolicy } from '@vsim/scheduler';
import { RealtimeSnapshot } from '../src/sedf';
import { runEmbedded, SimSpec } from '@vsim/control';

/** The measured figures are printed only on request (VSIM_TEST_VERBOSE=1 npx jest ...); the assertions check them. */
const VERBOSE = process.env.VSIM_TEST_VERBOSE === '1';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');
const CHECKSUM = readFileSync(`${BIN}/checksum.elf`);
const SLEEPER = readFileSync(`${BIN}/sbi-sleeper.elf`);
const MS = 1e6;
const QUANTUM = 100_000;

interface GuestVm {
  id: string;
  guest?: 'hog' | 'sleeper';
  /** sedf slice / rtds budget, ns */
  slice: number;
  period: number;
  extra?: boolean;
}

type Policy = SedfPolicy | RtdsPolicy;

function setup(kind: 'sedf' | 'rtds', pcpus: number, vms: GuestVm[], clockHz = 10e6) {
  const kinds = new Map(vms.map((v) => [v.id, v.guest === 'sleeper' ? ('kernel' as const) : ('linux' as const)]));
  const exec = new HostExecutor(
    { sim: 't', id: 'h0', pcpus, clockHz, quantumNs: QUANTUM, trapPath: 'split' },
    {
      exitCost: 1000,
      local: (req) => handleTrap(req, undefined),
      remote: async (req) => handleTrap(req, { id: req.vm, kind: kinds.get(req.vm) ?? 'linux', brkStart: 0, brk: 0, brkMax: 0 }),
    },
  );
  const policy: Policy = kind === 'sedf' ? new SedfPolicy(pcpus) : new RtdsPolicy(pcpus);
  const reported = new Map(vms.map((v) => [`${v.id}/0`, VcpuState.VCPU_STATE_RUNNABLE]));
  /** Per order: when it started and what each vCPU ran (from the report). */
  const ranLog: { now: number; ran: Map<string, number> }[] = [];
  let checks = 0;
  const loop = new HostLoop('t', 'h0', pcpus, policy, async (order) => {
    // Invariants at every decision: none on two pCPUs, none lost, the policy's own check().
    const snap: RealtimeSnapshot = policy.check();
    checks++;
    const run = order.pcpus.map((p) => (p.vm ? `${p.vm}/${p.vcpu}` : null));
    const named = run.filter((k): k is string => k !== null);
    if (new Set(named).size !== named.length) throw new Error(`vCPU on two pCPUs at ${order.nowNs}: ${run}`);
    const where = new Map<string, string>();
    const put = (k: string, w: string) => {
      if (where.has(k)) throw new Error(`${k} is both ${where.get(k)} and ${w} at ${order.nowNs}`);
      where.set(k, w);
    };
    snap.running.forEach((k) => k && put(k, 'running'));
    snap.queued.forEach((q) => q.forEach((k) => put(k, 'queued')));
    snap.depleted.forEach((k) => put(k, 'depleted'));
    snap.blocked.forEach((k) => put(k, 'blocked'));
    for (const [k, st] of reported) {
      const w = where.get(k);
      if (st === VcpuState.VCPU_STATE_RUNNABLE && (w === undefined || w === 'blocked'))
        throw new Error(`runnable ${k} is ${w ?? 'lost'} at ${order.nowNs}`);
      if (st === VcpuState.VCPU_STATE_BLOCKED && w === undefined) throw new Error(`blocked ${k} is lost at ${order.nowNs}`);
      if ((st === VcpuState.VCPU_STATE_HALTED || st === VcpuState.VCPU_STATE_FAULTED) && w !== undefined) throw new Error(`ended ${k} is still ${w}`);
    }
    const report = await exec.run(order);
    ranLog.push({ now: order.nowNs, ran: new Map(report.vcpus.map((r) => [`${r.vm}/${r.vcpu}`, r.ranNs])) });
    for (const r of report.vcpus) reported.set(`${r.vm}/${r.vcpu}`, r.state);
    return report;
  });
  for (const v of vms) {
    if (v.guest === 'sleeper') {
      exec.createVm({ id: v.id, kind: 'kernel', technique: 'paravirt', vcpus: 1, memoryBytes: 4 << 20, image: SLEEPER, args: [], engine: 'bt' });
    } else {
      exec.createVm({ id: v.id, kind: 'linux', vcpus: 1, memoryBytes: 16 << 20, image: CHECKSUM, args: ['1000'], engine: 'bt' });
    }
    const sched =
      kind === 'sedf'
        ? { slice: v.slice, period: v.period, extra: v.extra ?? false }
        : { budget: v.slice, period: v.period, extratime: v.extra ?? false };
    loop.addVm({ id: v.id, vcpus: 1, sched });
  }
  /** CPU time each VM got in each whole period [k·period, (k+1)·period) before `end`. */
  const perPeriod = (vm: string, period: number, end: number): number[] => {
    const out = new Array(Math.floor(end / period)).fill(0);
    for (const o of ranLog) {
      const k = Math.floor(o.now / period);
      if (k < out.length) out[k] += o.ran.get(`${vm}/0`) ?? 0;
    }
    return out;
  };
  return { exec, loop, policy, perPeriod, checks: () => checks };
}

const ran = (r: HostLoopResult, vm: string) => r.vcpus.get(`${vm}/0`)!.runningNs;
const pp = (x: number) => (x * 100).toFixed(2);
const missesOf = (p: Policy, ids: string[]) => ids.map((id) => p.misses(`${id}/0`));

/** A small deterministic PRNG (mulberry32) for the property test. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Xen SEDF scheduler', () => {
  it('one pCPU, (2,10) (3,10) (4,10) ms, utilisation 0.9: each gets its slice every period, no misses', async () => {
    const vms = [
      { id: 'a', slice: 2 * MS, period: 10 * MS },
      { id: 'b', slice: 3 * MS, period: 10 * MS },
      { id: 'c', slice: 4 * MS, period: 10 * MS },
    ];
    const { loop, policy, perPeriod, checks } = setup('sedf', 1, vms);
    const r = await loop.run(1e9);
    const shares = vms.map((v) => ran(r, v.id) / r.endNs);
    const misses = missesOf(
      policy,
      vms.map((v) => v.id),
    );
    let worst = 0;
    for (const v of vms) for (const got of perPeriod(v.id, v.period, r.endNs)) worst = Math.max(worst, Math.abs(got - v.slice));
    if (VERBOSE)
      console.log(
        `sedf 1 pCPU (2,3,4)/10 ms, 1 s: shares ${shares.map(pp).join(' / ')} % (ideal 20 / 30 / 40); misses ${misses.join(' / ')}; worst per-period error ${(worst / 1e3).toFixed(1)} us; ${checks()} decisions checked`,
      );
    expect(misses).toEqual([0, 0, 0]);
    expect(worst).toBeLessThanOrEqual(QUANTUM);
    shares.forEach((s, i) => expect(Math.abs(s - vms[i].slice / vms[i].period)).toBeLessThan(0.01));
    expect(r.events.some((e) => e.kind === 'sched.replenish')).toBe(true);
  });

  it('overloaded (4,10) x3 on one pCPU: deadline misses are counted per vCPU', async () => {
    const vms = ['a', 'b', 'c'].map((id) => ({ id, slice: 4 * MS, period: 10 * MS }));
    const { loop, policy } = setup('sedf', 1, vms);
    const r = await loop.run(0.5e9);
    const misses = missesOf(
      policy,
      vms.map((v) => v.id),
    );
    if (VERBOSE)
      console.log(
        `sedf 1 pCPU 3 x (4,10) ms (U = 1.2), 0.5 s: shares ${vms.map((v) => pp(ran(r, v.id) / r.endNs)).join(' / ')} %; misses ${misses.join(' / ')} (of 50 periods each)`,
      );
    expect(misses.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(r.events.filter((e) => e.kind === 'sched.deadline_miss').length).toBe(misses.reduce((a, b) => a + b, 0));
    expect(policy.allMisses().size).toBe(3);
  });

  it('extra: a VM with extra uses the slack a VM without it leaves', async () => {
    const { loop, policy } = setup('sedf', 1, [
      { id: 'x', slice: 2 * MS, period: 10 * MS, extra: true },
      { id: 'n', slice: 2 * MS, period: 10 * MS, extra: false },
    ]);
    const r = await loop.run(0.3e9);
    const [x, n] = [ran(r, 'x') / r.endNs, ran(r, 'n') / r.endNs];
    if (VERBOSE) console.log(`sedf extra vs none, (2,10) ms each, 0.3 s: ${pp(x)} % / ${pp(n)} %`);
    expect(Math.abs(n - 0.2)).toBeLessThan(0.01);
    expect(x).toBeGreaterThan(0.75);
    expect(missesOf(policy, ['x', 'n'])).toEqual([0, 0]);
  });
});

describe('Xen RTDS scheduler', () => {
  it('two pCPUs, (4,10) x3 + (2,10) ms (U = 1.4): global EDF, no misses, shares = budget/period', async () => {
    const vms = [
      { id: 'a', slice: 4 * MS, period: 10 * MS },
      { id: 'b', slice: 4 * MS, period: 10 * MS },
      { id: 'c', slice: 4 * MS, period: 10 * MS },
      { id: 'd', slice: 2 * MS, period: 10 * MS },
    ];
    const { loop, policy, perPeriod, checks } = setup('rtds', 2, vms);
    const r = await loop.run(1e9);
    const shares = vms.map((v) => ran(r, v.id) / r.endNs);
    const misses = missesOf(
      policy,
      vms.map((v) => v.id),
    );
    let worst = 0;
    for (const v of vms) for (const got of perPeriod(v.id, v.period, r.endNs)) worst = Math.max(worst, Math.abs(got - v.slice));
    if (VERBOSE)
      console.log(
        `rtds 2 pCPUs (4,4,4,2)/10 ms, 1 s: shares ${shares.map(pp).join(' / ')} % of a pCPU (ideal 40 / 40 / 40 / 20); misses ${misses.join(' / ')}; worst per-period error ${(worst / 1e3).toFixed(1)} us; ${checks()} decisions checked`,
      );
    expect(misses).toEqual([0, 0, 0, 0]);
    expect(worst).toBeLessThanOrEqual(QUANTUM);
    shares.forEach((s, i) => expect(Math.abs(s - vms[i].slice / vms[i].period)).toBeLessThan(0.01));
  });

  it('overloaded (9,10) x3 on two pCPUs: deadline misses', async () => {
    const vms = ['a', 'b', 'c'].map((id) => ({ id, slice: 9 * MS, period: 10 * MS }));
    const { loop, policy } = setup('rtds', 2, vms);
    const r = await loop.run(0.5e9);
    const misses = missesOf(
      policy,
      vms.map((v) => v.id),
    );
    if (VERBOSE)
      console.log(
        `rtds 2 pCPUs 3 x (9,10) ms (U = 2.7), 0.5 s: shares ${vms.map((v) => pp(ran(r, v.id) / r.endNs)).join(' / ')} %; misses ${misses.join(' / ')} (of 50 periods each)`,
      );
    expect(misses.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(r.events.some((e) => e.kind === 'sched.deadline_miss')).toBe(true);
  });

  it('extratime: alone on an idle host, a VM with extratime gets more than its budget share; without it, exactly its budget', async () => {
    const run = async (extra: boolean) => {
      const { loop, policy } = setup('rtds', 1, [{ id: 'v', slice: 2 * MS, period: 10 * MS, extra }]);
      const r = await loop.run(0.3e9);
      return { share: ran(r, 'v') / r.endNs, misses: policy.misses('v/0') };
    };
    const on = await run(true);
    const off = await run(false);
    if (VERBOSE) console.log(`rtds (2,10) ms alone, 0.3 s: extratime ${pp(on.share)} %, none ${pp(off.share)} %`);
    expect(on.share).toBeGreaterThan(0.9);
    expect(Math.abs(off.share - 0.2)).toBeLessThan(0.01);
    expect([on.misses, off.misses]).toEqual([0, 0]);
  });
});

describe('real-time schedulers: invariants', () => {
  it('check() holds at every decision over seeded random mixes (both policies, hogs and sleepers)', async () => {
    const seen = new Map<string, number>();
    for (const seed of [1, 2, 3, 4]) {
      for (const kind of ['sedf', 'rtds'] as const) {
        const rand = rng(seed * 7 + (kind === 'rtds' ? 1 : 0));
        const pcpus = 1 + Math.floor(rand() * 2);
        const n = 2 + Math.floor(rand() * 3);
        const vms: GuestVm[] = Array.from({ length: n }, (_, i) => {
          const period = (2 + Math.floor(rand() * 18)) * MS;
          return {
            id: `v${i}`,
            guest: rand() < 0.5 ? 'hog' : 'sleeper',
            // Whole microseconds, as `xl sched-rtds`/`xl sched-sedf` take them. (With budgets not a
            // multiple of the 10 ns guest cycle, the executor reports up to one cycle more ranNs
            // than the order lasted — an executor rounding, not a policy matter.)
            period,
            slice: Math.max(200, Math.floor((rand() * period) / 1e3)) * 1e3,
            extra: rand() < 0.5,
          };
        });
        const { loop, policy, checks } = setup(kind, pcpus, vms, 100e6);
        const r = await loop.run(100e6);
        policy.check();
        expect(checks()).toBeGreaterThan(10);
        const total = [...r.vcpus.values()].reduce((a, s) => a + s.runningNs, 0);
        expect(total).toBeLessThanOrEqual(pcpus * r.endNs);
        for (const e of r.events) if (e.source === 'sched' && e.kind === 'wake') seen.set(`${kind} wake`, (seen.get(`${kind} wake`) ?? 0) + 1);
        for (const e of r.events) if (e.kind.startsWith('sched.')) seen.set(`${kind} ${e.kind}`, (seen.get(`${kind} ${e.kind}`) ?? 0) + 1);
      }
    }
    if (VERBOSE) console.log(`real-time property test, trace points seen: ${[...seen].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    expect(seen.get('sedf sched.replenish') ?? 0).toBeGreaterThan(0);
    expect(seen.get('rtds sched.replenish') ?? 0).toBeGreaterThan(0);
    // The sleepers exercised wake (and so preemption at wakes) under both policies.
    expect(seen.get('sedf wake') ?? 0).toBeGreaterThan(0);
    expect(seen.get('rtds wake') ?? 0).toBeGreaterThan(0);
  });

  it('policy level: an RTDS wake preempts the latest-deadline running vCPU; setParams takes effect at the next decision', () => {
    const ref = (vm: string) => ({ vm, vcpu: 0, key: `${vm}/0` });
    const rt = new RtdsPolicy(1);
    rt.add(ref('late'), { budget: 5e6, period: 50e6, extratime: false }, 0);
    rt.add(ref('early'), { budget: 1e6, period: 10e6, extratime: false }, 0);
    rt.sleep(ref('early'), 0);
    expect(rt.schedule(0).run[0]?.key).toBe('late/0');
    rt.charge(ref('late'), 1e6, 1e6);
    rt.wake(ref('early'), 1e6); // deadline 10 ms < 50 ms: runq_tickle kicks 'late' out
    const d = rt.schedule(1e6);
    expect(d).toEqual({ run: [ref('early')], until: 2e6 });
    rt.check();
    rt.charge(ref('early'), 1e6, 2e6);
    expect(rt.schedule(2e6).run[0]?.key).toBe('late/0');
    expect(rt.inspect('early/0')).toMatchObject({ cur: 0 });
    rt.setParams(ref('early'), { extratime: true }, 2e6); // depleted + extratime: refilled one level down
    expect(rt.inspect('early/0')).toMatchObject({ cur: 1e6, level: 1 });
    expect(rt.schedule(2e6).run[0]?.key).toBe('late/0'); // level 1 ranks below level 0
    rt.check();

    const sedf = new SedfPolicy(2);
    sedf.add(ref('p0'), { slice: 2e6, period: 10e6, extra: false }, 0);
    sedf.add(ref('p1'), { slice: 2e6, period: 10e6, extra: false }, 0);
    sedf.add(ref('p0b'), { slice: 1e6, period: 5e6, extra: false }, 0);
    // Round-robin placement at add: p0 and p0b share pCPU 0, p1 has pCPU 1; EDF picks p0b first.
    expect(sedf.schedule(0).run.map((v) => v?.key)).toEqual(['p0b/0', 'p1/0']);
    expect(sedf.inspect('p0b/0')?.pcpu).toBe(0);
    sedf.setParams(ref('p1'), { slice: 3e6 }, 0);
    sedf.charge(ref('p0b'), 1e6, 1e6);
    sedf.charge(ref('p1'), 1e6, 1e6);
    // p1's bigger slice applies from its next period: this one's budget is not topped up (1 ms left).
    expect(sedf.schedule(1e6)).toEqual({ run: [ref('p0'), ref('p1')], until: 2e6 });
    expect(sedf.inspect('p1/0')).toMatchObject({ cur: 1e6 });
    sedf.charge(ref('p1'), 1e6, 2e6);
    expect(sedf.schedule(10e6).run[1]?.key).toBe('p1/0');
    expect(sedf.inspect('p1/0')).toMatchObject({ cur: 3e6, deadline: 20e6, misses: 0 });
    expect(sedf.check().blocked).toEqual([]);
  });

  it("runs end to end as a simulation's scheduler, per-VM params from the scenario, deterministically", async () => {
    const spec = (policy: 'sedf' | 'rtds'): SimSpec => ({
      name: policy,
      seed: 1,
      durationNs: 200e6,
      trapPath: 'split',
      scheduler: { policy, params: {} },
      hosts: [{ id: 'h0', pcpus: 1, clockHz: 10e6, quantumNs: 100_000 }],
      vms: [
        [1, 10],
        [3, 10],
      ].map(([n, m], i) => ({
        id: `v${i}`,
        host: 'h0',
        vcpus: 1,
        memoryBytes: 16 << 20,
        image: `${BIN}/checksum.elf`,
        args: ['1000'],
        kind: 'linux' as const,
        engine: 'bt' as const,
        sched: { slice: n * MS, budget: n * MS, period: m * MS, extra: false, extratime: false },
      })),
    });
    for (const policy of ['sedf', 'rtds'] as const) {
      const a = await runEmbedded(spec(policy));
      const b = await runEmbedded(spec(policy));
      expect(b.result.eventLogHash).toBe(a.result.eventLogHash);
      const [v0, v1] = a.result.vms;
      expect(Math.abs(v0.hostShare - 0.1)).toBeLessThan(0.01);
      expect(Math.abs(v1.hostShare - 0.3)).toBeLessThan(0.01);
      expect(a.log.all().some((e) => e.kind === 'sched.replenish')).toBe(true);
    }
  });

  it('is available as policies "sedf" and "rtds" from makePolicy; RTDS defaults to Xen\'s 4 ms / 10 ms', () => {
    expect(makePolicy({ policy: 'sedf', params: {} }, 2)).toBeInstanceOf(SedfPolicy);
    const rt = makePolicy({ policy: 'rtds', params: {} }, 2) as RtdsPolicy;
    expect(rt).toBeInstanceOf(RtdsPolicy);
    const v = { vm: 'a', vcpu: 0, key: 'a/0' };
    rt.add(v, {}, 0);
    expect(rt.inspect('a/0')).toMatchObject({ cur: 4e6, deadline: 10e6, level: 0 });
    expect(rt.schedule(0)).toEqual({ run: [v, null], until: 4e6 });
    const sedf = new SedfPolicy(1);
    expect(() => sedf.add(v, { slice: 20e6, period: 10e6 }, 0)).toThrow(/slice/);
  });
});
