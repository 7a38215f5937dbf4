// One RV32IMA hart: architectural state plus the slow paths every engine shares — memory accesses
// that miss the RAM fast path, CSRs, privileged instructions, trap entry and interrupt delivery.
// Engines own only the fast path (fetch, decode, ALU, RAM hits); anything here is identical for all
// four engines by construction, which is what keeps their results bit-identical.

import { Bus, LINE_SHIFT } from '../memory/bus';
import { AccessFaults, loadSlow, ramOffset, storeSlow } from '../memory/slow-path';
import { CostModel, DEFAULT_COST_MODEL } from '../cost';
import { Cause, INTERRUPT_BIT } from './causes';
import { IRQ_PRIORITY, MENVCFGH_STCE, MIP, MSTATUS, Priv } from './csr';
import { RESUME, Stop, StopRecord, TRAP, TrapExit, plainStop, trapExit } from './signals';
import { readCsr, writeCsr } from './csr-access';

// Bits the timer code reads at every engine entry, read once here: in a development tree (tsx) every
// use of an imported binding is a getter call.
const MTIP = MIP.MTIP;
const STIP = MIP.STIP;
const STCE = MENVCFGH_STCE;

/** Index of the write-only sink register: writes to x0 are redirected here by pre-decoding engines. */
export const X_SINK = 32;

export interface HartOptions {
  hartId?: number;
  cost?: CostModel;
  /** Platform timer ticks: mtime advances by one every this many cycles (1 GHz / 10 MHz = 100). */
  cyclesPerTick?: number;
}

/** rv32's exception causes for bad data accesses (the shared slow paths raise them). */
const RV32_ACCESS_FAULTS: AccessFaults = {
  loadMisaligned: Cause.LoadMisaligned,
  loadFault: Cause.LoadAccessFault,
  storeMisaligned: Cause.StoreMisaligned,
  storeFault: Cause.StoreAccessFault,
};

export class Hart {
  /** x0..x31 plus the sink at index 32. x[0] is always 0. */
  readonly x = new Int32Array(33);
  pc = 0;
  priv: Priv = Priv.M;
  /**
   * [cycles, instret]: cycles this hart has executed (the virtual time it consumed) and instructions
   * retired. A Float64Array so engines update them unboxed on every instruction.
   */
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

  // Machine/supervisor CSR state (sstatus, sie, sip are views of these).
  mstatus = 0;
  medeleg = 0;
  mideleg = 0;
  mie = 0;
  /** Software-writable and device-driven pending bits; MTIP/STIP are refreshed from the timers. */
  mip = 0;
  mtvec = 0;
  mepc = 0;
  mcause = 0;
  mtval = 0;
  mscratch = 0;
  mcounteren = 0;
  menvcfg = 0;
  menvcfgh = 0;
  stvec = 0;
  sepc = 0;
  scause = 0;
  stval = 0;
  sscratch = 0;
  scounteren = 0;
  /** Machine timer compare (CLINT) and Sstc supervisor timer compare, in ticks. */
  mtimecmp = Number.POSITIVE_INFINITY;
  stimecmp = Number.POSITIVE_INFINITY;
  /** Raw halves of stimecmp as software wrote them (internal: CSR access). */
  stimecmpLo = 0xffffffff;
  stimecmpHi = 0xffffffff;
  /** Offsets written through mcycle/minstret, so software can reset its counters without touching virtual time. */
  cycleOffset = 0;
  instretOffset = 0;
  /** LR/SC reservation: the reserved address, or -1. */
  reservation = -1;

  /** Exceptions whose cause bit is set here stop the engine (a TrapExit) instead of entering the guest's handler. */
  exitMask = 0;
  /**
   * Interrupts whose bit is set here stop the engine (a TrapExit with interrupt true) when they
   * would be taken, instead of entering a handler: how a hypervisor that runs its guest deprivileged
   * gets the host's timer back (trap-and-emulate, issue 4). They stay pending until the host clears them.
   */
  exitInterruptMask = 0;
  /** The interrupt that exits to the host at the next service(), taken by takeInterrupt. */
  private interruptExit: TrapExit | null = null;

  /** Set by a helper when engines must re-service the hart before the next instruction. */
  kick = false;
  /** The cycle count at which the running engine must next call service() (timer, budget). */
  limit = 0;
  /** A stop requested by wfi or a device, reported at the next service(). */
  private pendingStop: Stop.Budget | Stop.Wfi | Stop.Halt | -1 = -1;
  /** Why service() last returned -1 (what the engine's run() returns). */
  private stopped: StopRecord = plainStop(Stop.Budget);

  /** The pending exception while TRAP propagates. */
  trapCause = 0;
  trapTval = 0;

  /** Added to cycles to get platform time (set by whoever drives the hart in a shared timeline). */
  timeSkew = 0;

  /**
   * The mode translated code is specialised for. Normally the real privilege; a hypervisor that
   * translates a deprivileged guest kernel sets it to the guest's *virtual* mode (binary
   * translation, issue 4), so kernel and user code of the guest get different translations.
   */
  xlateKey = -1;
  /**
   * Binary translation of a deprivileged kernel: translated code calls this for each privileged
   * instruction instead of trapping (registers are in x[]); it returns the next pc. It may raise an
   * exception (the instruction then traps as usual) or request a stop. It must not touch the
   * counters: it reports its cost in hookCost.
   */
  sensitiveHook: ((w: number, pc: number) => number) | null = null;
  /** Cycles the last sensitiveHook call cost (translated code adds them to its own count). */
  hookCost = 0;

  /** The key translated code is cached under (see xlateKey). */
  get translationMode(): number {
    return this.xlateKey >= 0 ? this.xlateKey : this.priv;
  }

  readonly hartId: number;
  readonly cost: CostModel;
  readonly cyclesPerTick: number;

  // Cached RAM views for the engines' fast paths.
  readonly ramBase: number;
  readonly ramSize: number;

  constructor(
    readonly bus: Bus,
    opts: HartOptions = {},
  ) {
    this.hartId = opts.hartId ?? 0;
    this.cost = opts.cost ?? DEFAULT_COST_MODEL;
    this.cyclesPerTick = opts.cyclesPerTick ?? 100;
    this.ramBase = bus.ramBase;
    this.ramSize = bus.ramSize;
  }

  // ---------------------------------------------------------------- time

  /** Platform time in timer ticks (the value of mtime / the time CSR). */
  mtime(): number {
    return Math.floor((this.cycles + this.timeSkew) / this.cyclesPerTick);
  }

  get sstcEnabled(): boolean {
    return (this.menvcfgh & STCE) !== 0;
  }

  /** Recompute the timer-driven pending bits from the compare registers. */
  updateTimers(): void {
    const now = this.mtime();
    if (now >= this.mtimecmp) this.mip |= MTIP;
    else this.mip &= ~MTIP;
    if (this.sstcEnabled) {
      if (now >= this.stimecmp) this.mip |= STIP;
      else this.mip &= ~STIP;
    }
  }

  /** The cycle count at which the next timer compare fires, or +Infinity. */
  private nextTimerCycle(): number {
    // No closure here: this runs at every engine entry, and a closure per call is garbage (and,
    // under tsx's keepNames, a rename per call).
    let next = Number.POSITIVE_INFINITY;
    if (Number.isFinite(this.mtimecmp) && !(this.mip & MTIP)) next = Math.min(next, this.mtimecmp * this.cyclesPerTick - this.timeSkew);
    if (this.sstcEnabled && Number.isFinite(this.stimecmp) && !(this.mip & STIP))
      next = Math.min(next, this.stimecmp * this.cyclesPerTick - this.timeSkew);
    return next;
  }

  /** Cycles until the next timer event, for a host that wants to skip idle time after wfi. */
  cyclesUntilNextTimer(): number {
    this.updateTimers();
    return Math.max(0, this.nextTimerCycle() - this.cycles);
  }

  /** Programs the Sstc supervisor timer from the host (a hypervisor's set_timer); +Infinity disarms it. */
  setStimecmp(ticks: number): void {
    this.stimecmp = ticks;
    this.stimecmpLo = Number.isFinite(ticks) ? ticks % 2 ** 32 : 0xffffffff;
    this.stimecmpHi = Number.isFinite(ticks) ? Math.floor(ticks / 2 ** 32) : 0xffffffff;
    this.updateTimers();
    this.kick = true;
  }

  setMtimecmp(ticks: number): void {
    this.mtimecmp = ticks;
    this.updateTimers();
    this.kick = true;
  }

  // ---------------------------------------------------------------- engine driver protocol

  /**
   * Called by engines between instructions whenever cycles reach `limit` or `kick` is set.
   * Reports a requested stop, takes a pending interrupt, checks the budget, and returns the
   * next cycle count at which it must be called again, or -1 to stop (the reason: stopRecord()).
   */
  service(end: number): number {
    this.kick = false;
    if (this.pendingStop !== -1) {
      this.stopped = plainStop(this.pendingStop);
      this.pendingStop = -1;
      return -1;
    }
    this.updateTimers();
    while (this.takeInterrupt()) {
      /* a delegated interrupt may be preempted by an M-level one */
    }
    const exit = this.interruptExit;
    if (exit !== null) {
      // An interrupt in exitInterruptMask: the host takes it, before the next instruction.
      this.interruptExit = null;
      this.stopped = exit;
      return -1;
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

  /** Ask the engine to stop before the next instruction (devices: tohost, shutdown). */
  requestStop(reason: Stop.Budget | Stop.Wfi | Stop.Halt): void {
    this.pendingStop = reason;
    this.kick = true;
  }

  /**
   * The engine caught TRAP with pc at the faulting instruction: enter the guest's trap handler,
   * or, if the cause is in exitMask, return the TrapExit the engine stops with.
   */
  deliverTrap(): TrapExit | null {
    const cause = this.trapCause;
    if ((this.exitMask >>> cause) & 1) return trapExit(cause, this.trapTval, false);
    this.enterTrap(cause, this.trapTval, false);
    return null;
  }

  /** Raise an exception from inside an instruction. */
  raise(cause: number, tval: number): never {
    this.trapCause = cause;
    this.trapTval = tval >>> 0;
    throw TRAP;
  }

  illegal(w: number): never {
    return this.raise(Cause.IllegalInstruction, w);
  }

  /** Trap entry (privileged spec §3.1.6–3.1.9): delegation, xEPC/xCAUSE/xTVAL, stacking of xIE. */
  enterTrap(cause: number, tval: number, interrupt: boolean): void {
    const deleg = interrupt ? this.mideleg : this.medeleg;
    const causeValue = (interrupt ? INTERRUPT_BIT | cause : cause) >>> 0;
    if (this.reservation !== -1) {
      this.reservation = -1;
      this.bus.release(this);
    }
    this.cycles += this.cost.trap;
    if (this.priv !== Priv.M && (deleg >>> cause) & 1) {
      this.enterSupervisorTrap(cause, tval, interrupt);
    } else {
      this.mcause = causeValue;
      this.mepc = this.pc >>> 0;
      this.mtval = tval >>> 0;
      let s = this.mstatus & ~(MSTATUS.MPIE | MSTATUS.MPP | MSTATUS.MIE);
      if (this.mstatus & MSTATUS.MIE) s |= MSTATUS.MPIE;
      s |= this.priv << MSTATUS.MPP_SHIFT;
      this.mstatus = s;
      this.priv = Priv.M;
      this.pc = vector(this.mtvec, cause, interrupt);
    }
  }

  /**
   * The S-mode half of trap entry: scause, sepc (the current pc), stval, sstatus.SPP/SPIE/SIE, pc =
   * stvec's vector. Also what M-mode firmware does to redirect a trap it took to the S-mode kernel
   * (OpenSBI's sbi_trap_redirect): the hypervisor calls it for an illegal instruction it cannot emulate.
   */
  enterSupervisorTrap(cause: number, tval: number, interrupt = false): void {
    this.scause = (interrupt ? INTERRUPT_BIT | cause : cause) >>> 0;
    this.sepc = this.pc >>> 0;
    this.stval = tval >>> 0;
    let s = this.mstatus & ~(MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SIE);
    if (this.mstatus & MSTATUS.SIE) s |= MSTATUS.SPIE;
    if (this.priv === Priv.S) s |= MSTATUS.SPP;
    this.mstatus = s;
    this.priv = Priv.S;
    this.pc = vector(this.stvec, cause, interrupt);
  }

  /** The highest-priority interrupt that is pending, enabled and not masked at this privilege, or -1. */
  pendingInterrupt(): number {
    const pending = this.mip & this.mie;
    if (pending === 0) return -1;
    const mEnabled = this.priv < Priv.M || (this.mstatus & MSTATUS.MIE) !== 0;
    const sEnabled = this.priv < Priv.S || (this.priv === Priv.S && (this.mstatus & MSTATUS.SIE) !== 0);
    const toM = mEnabled ? pending & ~this.mideleg : 0;
    const toS = sEnabled ? pending & this.mideleg : 0;
    const take = toM !== 0 ? toM : toS;
    if (take === 0) return -1;
    for (const irq of IRQ_PRIORITY) if (take & (1 << irq)) return irq;
    return -1;
  }

  private takeInterrupt(): boolean {
    const irq = this.pendingInterrupt();
    if (irq < 0) return false;
    if ((this.exitInterruptMask >>> irq) & 1) {
      this.interruptExit = trapExit(irq, 0, true);
      return false;
    }
    this.enterTrap(irq, 0, true);
    return true;
  }

  // ---------------------------------------------------------------- memory slow paths

  private ramOffset(addr: number, width: number): number {
    return ramOffset(this, addr, width);
  }

  private loadSlow(a: number, width: 1 | 2 | 4, signed: boolean): number {
    return loadSlow(this, RV32_ACCESS_FAULTS, a, width, signed);
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
   * Store slow path: misaligned, device, or RAM holding decoded code. When code changed under a
   * decoded/translated copy, a host watch fired or a device was written, the engine must leave
   * whatever block it is in, so the next instruction is fetched afresh (all engines agree).
   */
  private storeSlow(a: number, width: 1 | 2 | 4, v: number, resume = true): void {
    if (storeSlow(this, RV32_ACCESS_FAULTS, a, width, v, this)) this.afterSideEffect(resume);
  }

  /**
   * Plain stores leave their block at once (RESUME). AMOs still have rd to write, so they only kick:
   * they end their block anyway (flow 'system'), and the engine re-services after them.
   */
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

  // ---------------------------------------------------------------- A extension

  lr(a: number): number {
    a >>>= 0;
    if (a & 3) this.raise(Cause.LoadMisaligned, a);
    const v = this.ld32(a);
    this.reservation = a;
    this.bus.reserve(this, a);
    return v;
  }

  /** Returns 0 on success, 1 on failure (the rd value). */
  sc(a: number, v: number): number {
    a >>>= 0;
    if (a & 3) this.raise(Cause.StoreMisaligned, a);
    const ok = this.reservation === a;
    this.reservation = -1;
    this.bus.release(this);
    if (!ok) return 1;
    this.amoStore(a, v);
    return 0;
  }

  /** AMO read-modify-write. op is funct5. Faults on either half report store/AMO causes. */
  amo(op: number, a: number, src: number): number {
    a >>>= 0;
    if (a & 3) this.raise(Cause.StoreMisaligned, a);
    const off = this.ramOffset(a, 4);
    let old: number;
    if (off >= 0) old = this.bus.i32[off >>> 2];
    else {
      const dev = this.bus.deviceAt(a);
      if (!dev) this.raise(Cause.StoreAccessFault, a);
      old = dev.load(a - dev.base, 4) | 0;
    }
    let nv: number;
    switch (op) {
      case 0x01:
        nv = src;
        break; // amoswap
      case 0x00:
        nv = (old + src) | 0;
        break; // amoadd
      case 0x04:
        nv = old ^ src;
        break; // amoxor
      case 0x0c:
        nv = old & src;
        break; // amoand
      case 0x08:
        nv = old | src;
        break; // amoor
      case 0x10:
        nv = Math.min(old, src);
        break; // amomin
      case 0x14:
        nv = Math.max(old, src);
        break; // amomax
      case 0x18:
        nv = old >>> 0 < src >>> 0 ? old : src;
        break; // amominu
      case 0x1c:
        nv = old >>> 0 > src >>> 0 ? old : src;
        break; // amomaxu
      default:
        return this.illegal(0);
    }
    this.amoStore(a, nv);
    return old;
  }

  private amoStore(a: number, v: number): void {
    const off = this.ramOffset(a, 4);
    if (off >= 0 && !this.bus.storeFlags[off >>> LINE_SHIFT]) {
      this.bus.i32[off >>> 2] = v;
      return;
    }
    this.storeSlow(a, 4, v, false);
  }

  // ---------------------------------------------------------------- CSRs

  /**
   * Zicsr: the whole csrrw/csrrs/csrrc(i) family in one place. `w` is the instruction (for its
   * csr number, rd, rs1/uimm and funct3), `rs1v` the value of rs1. Returns the old value for rd.
   */
  csr(w: number, rs1v: number): number {
    const num = w >>> 20;
    const f3 = (w >>> 12) & 7;
    const rs1 = (w >>> 15) & 31;
    const rd = (w >>> 7) & 31;
    const op = f3 & 3; // 1 rw, 2 rs, 3 rc
    const src = f3 & 4 ? rs1 : rs1v;
    const writes = op === 1 || rs1 !== 0;
    if (((num >>> 8) & 3) > this.priv) this.illegal(w);
    if (writes && num >>> 10 === 3) this.illegal(w);
    const old = op === 1 && rd === 0 ? 0 : this.csrRead(num, w);
    if (writes) {
      const nv = op === 1 ? src : op === 2 ? old | src : old & ~src;
      this.csrWrite(num, nv | 0, w);
    }
    return old | 0;
  }

  /** Reads a CSR by number; raises illegal instruction (with `w` as tval) for unknown or forbidden ones. */
  csrRead(num: number, w = 0): number {
    return readCsr(this, num, w);
  }

  /** Writes a CSR by number, applying its WARL mask. */
  csrWrite(num: number, v: number, w = 0): void {
    writeCsr(this, num, v, w);
  }

  // ---------------------------------------------------------------- privileged instructions

  ecall(): never {
    return this.raise(Cause.EcallFromU + this.priv, 0);
  }

  ebreak(pc: number): never {
    return this.raise(Cause.Breakpoint, pc);
  }

  /** mret: returns the pc to continue at. */
  mret(w: number): number {
    if (this.priv < Priv.M) this.illegal(w);
    const s = this.mstatus;
    const mpp = (s & MSTATUS.MPP) >>> MSTATUS.MPP_SHIFT;
    let ns = s & ~(MSTATUS.MIE | MSTATUS.MPP);
    if (s & MSTATUS.MPIE) ns |= MSTATUS.MIE;
    ns |= MSTATUS.MPIE;
    if (mpp !== Priv.M) ns &= ~MSTATUS.MPRV;
    this.mstatus = ns;
    this.priv = mpp as Priv;
    this.kick = true;
    return this.mepc >>> 0;
  }

  /** sret: returns the pc to continue at. */
  sret(w: number): number {
    if (this.priv < Priv.S || (this.priv === Priv.S && this.mstatus & MSTATUS.TSR)) this.illegal(w);
    const s = this.mstatus;
    const spp = s & MSTATUS.SPP ? Priv.S : Priv.U;
    let ns = s & ~(MSTATUS.SIE | MSTATUS.SPP);
    if (s & MSTATUS.SPIE) ns |= MSTATUS.SIE;
    ns |= MSTATUS.SPIE;
    ns &= ~MSTATUS.MPRV;
    this.mstatus = ns;
    this.priv = spp;
    this.kick = true;
    return this.sepc >>> 0;
  }

  /** wfi: a no-op when an enabled interrupt is pending, else the engine stops with Stop.Wfi. */
  wfi(w: number): void {
    if (this.priv === Priv.U || (this.priv === Priv.S && this.mstatus & MSTATUS.TW)) this.illegal(w);
    this.updateTimers();
    if ((this.mip & this.mie) !== 0) return;
    this.requestStop(Stop.Wfi);
  }

  sfenceVma(w: number): void {
    if (this.priv === Priv.U || (this.priv === Priv.S && this.mstatus & MSTATUS.TVM)) this.illegal(w);
  }

  /** fence.i: make all earlier stores visible to instruction fetch by dropping every decoded copy. */
  fenceI(): void {
    this.bus.invalidateAll();
    this.kick = true;
  }
}

function vector(tvec: number, cause: number, interrupt: boolean): number {
  const base = tvec & ~3;
  return (tvec & 1 && interrupt ? base + 4 * cause : base) >>> 0;
}

// In csr.ts so that csr-access.ts need not import this module (which imports it).
export { toTicks } from './csr';
