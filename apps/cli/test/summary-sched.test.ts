// The scheduling part of `vsim run`'s summary, from a real embedded run: per VM its preemptions,
// migrations and wake-up latency distribution, per host pCPU utilization, idle time while a vCPU
// was runnable and Jain's index — and the JSON figures the lines are made from.

import { resolve } from 'path';
import { runEmbedded, SimSpec } from '@vsim/control';
import { formatSummary } from '../src/run/summary';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');

it('prints the scheduling metrics compactly, from the result the JSON holds', async () => {
  const vm = (id: string, image: string): SimSpec['vms'][number] => ({
    id,
    host: 'h0',
    vcpus: 1,
    memoryBytes: 4 << 20,
    image: `${BIN}/${image}`,
    args: [],
    kind: 'kernel',
    engine: 'bt',
    technique: 'paravirt',
    sched: {},
  });
  const spec: SimSpec = {
    name: 'sched-summary',
    seed: 1,
    durationNs: 60e6,
    trapPath: 'split',
    scheduler: { policy: 'credit', params: {} },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 }],
    vms: [vm('sleeper', 'sbi-sleeper.elf'), vm('compute', 'sbi-compute.elf')],
  };
  const { result } = await runEmbedded(spec);
  const text = formatSummary(result, 0);
  const sleeper = result.vms.find((v) => v.id === 'sleeper')!.sched!;
  expect(sleeper.wakeLatency.count).toBe(20); // it sleeps 20 times
  expect(text).toContain('scheduling:');
  expect(text).toMatch(
    /^ {2}sleeper: preemptions \d+, migrations 0, offline [\d.]+ ms, wake-up latency ms \(20\): mean [\d.]+ p50 [\d.]+ p90 [\d.]+ p99 [\d.]+ max [\d.]+$/m,
  );
  expect(text).toMatch(/^ {2}compute: preemptions \d+, migrations 0(, offline [\d.]+ ms)?$/m);
  const h = result.hosts[0].sched!;
  expect(text).toContain(
    `  h0: pCPU utilization ${(100 * h.pcpus[0].utilization).toFixed(1)}%, idle while runnable ${(h.idleWaitingNs / 1e6).toFixed(3)} ms, Jain's index ${h.jainIndex.toFixed(4)}`,
  );
  // The JSON is the same object: plain numbers, which survive a round trip.
  expect(JSON.parse(JSON.stringify(result.vms.map((v) => v.sched)))).toEqual(result.vms.map((v) => v.sched));
});
