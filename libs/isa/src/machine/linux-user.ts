// A statically linked rv32 Linux user program on one hart, with the Linux user ABI subset such
// programs need (the role qemu-riscv32 plays): the initial stack of argc/argv/envp/auxv, and the
// system calls write, exit, exit_group and brk. Any other system call returns -ENOSYS.

import { Bus, PAGE_SIZE } from '../memory/bus';
import { parseElf32, loadElf32, ElfImage, ElfError } from '../elf/elf32';
import { Hart, HartOptions } from '../rv32/hart';
import { Priv } from '../rv32/csr';
import { Cause, causeName } from '../rv32/causes';
import { Stop, TrapExit } from '../rv32/signals';
import { Engine, EngineName } from '../engines/engine';
import { createEngine } from '../engines';
import { rv32 } from '../rv32';

export const SYS = { write: 64, exit: 93, exit_group: 94, brk: 214 } as const;
const ENOSYS = 38;
const EBADF = 9;
const EFAULT = 14;

/** Linux user programs are linked at 0x10000; RAM starts there so a null pointer faults. */
export const USER_RAM_BASE = 0x10000;
export const USER_RAM_SIZE = 64 * 1024 * 1024;
const STACK_SIZE = 1024 * 1024;

/** A guest exception the program could not handle: what Linux would turn into a signal. */
export interface GuestFault {
  readonly cause: number;
  readonly causeName: string;
  readonly pc: number;
  readonly tval: number;
  /** The faulting instruction word and its disassembly, when it could be fetched. */
  readonly instruction?: number;
  readonly disassembly?: string;
  /** The signal Linux would deliver, and the conventional shell status 128 + signal. */
  readonly signal: string;
  readonly status: number;
}

export interface LinuxUserOptions extends HartOptions {
  /** An engine by name, or a factory for a configured one (e.g. a BinaryTranslationEngine with options). */
  engine?: EngineName | ((hart: Hart) => Engine);
  argv?: readonly string[];
  env?: readonly string[];
  ramSize?: number;
  stdout?: (bytes: Uint8Array) => void;
  stderr?: (bytes: Uint8Array) => void;
}

export interface ProcessResult {
  /** The exit status (0..255), or the fault's 128 + signal; meaningless (0) when `exited` is false and there is no fault. */
  readonly status: number;
  readonly exited: boolean;
  readonly fault?: GuestFault;
  readonly instructions: number;
  readonly cycles: number;
  readonly syscalls: number;
}

/** Where a loaded Linux user program's heap may grow. */
export interface LinuxLayout {
  readonly brkStart: number;
  readonly brkMax: number;
}

/**
 * Loads a Linux user program into `bus` and sets `hart` up to start it in U-mode, as the Linux ELF
 * loader would: segments in place, argc/argv/envp/auxv on the stack, pc at the entry. Every
 * exception exits to the host (there is no guest kernel). Shared by LinuxUserProcess and by
 * the runtime's Linux-kind VMs.
 */
export function prepareLinuxProcess(bus: Bus, hart: Hart, image: ElfImage, argv: readonly string[], env: readonly string[] = []): LinuxLayout {
  const top = loadElf32(image, bus);
  hart.priv = Priv.U;
  hart.exitMask = 0xffff;
  hart.mcounteren = 7;
  hart.scounteren = 7;
  const brkStart = alignUp(top, PAGE_SIZE);
  const brkMax = bus.ramEnd - STACK_SIZE;
  if (brkStart >= brkMax) {
    throw new ElfError(
      `the image ends at 0x${top.toString(16)}, leaving no room for heap and a ${STACK_SIZE >> 20} MiB stack in ${bus.ramSize >> 20} MiB of guest RAM`,
    );
  }
  hart.pc = image.entry;
  hart.x[2] = buildStack(bus, image, argv, env);
  return { brkStart, brkMax };
}

/** Lays out argc, argv[], NULL, envp[], NULL, auxv, then the strings, as the Linux ELF loader does. */
function buildStack(bus: Bus, image: ElfImage, argv: readonly string[], env: readonly string[]): number {
  const enc = new TextEncoder();
  let sp = bus.ramEnd;
  const put = (s: string) => {
    const b = enc.encode(s + '\0');
    sp -= b.length;
    bus.writeBytes(sp, b);
    return sp;
  };
  const argvPtrs = argv.map(put);
  const envPtrs = env.map(put);
  sp &= ~15;
  sp -= 16;
  const random = sp; // AT_RANDOM: 16 bytes, fixed for determinism
  bus.writeBytes(random, enc.encode('vsim-determinism'));
  const auxv = [6, PAGE_SIZE, 9, image.entry, 25, random, 0, 0]; // AT_PAGESZ, AT_ENTRY, AT_RANDOM, AT_NULL
  const words = [argv.length, ...argvPtrs, 0, ...envPtrs, 0, ...auxv];
  sp -= words.length * 4;
  sp &= ~15;
  words.forEach((w, i) => bus.writeU32(sp + i * 4, w));
  return sp;
}

export class LinuxUserProcess {
  readonly bus: Bus;
  readonly hart: Hart;
  readonly engine: Engine;
  readonly image: ElfImage;
  private brkStart: number;
  private brkCur: number;
  private readonly brkMax: number;
  private syscalls = 0;
  private exitStatus: number | undefined;

  constructor(
    elf: Uint8Array | ElfImage,
    private readonly opts: LinuxUserOptions = {},
  ) {
    this.image = elf instanceof Uint8Array ? parseElf32(elf) : elf;
    this.bus = new Bus(USER_RAM_BASE, opts.ramSize ?? USER_RAM_SIZE);
    this.hart = new Hart(this.bus, opts);
    const layout = prepareLinuxProcess(this.bus, this.hart, this.image, opts.argv ?? ['program'], opts.env ?? []);
    this.brkStart = this.brkCur = layout.brkStart;
    this.brkMax = layout.brkMax;
    const engine = opts.engine ?? 'bt';
    this.engine = typeof engine === 'function' ? engine(this.hart) : createEngine(engine, this.hart, rv32);
  }

  /**
   * Runs to exit or fault, or until `maxCycles` more cycles have passed (then `exited` is false).
   * `stopAfterSyscall` also returns after each system call (a debugger's single step: a system
   * call costs no cycles, so the budget alone would run on into the next instruction).
   */
  run(maxCycles = Number.MAX_SAFE_INTEGER / 2, stopAfterSyscall = false): ProcessResult {
    const h = this.hart;
    const end = h.cycles + maxCycles;
    while (this.exitStatus === undefined && h.cycles < end) {
      const stop = this.engine.run(end - h.cycles);
      if (stop.kind !== Stop.Trap) {
        if (stop.kind === Stop.Budget) break;
        continue; // wfi traps in U-mode, so only Budget ends a slice here
      }
      if (stop.cause !== Cause.EcallFromU) return this.result(this.fault(stop));
      this.syscall();
      if (stopAfterSyscall) break;
    }
    return this.result();
  }

  private result(fault?: GuestFault): ProcessResult {
    return {
      status: fault ? fault.status : (this.exitStatus ?? 0),
      exited: this.exitStatus !== undefined,
      fault,
      instructions: this.hart.instret,
      cycles: this.hart.cycles,
      syscalls: this.syscalls,
    };
  }

  private fault(exit: TrapExit): GuestFault {
    const h = this.hart;
    const cause = exit.cause;
    const signal =
      cause === Cause.IllegalInstruction
        ? ['SIGILL', 4]
        : cause === Cause.Breakpoint
          ? ['SIGTRAP', 5]
          : cause === Cause.LoadMisaligned || cause === Cause.StoreMisaligned || cause === Cause.InstructionMisaligned
            ? ['SIGBUS', 7]
            : ['SIGSEGV', 11];
    let instruction: number | undefined;
    let disassembly: string | undefined;
    if (this.bus.inRam(h.pc, 4)) {
      instruction = this.bus.readU32(h.pc);
      disassembly = rv32.disassemble(instruction, h.pc);
    }
    return {
      cause,
      causeName: causeName(cause),
      pc: h.pc >>> 0,
      tval: exit.tval,
      instruction,
      disassembly,
      signal: signal[0] as string,
      status: 128 + (signal[1] as number),
    };
  }

  private syscall(): void {
    const h = this.hart;
    const x = h.x;
    const nr = x[17];
    this.syscalls++;
    let ret: number;
    switch (nr) {
      case SYS.write:
        ret = this.write(x[10], x[11] >>> 0, x[12] >>> 0);
        break;
      case SYS.exit:
      case SYS.exit_group:
        this.exitStatus = x[10] & 0xff;
        return;
      case SYS.brk:
        ret = this.brk(x[10] >>> 0);
        break;
      default:
        ret = -ENOSYS;
    }
    x[10] = ret | 0;
    h.pc = (h.pc + 4) >>> 0;
  }

  private write(fd: number, buf: number, count: number): number {
    if (fd !== 1 && fd !== 2) return -EBADF;
    if (count === 0) return 0;
    if (!this.bus.inRam(buf, count)) return -EFAULT;
    const bytes = this.bus.readBytes(buf, count);
    const sink = fd === 1 ? this.opts.stdout : this.opts.stderr;
    sink?.(bytes);
    return count;
  }

  private brk(addr: number): number {
    if (addr < this.brkStart || addr > this.brkMax) return this.brkCur;
    if (addr > this.brkCur) this.bus.writeBytes(this.brkCur, new Uint8Array(addr - this.brkCur));
    this.brkCur = addr;
    return addr;
  }
}

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}
