// bench:virt's ring32 part: the ring32 guest kernel under each technique against its native run
// (virtual cycles, ratio to native, exits, translated calls, hypercalls, wall time, and whether the
// console equals native — plain trap-and-emulate DIVERGES), code patching's scan (wall time,
// instructions scanned, sites patched, lazy scans, exits), and vCPUs of another ISA: per engine,
// the cost of emulating a guest of the other ISA against same-ISA direct execution, with the
// engines' ns per guest instruction measured in this run beside the factors the cost model uses;
// and what a ring32 exit costs in-process and through the wire format (ring32ExitPath).
//
//   npx tsx bench/virt-ring32.ts [--json FILE]      (npm run bench:virt-ring32)

import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ENGINE_NAMES } from '@vsim/isa';
import { buildRing32Kernel } from '@vsim/testkit';
import { DEFAULT_EXPANSION_FACTORS, defaultRv32Guest, runOnHost } from '@vsim/executor';
import { diagnoseRing32, handleTrap, RING32_TECHNIQUES, runRing32, Ring32Vm, Ring32VmResult } from '@vsim/hypervisor';
import { TrapRequest, TrapResolution, encode } from '@vsim/proto';

const ROOT = path.resolve(__dirname, '..');

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, n) => a + n, 0);

export function ring32Overhead(): { rows: Record<string, unknown>[]; diagnosis: string } {
  const kernel = buildRing32Kernel('kernel');
  const pv = buildRing32Kernel('kernel-pv');
  const runs: { technique: string; r: Ring32VmResult; wallMs: number }[] = [];
  for (const technique of RING32_TECHNIQUES) {
    const t0 = process.hrtime.bigint();
    const r = runRing32(technique === 'paravirt' ? pv : kernel, { technique });
    runs.push({ technique, r, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 });
  }
  const native = runs[0].r;
  const rows = runs.map(({ technique, r, wallMs }) => ({
    technique,
    cycles: r.cycles,
    ratio: r.cycles / native.cycles,
    instructions: r.instructions,
    exits: sum(r.exits),
    translatedCalls: sum(r.translatedCalls),
    hypercalls: r.hypercalls,
    equivalent: r.console === native.console && r.exitCode === native.exitCode,
    wallMs,
    exitsByRoutine: r.exits,
    patching: r.patching && { ...r.patching, scanUs: r.patching.scanWallNs / 1e3 },
  }));
  return { rows, diagnosis: diagnoseRing32(kernel).report };
}

export function crossIsa(): Record<string, unknown>[] {
  const guests = [
    { name: 'ring32 kernel', guest: { isa: 'ring32' as const, image: buildRing32Kernel('kernel') }, host: 'rv32' as const },
    { name: 'rv32 checksum', guest: defaultRv32Guest(ROOT), host: 'ring32' as const },
  ];
  const rows: Record<string, unknown>[] = [];
  for (const g of guests) {
    const direct = runOnHost(g.guest, g.guest.isa, 'bt');
    for (const engine of ENGINE_NAMES) {
      const t0 = process.hrtime.bigint();
      const run = runOnHost(g.guest, g.host, engine);
      const ns = Number(process.hrtime.bigint() - t0);
      rows.push({
        guest: g.name,
        host: g.host,
        engine,
        instructions: run.instructions,
        directCycles: direct.chargedCycles,
        chargedCycles: run.chargedCycles,
        expansion: run.chargedCycles / direct.chargedCycles,
        identical: run.console === direct.console,
        nsPerInstruction: ns / run.instructions,
      });
    }
  }
  return rows;
}

/**
 * The ring32 exit path (architecture §5): with a fast timer (a tick every 7 cycles) so exits
 * dominate, each hypervised technique with its exits resolved in-process (the split path) and
 * through the wire format (TrapRequest and TrapResolution encoded and decoded, as the remote path
 * carries them, without the bus): CPU µs per exit or translated call, the ratio, and whether the
 * runs are identical. (The bus itself adds its round trip: about 160 µs on loopback, §5.)
 */
export function ring32ExitPath(): Record<string, unknown>[] {
  const kernel = buildRing32Kernel('kernel');
  const pv = buildRing32Kernel('kernel-pv');
  const rows: Record<string, unknown>[] = [];
  for (const technique of RING32_TECHNIQUES.filter((t) => t !== 'native')) {
    const run = (wire: boolean) => {
      const vm = new Ring32Vm(technique === 'paravirt' ? pv : kernel, { technique, cyclesPerTick: 7 });
      if (wire)
        vm.resolveLocal = (req) =>
          TrapResolution.decode(encode(TrapResolution, handleTrap(TrapRequest.decode(encode(TrapRequest, req)), undefined, vm.costs)));
      const c0 = process.cpuUsage();
      const r = vm.run(2e7);
      const c = process.cpuUsage(c0);
      return { r, us: c.user + c.system, n: sum(r.exits) + sum(r.translatedCalls) };
    };
    run(false); // warm-up: the engine's and the routines' code compiled before either is timed
    const local = run(false);
    const wire = run(true);
    rows.push({
      technique,
      exits: local.n,
      localUsPerExit: local.us / local.n,
      wireUsPerExit: wire.us / wire.n,
      ratio: wire.us / local.us,
      identical: JSON.stringify({ ...wire.r, patching: undefined }) === JSON.stringify({ ...local.r, patching: undefined }),
    });
  }
  return rows;
}

export function printRing32(): {
  overhead: Record<string, unknown>[];
  diagnosis: string;
  crossIsa: Record<string, unknown>[];
  exitPath: Record<string, unknown>[];
} {
  const { rows, diagnosis } = ring32Overhead();
  console.log('\nring32 guest kernel (guests/ring32/kernel.s; paravirt runs its PV build): virtual cycles at 1 GHz, console against native');
  const t = [['technique', 'cycles', 'x native', 'exits', 'translated calls', 'hypercalls', 'console', 'wall ms']];
  for (const r of rows) {
    t.push([
      String(r.technique),
      String(r.cycles),
      (r.ratio as number).toFixed(2),
      String(r.exits),
      String(r.translatedCalls),
      String(r.hypercalls),
      r.technique === 'native' ? 'baseline' : r.equivalent ? 'identical' : 'DIVERGES',
      (r.wallMs as number).toFixed(1),
    ]);
  }
  console.log(table(t));
  for (const r of rows) {
    if (r.exits === 0) continue;
    console.log(
      `  ${String(r.technique).padEnd(19)} exits: ${Object.entries(r.exitsByRoutine as Record<string, number>)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k}×${n}`)
        .join(', ')}`,
    );
  }
  const cp = rows.find((r) => r.technique === 'code-patching')!.patching as Record<string, number | Record<string, number>>;
  console.log(
    `  code-patching scan: ${(cp.scanUs as number).toFixed(0)} µs wall, ${cp.scannedInstructions} instructions scanned, ${cp.patchedSites} sites patched ` +
      `(critical ${JSON.stringify(cp.criticalByName)}, computed jumps ${cp.indirectSites}), ${cp.lazyScans} scans on first execution`,
  );
  console.log('\nplain trap-and-emulate, diagnosed:');
  console.log(
    diagnosis
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  const cross = crossIsa();
  console.log('\nvCPUs of another ISA: emulation on each engine vs same-ISA direct execution (cost model: direct cycles x expansion factor)');
  const c = [['guest', 'host', 'engine', 'instructions', 'direct cycles', 'charged cycles', 'expansion', 'output', 'ns/instr (this run)']];
  for (const r of cross) {
    c.push([
      String(r.guest),
      String(r.host),
      String(r.engine),
      String(r.instructions),
      String(r.directCycles),
      String(r.chargedCycles),
      (r.expansion as number).toFixed(2),
      r.identical ? 'identical' : 'DIFFERS',
      (r.nsPerInstruction as number).toFixed(1),
    ]);
  }
  console.log(table(c));
  console.log(
    `  expansion factors (docs/cost-model.md, Emulation): ${Object.entries(DEFAULT_EXPANSION_FACTORS)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const path = ring32ExitPath();
  console.log(
    '\nring32 exit path, a tick every 7 cycles (2e7 cycles): the run’s CPU µs per exit or translated call, in-process vs through the wire format',
  );
  const p = [['technique', 'exits+calls', 'in-process µs', 'wire format µs', 'x in-process', 'result']];
  for (const r of path) {
    p.push([
      String(r.technique),
      String(r.exits),
      (r.localUsPerExit as number).toFixed(2),
      (r.wireUsPerExit as number).toFixed(2),
      (r.ratio as number).toFixed(2),
      r.identical ? 'identical' : 'DIFFERS',
    ]);
  }
  console.log(table(p));
  return { overhead: rows, diagnosis, crossIsa: cross, exitPath: path };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { json: { type: 'string' } } });
  const out = printRing32();
  if (values.json) writeFileSync(values.json, JSON.stringify(out, null, 2) + '\n');
}
