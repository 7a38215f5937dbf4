// Builds rv32 Linux user programs with debug info, for the tests that drive gdb-multiarch: the
// committed ELFs in guests/rv32/bin are built without any (scripts/build-guests.sh keeps them
// byte-reproducible), so a test that needs `break main` and `print counter` compiles its own, with
// the same runtime (guests/rv32/common) and flags except -O0 -g.

import { execFileSync, spawnSync } from 'child_process';
import { readdirSync } from 'fs';
import { join } from 'path';
import { GUESTS_DIR } from './guests';

const CC = 'riscv64-unknown-elf-gcc';

/** Whether `command` runs (e.g. riscv64-unknown-elf-gcc, gdb-multiarch). */
export function hasCommand(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Whether the cross compiler buildRv32DebugGuest needs is installed. */
export function hasRv32Gcc(): boolean {
  return hasCommand(CC);
}

/**
 * Compiles guests/rv32/<source> (e.g. 'debug/gdb-demo.c') with the user runtime into
 * `outDir`/<name>.elf at -O0 -g, and returns the ELF's path.
 */
export function buildRv32DebugGuest(source: string, outDir: string): string {
  const rv32 = join(GUESTS_DIR, 'rv32');
  const common = join(rv32, 'common');
  const runtime = [
    join(common, 'crt0.S'),
    ...readdirSync(common)
      .filter((f) => f.endsWith('.c'))
      .sort()
      .map((f) => join(common, f)),
  ];
  const arch = ['-march=rv32ima_zicsr', '-mabi=ilp32'];
  const libgcc = execFileSync(CC, ['-march=rv32im', '-mabi=ilp32', '-print-libgcc-file-name'], { encoding: 'utf8' }).trim();
  const name = source.replace(/^.*\//, '').replace(/\.c$/, '');
  const out = join(outDir, `${name}.elf`);
  const flags = [...arch, '-O0', '-g', '-static', '-nostdlib', '-ffreestanding', '-fno-builtin', '-fno-tree-loop-distribute-patterns'];
  execFileSync(CC, [...flags, '-I', common, '-Wl,--build-id=none', '-o', out, ...runtime, join(rv32, source), libgcc], { stdio: 'pipe' });
  return out;
}
