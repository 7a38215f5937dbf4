// The committed guest programs on all four engines: Linux user programs against the expected
// qemu-riscv32 output (and against qemu live when it is installed), fault reporting, and the bare
// machine tests.

import { spawnSync } from 'child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'fs';
import { delimiter, join, resolve } from 'path';
import {
  BareMachine,
  BareResult,
  BinaryTranslationEngine,
  ENGINE_NAMES,
  EngineName,
  Hart,
  LinuxUserProcess,
  ProcessResult,
  parseElf32,
  rv32,
} from '@vsim/isa';

const RV32 = resolve(__dirname, '../../../guests/rv32');
const BIN = join(RV32, 'bin');
const EXPECTED = join(RV32, 'expected');

const elfs = readdirSync(BIN)
  .filter((f) => f.endsWith('.elf'))
  .sort();
// Linux user programs are the ones built from guests/rv32/user/*.c (bin/ also holds bare tests,
// SBI guests and guest kernels, which run on other machines).
const USER_SOURCES = new Set(
  readdirSync(join(RV32, 'user'))
    .filter((f) => f.endsWith('.c'))
    .map((f) => f.slice(0, -2)),
);
const USER = elfs.map((f) => f.slice(0, -4)).filter((n) => USER_SOURCES.has(n));
const BARE = elfs.filter((f) => f.startsWith('bare-')).map((f) => f.slice(0, -4));
const WITH_EXPECTED = USER.filter((n) => n !== 'fault');

const QEMU = 'qemu-riscv32';
const QEMU_MISSING = 'qemu-riscv32 not found; install it with: apt-get install -y qemu-user';

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
const haveQemu = onPath(QEMU);

/** A test that needs qemu: runs when it is installed, fails in CI without it, is skipped elsewhere. */
function qemuTest(name: string, fn: () => void): void {
  if (haveQemu) it(name, fn);
  else if (process.env.CI === 'true')
    it(name, () => {
      throw new Error(QEMU_MISSING);
    });
  else it.skip(`${name} (skipped: ${QEMU_MISSING})`, fn);
}

const argsOf = (name: string): string[] => {
  const f = join(EXPECTED, `${name}.args`);
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter((l, i, all) => !(l === '' && i === all.length - 1));
};
const elfBytes = (name: string) => new Uint8Array(readFileSync(join(BIN, `${name}.elf`)));

interface UserRun {
  readonly result: ProcessResult;
  readonly stdout: Buffer;
}

const userRuns = new Map<string, UserRun>();
function runUser(engine: EngineName, name: string): UserRun {
  const key = `${engine}:${name}`;
  let r = userRuns.get(key);
  if (!r) {
    const out: Buffer[] = [];
    const p = new LinuxUserProcess(elfBytes(name), { engine, argv: [name, ...argsOf(name)], stdout: (b) => out.push(Buffer.from(b)) });
    const result = p.run(2_000_000_000);
    r = { result, stdout: Buffer.concat(out) };
    userRuns.set(key, r);
  }
  return r;
}

const bareRuns = new Map<string, BareResult>();
function runBare(engine: EngineName, name: string): BareResult {
  const key = `${engine}:${name}`;
  let r = bareRuns.get(key);
  if (!r) {
    r = new BareMachine(elfBytes(name), { engine }).run(1_000_000_000);
    bareRuns.set(key, r);
  }
  return r;
}

describe('guest inventory', () => {
  it('has user programs, bare tests, and expected output for every user program but fault', () => {
    expect(USER.length).toBeGreaterThanOrEqual(5);
    expect(BARE.length).toBeGreaterThanOrEqual(3);
    expect(USER).toContain('fault');
    const missing = WITH_EXPECTED.filter((n) => !existsSync(join(EXPECTED, `${n}.txt`)) || !existsSync(join(EXPECTED, `${n}.status`)));
    expect(missing).toEqual([]);
  });

  it('reads .args one argument per line (hello: "world", "two words")', () => {
    if (!USER.includes('hello')) return;
    expect(argsOf('hello')).toEqual(['world', 'two words']);
  });
});

describe.each(ENGINE_NAMES)('%s engine', (engine) => {
  describe('Linux user programs', () => {
    it.each(WITH_EXPECTED)('%s: stdout and exit status match expected/', (name) => {
      const { result, stdout } = runUser(engine, name);
      expect(result.fault).toBeUndefined();
      expect(result.exited).toBe(true);
      expect(stdout.toString('latin1')).toBe(readFileSync(join(EXPECTED, `${name}.txt`)).toString('latin1'));
      expect(result.status).toBe(Number(readFileSync(join(EXPECTED, `${name}.status`), 'utf8').trim()));
    });

    it('fault: SIGILL at the all-zero word, reported with its pc and instruction', () => {
      const { result, stdout } = runUser(engine, 'fault');
      expect(stdout.toString()).toBe('about to execute an illegal instruction\n');
      expect(result.exited).toBe(false);
      expect(result.status).toBe(132);
      const f = result.fault;
      expect(f).toBeDefined();
      if (!f) return;
      expect({ cause: f.cause, signal: f.signal, status: f.status, tval: f.tval, instruction: f.instruction }).toEqual({
        cause: 2,
        signal: 'SIGILL',
        status: 132,
        tval: 0,
        instruction: 0,
      });
      expect(f.causeName).toMatch(/illegal instruction/);
      expect(f.disassembly).toBe('.word 0x0');
      // The pc names a zero word of main's code in the ELF file itself.
      const img = parseElf32(elfBytes('fault'));
      const seg = img.segments.find((s) => f.pc >= s.vaddr && f.pc + 4 <= s.vaddr + s.filesz);
      expect(seg).toBeDefined();
      if (!seg) return;
      expect(seg.flags & 1).toBe(1);
      const off = seg.offset + (f.pc - seg.vaddr);
      expect(Buffer.from(img.bytes).readUInt32LE(off)).toBe(0);
      const main = img.symbols.get('main');
      expect(main).toBeDefined();
      expect(f.pc).toBeGreaterThan(main as number);
      expect(f.pc - (main as number)).toBeLessThan(256);
    });
  });

  describe('bare-machine tests', () => {
    it.each(BARE)('%s passes', (name) => {
      const r = runBare(engine, name);
      expect({ outcome: r.outcome, failedTest: r.failedTest }).toEqual({ outcome: 'pass', failedTest: undefined });
      expect(r.instructions).toBeGreaterThan(100);
    });
  });
});

describe('bt with regions enabled (off by default)', () => {
  it.each(WITH_EXPECTED)('%s: same output, status and counts as the default engines', (name) => {
    const out: Buffer[] = [];
    const p = new LinuxUserProcess(elfBytes(name), {
      engine: (h: Hart) => new BinaryTranslationEngine(h, rv32, { regions: true }),
      argv: [name, ...argsOf(name)],
      stdout: (b) => out.push(Buffer.from(b)),
    });
    const result = p.run(2_000_000_000);
    const ref = runUser('dispatch', name);
    expect(Buffer.concat(out).toString('latin1')).toBe(ref.stdout.toString('latin1'));
    expect({ status: result.status, instructions: result.instructions, cycles: result.cycles }).toEqual({
      status: ref.result.status,
      instructions: ref.result.instructions,
      cycles: ref.result.cycles,
    });
  });
});

describe('all engines agree on counts', () => {
  it.each(USER)('%s: same instructions, cycles and syscalls on every engine', (name) => {
    const rs = ENGINE_NAMES.map((e) => {
      const { result } = runUser(e, name);
      return { instructions: result.instructions, cycles: result.cycles, syscalls: result.syscalls, status: result.status };
    });
    for (const r of rs.slice(1)) expect(r).toEqual(rs[0]);
  });

  it.each(BARE)('%s: same instret and cycles on every engine', (name) => {
    const rs = ENGINE_NAMES.map((e) => {
      const r = runBare(e, name);
      return { outcome: r.outcome, instructions: r.instructions, cycles: r.cycles, tohost: r.tohost };
    });
    for (const r of rs.slice(1)) expect(r).toEqual(rs[0]);
  });
});

describe('against qemu-riscv32, live', () => {
  for (const name of WITH_EXPECTED) {
    qemuTest(`${name}: same stdout and exit status as qemu`, () => {
      const q = spawnSync(QEMU, ['-0', name, join(BIN, `${name}.elf`), ...argsOf(name)], { maxBuffer: 64 << 20, timeout: 60_000 });
      expect(q.error).toBeUndefined();
      const ours = runUser('bt', name);
      expect(ours.stdout.toString('latin1')).toBe(q.stdout.toString('latin1'));
      expect(ours.result.status).toBe(q.status);
    });
  }

  qemuTest('fault: qemu also dies of SIGILL after the same output', () => {
    const q = spawnSync(QEMU, ['-0', 'fault', join(BIN, 'fault.elf')], { timeout: 60_000 });
    expect(q.signal).toBe('SIGILL');
    const ours = runUser('bt', 'fault');
    expect(ours.stdout.toString()).toBe(q.stdout.toString());
    expect(ours.result.fault?.signal).toBe(q.signal);
  });
});
