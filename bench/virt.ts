// npm run bench:virt [-- --json FILE] [-- --workloads cpu,syscall]
//
// The overhead table of CPU virtualization: the same guest kernel (guests/rv32/kernel) and
// workload, natively (bare machine, its own M-mode firmware, no hypervisor) and under each
// technique — paravirtualization (its paravirtual build, in S-mode, calling the hypervisor by
// SBI), trap-and-emulate and binary translation (the unmodified build, deprivileged). Per cell:
// virtual time to completion and its ratio to native, exits to the hypervisor by kind, hypercalls,
// and the wall time the simulation took. Virtual time is the result; wall time is only how long
// vsim needed to compute it.

import { readFileSync, writeFileSync } from 'fs';
import { resolve } from 'path';
import { BareMachine } from '@vsim/isa';
import { runEmbedded, SimSpec, VmSpec } from '@vsim/runtime';

const BIN = resolve(__dirname, '../guests/rv32/bin');

interface Cell {
  workload: string;
  technique: string;
  image: string;
  virtualNs: number;
  ratioToNative: number;
  instructions: number;
  exits: number;
  exitsByKind: Record<string, number>;
  hypercalls: number;
  translatedCalls: number;
  wallSeconds: number;
  console: string;
}

function args() {
  const a = process.argv.slice(2).filter((x) => x !== '--');
  const get = (k: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  return { json: get('--json'), workloads: (get('--workloads') ?? 'cpu,syscall,timer,io').split(',') };
}

function native(workload: string): Cell {
  const image = `native-kernel-${workload}.elf`;
  const t0 = process.hrtime.bigint();
  const m = new BareMachine(readFileSync(`${BIN}/${image}`), { engine: 'bt' });
  const r = m.run(20e9);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.outcome !== 'pass') throw new Error(`${image}: ${r.outcome}`);
  return {
    workload, technique: 'native', image, virtualNs: r.cycles, ratioToNative: 1, instructions: r.instructions,
    exits: 0, exitsByKind: {}, hypercalls: 0, translatedCalls: 0, wallSeconds: wall, console: m.consoleOutput,
  };
}

async function virtualized(workload: string, technique: VmSpec['technique'], nativeNs: number): Promise<Cell> {
  const image = technique === 'paravirt' ? `kernel-pv-${workload}.elf` : `kernel-${workload}.elf`;
  const spec: SimSpec = {
    name: `virt-${workload}-${technique}`, seed: 1, durationNs: 20e9, trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 }],
    vms: [{ id: 'k', host: 'h0', vcpus: 1, memoryBytes: 8 << 20, image: `${BIN}/${image}`, args: [], kind: 'sbi', engine: 'bt', technique, sched: {} }],
  };
  const t0 = process.hrtime.bigint();
  const { result, log } = await runEmbedded(spec);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const vm = result.vms[0];
  if (vm.state !== 'halted') throw new Error(`${image} under ${technique}: ${vm.state} ${vm.fault ?? ''}`);
  const exitsByKind: Record<string, number> = {};
  let exits = 0;
  let hypercalls = 0;
  let translatedCalls = 0;
  for (const e of log.all()) {
    if (e.kind !== 'trap' && e.kind !== 'hypercall') continue;
    if (e.path === 'translated') {
      translatedCalls++;
      continue;
    }
    exits++;
    if (e.kind === 'hypercall' || e.cause.startsWith('sbi.')) hypercalls++;
    const kind = e.cause.replace(/^tae\.csr\..*/, 'tae.csr').replace(/^sbi\.[a-z]+\..*/, (m) => m.split('.').slice(0, 2).join('.'));
    exitsByKind[kind] = (exitsByKind[kind] ?? 0) + 1;
  }
  const virtualNs = result.hosts[0].endNs;
  return {
    workload, technique: technique ?? 'paravirt', image, virtualNs, ratioToNative: virtualNs / nativeNs, instructions: vm.instructions,
    exits, exitsByKind, hypercalls, translatedCalls, wallSeconds: wall, console: vm.console,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

async function main() {
  const opts = args();
  const cells: Cell[] = [];
  for (const w of opts.workloads) {
    const n = native(w);
    cells.push(n);
    for (const t of ['paravirt', 'trap-and-emulate', 'binary-translation'] as const) {
      const c = await virtualized(w, t, n.virtualNs);
      if (c.console !== n.console) throw new Error(`${w} under ${t}: console output differs from native (equivalence broken)`);
      cells.push(c);
    }
    process.stderr.write(`bench:virt: ${w} done\n`);
  }
  const rows = [['workload', 'technique', 'virtual ms', 'x native', 'instructions', 'exits', 'hypercalls', 'translated calls', 'wall s']];
  for (const c of cells) {
    rows.push([c.workload, c.technique, (c.virtualNs / 1e6).toFixed(3), c.ratioToNative.toFixed(3), String(c.instructions), String(c.exits), String(c.hypercalls), String(c.translatedCalls), c.wallSeconds.toFixed(2)]);
  }
  console.log('vsim virtualization overhead (same kernel and workload; console output identical to native in every cell)');
  console.log(table(rows));
  console.log('\nexits by kind:');
  for (const c of cells) if (c.exits) console.log(`  ${c.workload.padEnd(8)} ${c.technique.padEnd(19)} ${Object.entries(c.exitsByKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}×${n}`).join(', ')}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(cells.map(({ console: _c, ...rest }) => rest), null, 2) + '\n');
}

main().catch((e) => {
  console.error(`bench:virt: ${(e as Error).message}`);
  process.exit(1);
});
