// `vsim exec` end to end: each test spawns the real command (bin/vsim.js through tsx) and checks
// its stdout, stderr and exit status, as a shell script using vsim would see them.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ENGINE_NAMES } from '@vsim/isa';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'apps/cli/bin/vsim.js');
const GUESTS = 'guests/rv32/bin'; // relative to ROOT, as a user would type it
const EXPECTED = path.join(ROOT, 'guests/rv32/expected');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function vsim(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stderr must be exactly one line; returns it. */
function oneLine(stderr: string): string {
  expect(stderr).toMatch(/^[^\n]+\n$/);
  return stderr.trimEnd();
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vsim-cli-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('linux machine', () => {
  test.each(ENGINE_NAMES)('hello.elf on the %s engine: output, argv and status 0', (engine) => {
    const program = `${GUESTS}/hello.elf`;
    const args = fs
      .readFileSync(path.join(EXPECTED, 'hello.args'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    // qemu ran the reference as `hello`; vsim passes PROGRAM as given as argv[0].
    const expected = fs.readFileSync(path.join(EXPECTED, 'hello.txt'), 'utf8').replace('argv[0] = "hello"', `argv[0] = "${program}"`);
    const r = vsim('exec', '--engine', engine, program, ...args);
    expect(r).toEqual({ status: 0, stdout: expected, stderr: '' });
  });

  test('arguments after PROGRAM go to the guest, even when they look like options', () => {
    const r = vsim('exec', `${GUESTS}/hello.elf`, '--stats', '-x', '--');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('argc = 4\n');
    expect(r.stdout).toContain('argv[1] = "--stats"\nargv[2] = "-x"\nargv[3] = "--"\n');
  });

  test('exitcode.elf exits with the guest status 42 and vsim adds nothing', () => {
    expect(vsim('exec', `${GUESTS}/exitcode.elf`)).toEqual({ status: 42, stdout: 'exiting with status 42\n', stderr: '' });
  });

  test('fault.elf: status 132 (SIGILL) and one line with the cause, pc and instruction', () => {
    const r = vsim('exec', `${GUESTS}/fault.elf`);
    expect(r.status).toBe(132);
    expect(r.stdout).toBe('about to execute an illegal instruction\n');
    expect(oneLine(r.stderr)).toMatch(
      /^vsim: guests\/rv32\/bin\/fault\.elf: guest fault: illegal instruction at pc 0x0001[0-9a-f]{4}: 0x00000000 \(.+\) \[SIGILL\]$/,
    );
  });

  test('--max-cycles stops the guest: status 124 and one line', () => {
    const r = vsim('exec', '--max-cycles', '1000', `${GUESTS}/checksum.elf`, '1');
    expect(r.status).toBe(124);
    expect(r.stdout).toBe('');
    expect(oneLine(r.stderr)).toMatch(/^vsim: guests\/rv32\/bin\/checksum\.elf: cycle budget exhausted after \d+ instructions$/);
  });

  test('--stats: one JSON line after the run, starting with engine, instructions, seconds, mips', () => {
    const r = vsim('exec', '--stats', `${GUESTS}/checksum.elf`, '1');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(fs.readFileSync(path.join(EXPECTED, 'checksum.txt'), 'utf8'));
    const stats = JSON.parse(oneLine(r.stderr)) as Record<string, unknown>;
    expect(Object.keys(stats).slice(0, 4)).toEqual(['engine', 'instructions', 'seconds', 'mips']);
    expect(stats.engine).toBe('bt'); // the default engine
    expect(stats.instructions).toBeGreaterThan(1_000_000);
    expect(typeof stats.seconds).toBe('number');
    expect(typeof stats.mips).toBe('number');
    expect(stats.status).toBe(0);
  });
});

describe('bare machine', () => {
  test('a passing riscv-tests style program exits 0 silently', () => {
    expect(vsim('exec', '--machine', 'bare', `${GUESTS}/bare-rv32ui-basic.elf`)).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  test('a failing test (tohost = 3: test 1 failed): status 1 and one line', () => {
    // lui t0, 0x80000; addi t1, zero, 3; sw t1, 256(t0) (tohost); j .
    const file = tinyBareElf(path.join(tmp, 'bare-fail.elf'), [0x800002b7, 0x00300313, 0x1062a023, 0x0000006f]);
    const r = vsim('exec', '--machine', 'bare', file);
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toBe(`vsim: ${file}: bare test failed: test 1 (tohost=0x00000003)`);
  });

  test('wfi with nothing armed is a deadlock: status 1 and one line', () => {
    const file = tinyBareElf(path.join(tmp, 'bare-wfi.elf'), [0x10500073, 0x0000006f]); // wfi; j .
    const r = vsim('exec', '--machine', 'bare', file);
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`^vsim: ${escape(file)}: deadlock: wfi `));
  });

  test('--max-cycles before tohost is written: status 1 and one line', () => {
    const r = vsim('exec', '--machine', 'bare', '--max-cycles', '10', `${GUESTS}/bare-rv32ui-basic.elf`);
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^vsim: guests\/rv32\/bin\/bare-rv32ui-basic\.elf: cycle budget exhausted after \d+ instructions/);
  });

  test('a Linux program without a tohost symbol cannot run there: 126 and one line', () => {
    const r = vsim('exec', '--machine', 'bare', `${GUESTS}/hello.elf`);
    expect(r.status).toBe(126);
    expect(r.stdout).toBe('');
    expect(oneLine(r.stderr)).toMatch(/^vsim: guests\/rv32\/bin\/hello\.elf: .*tohost/);
  });

  test('a bare program on the linux machine: 126 and one line', () => {
    const r = vsim('exec', `${GUESTS}/bare-rv32ui-basic.elf`);
    expect(r.status).toBe(126);
    expect(oneLine(r.stderr)).toMatch(/^vsim: guests\/rv32\/bin\/bare-rv32ui-basic\.elf: .*--machine bare/);
  });
});

describe('programs that cannot run', () => {
  test('garbage is not an executable: 126 and one line naming the file', () => {
    const file = path.join(tmp, 'garbage.elf');
    fs.writeFileSync(file, Buffer.from('this is not an ELF file, just some text\n'.repeat(4)));
    const r = vsim('exec', file);
    expect(r.status).toBe(126);
    expect(r.stdout).toBe('');
    expect(oneLine(r.stderr)).toMatch(new RegExp(`^vsim: ${escape(file)}: .*magic`));
  });

  test('a truncated ELF: 126 and one line naming the file', () => {
    const file = path.join(tmp, 'truncated.elf');
    const hello = fs.readFileSync(path.join(ROOT, GUESTS, 'hello.elf'));
    fs.writeFileSync(file, hello.subarray(0, 1000));
    const r = vsim('exec', file);
    expect(r.status).toBe(126);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`^vsim: ${escape(file)}: .*past the end`));
  });

  test('a missing file: 127 and one line', () => {
    const r = vsim('exec', `${GUESTS}/no-such-program.elf`);
    expect(r.status).toBe(127);
    expect(r.stdout).toBe('');
    expect(oneLine(r.stderr)).toBe('vsim: guests/rv32/bin/no-such-program.elf: no such file');
  });
});

describe('command line', () => {
  test.each([
    [['exec', '--frobnicate', `${GUESTS}/hello.elf`], /unknown option '--frobnicate'/],
    [['exec', '--engine'], /--engine needs a value/],
    [['exec', '--engine', 'fast', `${GUESTS}/hello.elf`], /invalid value 'fast' for --engine/],
    [['exec', '--max-cycles', 'lots', `${GUESTS}/hello.elf`], /invalid value 'lots' for --max-cycles/],
    [['exec'], /missing PROGRAM/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('vsim %j is a usage error: status 2 and one line', (args, message) => {
    const r = vsim(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(oneLine(r.stderr)).toMatch(/^vsim: /);
    expect(r.stderr).toMatch(message);
  });

  test('help and version', () => {
    const top = vsim('--help');
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/^ {2}exec /m);
    const exec = vsim('exec', '--help');
    expect(exec.status).toBe(0);
    expect(exec.stdout).toMatch(/^ {2}126 /m);
    expect(exec.stdout).toMatch(/^ {2}127 /m);
    expect(vsim('help', 'exec').stdout).toBe(exec.stdout);
    expect(vsim('--version')).toEqual({
      status: 0,
      stdout: `vsim ${JSON.parse(fs.readFileSync(path.join(ROOT, 'apps/cli/package.json'), 'utf8')).version}\n`,
      stderr: '',
    });
  });
});

/**
 * Writes a minimal bare-machine ELF: `code` at 0x80000000 (RWX), a zeroed `tohost` word at
 * 0x80000100, and a symbol table naming it. Returns the file name.
 */
function tinyBareElf(file: string, code: readonly number[]): string {
  const SEG = 0x100; // file offset of the segment
  const SEG_SIZE = 0x104; // code, padding, tohost
  const SYMTAB = SEG + SEG_SIZE;
  const STRTAB = SYMTAB + 32;
  const strtab = Buffer.from('\0tohost\0', 'latin1');
  const SHDRS = (STRTAB + strtab.length + 3) & ~3;
  const b = Buffer.alloc(SHDRS + 3 * 40);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // magic, ELFCLASS32, little-endian, version
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(243, 18); // EM_RISCV
  b.writeUInt32LE(1, 20);
  b.writeUInt32LE(0x80000000, 24); // e_entry
  b.writeUInt32LE(52, 28); // e_phoff
  b.writeUInt32LE(SHDRS, 32); // e_shoff
  b.writeUInt16LE(52, 40); // e_ehsize
  b.writeUInt16LE(32, 42); // e_phentsize
  b.writeUInt16LE(1, 44); // e_phnum
  b.writeUInt16LE(40, 46); // e_shentsize
  b.writeUInt16LE(3, 48); // e_shnum
  [1, SEG, 0x80000000, 0x80000000, SEG_SIZE, SEG_SIZE, 7, 4].forEach((v, i) => b.writeUInt32LE(v, 52 + i * 4)); // PT_LOAD RWX
  code.forEach((w, i) => b.writeUInt32LE(w, SEG + i * 4));
  b.writeUInt32LE(1, SYMTAB + 16); // symbol 1: name 'tohost' ...
  b.writeUInt32LE(0x80000100, SYMTAB + 20); // ... at 0x80000100
  strtab.copy(b, STRTAB);
  [0, 2, 0, 0, SYMTAB, 32, 2, 0, 4, 16].forEach((v, i) => b.writeUInt32LE(v, SHDRS + 40 + i * 4)); // SHT_SYMTAB, link 2
  [0, 3, 0, 0, STRTAB, strtab.length, 0, 0, 1, 0].forEach((v, i) => b.writeUInt32LE(v, SHDRS + 80 + i * 4)); // SHT_STRTAB
  fs.writeFileSync(file, b);
  return file;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('vsim exec --machine bare with a console', () => {
  it('prints what the bare machine writes to its console device', () => {
    const { resolve } = path;
    const root = resolve(__dirname, '../../..');
    const r = spawnSync(
      process.execPath,
      [resolve(root, 'apps/cli/bin/vsim.js'), 'exec', '--machine', 'bare', 'guests/rv32/bin/native-kernel-cpu.elf'],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(fs.readFileSync(resolve(root, 'guests/rv32/expected/native-kernel-cpu.txt'), 'utf8'));
  });

  it('runs the SMP kernel on two harts with --harts 2, and refuses --harts on the Linux machine', () => {
    const { resolve } = path;
    const root = resolve(__dirname, '../../..');
    const vsim = (...args: string[]) =>
      spawnSync(process.execPath, [resolve(root, 'apps/cli/bin/vsim.js'), 'exec', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const r = vsim('--machine', 'bare', '--harts', '2', 'guests/rv32/bin/native-kernel-smp.elf');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(fs.readFileSync(resolve(root, 'guests/rv32/expected/native-kernel-smp.txt'), 'utf8'));
    const bad = vsim('--harts', '2', 'guests/rv32/bin/hello.elf');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--harts needs --machine bare/);
  });
});
