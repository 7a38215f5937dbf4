// The ring32 vCPU as its routines see it: built from a TrapRequest (registers, Ring32Cpu, the guest
// memory the cpu-node attached), changed by the routine, and turned into the TrapResolution's
// effects. Nothing here touches a hart or a bus: that is what lets the same routine run in the
// cpu-node (split) or in the hypervisor service (remote) with the same answer.

import { MemWrite, Ring32Effects, Ring32Scan, Ring32Virtual, TrapRequest } from '@vsim/proto';
import { PSW, PSW_WRITABLE, RING32_INTERRUPT_BIT } from '@vsim/isa';
import { SH } from './pv-abi';

// Read once: re-exported bindings are getters, and this runs for every exit.
const PSW_IF = PSW.IF;
const PSW_PIF = PSW.PIF;
const PSW_PRING = PSW.PRING;
const PSW_PRING_SHIFT = PSW.PRING_SHIFT;
const PSW_RING = PSW.RING;
const PSW_UF = PSW.UF;

/** The real ring a deprivileged guest kernel runs in (ring compression, as Xen and VMware do). */
export const KERNEL_RING = 1;
const USER_RING = 3;

/**
 * The real PSW that runs virtual PSW `vpsw`: virtual ring 0 as KERNEL_RING (the rest as ring 3),
 * the virtual IF (under paravirt the flag is in memory and the real IF stays set), PRING and PIF,
 * and the real user flags of `psw`.
 */
export function realPsw(vpsw: number, psw: number, paravirt: boolean): number {
  const realRing = (vpsw & PSW_RING) === 0 ? KERNEL_RING : USER_RING;
  const iflag = paravirt ? PSW_IF : vpsw & PSW_IF;
  return (psw & PSW_UF) | (vpsw & (PSW_PRING | PSW_PIF)) | iflag | realRing;
}

/** Why a routine stopped the VM (caught by the dispatcher: a SHUTDOWN or FAULT resolution). */
export class Ring32Stop extends Error {
  constructor(
    readonly outcome: 'exit' | 'fault',
    readonly detail: string,
    readonly code = 0,
  ) {
    super(detail);
  }
}

/** The virtual state as the node keeps it: a disarmed timer is +Infinity. */
export interface VirtualRing32 {
  /** Virtual PSW: ring, IF, PRING, PIF (UF is the real one). */
  psw: number;
  tvec: number;
  epc: number;
  cause: number;
  tval: number;
  scratch: number;
  /** Timer compare in ticks, +Infinity when disarmed. */
  timecmp: number;
}

export function virtualToProto(v: VirtualRing32): Ring32Virtual {
  const off = !Number.isFinite(v.timecmp);
  return { psw: v.psw, tvec: v.tvec, epc: v.epc, cause: v.cause, tval: v.tval, scratch: v.scratch | 0, timecmp: off ? 0 : v.timecmp, timerOff: off };
}

export function virtualFromProto(v: Ring32Virtual): VirtualRing32 {
  return { ...v, scratch: v.scratch | 0, timecmp: v.timerOff ? Number.POSITIVE_INFINITY : v.timecmp };
}

export class Ring32Context {
  readonly x: number[];
  readonly v: VirtualRing32;
  /** The real PSW. */
  psw: number;
  readonly paravirt: boolean;
  readonly pvShared: number;
  pvTimerHeld: boolean;
  /** Cycles the routine's work has cost so far (the time it reads moves with them). */
  cost = 0;
  readonly console: number[] = [];
  readonly memoryWrites: MemWrite[] = [];
  readonly scans: Ring32Scan[] = [];
  /** Set when the routine programmed the real timer compare. */
  timecmp?: number;
  kick = false;
  /** HLT with the timer not yet due: the vCPU waits for it. */
  halted = false;
  /** The words the routine wrote (routines write aligned words): what it reads back sees them. */
  private written?: Map<number, number>;
  private readonly cpu: NonNullable<TrapRequest['ring32']>;

  constructor(readonly req: TrapRequest) {
    const cpu = req.ring32;
    if (!cpu || !cpu.virtual) throw new RangeError(`ring32 trap from VM ${req.vm}: TrapRequest.ring32 (with its virtual state) is missing`);
    if (req.x.length !== 16) throw new RangeError(`ring32 trap from VM ${req.vm}: x holds ${req.x.length} registers, expected 16`);
    this.cpu = cpu;
    this.x = req.x.slice();
    this.v = virtualFromProto(cpu.virtual);
    this.psw = cpu.psw;
    this.paravirt = cpu.technique === 'paravirt';
    this.pvShared = cpu.pvShared;
    this.pvTimerHeld = cpu.pvTimerHeld;
  }

  // ---------------------------------------------------------------- the machine

  /** The timer in ticks, after the work charged so far (as the hart's time() would read it). */
  time(): number {
    const c = this.cpu;
    return Math.floor((c.cycles + this.cost + c.timeSkew) / c.cyclesPerTick);
  }

  inRam(addr: number, len: number): boolean {
    const c = this.cpu;
    return addr >= c.ramBase && addr + len <= c.ramBase + c.ramSize && len >= 0;
  }

  /** The attached window holding [addr, addr+len), and where in it addr is. */
  private window(addr: number, len: number): { data: Uint8Array; off: number } {
    for (const w of this.cpu.memory) if (addr >= w.addr && addr + len <= w.addr + w.data.length) return { data: w.data, off: addr - w.addr };
    throw new RangeError(`ring32 trap from VM ${this.req.vm}: the request carries no guest memory at 0x${addr.toString(16)}+${len}`);
  }

  readU32(addr: number): number {
    const seen = this.written?.get(addr);
    if (seen !== undefined) return seen;
    const { data, off } = this.window(addr, 4);
    return (data[off] | (data[off + 1] << 8) | (data[off + 2] << 16) | (data[off + 3] << 24)) >>> 0;
  }

  /** Bytes the routine has not written (a console buffer). */
  readBytes(addr: number, len: number): Uint8Array {
    if (len === 0) return new Uint8Array(0);
    const { data, off } = this.window(addr, len);
    return data.subarray(off, off + len);
  }

  writeU32(addr: number, value: number): void {
    const data = Buffer.allocUnsafe(4);
    data.writeUInt32LE(value >>> 0, 0);
    this.memoryWrites.push({ addr: addr >>> 0, data, fill: 0 });
    (this.written ??= new Map()).set(addr >>> 0, value >>> 0);
  }

  /** Shared page word (paravirt). */
  rd(off: number): number {
    return this.readU32(this.pvShared + off) | 0;
  }

  wr(off: number, v: number): void {
    this.writeU32(this.pvShared + off, v >>> 0);
  }

  shutdown(code: number): never {
    throw new Ring32Stop('exit', `exit ${code}`, code | 0);
  }

  fault(detail: string): never {
    throw new Ring32Stop('fault', detail);
  }

  // ---------------------------------------------------------------- virtual state

  /** The virtual ring the guest is in (0 = its kernel). */
  get vring(): number {
    return this.v.psw & PSW_RING;
  }

  /** The virtual PSW as the guest would read it: virtual ring and IF, real user flags. */
  virtualPsw(): number {
    return ((this.v.psw & ~PSW_UF) | (this.psw & PSW_UF)) & PSW_WRITABLE;
  }

  setVirtualPsw(p: number): void {
    this.v.psw = p & PSW_WRITABLE & ~PSW_UF;
    this.psw = (this.psw & ~PSW_UF) | (p & PSW_UF);
    this.applyVirtual();
  }

  /**
   * The real hart follows the virtual state: ring 0 runs as KERNEL_RING, the virtual IF is the real
   * one (so the timer exits only when the guest could take it; under paravirt the flag is in memory
   * and the real IF stays set), the real timer is the virtual one.
   */
  applyVirtual(): void {
    this.psw = realPsw(this.v.psw, this.psw, this.paravirt);
    if (!this.pvTimerHeld) this.timecmp = this.v.timecmp;
    this.kick = true;
  }

  setTimer(ticks: number): void {
    this.v.timecmp = ticks;
    if (this.paravirt) this.releaseTimer();
    this.timecmp = ticks;
    this.kick = true;
  }

  /** Paravirt: the interrupt pending in the shared page is taken; the real timer is the virtual one again. */
  releaseTimer(): void {
    this.pvTimerHeld = false;
    this.wr(SH.PENDING, 0);
  }

  /** Enters the guest kernel's trap vector as the hardware would (ring32.md, Traps). */
  inject(cause: number, tval: number, interrupt: boolean, epc: number): number {
    if (this.paravirt) return this.pvInject(cause, interrupt, epc);
    const vp = this.virtualPsw();
    this.v.epc = epc >>> 0;
    this.v.cause = (interrupt ? RING32_INTERRUPT_BIT | cause : cause) >>> 0;
    this.v.tval = tval >>> 0;
    this.setVirtualPsw((vp & PSW_UF) | ((vp & PSW_RING) << PSW_PRING_SHIFT) | (vp & PSW_IF ? PSW_PIF : 0));
    return this.enterRing0(this.v.tvec);
  }

  /** Virtual trap entry for the PV kernel: the frame goes to the shared page. */
  private pvInject(cause: number, interrupt: boolean, epc: number): number {
    const vif = this.rd(SH.VIF) !== 0;
    this.wr(SH.CAUSE, interrupt ? 0x80000000 | cause : cause);
    this.wr(SH.EPC, epc);
    this.wr(SH.PPSW, this.vring | (vif ? PSW_IF : 0));
    this.wr(SH.VIF, 0);
    this.wr(SH.VRING, 0);
    this.setVirtualPsw(this.virtualPsw() & ~PSW_RING);
    return this.v.tvec;
  }

  /**
   * Continues the guest at `pc`; if that is its kernel, code patching must have scanned it first:
   * the node scans it (if it has not, and lazy patching is on) before the kernel runs on.
   */
  enterRing0(pc: number): number {
    if (this.cpu.technique === 'code-patching' && this.vring === 0) this.scans.push({ pc: pc >>> 0, lazy: true });
    return pc >>> 0;
  }

  /** Code patching: a new entry point the kernel installed (its trap vector), scanned at once. */
  scan(pc: number): void {
    if (this.cpu.technique === 'code-patching') this.scans.push({ pc: pc >>> 0, lazy: false });
  }

  /** The effects for the node (Ring32Effects). */
  effects(): Ring32Effects {
    const t = this.timecmp;
    return {
      virtual: virtualToProto(this.v),
      psw: this.psw >>> 0,
      setTimecmp: t !== undefined,
      timecmp: t !== undefined && Number.isFinite(t) ? t : 0,
      timecmpOff: t !== undefined && !Number.isFinite(t),
      kick: this.kick,
      pvTimerHeld: this.pvTimerHeld,
      scans: this.scans,
    };
  }
}
