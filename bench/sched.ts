// npm run bench:sched [-- --json FILE]
//
// Xen's Credit scheduler in vsim, measured against the ideal: real guests on a real host executor
// (the host clock is 10 MHz so that seconds of virtual time cost little wall time; the scheduler
// only sees nanoseconds). Prints measured beside ideal, and the error.
//   1. weights 1:2:4:8, four CPU-bound VMs on one pCPU, 10 s: shares and error in percentage points
//   2. caps 10 % ... 90 %: one capped VM alone on a pCPU (non-work-conserving)
//   3. work conservation: 4 pCPUs, 6 CPU-bound VMs with unequal weights: idle time while runnable
//   4. wake-up latency of an I/O-like VM beside CPU hogs, with and without BOOST
//   5. scheduler cost: Credit decisions per second with 10,000 vCPUs, in-process (policy only)

import { readFileSync, writeFileSync } from 'fs';
import { resolve } from 'path';
import { CreditOptions, CreditPolicy, handleTrap, HostExecutor, HostLoop, HostLoopResult, vcpuKey } from './sched-support';

const BIN = resolve(__dirname, '../guests/rv32/bin');
const HOG = readFileSync(`${BIN}/checksum.elf`);
const SLEEPER = readFileSync(`${BIN}/sbi-sleeper.elf`);

interface Vm { id: string; guest: 'hog' | 'sleeper'; weight?: number; cap?: number }

async function run(pcpus: number, vms: Vm[], seconds: number, opts: CreditOptions = {}, clockHz = 10e6): Promise<HostLoopResult> {
  const exec = new HostExecutor(
    { sim: 'bench', id: 'h0', pcpus, clockHz, quantumNs: clockHz >= 1e9 ? 10_000 : 100_000, trapPath: 'split' },
    { exitCost: 1000, local: (r) => handleTrap(r, undefined), remote: async (r) => handleTrap(r, { id: r.vm, kind: 'sbi', brkStart: 0, brk: 0, brkMax: 0 }) },
  );
  const loop = new HostLoop('bench', 'h0', pcpus, new CreditPolicy(pcpus, opts), (o) => exec.run(o));
  for (const v of vms) {
    if (v.guest === 'hog') exec.createVm({ id: v.id, kind: 'linux', vcpus: 1, memoryBytes: 16 << 20, image: HOG, args: ['100000'], engine: 'bt' });
    else exec.createVm({ id: v.id, kind: 'sbi', technique: 'paravirt', vcpus: 1, memoryBytes: 4 << 20, image: SLEEPER, args: [], engine: 'bt' });
    loop.addVm({ id: v.id, vcpus: 1, sched: { ...(v.weight !== undefined && { weight: v.weight }), ...(v.cap !== undefined && { cap: v.cap }) } });
  }
  return loop.run(seconds * 1e9);
}

const share = (r: HostLoopResult, vm: string, pcpus = 1) => r.vcpus.get(vcpuKey(vm))!.runningNs / (r.endNs * pcpus);
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const pp = (x: number) => `${(100 * x).toFixed(2)} pp`;

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

/** Wake-to-run latencies: from each `wake` event of the VM to the next time it is given a pCPU. */
function wakeLatencies(r: HostLoopResult, vm: string): number[] {
  const out: number[] = [];
  let woke = -1;
  for (const e of r.events) {
    if (e.vm !== vm) continue;
    if (e.kind === 'wake' && e.source === 'sched') woke = e.timeNs;
    if (e.kind === 'schedule' && woke >= 0) {
      out.push(e.timeNs - woke);
      woke = -1;
    }
  }
  return out;
}

async function main() {
  const json: Record<string, unknown> = {};
  const a = process.argv.slice(2);
  const jsonFile = a.includes('--json') ? a[a.indexOf('--json') + 1] : undefined;

  // 1. weights
  const weights = [1, 2, 4, 8];
  const r1 = await run(1, weights.map((w) => ({ id: `w${w}`, guest: 'hog', weight: w * 32 })), 10);
  const total = weights.reduce((x, y) => x + y, 0);
  const rows1 = [['VM (weight)', 'measured', 'ideal', 'error']];
  let maxErr1 = 0;
  for (const w of weights) {
    const m = share(r1, `w${w}`);
    const ideal = w / total;
    maxErr1 = Math.max(maxErr1, Math.abs(m - ideal));
    rows1.push([`w${w} (${w * 32})`, pct(m), pct(ideal), pp(Math.abs(m - ideal))]);
  }
  console.log(`1. weights 1:2:4:8, four CPU-bound VMs on one pCPU, 10 s of virtual time (target error <= 0.5 pp)\n${table(rows1)}\n   max error ${pp(maxErr1)}\n`);
  json.weights = { rows: rows1, maxErrorPp: 100 * maxErr1 };

  // 2. caps
  const rows2 = [['cap', 'measured', 'ideal', 'error']];
  for (const cap of [10, 20, 30, 40, 50, 60, 70, 80, 90]) {
    const r = await run(1, [{ id: 'capped', guest: 'hog', cap }], 2);
    const m = share(r, 'capped');
    rows2.push([`${cap} %`, pct(m), pct(cap / 100), pp(Math.abs(m - cap / 100))]);
  }
  console.log(`2. a capped VM alone on one pCPU, 2 s each (non-work-conserving: the rest of the pCPU idles)\n${table(rows2)}\n`);
  json.caps = rows2;

  // 3. work conservation
  const wc = [256, 256, 512, 512, 768, 1024];
  const r3 = await run(4, wc.map((w, i) => ({ id: `v${i}`, guest: 'hog', weight: w })), 3);
  const used = [...r3.vcpus.values()].reduce((x, s) => x + s.runningNs, 0);
  const idle = 4 * r3.endNs - used;
  const rows3 = [['VM (weight)', 'share of host']];
  wc.forEach((w, i) => rows3.push([`v${i} (${w})`, pct(share(r3, `v${i}`, 4))]));
  console.log(`3. work conservation: 4 pCPUs, 6 always-runnable single-vCPU VMs, 3 s (a VM cannot exceed one pCPU = 25 % of the host)\n${table(rows3)}\n   idle while runnable: ${(Math.max(0, idle) / 1e6 / (r3.endNs / 1e9)).toFixed(3)} ms per second (target: under one 10 ms tick per second)\n`);
  json.workConservation = { rows: rows3, idleMsPerSecond: idle / 1e6 / (r3.endNs / 1e9) };

  // 4. BOOST
  const rows4 = [['BOOST', 'wakes', 'mean latency', 'max latency']];
  for (const boost of [true, false]) {
    // At 1 GHz, where the sleeper's work between sleeps is ~50 µs: I/O-like.
    const r = await run(1, [{ id: 'io', guest: 'sleeper' }, { id: 'hog1', guest: 'hog' }, { id: 'hog2', guest: 'hog' }], 0.3, { boost }, 1e9);
    const l = wakeLatencies(r, 'io');
    const mean = l.reduce((x, y) => x + y, 0) / Math.max(l.length, 1);
    rows4.push([boost ? 'on' : 'off', String(l.length), `${(mean / 1e6).toFixed(3)} ms`, `${(Math.max(0, ...l) / 1e6).toFixed(3)} ms`]);
  }
  console.log(`4. wake-up latency of an I/O-like VM (sleeps 1 ms, 20 times) beside two CPU hogs, one pCPU\n${table(rows4)}\n`);
  json.boost = rows4;

  // 5. scheduler cost
  const N = 10_000;
  const pol = new CreditPolicy(64);
  for (let i = 0; i < N; i++) pol.add({ vm: `v${i}`, vcpu: 0, key: `v${i}/0` }, { weight: 1 + (i % 512) }, 0);
  let now = 0;
  let decisions = 0;
  const t0 = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t0) < 2e9) {
    const d = pol.schedule(now);
    for (const v of d.run) if (v) pol.charge(v, 1e6, now + 1e6);
    now += 1e6;
    decisions++;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`5. scheduler cost: Credit, ${N} vCPUs on 64 pCPUs, in-process: ${(decisions / secs).toFixed(0)} decisions per second (each for all 64 pCPUs)`);
  json.cost = { vcpus: N, pcpus: 64, decisionsPerSecond: decisions / secs };

  if (jsonFile) writeFileSync(jsonFile, JSON.stringify(json, null, 2) + '\n');
}

main().catch((e) => {
  console.error(`bench:sched: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
