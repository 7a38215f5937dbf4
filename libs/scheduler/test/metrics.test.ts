// Scheduling metrics (metrics.ts): exact answers on constructed runs (a scripted policy
// and a scripted host, so every preemption, migration and latency is known by hand), invariants on
// real guests (runstates add up to the elapsed time, utilization <= 1), and the derived figures
// (percentiles, Jain's index) against their definitions.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { RunOrder, RunReport, VcpuState } from '@vsim/proto';
import { CreditPolicy, Decision, HostLoop, jainIndex, latencySummary, SchedTrace, SchedulerPolicy, VcpuRef } from '@vsim/scheduler';
import { percentile } from '../src/metrics';
import { handleTrap } from '@vsim/hypervisor';
import { HostExecutor } from '@vsim/executor';
import { runEmbedded, SimSpec } from '@vsim/control';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');
const MS = 1e6;

/** Runs what `steps` say: from each `at`, pCPU p runs run[p] ("vm" = vCPU 0 of vm, null = idle). */
class ScriptedPolicy implements SchedulerPolicy {
  readonly name = 'scripted';
  trace?: SchedTrace;
  constructor(private readonly steps: { at: number; run: (string | null)[]; miss?: string }[]) {}
  add(): void {}
  remove(): void {}
  wake(): void {}
  sleep(): void {}
  charge(): void {}
  schedule(now: number): Decision {
    let i = 0;
    while (i + 1 < this.steps.length && this.steps[i + 1].at <= now) i++;
    const s = this.steps[i];
    if (s.miss && s.at === now) this.trace?.('deadline_miss', now, { vm: s.miss, vcpu: 0, pcpu: 0 });
    const next = this.steps[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    return { run: s.run.map((vm): VcpuRef | null => (vm ? { vm, vcpu: 0, key: `${vm}/0` } : null)), until: next };
  }
}

/** A host whose vCPUs run whole iterations, except the scripted blocks: {vm: [blockAt, wakeAt]}. */
function scriptedHost(blocks: Record<string, [number, number]>) {
  return async (o: RunOrder): Promise<RunReport> =>
    RunReport.fromPartial({
      sim: o.sim,
      host: o.host,
      seq: o.seq,
      nowNs: o.untilNs,
      vcpus: o.pcpus
        .filter((p) => p.vm)
        .map((p) => {
          const b = blocks[p.vm];
          if (b && b[0] >= o.nowNs && b[0] < o.untilNs) {
            return { vm: p.vm, vcpu: 0, state: VcpuState.VCPU_STATE_BLOCKED, wakeNs: b[1], ranNs: b[0] - o.nowNs, instructions: 0 };
          }
          return { vm: p.vm, vcpu: 0, state: VcpuState.VCPU_STATE_RUNNABLE, wakeNs: 0, ranNs: o.untilNs - o.nowNs, instructions: 0 };
        }),
    });
}

function scriptedLoop(
  pcpus: number,
  vms: string[],
  steps: ConstructorParameters<typeof ScriptedPolicy>[0],
  blocks: Record<string, [number, number]> = {},
) {
  const loop = new HostLoop('t', 'h0', pcpus, new ScriptedPolicy(steps), scriptedHost(blocks));
  for (const id of vms) loop.addVm({ id, vcpus: 1, sched: {} });
  return loop;
}

describe('scheduling metrics on constructed runs (known answers)', () => {
  it('counts preemptions (descheduled while runnable) and migrations (another pCPU than last time)', async () => {
    const r = await scriptedLoop(
      2,
      ['a', 'b'],
      [
        { at: 0, run: ['a', 'b'] },
        { at: 1 * MS, run: ['b', 'a'] }, // both migrate, neither is preempted
        { at: 2 * MS, run: ['a', null] }, // a migrates back; b is preempted; pCPU 1 idles while b waits
        { at: 3 * MS, run: [null, 'b'] }, // b migrates (last on 0); a is preempted; pCPU 0 idles while a waits
      ],
    ).run(4 * MS);
    const a = r.vcpus.get('a/0')!;
    const b = r.vcpus.get('b/0')!;
    expect([a.preemptions, a.migrations, b.preemptions, b.migrations]).toEqual([1, 2, 1, 2]);
    expect([a.runningNs, a.waitingNs, a.blockedNs, a.offlineNs]).toEqual([3 * MS, 1 * MS, 0, 0]);
    expect([b.runningNs, b.waitingNs, b.blockedNs, b.offlineNs]).toEqual([3 * MS, 1 * MS, 0, 0]);
    expect(r.pcpus).toEqual([
      { busyNs: 3 * MS, idleWaitingNs: 1 * MS },
      { busyNs: 3 * MS, idleWaitingNs: 1 * MS },
    ]);
  });

  it('measures wake-up latency from the timer firing to the first decision that runs the vCPU', async () => {
    // s runs 0.5 ms, blocks until 1.5 ms, is woken then but run only at 3 ms: latency 1.5 ms.
    const r = await scriptedLoop(
      1,
      ['a', 's'],
      [
        { at: 0, run: ['s'] },
        { at: 1 * MS, run: ['a'] },
        { at: 2 * MS, run: ['a'], miss: 's' },
        { at: 3 * MS, run: ['s'] },
        { at: 4 * MS, run: ['a'] },
      ],
      { s: [0.5 * MS, 1.5 * MS] },
    ).run(5 * MS);
    const s = r.vcpus.get('s/0')!;
    const a = r.vcpus.get('a/0')!;
    expect(s.wakeLatenciesNs).toEqual([1.5 * MS]);
    expect([s.runningNs, s.waitingNs, s.blockedNs, s.offlineNs]).toEqual([1.5 * MS, 2.5 * MS, 1 * MS, 0]);
    expect([a.runningNs, a.waitingNs]).toEqual([3 * MS, 2 * MS]);
    // s blocked before its slice ended: not a preemption; at 4 ms it was runnable: one.
    expect([s.preemptions, a.preemptions]).toEqual([1, 1]);
    expect(s.deadlineMisses).toBe(1);
    // 0.5-1 ms: the pCPU idled (s blocked) while a waited.
    expect(r.pcpus).toEqual([{ busyNs: 4.5 * MS, idleWaitingNs: 0.5 * MS }]);
  });
});

describe('scheduling metrics on real guests', () => {
  it("runstates add up to the elapsed time per vCPU, pCPU busy time to the vCPUs' running time", async () => {
    const clockHz = 100e6;
    const exec = new HostExecutor(
      { sim: 't', id: 'h0', pcpus: 2, clockHz, quantumNs: 20_000, trapPath: 'split' },
      {
        exitCost: 1000,
        local: (req) => handleTrap(req, undefined),
        remote: async (req) => handleTrap(req, { id: req.vm, kind: 'kernel', brkStart: 0, brk: 0, brkMax: 0 }),
      },
    );
    const loop = new HostLoop('t', 'h0', 2, new CreditPolicy(2), (o) => exec.run(o));
    const vms = [
      ['hog1', 'sbi-compute'],
      ['hog2', 'sbi-compute'],
      ['sleeper', 'sbi-sleeper'],
      ['hello', 'sbi-hello'],
    ];
    for (const [id, image] of vms) {
      exec.createVm({
        id,
        kind: 'kernel',
        technique: 'paravirt',
        vcpus: 1,
        memoryBytes: 4 << 20,
        image: readFileSync(`${BIN}/${image}.elf`),
        args: [],
        engine: 'bt',
      });
      loop.addVm({ id, vcpus: 1, sched: {} });
    }
    loop.addAction({ kind: 'pause', at: 10 * MS, vm: 'hog2' });
    loop.addAction({ kind: 'unpause', at: 25 * MS, vm: 'hog2' });
    const r = await loop.run(60 * MS);
    expect(r.endNs).toBe(60 * MS);
    let running = 0;
    for (const [key, s] of r.vcpus) {
      // Exact up to one cycle per iteration (the host rounds cycles to ns).
      expect({ key, total: s.onPcpuNs + s.waitingNs + s.blockedNs + s.offlineNs }).toEqual({ key, total: r.endNs });
      expect(s.onPcpuNs).toBeLessThanOrEqual(s.runningNs);
      running += s.onPcpuNs;
    }
    expect(r.vcpus.get('hog2/0')!.offlineNs).toBeGreaterThanOrEqual(15 * MS);
    expect(r.vcpus.get('hello/0')!.offlineNs).toBeGreaterThan(40 * MS); // halts early: offline after
    const sleeper = r.vcpus.get('sleeper/0')!;
    expect(sleeper.wakeLatenciesNs.length).toBeGreaterThan(3);
    for (const l of sleeper.wakeLatenciesNs) expect(l).toBeGreaterThanOrEqual(0);
    expect(r.pcpus.reduce((x, p) => x + p.busyNs, 0)).toBe(running);
    for (const p of r.pcpus) {
      expect(p.busyNs).toBeLessThanOrEqual(r.endNs);
      expect(p.idleWaitingNs).toBeLessThanOrEqual(r.endNs - p.busyNs);
    }
  });

  it("reach the run summary: per VM and vCPU, per pCPU, and Jain's index", async () => {
    const vm = (id: string, weight: number): SimSpec['vms'][number] => ({
      id,
      host: 'h0',
      vcpus: 1,
      memoryBytes: 4 << 20,
      image: `${BIN}/sbi-compute.elf`,
      args: [],
      kind: 'kernel',
      engine: 'bt',
      technique: 'paravirt',
      sched: { weight },
    });
    const spec: SimSpec = {
      name: 'm',
      seed: 1,
      durationNs: 90 * MS,
      trapPath: 'split',
      scheduler: { policy: 'credit', params: {} },
      hosts: [{ id: 'h0', pcpus: 1, clockHz: 10e6, quantumNs: 100_000 }],
      vms: [vm('a', 256), vm('b', 512)],
    };
    const { result } = await runEmbedded(spec);
    const h = result.hosts[0].sched!;
    expect(h.pcpus).toHaveLength(1);
    expect(h.pcpus[0].utilization).toBeGreaterThan(0.99);
    expect(h.pcpus[0].utilization).toBeLessThanOrEqual(1);
    expect(h.jainIndex).toBeGreaterThan(0.5);
    expect(h.jainIndex).toBeLessThanOrEqual(1);
    for (const v of result.vms) {
      const s = v.sched!;
      expect(s.runningNs).toBeLessThanOrEqual(v.cpuNs); // cpuNs includes traps' overruns
      expect(s.runningNs).toBeGreaterThan(0.99 * v.cpuNs);
      expect(s.runningNs + s.runnableNs + s.blockedNs + s.offlineNs).toBe(result.hosts[0].endNs);
      expect(s.vcpus[0].share).toBeCloseTo(v.hostShare, 2); // of one pCPU: the host has one
      expect(s.preemptions).toBeGreaterThan(0); // two hogs on one pCPU take turns
    }
  });
});

describe('derived figures', () => {
  it('percentiles are nearest-rank; the summary holds count, sum, p50/p90/p99, max', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(latencySummary(xs)).toEqual({ count: 100, sumNs: 5050, p50Ns: 50, p90Ns: 90, p99Ns: 99, maxNs: 100 });
    expect(percentile([7], 99)).toBe(7);
    expect(latencySummary([])).toEqual({ count: 0, sumNs: 0, p50Ns: 0, p90Ns: 0, p99Ns: 0, maxNs: 0 });
  });

  it("Jain's index is 1 for exactly weighted shares and falls toward 1/n as one VM takes all", () => {
    const weights = [1, 2, 4, 8];
    const exact = weights.map((w) => w / 15);
    expect(jainIndex(exact.map((s, i) => s / weights[i]))).toBeCloseTo(1, 12);
    expect(jainIndex([1, 0, 0, 0])).toBeCloseTo(0.25, 12);
    expect(jainIndex([0.6, 0.4])).toBeCloseTo(1 / (2 * (0.36 + 0.16)), 12);
  });
});
