// Builds the ring32 guest kernel's images and its native baseline:
//   guests/ring32/bin/kernel.elf, kernel-pv.elf  — the two builds of kernel.s as ring32 ELF executables
//     (what scenario files name; the library also assembles the source directly);
//   guests/ring32/expected/kernel.txt            — the console of kernel.elf on a bare ring32 machine
//     (ring 0, no hypervisor): the baseline every technique is compared with.
// Run: npx tsx guests/ring32/build.ts [--check]   (--check: fail if a committed file differs)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { resolve } from 'path';
import { Ring32Machine, writeRing32Elf } from '@vsim/isa';
import { buildRing32Kernel } from '@vsim/testkit';

const check = process.argv.includes('--check');
let stale = 0;
function emit(rel: string, bytes: Uint8Array): void {
  const file = resolve(__dirname, rel);
  if (check) {
    if (!existsSync(file) || !Buffer.from(readFileSync(file)).equals(Buffer.from(bytes))) {
      console.error(`${file}: differs from what the source builds`);
      stale++;
    } else console.log(`${file}: up to date`);
    return;
  }
  mkdirSync(resolve(file, '..'), { recursive: true });
  writeFileSync(file, bytes);
  console.log(`wrote ${file} (${bytes.length} bytes)`);
}

const kernel = buildRing32Kernel('kernel');
emit('bin/kernel.elf', writeRing32Elf(kernel));
emit('bin/kernel-pv.elf', writeRing32Elf(buildRing32Kernel('kernel-pv')));
const run = new Ring32Machine(kernel).run(1e9);
if (run.outcome !== 'exit' || run.exitCode !== 0) throw new Error(`native run ended with ${run.outcome} (exit code ${run.exitCode})`);
emit('expected/kernel.txt', Buffer.from(run.console, 'latin1'));
if (stale > 0) process.exit(1);
