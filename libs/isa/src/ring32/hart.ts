// One ring32 processor: architectural state (16 registers, pc, PSW, control registers, timer) plus
// the slow paths every engine shares — memory accesses that miss the RAM fast path, the privileged
// instructions, trap entry and interrupt delivery. It speaks the same driver protocol as rv32's Hart
// (service / deliverTrap / raise, kick and limit, exit masks for a hypervisor), so the four engines
// run it unchanged; only the instruction table's templates call the ring32-specific helpers below.

import { Bus, LINE_SHIFT } from '../memory/bus';
import { AccessFaults, loadSlow, ramOffset, storeSlow } from '../memory/slow-path';
import { CostModel, DEFAULT_COST_MODEL } from '../cost';
import { EngineHart } from '../engines/engine';
import { RESUME, Stop, StopRecord, TRAP, TrapExit, plainStop, trapExit } from '../rv32/signals';
import { CR, PORT, PSW, PSW_WRITABLE, RING32_INTERRUPT_BIT, Ring32Cause, Ring32Irq } from './arch';

/** An I/O port: IN reads it, OUT writes it. */
export interface Port {
  in(): number;
  out(value: number): void;
}

export interface Ring32HartOptions {
  cost?: CostModel;
  /** Timer ticks: the time counter advances by one every this many cycles (1 GHz / 10 MHz = 100, as rv32). */
  cyclesPerTick?: number;
}

/** TIMECMP value that disarms the timer (and what reading a disarmed TIMECMP gives). */
const TIMER_OFF = 0xffffffff;

/** ring32's exception causes for bad data accesses (the shared slow paths raise them). */
const RING32_ACCESS_FAULTS: AccessFaults = {
  loadMisaligned: Ring32Cause.LoadMisaligned,
  loadFault: Ring32Cause.LoadFault,
  storeMisaligned: Ring32Cause.StoreMisaligned,
  storeFault: Ring32Cause.StoreFault,
};

export class Ring32Hart implements EngineHart {
  /** r0..r15, unused slots 16..31, and the sink at index 32 the pre-decoding engine sends r0 writes to. r0 is always 0. */
  readonly x = new Int32Array(33);
  pc = 0;
  /** Processor status word (see arch.ts PSW): ring 0, interrupts off at reset. */
  psw = 0;
  tvec = 0;
  epc = 0;
  cause = 0;
  tval = 0;
  scratch = 0;
  /** Timer compare in ticks; +Infinity when disarmed. */
  timecmp = Number.POSITIVE_INFINITY;

  /** [cycles, instret], unboxed for the engines. */
  readonly ctr = new Float64Array(2);
  get cycles(): number {
    return this.ctr[0];
  }
  set cycles(v: number) {
    this.ctr[0] = v;
  }
  get instret(): number {
    return this.ctr[1];
  }
  set instret(v: number) {
    this.ctr[1] = v;
  }

  /** Exceptions whose cause bit is set here stop the engine (a TrapExit) instead of entering ring 0's handler. */
  exitMask = 0;
  /** Interrupts whose bit is set here stop the engine when they would be taken (a hypervisor's timer). */
  exitInterruptMask = 0;

  kick = false;
  limit = 0;
  private pendingStop: Stop.Budget | Stop.Wfi | Stop.Halt | -1 = -1;
  /** Why service() last returned -1 (what the engine's run() returns). */
  private stopped: StopRecord = plainStop(Stop.Budget);
  trapCause = 0;
  trapTval = 0;
  /** Added to cycles to get platform time (set by whoever drives the hart in a shared timeline). */
  timeSkew = 0;

  /** The ring translated code is specialised for; a hypervisor sets it to the guest's virtual ring. */
  xlateKey = -1;
  sensitiveHook: ((w: number, pc: number) => number) | null = null;
  hookCost = 0;
  get translationMode(): number {
    return this.xlateKey >= 0 ? this.xlateKey : this.psw & PSW.RING;
  }

  /** The code written to the exit port, once the program has powered off. */
  exitCode: number | null = null;
  private readonly ports = new Map<number, Port>();

  readonly cost: CostModel;
  readonly cyclesPerTick: number;
  readonly ramBase: number;
  readonly ramSize: number;

  constructor(
    readonly bus: Bus,
    opts: Ring32HartOptions = {},
  ) {
    this.cost = opts.cost ?? DEFAULT_COST_MODEL;
    this.cyclesPerTick = opts.cyclesPerTick ?? 100;
    this.ramBase = bus.ramBase;
    this.ramSize = bus.ramSize;
    this.pc = bus.ramBase;
    // The exit port is part of the processor's standard machine: OUT EXIT, code powers off.
    this.attachPort(PORT.EXIT, {
      in: () => 0,
      out: (v) => {
        this.exitCode = v | 0;
        this.requestStop(Stop.Halt);
      },
    });
  }

  get ring(): number {
    return this.psw & PSW.RING;
  }
  set ring(r: number) {
    this.psw = (this.psw & ~PSW.RING) | (r & 3);
  }
  get interruptsEnabled(): boolean {
    return (this.psw & PSW.IF) !== 0;
  }

  attachPort(port: number, device: Port): void {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`port ${port}: expected 0..0xffff`);
    this.ports.set(port, device);
  }

  // ---------------------------------------------------------------- time

  /** The time counter in ticks (full precision; TIME reads its low 32 bits). */
  time(): number {
    return Math.floor((this.cycles + this.timeSkew) / this.cyclesPerTick);
  }

  timerPending(): boolean {
    return this.time() >= this.timecmp;
  }

  /** Programs the timer from the host; +Infinity disarms it. */
  setTimecmp(ticks: number): void {
    this.timecmp = ticks;
    this.kick = true;
  }

  private nextTimerCycle(): number {
    if (!Number.isFinite(this.timecmp) || this.timerPending()) return Number.POSITIVE_INFINITY;
    return this.timecmp * this.cyclesPerTick - this.timeSkew;
  }

  /** Cycles until the timer fires (0 if pending), for a host that skips idle time after HLT; +Infinity if disarmed. */
  cyclesUntilNextTimer(): number {
    if (this.timerPending()) return 0;
    return Math.max(0, this.nextTimerCycle() - this.cycles);
  }

  // ---------------------------------------------------------------- engine driver protocol

  service(end: number): number {
    this.kick = false;
    if (this.pendingStop !== -1) {
      this.stopped = plainStop(this.pendingStop);
      this.pendingStop = -1;
      return -1;
    }
    if (this.interruptsEnabled && this.timerPending()) {
      if ((this.exitInterruptMask >>> Ring32Irq.Timer) & 1) {
        this.stopped = trapExit(Ring32Irq.Timer, 0, true);
        return -1;
      }
      this.enterTrap(Ring32Irq.Timer, 0, true);
    }
    if (this.cycles >= end) {
      this.stopped = plainStop(Stop.Budget);
      return -1;
    }
    return Math.min(end, this.nextTimerCycle());
  }

  /** The stop requested and not yet reported, or -1 (a snapshot carries it). */
  get stopRequested(): Stop.Budget | Stop.Wfi | Stop.Halt | -1 {
    return this.pendingStop;
  }

  /** Why the engine stopped, once service() returned -1. */
  stopRecord(): StopRecord {
    return this.stopped;
  }

  requestStop(reason: Stop.Budget | Stop.Wfi | Stop.Halt): void {
    this.pendingStop = reason;
    this.kick = true;
  }

  deliverTrap(): TrapExit | null {
    const cause = this.trapCause;
    if ((this.exitMask >>> cause) & 1) return trapExit(cause, this.trapTval, false);
    this.enterTrap(cause, this.trapTval, false);
    return null;
  }

  raise(cause: number, tval: number): never {
    this.trapCause = cause;
    this.trapTval = tval >>> 0;
    throw TRAP;
  }

  illegal(w: number): never {
    return this.raise(Ring32Cause.IllegalInstruction, w);
  }

  /** Outside ring 0, a privileged instruction traps with its word as TVAL. */
  private checkPrivileged(w: number): void {
    if (this.psw & PSW.RING) this.raise(Ring32Cause.PrivilegedInstruction, w);
  }

  /** Trap entry: save pc, cause, value, ring and IF; enter ring 0 with interrupts off at TVEC. */
  enterTrap(cause: number, tval: number, interrupt: boolean): void {
    this.cycles += this.cost.trap;
    this.epc = this.pc >>> 0;
    this.cause = (interrupt ? RING32_INTERRUPT_BIT | cause : cause) >>> 0;
    this.tval = tval >>> 0;
    const ring = this.psw & PSW.RING;
    const pif = this.psw & PSW.IF ? PSW.PIF : 0;
    this.psw = (this.psw & PSW.UF) | (ring << PSW.PRING_SHIFT) | pif;
    this.pc = this.tvec >>> 0;
  }

  // ---------------------------------------------------------------- memory slow paths

  private ramOffset(addr: number, width: number): number {
    return ramOffset(this, addr, width);
  }

  private loadSlow(a: number, width: 1 | 2 | 4, signed: boolean): number {
    return loadSlow(this, RING32_ACCESS_FAULTS, a, width, signed);
  }

  ld8(a: number): number {
    return this.loadSlow(a >>> 0, 1, true);
  }
  ld8u(a: number): number {
    return this.loadSlow(a >>> 0, 1, false);
  }
  ld16(a: number): number {
    return this.loadSlow(a >>> 0, 2, true);
  }
  ld16u(a: number): number {
    return this.loadSlow(a >>> 0, 2, false);
  }
  ld32(a: number): number {
    return this.loadSlow(a >>> 0, 4, true);
  }

  /**
   * Store slow path. A store into decoded code or a device completes, then makes the engine leave
   * its block (RESUME) — or, for a helper that still has a register to write, only kicks.
   */
  private storeSlow(a: number, width: 1 | 2 | 4, v: number, resume = true): void {
    if (storeSlow(this, RING32_ACCESS_FAULTS, a, width, v)) this.afterSideEffect(resume);
  }

  private afterSideEffect(resume: boolean): void {
    if (resume) throw RESUME;
    this.kick = true;
  }

  st8(a: number, v: number): void {
    this.storeSlow(a >>> 0, 1, v);
  }
  st16(a: number, v: number): void {
    this.storeSlow(a >>> 0, 2, v);
  }
  st32(a: number, v: number): void {
    this.storeSlow(a >>> 0, 4, v);
  }

  // ---------------------------------------------------------------- sensitive instructions

  hlt(w: number): void {
    this.checkPrivileged(w);
    if (this.timerPending()) return;
    this.requestStop(Stop.Wfi);
  }

  /** IRET: returns the pc to continue at. */
  iret(w: number): number {
    this.checkPrivileged(w);
    const s = this.psw;
    const ring = (s & PSW.PRING) >>> PSW.PRING_SHIFT;
    this.psw = (s & ~(PSW.RING | PSW.IF)) | ring | (s & PSW.PIF ? PSW.IF : 0);
    this.kick = true;
    return this.epc >>> 0;
  }

  setIf(w: number, on: 0 | 1): void {
    this.checkPrivileged(w);
    this.psw = on ? this.psw | PSW.IF : this.psw & ~PSW.IF;
    this.kick = true;
  }

  /** LPSW: PSW from [addr], pc from [addr + 4]; returns the pc. Nothing changes if either load faults. */
  lpsw(w: number, addr: number): number {
    this.checkPrivileged(w);
    const psw = this.ld32(addr);
    const pc = this.ld32((addr + 4) >>> 0) >>> 0;
    if (pc & 3) this.raise(Ring32Cause.FetchMisaligned, pc);
    this.psw = psw & PSW_WRITABLE;
    this.kick = true;
    return pc;
  }

  mfcr(w: number): number {
    this.checkPrivileged(w);
    return this.readCr((w >>> 16) & 15, w);
  }

  mtcr(w: number, v: number): void {
    this.checkPrivileged(w);
    this.writeCr((w >>> 16) & 15, v, w);
    this.kick = true;
  }

  /** Reads control register `cr`; unimplemented ones raise illegal instruction with `w` as TVAL. */
  readCr(cr: number, w = 0): number {
    switch (cr) {
      case CR.PSW:
        return this.psw;
      case CR.TVEC:
        return this.tvec | 0;
      case CR.EPC:
        return this.epc | 0;
      case CR.CAUSE:
        return this.cause | 0;
      case CR.TVAL:
        return this.tval | 0;
      case CR.TIMECMP:
        return Number.isFinite(this.timecmp) ? this.timecmp | 0 : TIMER_OFF | 0;
      case CR.TIME:
        return (this.time() % 2 ** 32) | 0;
      case CR.SCRATCH:
        return this.scratch;
      default:
        return this.illegal(w);
    }
  }

  /** Writes control register `cr` (TVEC and EPC keep word alignment; TIME is read-only). */
  writeCr(cr: number, v: number, w = 0): void {
    switch (cr) {
      case CR.PSW:
        this.psw = v & PSW_WRITABLE;
        return;
      case CR.TVEC:
        this.tvec = (v & ~3) >>> 0;
        return;
      case CR.EPC:
        this.epc = (v & ~3) >>> 0;
        return;
      case CR.CAUSE:
        this.cause = v >>> 0;
        return;
      case CR.TVAL:
        this.tval = v >>> 0;
        return;
      case CR.TIMECMP:
        this.timecmp = v >>> 0 === TIMER_OFF ? Number.POSITIVE_INFINITY : v >>> 0;
        return;
      case CR.SCRATCH:
        this.scratch = v | 0;
        return;
      default:
        this.illegal(w);
    }
  }

  /** IN: an unconnected port reads all ones, as on an ISA bus. */
  portIn(w: number): number {
    this.checkPrivileged(w);
    const p = this.ports.get(w >>> 16);
    return p ? p.in() | 0 : -1;
  }

  /** OUT: writes to an unconnected port are ignored. */
  portOut(w: number, v: number): void {
    this.checkPrivileged(w);
    this.ports.get(w >>> 16)?.out(v | 0);
    this.kick = true;
  }

  /** PUSHF: stores the whole PSW below sp and returns the new sp. Never traps for privilege. */
  pushf(sp: number): number {
    const nsp = (sp - 4) | 0;
    if (nsp & 3) this.raise(Ring32Cause.StoreMisaligned, nsp);
    const off = this.ramOffset(nsp >>> 0, 4);
    if (off >= 0 && !this.bus.storeFlags[off >>> LINE_SHIFT]) this.bus.i32[off >>> 2] = this.psw;
    else this.storeSlow(nsp >>> 0, 4, this.psw, false);
    return nsp;
  }

  /**
   * POPF's effect on the PSW: in ring 0 it sets IF, PRING and PIF; in any other ring it changes
   * only the user flags and silently keeps IF — no trap. No ring changes its ring with POPF.
   */
  popf(v: number): void {
    const keep = this.psw & PSW.RING ? ~PSW.UF : PSW.RING;
    const take = this.psw & PSW.RING ? PSW.UF : PSW_WRITABLE & ~PSW.RING;
    this.psw = (this.psw & keep) | (v & take);
    this.kick = true;
  }
}
