// npm run bench:virt [-- --json FILE] [-- --workloads cpu,syscall] [-- --nano nsyscall,ntimer] [-- --no-ring32]
//
// The overhead table of CPU virtualization: the same guest kernel (guests/rv32/kernel) and
// workload, natively (bare machine, its own M-mode firmware, no hypervisor) and under each
// technique — paravirtualization (its paravirtual build: deprivileged, hypercalls instead of
// privileged instructions, a shared info page for the interrupt mask), trap-and-emulate and binary
// translation (the unmodified build, deprivileged). Per cell: virtual time to completion and its
// ratio to native, exits to the hypervisor by kind, the paravirtual kernel's hypercalls, SBI calls,
// and the wall time the simulation took. Virtual time is the result; wall time is only how long vsim
// needed to compute it.
//
// Then nanobenchmarks in the style of Adams & Agesen (ASPLOS 2006): one operation repeated N times
// (system call round trip, timer programming, interrupt masking, privileged-register read), minus
// the same run with empty loops (nnull), per technique: virtual cycles and exits per operation.
// Last, a verdict computed from the figures on whether the ordering matches the literature.

import { readFileSync, writeFileSync } from 'fs';
import { printRing32 } from './virt-ring32';
import { resolve } from 'path';
import { BareMachine } from '@vsim/isa';
import { runEmbedded, SimSpec, VmSpec } from '@vsim/control';

const BIN = resolve(__dirname, '../guests/rv32/bin');
const CLOCK_HZ = 1e9;
const TECHNIQUES = ['paravirt', 'trap-and-emulate', 'binary-translation'] as const;
const NANO = ['nsyscall', 'ntimer', 'nmask', 'ncsr'];
const NANO_WHAT: Record<string, string> = {
  nsyscall: 'system call round trip (getpid)',
  ntimer: 'timer programming',
  nmask: 'interrupt disable + enable',
  ncsr: 'privileged-register read (sie; PV: mask byte)',
};

// The verdict's thresholds. "Far less": at most half the exits. "Near native": within 10 %.
const KERNEL_HEAVY = ['syscall', 'timer'];
const FAR_LESS = 0.5;
const CPU_BOUND = 'cpu';
const NEAR_NATIVE = 1.1;
/** SMP workloads and their harts: natively that many harts, virtualized that many vCPUs on as many pCPUs. */
const HARTS: Record<string, number> = { smp: 2 };

interface Cell {
  workload: string;
  technique: string;
  image: string;
  virtualNs: number;
  /** Virtual time the VM spent on its pCPU (the nanobenchmarks' measure: no idle, no scheduling). */
  cpuNs: number;
  ratioToNative: number;
  instructions: number;
  exits: number;
  exitsByKind: Record<string, number>;
  /** Hypercalls of the paravirtual ABI (pv.*): what the PV kernel does instead of privileged instructions. */
  hypercalls: number;
  /** SBI calls (console, shutdown, and the unmodified kernel's set_timer): a hypercall too, of the firmware interface. */
  sbiCalls: number;
  translatedCalls: number;
  wallSeconds: number;
  console: string;
}

interface NanoRow {
  bench: string;
  technique: string;
  iterations: number;
  cyclesPerOp: number;
  exitsPerOp: number;
  ratioToNative: number;
}

function args() {
  const a = process.argv.slice(2).filter((x) => x !== '--');
  const get = (k: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const list = (v: string | undefined, d: string) => (v ?? d).split(',').filter((x) => x !== '');
  return { json: get('--json'), workloads: list(get('--workloads'), 'cpu,syscall,timer,io,smp'), nano: list(get('--nano'), NANO.join(',')) };
}

function native(workload: string): Cell {
  const image = `native-kernel-${workload}.elf`;
  const t0 = process.hrtime.bigint();
  const m = new BareMachine(readFileSync(`${BIN}/${image}`), { engine: 'bt', harts: HARTS[workload] ?? 1 });
  const r = m.run(20e9);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.outcome !== 'pass') throw new Error(`${image}: ${r.outcome}`);
  // The bare machine runs at one cycle per ns of the 1 GHz hosts below.
  const ns = (r.cycles * 1e9) / CLOCK_HZ;
  return {
    workload,
    technique: 'native',
    image,
    virtualNs: ns,
    cpuNs: ns,
    ratioToNative: 1,
    instructions: r.instructions,
    exits: 0,
    exitsByKind: {},
    hypercalls: 0,
    sbiCalls: 0,
    translatedCalls: 0,
    wallSeconds: wall,
    console: m.consoleOutput,
  };
}

async function virtualized(workload: string, technique: VmSpec['technique'], nativeNs: number): Promise<Cell> {
  const image = technique === 'paravirt' ? `kernel-pv-${workload}.elf` : `kernel-${workload}.elf`;
  const spec: SimSpec = {
    name: `virt-${workload}-${technique}`,
    seed: 1,
    durationNs: 20e9,
    trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus: HARTS[workload] ?? 1, clockHz: CLOCK_HZ, quantumNs: 10_000 }],
    vms: [
      {
        id: 'k',
        host: 'h0',
        vcpus: HARTS[workload] ?? 1,
        memoryBytes: 8 << 20,
        image: `${BIN}/${image}`,
        args: [],
        kind: 'kernel',
        engine: 'bt',
        technique,
        sched: {},
      },
    ],
  };
  const t0 = process.hrtime.bigint();
  const { result, log } = await runEmbedded(spec);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const vm = result.vms[0];
  if (vm.state !== 'halted') throw new Error(`${image} under ${technique}: ${vm.state} ${vm.fault ?? ''}`);
  const exitsByKind: Record<string, number> = {};
  let exits = 0;
  let hypercalls = 0;
  let sbiCalls = 0;
  let translatedCalls = 0;
  for (const e of log.all()) {
    if (e.kind !== 'trap' && e.kind !== 'hypercall') continue;
    if (e.path === 'translated') {
      translatedCalls++;
      continue;
    }
    exits++;
    if (e.cause.startsWith('pv.') && e.kind === 'hypercall') hypercalls++;
    if (e.cause.startsWith('sbi.')) sbiCalls++;
    const kind = e.cause.replace(/^tae\.csr\..*/, 'tae.csr').replace(/^sbi\.[a-z]+\..*/, (m) => m.split('.').slice(0, 2).join('.'));
    exitsByKind[kind] = (exitsByKind[kind] ?? 0) + 1;
  }
  const virtualNs = result.hosts[0].endNs;
  return {
    workload,
    technique: technique ?? 'paravirt',
    image,
    virtualNs,
    cpuNs: vm.cpuNs,
    ratioToNative: virtualNs / nativeNs,
    instructions: vm.instructions,
    exits,
    exitsByKind,
    hypercalls,
    sbiCalls,
    translatedCalls,
    wallSeconds: wall,
    console: vm.console,
  };
}

/** Native and the three techniques on one workload, each checked against native's console output. */
async function allTechniques(workload: string): Promise<Cell[]> {
  const n = native(workload);
  const cells = [n];
  for (const t of TECHNIQUES) {
    const c = await virtualized(workload, t, n.virtualNs);
    if (c.console !== n.console) throw new Error(`${workload} under ${t}: console output differs from native (equivalence broken)`);
    cells.push(c);
  }
  return cells;
}

/** The iteration count the nanobenchmark printed ("bench: <name> x <N>"). */
function iterations(cell: Cell): number {
  const m = /^bench: \w+ x (\d+)$/m.exec(cell.console);
  if (!m) throw new Error(`${cell.image}: no "bench: <name> x <N>" line in its console output`);
  return Number(m[1]);
}

/** Per operation: the benchmark's run minus the empty-loop run, over the iterations. */
function nanoRows(bench: string, cells: Cell[], baseline: Cell[]): NanoRow[] {
  const rows: NanoRow[] = [];
  let nativeCycles = NaN;
  for (const c of cells) {
    const base = baseline.find((b) => b.technique === c.technique)!;
    const n = iterations(c);
    const cyclesPerOp = ((c.cpuNs - base.cpuNs) * CLOCK_HZ) / 1e9 / n;
    if (c.technique === 'native') nativeCycles = cyclesPerOp;
    rows.push({
      bench,
      technique: c.technique,
      iterations: n,
      cyclesPerOp,
      exitsPerOp: (c.exits - base.exits) / n,
      ratioToNative: cyclesPerOp / nativeCycles,
    });
  }
  return rows;
}

/** Whether the figures order the techniques as the literature does; each failed check is named. */
function verdict(cells: Cell[]): { matches: boolean; reasons: string[]; checked: string[] } {
  const reasons: string[] = [];
  const checked: string[] = [];
  const cell = (w: string, t: string) => cells.find((c) => c.workload === w && c.technique === t);
  for (const w of KERNEL_HEAVY) {
    const tae = cell(w, 'trap-and-emulate');
    if (!tae) continue;
    for (const t of ['paravirt', 'binary-translation']) {
      const c = cell(w, t)!;
      checked.push(`${w}: ${t} ${c.exits} exits vs trap-and-emulate ${tae.exits}`);
      if (c.exits > FAR_LESS * tae.exits) reasons.push(`${w}: ${t} exits ${c.exits} times, not far less than trap-and-emulate's ${tae.exits}`);
    }
  }
  for (const t of TECHNIQUES) {
    const c = cell(CPU_BOUND, t);
    if (!c) continue;
    checked.push(`${CPU_BOUND}: ${t} ${c.ratioToNative.toFixed(3)}x native`);
    if (c.ratioToNative > NEAR_NATIVE)
      reasons.push(`${CPU_BOUND}: ${t} runs at ${c.ratioToNative.toFixed(3)}x native, not near native (<= ${NEAR_NATIVE})`);
  }
  return { matches: reasons.length === 0 && checked.length > 0, reasons, checked };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

async function main() {
  const opts = args();
  const cells: Cell[] = [];
  for (const w of opts.workloads) {
    cells.push(...(await allTechniques(w)));
    process.stderr.write(`bench:virt: ${w} done\n`);
  }
  const nano: NanoRow[] = [];
  if (opts.nano.length > 0) {
    const baseline = await allTechniques('nnull');
    for (const b of opts.nano) {
      nano.push(...nanoRows(b, await allTechniques(b), baseline));
      process.stderr.write(`bench:virt: ${b} done\n`);
    }
  }

  if (cells.length > 0) {
    const rows = [
      ['workload', 'technique', 'virtual ms', 'x native', 'instructions', 'exits', 'hypercalls', 'sbi calls', 'translated calls', 'wall s'],
    ];
    for (const c of cells) {
      rows.push([
        c.workload,
        c.technique,
        (c.virtualNs / 1e6).toFixed(3),
        c.ratioToNative.toFixed(3),
        String(c.instructions),
        String(c.exits),
        String(c.hypercalls),
        String(c.sbiCalls),
        String(c.translatedCalls),
        c.wallSeconds.toFixed(2),
      ]);
    }
    console.log('vsim virtualization overhead (same kernel and workload; console output identical to native in every cell)');
    console.log(
      'hypercalls: of the paravirtual ABI (pv.*, a multicall counts once); sbi calls: console, shutdown, set_timer of the unmodified kernel',
    );
    console.log(table(rows));
    console.log('\nexits by kind:');
    for (const c of cells)
      if (c.exits)
        console.log(
          `  ${c.workload.padEnd(8)} ${c.technique.padEnd(19)} ${Object.entries(c.exitsByKind)
            .sort((a, b) => b[1] - a[1])
            .map(([k, n]) => `${k}×${n}`)
            .join(', ')}`,
        );
  }
  if (nano.length > 0) {
    console.log(
      `\nnanobenchmarks (Adams & Agesen, ASPLOS 2006): per operation, minus the empty-loop run (nnull); ${CLOCK_HZ / 1e9} GHz virtual clock`,
    );
    const rows = [['benchmark', 'technique', 'cycles/op', 'exits/op', 'x native']];
    for (const r of nano) rows.push([r.bench, r.technique, r.cyclesPerOp.toFixed(1), r.exitsPerOp.toFixed(3), r.ratioToNative.toFixed(2)]);
    console.log(table(rows));
    for (const b of opts.nano) console.log(`  ${b.padEnd(9)} ${NANO_WHAT[b] ?? ''}, ${nano.find((r) => r.bench === b)!.iterations} iterations`);
  }
  const v = verdict(cells);
  if (v.checked.length > 0) {
    console.log(
      `\nverdict: ${v.matches ? 'the ordering matches the literature' : 'the ordering does NOT match the literature'} ` +
        `(paravirtual and translated kernels exit far less than trap-and-emulate on kernel-heavy work; CPU-bound user code runs near native under all three)` +
        (v.matches ? '' : `: ${v.reasons.join('; ')}`),
    );
    console.log(`  checked: ${v.checked.join('; ')}`);
  }
  // The teaching ISA's kernel under each technique (incl. code patching) and the cross-ISA runs.
  const ring32 = process.argv.includes('--no-ring32') ? undefined : printRing32();
  if (opts.json) {
    const strip = (cs: Cell[]) => cs.map(({ console: _c, ...rest }) => rest);
    writeFileSync(opts.json, JSON.stringify({ overhead: strip(cells), nano, verdict: v, ring32 }, null, 2) + '\n');
  }
}

main().catch((e) => {
  console.error(`bench:virt: ${(e as Error).message}`);
  process.exit(1);
});
