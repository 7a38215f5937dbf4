// Checks on the rv32 guest programs in guests/rv32:
//  - every source has a committed ELF (and, for user programs, expected output);
//  - the committed ELFs are exactly what scripts/build-guests.sh builds
//    (needs riscv64-unknown-elf-gcc);
//  - each user program's stdout and exit status under qemu-riscv32 match
//    guests/rv32/expected (needs qemu-riscv32);
//  - the SBI (S-mode) guests use only instructions and CSRs an S-mode guest
//    may use, start at the start of RAM and stay in their 1 MiB (no tool);
//  - each SBI guest's console output and end under qemu-system-riscv32 with
//    the M-mode SBI shim (guests/rv32/sbi/qemu) match expected/sbi-*.
// When a tool is missing the test is skipped locally and fails in CI, except
// for qemu-system-riscv32 (an optional cross-check, not installed by CI):
// its test is always skipped when the tool is missing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseElf32 } from '@vsim/isa';

const ROOT = path.resolve(__dirname, '..');
const RV32 = path.join(ROOT, 'guests', 'rv32');
const BIN = path.join(RV32, 'bin');
const EXPECTED = path.join(RV32, 'expected');
const BUILD_SCRIPT = path.join(ROOT, 'scripts', 'build-guests.sh');

const GCC = 'riscv64-unknown-elf-gcc';
const QEMU = 'qemu-riscv32';
const GCC_MISSING = 'build-guests: riscv64-unknown-elf-gcc not found; install it with: apt-get install -y gcc-riscv64-unknown-elf';
const QEMU_MISSING = 'qemu-riscv32 not found; install it with: apt-get install -y qemu-user';
const QEMU_SYSTEM = 'qemu-system-riscv32';
const SBI_RUN = path.join(RV32, 'sbi', 'qemu', 'run.sh');

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

/** Like itWithTool, but skipped whenever a tool is missing, in CI too (optional cross-checks). */
function itIfTools(tools: string[], name: string, body: () => void): void {
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length === 0) it(name, body);
  else it.skip(`${name} (skipped: ${missing.join(', ')} not on PATH)`, body);
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
// SBI guests: sbi/sbi-<name>.c -> bin/sbi-<name>.elf, expected/sbi-<name>.{txt,end}.
const sbiPrograms = names(path.join(RV32, 'sbi'), '.c').filter((n) => n.startsWith('sbi-'));

const SBI_RAM_BASE = 0x80000000;
const SBI_RAM_USED = 1 << 20;
// The guest kernel (kernel/, one build per workload, unmodified and paravirtual): bin/kernel[-pv]-<w>.elf
// alone at 0x80200000, bin/native-kernel-<w>.elf behind the native firmware (guests/kernel.test.ts
// runs those; the paravirtual kernel only runs under the hypervisor), expected/native-kernel-<w>.txt.
const KERNEL_WORKLOADS = ['cpu', 'syscall', 'timer', 'io', 'nnull', 'nsyscall', 'ntimer', 'nmask', 'ncsr'];
const KERNEL_BASE = 0x80200000;
const kernelElfs = KERNEL_WORKLOADS.flatMap((w) => [`kernel-${w}`, `kernel-pv-${w}`]);
/** The 2-hart build (-DSMP) of both variants, audited like the others (its paravirtual one is deprivileged too). */
const smpKernelElfs = ['kernel-smp', 'kernel-pv-smp'];
/** The paravirtual kernel runs deprivileged: no privileged instruction, only the U-mode time counter. */
const PV_CSRS = new Map<number, string>([
  [0xc01, 'time'],
  [0xc81, 'timeh'],
]);
const PV_SYSTEM = new Map<number, string>([[0x00000073, 'ecall']]);
/** CSRs an S-mode guest may touch (the counters only time/timeh, enabled by the hypervisor). */
const S_CSRS = new Map<number, string>([
  [0x100, 'sstatus'],
  [0x104, 'sie'],
  [0x105, 'stvec'],
  [0x140, 'sscratch'],
  [0x141, 'sepc'],
  [0x142, 'scause'],
  [0x143, 'stval'],
  [0x144, 'sip'],
  [0xc01, 'time'],
  [0xc81, 'timeh'],
]);
/** SYSTEM instructions with funct3 = 0 an S-mode guest may use (ebreak is unprivileged: sbi-storm-ebreak's storm). */
const S_SYSTEM = new Map<number, string>([
  [0x00000073, 'ecall'],
  [0x00100073, 'ebreak'],
  [0x10200073, 'sret'],
  [0x10500073, 'wfi'],
]);

/**
 * Problems with an SBI guest ELF: entry not at the start of RAM, a segment outside its 1 MiB,
 * and, in [_start, _etext), any CSR other than S_CSRS, any privileged instruction other than
 * ecall/ebreak/sret/wfi, and any all-zero word except at the symbol `illegal_insn` (sbi-fault).
 */
function auditSbiElf(bytes: Uint8Array, base = SBI_RAM_BASE, csrs = S_CSRS, system = S_SYSTEM): string[] {
  const img = parseElf32(bytes);
  const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
  const problems: string[] = [];
  if (img.entry !== base) problems.push(`entry ${hex(img.entry)}, expected ${hex(base)}`);
  for (const seg of img.segments) {
    if (seg.vaddr < base || seg.vaddr + seg.memsz > base + SBI_RAM_USED) {
      problems.push(`segment ${hex(seg.vaddr)}+${seg.memsz} outside the 1 MiB at ${hex(base)}`);
    }
  }
  const start = img.symbols.get('_start');
  const etext = img.symbols.get('_etext');
  if (start !== base || etext === undefined) return [...problems, 'no _start at the entry or no _etext symbol'];
  const text = img.segments.find((sg) => sg.vaddr <= start && etext <= sg.vaddr + sg.filesz);
  if (!text) return [...problems, 'code is not inside one loaded segment'];
  const dv = new DataView(img.bytes.buffer, img.bytes.byteOffset, img.bytes.byteLength);
  const illegalAt = img.symbols.get('illegal_insn');
  for (let pc = start; pc < etext; pc += 4) {
    const w = dv.getUint32(text.offset + (pc - text.vaddr), true);
    if (w === 0 && pc !== illegalAt) problems.push(`zero word at ${hex(pc)}`);
    if ((w & 0x7f) !== 0x73) continue;
    const funct3 = (w >>> 12) & 7;
    if (funct3 === 0) {
      if (!system.has(w)) problems.push(`privileged instruction ${hex(w)} at ${hex(pc)}`);
    } else if (!csrs.has(w >>> 20)) {
      problems.push(`CSR 0x${(w >>> 20).toString(16)} at ${hex(pc)}`);
    }
  }
  return problems;
}

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
    expect(sbiPrograms.length).toBeGreaterThan(0);
    for (const n of sbiPrograms) {
      if (!fs.existsSync(path.join(BIN, `${n}.elf`))) missing.push(`bin/${n}.elf`);
      for (const ext of ['.txt', '.end']) {
        if (!fs.existsSync(path.join(EXPECTED, n + ext))) missing.push(`expected/${n}${ext}`);
      }
    }
    for (const n of kernelElfs) {
      for (const f of n.startsWith('kernel-pv-') ? [`${n}.elf`] : [`${n}.elf`, `native-${n}.elf`]) {
        if (!fs.existsSync(path.join(BIN, f))) missing.push(`bin/${f}`);
      }
    }
    for (const w of KERNEL_WORKLOADS) {
      if (!fs.existsSync(path.join(EXPECTED, `native-kernel-${w}.txt`))) missing.push(`expected/native-kernel-${w}.txt`);
    }
    expect(missing).toEqual([]);
  });

  describe('SBI guests use only what an S-mode guest may', () => {
    for (const name of sbiPrograms) {
      it(name, () => {
        expect(auditSbiElf(fs.readFileSync(path.join(BIN, `${name}.elf`)))).toEqual([]);
      });
    }

    // The guest kernel alone: S-mode code at 0x80200000 (its U-mode tasks are in the same code).
    // Its paravirtual build executes no privileged instruction at all (hypercalls by ecall instead).
    for (const name of [...kernelElfs, ...smpKernelElfs]) {
      it(name, () => {
        const pv = name.startsWith('kernel-pv-');
        expect(auditSbiElf(fs.readFileSync(path.join(BIN, `${name}.elf`)), KERNEL_BASE, pv ? PV_CSRS : S_CSRS, pv ? PV_SYSTEM : S_SYSTEM)).toEqual(
          [],
        );
      });
    }
    it('the paravirtual audit catches an sret', () => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(BIN, 'kernel-pv-cpu.elf')));
      const seg = parseElf32(bytes).segments.find((sg) => sg.vaddr === KERNEL_BASE)!;
      new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(seg.offset + 4, 0x10200073, true);
      expect(auditSbiElf(bytes, KERNEL_BASE, PV_CSRS, PV_SYSTEM)).toEqual([`privileged instruction 0x10200073 at 0x80200004`]);
    });

    it('the audit catches M-mode CSRs, mret and stray zero words', () => {
      // Patch sbi-hello's first instructions: csrr a0, mstatus; mret; a zero word.
      const bytes = new Uint8Array(fs.readFileSync(path.join(BIN, 'sbi-hello.elf')));
      const img = parseElf32(bytes);
      const seg = img.segments.find((sg) => sg.vaddr === SBI_RAM_BASE)!;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      dv.setUint32(seg.offset, 0x30002573, true);
      dv.setUint32(seg.offset + 4, 0x30200073, true);
      dv.setUint32(seg.offset + 8, 0, true);
      expect(auditSbiElf(bytes)).toEqual(['CSR 0x300 at 0x80000000', 'privileged instruction 0x30200073 at 0x80000004', 'zero word at 0x80000008']);
    });
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

  describe('SBI guests under qemu-system-riscv32 with the SBI shim match expected/', () => {
    for (const name of sbiPrograms) {
      itIfTools([GCC, QEMU_SYSTEM], name, () => {
        const r = spawnSync('bash', [SBI_RUN, path.join(BIN, `${name}.elf`)], {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 90_000,
        });
        // The shim's report ("shim: shutdown reason=0 instret=N") goes to stderr.
        const report = /^shim: (.*) instret=/m.exec(r.stderr);
        expect({ stdout: r.stdout, end: report ? report[1] : r.stderr }).toEqual({
          stdout: fs.readFileSync(path.join(EXPECTED, `${name}.txt`), 'utf8'),
          end: fs.readFileSync(path.join(EXPECTED, `${name}.end`), 'utf8').trim(),
        });
      });
    }
  });
});
