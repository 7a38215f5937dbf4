// Writes guests/ring32/expected/kernel.txt: the kernel's console on a bare ring32 machine (ring 0,
// no hypervisor) — the baseline every technique is compared with. Run: npx tsx guests/ring32/expected-native.ts [--check]
import { readFileSync, writeFileSync } from 'fs';
import { resolve } from 'path';
import { Ring32Machine } from '@vsim/isa';
import { buildRing32Kernel } from '../../libs/runtime/src/ring32/build';

const out = resolve(__dirname, 'expected/kernel.txt');
const run = new Ring32Machine(buildRing32Kernel('kernel')).run(1e9);
if (run.outcome !== 'exit' || run.exitCode !== 0) throw new Error(`native run ended with ${run.outcome} (exit code ${run.exitCode})`);
if (process.argv.includes('--check')) {
  if (readFileSync(out, 'latin1') !== run.console) { console.error(`${out} differs from the native run`); process.exit(1); }
  console.log(`${out}: up to date`);
} else {
  writeFileSync(out, run.console, 'latin1');
  console.log(`wrote ${out} (${run.console.length} bytes, ${run.instructions} instructions)`);
}
