// Checks on the rv32 guest programs in guests/rv32:
//  - every source has a committed ELF (and, for user programs, expected output);
//  - the committed ELFs are exactly what scripts/build-guests.sh builds
//    (needs riscv64-unknown-elf-gcc);
//  - each user program's stdout and exit status under qemu-riscv32 match
//    guests/rv32/expected (needs qemu-riscv32).
// When a tool is missing the test is skipped locally and fails in CI.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const RV32 = path.join(ROOT, 'guests', 'rv32');
const BIN = path.join(RV32, 'bin');
const EXPECTED = path.join(RV32, 'expected');
const BUILD_SCRIPT = path.join(ROOT, 'scripts', 'build-guests.sh');

const GCC = 'riscv64-unknown-elf-gcc';
const QEMU = 'qemu-riscv32';
const GCC_MISSING =
  'build-guests: riscv64-unknown-elf-gcc not found; install it with: apt-get install -y gcc-riscv64-unknown-elf';
const QEMU_MISSING = 'qemu-riscv32 not found; install it with: apt-get install -y qemu-user';

/** True if `cmd` is an executable file in one of the PATH directories. */
function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * Registers `body` as a test when `tool` is available. Otherwise the test
 * fails in CI (so a missing toolchain cannot silently disable it) and is
 * skipped elsewhere.
 */
function itWithTool(tool: string, missing: string, name: string, body: () => void): void {
  if (onPath(tool)) {
    it(name, body);
  } else if (process.env.CI === 'true') {
    it(name, () => {
      throw new Error(missing);
    });
  } else {
    it.skip(`${name} (skipped: ${tool} is not on PATH)`, body);
  }
}

function names(dir: string, ext: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .map((f) => f.slice(0, -ext.length))
    .sort();
}

const userPrograms = names(path.join(RV32, 'user'), '.c');
const bareTests = names(path.join(RV32, 'bare'), '.S');
// fault.elf dies with SIGILL by design and has no expected/ files.
const comparedPrograms = userPrograms.filter((n) => n !== 'fault');

/** argv[1..] for a program: expected/<name>.args, one argument per line. */
function argsOf(name: string): string[] {
  const text = fs.readFileSync(path.join(EXPECTED, `${name}.args`), 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Runs a user program the way build-guests.sh does: argv[0] = name. */
function runQemu(name: string, args: string[]) {
  return spawnSync(QEMU, ['-0', name, path.join(BIN, `${name}.elf`), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('rv32 guests', () => {
  it('every guest source has a committed ELF and expected output', () => {
    expect(userPrograms.length).toBeGreaterThan(0);
    expect(bareTests.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const n of userPrograms) {
      if (!fs.existsSync(path.join(BIN, `${n}.elf`))) missing.push(`bin/${n}.elf`);
    }
    for (const n of bareTests) {
      if (!fs.existsSync(path.join(BIN, `bare-${n}.elf`))) missing.push(`bin/bare-${n}.elf`);
    }
    for (const n of comparedPrograms) {
      for (const ext of ['.txt', '.status', '.args']) {
        if (!fs.existsSync(path.join(EXPECTED, n + ext))) missing.push(`expected/${n}${ext}`);
      }
    }
    expect(missing).toEqual([]);
  });

  itWithTool(GCC, GCC_MISSING, 'committed ELFs match a fresh build (build-guests.sh --check)', () => {
    const r = spawnSync('bash', [BUILD_SCRIPT, '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 110_000,
    });
    if (r.status !== 0) {
      throw new Error(`build-guests.sh --check exited with ${r.status}:\n${r.stdout}${r.stderr}`);
    }
  });

  describe('user programs under qemu-riscv32 match expected/', () => {
    for (const name of comparedPrograms) {
      itWithTool(QEMU, QEMU_MISSING, name, () => {
        const r = runQemu(name, argsOf(name));
        const want = {
          stdout: fs.readFileSync(path.join(EXPECTED, `${name}.txt`), 'utf8'),
          status: Number(fs.readFileSync(path.join(EXPECTED, `${name}.status`), 'utf8').trim()),
          signal: null,
        };
        expect({ stdout: r.stdout, status: r.status, signal: r.signal }).toEqual(want);
      });
    }

    itWithTool(QEMU, QEMU_MISSING, 'fault dies with SIGILL after printing its line', () => {
      const r = runQemu('fault', []);
      expect(r.signal).toBe('SIGILL');
      expect(r.stdout).toBe('about to execute an illegal instruction\n');
    });
  });
});
