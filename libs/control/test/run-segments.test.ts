// Run segments (`run` events, libs/scheduler/src/run-segments.ts): one per stretch of a vCPU on a pCPU, dated
// at its start, whose CPU time (`value`) adds up, per vCPU, exactly to the CPU time in the results;
// they never overlap on a pCPU; the wake-up latencies they carry are the results' samples; the
// policy's balance rides along. Checked on a scripted host (known answers) and on real guests.

import { resolve } from 'path';
import { Event, RunOrder, RunReport, VcpuState } from '@vsim/proto';
import { runEmbedded, SimSpec } from '@vsim/control';
import { Decision, HostLoop, latencySummary, SchedulerPolicy, VcpuRef } from '@vsim/scheduler';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');
const MS = 1e6;

/** pCPU 0 runs `a` until 10 ms, then `b`; `a` is re-picked whenever runnable. */
class TwoStep implements SchedulerPolicy {
  readonly name = 'two-step';
  private asleep = new Set<string>();
  add(): void {}
  remove(): void {}
  wake(v: VcpuRef): void {
    this.asleep.delete(v.key);
  }
  sleep(v: VcpuRef): void {
    this.asleep.add(v.key);
  }
  charge(): void {}
  schedule(now: number): Decision {
    const a: VcpuRef = { vm: 'a', vcpu: 0, key: 'a/0' };
    const b: VcpuRef = { vm: 'b', vcpu: 0, key: 'b/0' };
    if (now < 10 * MS && !this.asleep.has('a/0')) return { run: [a], until: Math.min(now + 2 * MS, 10 * MS) };
    return { run: [b], until: now + 2 * MS };
  }
}

describe('run segments', () => {
  it('on a scripted host: merged across iterations, ended where a blocking vCPU stopped, not at the iteration end', async () => {
    // `a` runs 2 ms iterations; in the one from 6 ms it blocks after 700 µs, and the host (as a
    // real one does at a quantum boundary) reports the iteration ended at 7 ms.
    const host = async (o: RunOrder): Promise<RunReport> => {
      const p = o.pcpus[0];
      const blocks = p.vm === 'a' && o.nowNs === 6 * MS;
      return RunReport.fromPartial({
        sim: o.sim,
        host: o.host,
        seq: o.seq,
        nowNs: blocks ? 7 * MS : o.untilNs,
        vcpus: [
          {
            vm: p.vm,
            vcpu: 0,
            state: blocks ? VcpuState.VCPU_STATE_BLOCKED : VcpuState.VCPU_STATE_RUNNABLE,
            wakeNs: blocks ? 50 * MS : 0,
            ranNs: blocks ? 0.7 * MS : o.untilNs - o.nowNs,
            instructions: 0,
          },
        ],
      });
    };
    const loop = new HostLoop('t', 'h0', 1, new TwoStep(), host);
    loop.addVm({ id: 'a', vcpus: 1, sched: {} });
    loop.addVm({ id: 'b', vcpus: 1, sched: {} });
    const r = await loop.run(11 * MS);
    const runs = r.events.filter((e) => e.kind === 'run').map((e) => [e.vm, e.pcpu, e.timeNs, e.value]);
    expect(runs).toEqual([
      ['a', 0, 0, 6.7 * MS],
      ['b', 0, 7 * MS, 4 * MS],
    ]);
    expect(r.vcpus.get('a/0')!.runningNs).toBe(6.7 * MS);
    expect(r.vcpus.get('b/0')!.runningNs).toBe(4 * MS);
  });

  it('on real guests under Credit: sums equal the CPU time, no overlap, latencies and credit as the results say', async () => {
    const spec: SimSpec = {
      name: 'segments',
      seed: 1,
      durationNs: 300 * MS,
      trapPath: 'split',
      scheduler: { policy: 'credit', params: { tslice: 10 * MS, ratelimit: 1 * MS } },
      hosts: [{ id: 'h0', pcpus: 1, clockHz: 10e6, quantumNs: 100_000 }],
      vms: [
        { id: 'hog', vcpus: 1, memoryBytes: 16 << 20, image: `${BIN}/checksum.elf`, args: ['3'], kind: 'linux', engine: 'direct', sched: {} },
        { id: 'io', vcpus: 1, memoryBytes: 4 << 20, image: `${BIN}/sbi-sleeper.elf`, args: [], kind: 'kernel', engine: 'direct', sched: {} },
      ],
    };
    const { result, log } = await runEmbedded(spec);
    const runs = log.all().filter((e) => e.kind === 'run');
    for (const vm of result.vms) {
      const mine = runs.filter((e) => e.vm === vm.id);
      expect(mine.reduce((a, e) => a + e.value, 0)).toBe(vm.cpuNs);
      const lat = mine
        .map((e) => JSON.parse(e.detail || '{}') as { latencyNs?: number })
        .filter((d) => d.latencyNs !== undefined)
        .map((d) => d.latencyNs!);
      const s = latencySummary(lat);
      expect([s.count, s.p50Ns, s.p90Ns, s.p99Ns, s.maxNs]).toEqual([
        vm.sched!.wakeLatency.count,
        vm.sched!.wakeLatency.p50Ns,
        vm.sched!.wakeLatency.p90Ns,
        vm.sched!.wakeLatency.p99Ns,
        vm.sched!.wakeLatency.maxNs,
      ]);
      expect(mine.every((e) => typeof (JSON.parse(e.detail) as { credit?: number }).credit === 'number')).toBe(true);
    }
    expect(result.vms.find((v) => v.id === 'io')!.sched!.wakeLatency.count).toBeGreaterThan(10);
    // A segment's CPU time is the host's cycles in ns: when a decision falls between two cycles
    // (Credit's 3.33 ms ticks on this 10 MHz clock) it can exceed its interval by less than a cycle.
    const cycleNs = 1e9 / 10e6;
    const sorted = [...runs].sort((x: Event, y: Event) => x.timeNs - y.timeNs);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].timeNs).toBeGreaterThan(sorted[i - 1].timeNs + sorted[i - 1].value - cycleNs);
  });
});
