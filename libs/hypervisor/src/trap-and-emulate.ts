// Trap-and-emulate (seed, "Full Virtualization"; Popek & Goldberg): the unmodified guest kernel
// runs deprivileged, in real U-mode. RV32 is classically virtualizable, so every sensitive
// instruction it executes traps; the dispatcher sends each to an interpreter routine that emulates
// it on the vCPU's *virtual* supervisor state (VirtualCpu: virtual mode, sstatus, sie, sip, stvec,
// sepc, scause, stval, sscratch, stimecmp, ...), and the hypervisor injects virtual exceptions and
// virtual interrupts into the guest exactly as the hardware would have delivered them.
//
// The virtual platform mirrors the paravirtual one (libs/executor/src/vm.ts), so a guest sees the same machine
// under both techniques (equivalence): exceptions OpenSBI would delegate to S-mode are injected into
// the guest kernel, and so is an illegal instruction OpenSBI would redirect to it (illegal.ts); the
// others stop the VM, as they do there.

import { TrapAction, TrapRequest, TrapResolution, VirtualCpu } from '@vsim/proto';
import { Cause } from '@vsim/isa';
import { Routine } from './routine';
import { REDIRECT_ILLEGAL_NAME, illegalInstructionFault } from './illegal';

export const VMODE_U = 0;
export const VMODE_S = 1;

const SIE = 1 << 1;
const SPIE = 1 << 5;
const SPP = 1 << 8;
const SSTATUS_WRITABLE = SIE | SPIE | SPP | (1 << 18) /* SUM */ | (1 << 19); /* MXR */
const SSIP = 1 << 1;
const STIP = 1 << 5;
const SEIP = 1 << 9;
const SIE_WRITABLE = SSIP | STIP | SEIP;
const IRQ_STIMER = 5;
const IRQ_SSOFT = 1;

/** Exceptions the virtual platform delegates to the guest kernel (as OpenSBI's medeleg does). */
export const INJECTED_CAUSES: ReadonlySet<number> = new Set([
  Cause.InstructionMisaligned,
  Cause.Breakpoint,
  Cause.EcallFromU,
  Cause.InstructionPageFault,
  Cause.LoadPageFault,
  Cause.StorePageFault,
]);

/** A fresh vCPU: the guest kernel starts in virtual S-mode with everything masked. */
export function initialVirtualCpu(): VirtualCpu {
  return VirtualCpu.fromPartial({ mode: VMODE_S, timerOff: true });
}

/** Ticks of the 10 MHz platform timer at virtual time `ns`. */
const ticksAt = (ns: number) => Math.floor(ns / 100);

export function timerPending(v: VirtualCpu, nowNs: number): boolean {
  return !v.timerOff && ticksAt(nowNs) >= v.stimecmp;
}

/**
 * Whether the virtual timer interrupt would be taken if pending: the host arms its timer exit only
 * then, so a pending but masked interrupt does not make the vCPU exit over and over.
 */
export function timerExitArmed(v: VirtualCpu): boolean {
  return (v.sie & STIP) !== 0 && (v.mode === VMODE_U || (v.sstatus & SIE) !== 0);
}

/**
 * Whether a pending virtual supervisor software interrupt (an IPI: sip.SSIP) would be taken: the
 * host mirrors SSIP into the real mip and arms its exit for it only then.
 */
export function softwareExitArmed(v: VirtualCpu): boolean {
  return (v.sie & SSIP) !== 0 && (v.mode === VMODE_U || (v.sstatus & SIE) !== 0);
}

/** An IPI for this vCPU (SBI send_ipi): virtual sip.SSIP, which the guest kernel clears itself. */
export function withSoftwareInterrupt(v: VirtualCpu): VirtualCpu {
  return { ...v, sip: (v.sip | SSIP) >>> 0 };
}

/** Enters the guest kernel's trap handler as hardware would (privileged spec §3.1.6 for S-mode); paravirt reuses it (pv.ts). */
export function enterVirtualTrap(v: VirtualCpu, cause: number, interrupt: boolean, epc: number, tval: number): { state: VirtualCpu; pc: number } {
  let s = v.sstatus & ~(SPIE | SPP | SIE);
  if (v.sstatus & SIE) s |= SPIE;
  if (v.mode === VMODE_S) s |= SPP;
  const state: VirtualCpu = {
    ...v,
    mode: VMODE_S,
    sstatus: s >>> 0,
    scause: (interrupt ? 0x80000000 | cause : cause) >>> 0,
    sepc: epc >>> 0,
    stval: tval >>> 0,
  };
  const base = v.stvec & ~3;
  return { state, pc: (v.stvec & 1 && interrupt ? base + 4 * cause : base) >>> 0 };
}

function vstate(req: TrapRequest): VirtualCpu {
  if (!req.vcpuState) throw new Error('trap-and-emulate routine without the vCPU state');
  return req.vcpuState;
}

/** The guest's user program took an exception its kernel handles: inject it. */
export const INJECT_EXCEPTION: Routine = {
  name: 'tae.inject',
  route: 'interpreter',
  handle(req, _vm, c) {
    const { state, pc } = enterVirtualTrap(vstate(req), req.cause, false, req.pc, req.cause === Cause.EcallFromU ? 0 : req.tval);
    return { action: TrapAction.TRAP_ACTION_RESUME, costCycles: c.emulate, nextPc: pc, vcpuState: state, detail: `cause ${req.cause}` };
  },
};

/**
 * An illegal instruction nobody emulates, of the kernel (in virtual S-mode) or of its task: a virtual
 * illegal-instruction exception (stval = the instruction), as the hardware and OpenSBI would deliver
 * it (illegal.ts). A kernel with no trap handler yet (virtual stvec 0) cannot take it: the VM faults.
 */
export function injectIllegalInstruction(req: TrapRequest, c: { emulate: number }, instruction = req.tval): Partial<TrapResolution> {
  const v = vstate(req);
  if (v.stvec >>> 2 === 0) return illegalInstructionFault(req, instruction);
  const { state, pc } = enterVirtualTrap(v, Cause.IllegalInstruction, false, req.pc, instruction);
  return {
    action: TrapAction.TRAP_ACTION_RESUME,
    costCycles: c.emulate,
    nextPc: pc,
    vcpuState: state,
    handler: REDIRECT_ILLEGAL_NAME,
    detail: `redirected to stvec 0x${pc.toString(16)}`,
  };
}

/** A task's illegal instruction (in virtual U-mode): its kernel's to handle. */
export const INJECT_ILLEGAL_INSTRUCTION: Routine = {
  name: REDIRECT_ILLEGAL_NAME,
  route: 'interpreter',
  handle: (req, _vm, c) => injectIllegalInstruction(req, c),
};

/** The host's timer exit: deliver the virtual timer interrupt if the guest can take it now. */
export const VIRTUAL_TIMER_INTERRUPT: Routine = {
  name: 'tae.irq.timer',
  route: 'interpreter',
  handle(req, _vm, c) {
    const v = vstate(req);
    if (!timerPending(v, req.nowNs) || !timerExitArmed(v)) {
      return { action: TrapAction.TRAP_ACTION_RESUME, costCycles: c.emulate, nextPc: req.pc, vcpuState: v, detail: 'spurious' };
    }
    // The interrupted instruction has not executed: sepc is its address.
    const { state, pc } = enterVirtualTrap(v, IRQ_STIMER, true, req.pc, 0);
    return { action: TrapAction.TRAP_ACTION_RESUME, costCycles: c.emulate, nextPc: pc, vcpuState: state };
  },
};

/**
 * The host's exit for a virtual supervisor software interrupt (an IPI): deliver it if the guest can
 * take it now. Priority as in hardware: the host's hart reports SSI before STI when both are pending.
 */
export const VIRTUAL_SOFTWARE_INTERRUPT: Routine = {
  name: 'tae.irq.software',
  route: 'interpreter',
  handle(req, _vm, c) {
    const v = vstate(req);
    if (!(v.sip & SSIP) || !softwareExitArmed(v)) {
      return { action: TrapAction.TRAP_ACTION_RESUME, costCycles: c.emulate, nextPc: req.pc, vcpuState: v, detail: 'spurious' };
    }
    const { state, pc } = enterVirtualTrap(v, IRQ_SSOFT, true, req.pc, 0);
    return { action: TrapAction.TRAP_ACTION_RESUME, costCycles: c.emulate, nextPc: pc, vcpuState: state };
  },
};

/** A privileged instruction of the deprivileged kernel: decode it and emulate it on virtual state. */
export const EMULATE_PRIVILEGED: Routine = {
  name: 'tae.emulate',
  route: 'interpreter',
  handle(req, _vm, c) {
    const v = vstate(req);
    const w = req.instruction >>> 0;
    const next = (req.pc + 4) >>> 0;
    const resume = (state: VirtualCpu, writes: { reg: number; value: number }[], handler: string, pc = next): Partial<TrapResolution> => ({
      action: TrapAction.TRAP_ACTION_RESUME,
      costCycles: c.emulate,
      nextPc: pc,
      vcpuState: state,
      writes,
      handler,
    });
    if (w === 0x10200073) {
      // sret
      const spp = (v.sstatus & SPP) !== 0;
      let s = v.sstatus & ~(SIE | SPP);
      if (v.sstatus & SPIE) s |= SIE;
      s |= SPIE;
      return resume({ ...v, mode: spp ? VMODE_S : VMODE_U, sstatus: s >>> 0 }, [], 'tae.sret', v.sepc);
    }
    if (w === 0x10500073) {
      // wfi
      const pending = (timerPending(v, req.nowNs) ? STIP : 0) | (v.sip & SSIP);
      if (pending & v.sie) return resume(v, [], 'tae.wfi');
      return { ...resume(v, [], 'tae.wfi'), action: TrapAction.TRAP_ACTION_BLOCK };
    }
    if ((w & 0xfe007fff) === 0x12000073) return resume(v, [], 'tae.sfence.vma'); // no paging: nothing to flush
    if ((w & 0x7f) === 0x73 && ((w >>> 12) & 3) !== 0) {
      const r = emulateCsr(v, w, req);
      if (r) return resume(r.state, r.rd ? [{ reg: r.rd, value: r.old }] : [], `tae.csr.${r.name}`);
    }
    return injectIllegalInstruction(req, c, w);
  },
};

const VIRTUAL_CSRS: Record<number, string> = {
  0x100: 'sstatus',
  0x104: 'sie',
  0x105: 'stvec',
  0x106: 'scounteren',
  0x10a: 'senvcfg',
  0x140: 'sscratch',
  0x141: 'sepc',
  0x142: 'scause',
  0x143: 'stval',
  0x144: 'sip',
  0x14d: 'stimecmp',
  0x15d: 'stimecmph',
  0x180: 'satp',
};

/** csrrw/csrrs/csrrc(i) on a virtual supervisor CSR; undefined for anything else (the VM faults, as it would natively). */
function emulateCsr(v: VirtualCpu, w: number, req: TrapRequest): { state: VirtualCpu; old: number; rd: number; name: string } | undefined {
  const num = w >>> 20;
  const name = VIRTUAL_CSRS[num];
  if (!name) return undefined;
  const f3 = (w >>> 12) & 7;
  const rs1 = (w >>> 15) & 31;
  const rd = (w >>> 7) & 31;
  const op = f3 & 3;
  const src = f3 & 4 ? rs1 : req.x[rs1] | 0;
  const writes = op === 1 || rs1 !== 0;
  const lo = v.timerOff ? 0xffffffff : v.stimecmp % 2 ** 32;
  const hi = v.timerOff ? 0xffffffff : Math.floor(v.stimecmp / 2 ** 32);
  const read: Record<string, number> = {
    sstatus: v.sstatus & SSTATUS_WRITABLE,
    sie: v.sie,
    stvec: v.stvec,
    scounteren: v.scounteren,
    senvcfg: 0,
    sscratch: v.sscratch,
    sepc: v.sepc,
    scause: v.scause,
    stval: v.stval,
    sip: v.sip | (timerPending(v, req.nowNs) ? STIP : 0),
    stimecmp: lo,
    stimecmph: hi,
    satp: 0,
  };
  const old = read[name] | 0;
  if (!writes) return { state: v, old, rd, name };
  const nv = (op === 1 ? src : op === 2 ? old | src : old & ~src) >>> 0;
  const s: VirtualCpu = { ...v };
  switch (name) {
    case 'sstatus':
      s.sstatus = (nv & SSTATUS_WRITABLE) >>> 0;
      break;
    case 'sie':
      s.sie = (nv & SIE_WRITABLE) >>> 0;
      break;
    case 'stvec':
      s.stvec = (nv & ~2) >>> 0;
      break;
    case 'scounteren':
      s.scounteren = (nv & 7) >>> 0;
      break;
    case 'sscratch':
      s.sscratch = nv;
      break;
    case 'sepc':
      s.sepc = (nv & ~3) >>> 0;
      break;
    case 'scause':
      s.scause = nv;
      break;
    case 'stval':
      s.stval = nv;
      break;
    case 'sip':
      s.sip = ((v.sip & ~SSIP) | (nv & SSIP)) >>> 0;
      break;
    case 'stimecmp':
    case 'stimecmph': {
      const nlo = name === 'stimecmp' ? nv : lo >>> 0;
      const nhi = name === 'stimecmph' ? nv : hi >>> 0;
      s.timerOff = nhi >= 0x200000;
      s.stimecmp = s.timerOff ? 0 : nhi * 2 ** 32 + nlo;
      break;
    }
    default:
      break; // senvcfg, satp: WARL, Bare only
  }
  return { state: s, old, rd, name };
}

/** The dispatcher's choice for a trap of a deprivileged guest kernel. */
export function classifyTrapAndEmulate(req: TrapRequest, sbi: (req: TrapRequest) => Routine, fault: Routine): Routine {
  const v = vstate(req);
  if (req.interrupt) return req.cause === IRQ_SSOFT ? VIRTUAL_SOFTWARE_INTERRUPT : VIRTUAL_TIMER_INTERRUPT;
  if (req.cause === Cause.EcallFromU) return v.mode === VMODE_S ? sbi(req) : INJECT_EXCEPTION;
  if (req.cause === Cause.IllegalInstruction) return v.mode === VMODE_S ? EMULATE_PRIVILEGED : INJECT_ILLEGAL_INSTRUCTION;
  if (INJECTED_CAUSES.has(req.cause)) return INJECT_EXCEPTION;
  return fault;
}

/** After an SBI routine ran for a deprivileged kernel, keep the virtual timer in the virtual state. */
export function withVirtualTimer(req: TrapRequest, res: TrapResolution): TrapResolution {
  if (!req.vcpuState || res.vcpuState) return res;
  const v = { ...req.vcpuState };
  if (res.setTimer) {
    v.stimecmp = res.timer;
    v.timerOff = false;
  } else if (res.timerOff) {
    v.timerOff = true;
    v.stimecmp = 0;
  }
  return { ...res, vcpuState: v };
}
