// Paravirtualization, Xen-PV style (Barham et al., SOSP 2003): the paravirtual build of the guest
// kernel (guests/rv32/kernel, -DPARAVIRT; hv.h is its side of this ABI) runs deprivileged, in real
// U-mode like the trap-and-emulate kernel, but executes no privileged instruction at all. Every
// privileged operation is a hypercall: `ecall` with a7 = PV_EID (in the SBI's firmware-specific
// extension range 0x0A000000-0x0AFFFFFF), a6 = the operation, a0/a1 = arguments; the reply is
// a0 = error (0 or an SBI error code), a1 = value, as for the SBI.
//
//   op                       Xen's            arguments             does
//   0 REGISTER_SHARED_INFO   (shared_info)    a0 = address          where the shared info page is
//                                                                   (4-aligned, in guest RAM)
//   1 SET_CALLBACK           set_callbacks    a0 = trap entry       where traps and events enter
//   2 IRET                   iret             a0 = frame address    restore x1..x31 and pc from the
//                                                                   page's iret area, to the task
//   3 SET_TIMER              set_timer_op     a0, a1 = time lo, hi  one-shot timer; clears pending
//   4 BLOCK                  SCHEDOP_block    -                     wait for an event; value bit 0 =
//                                                                   the timer is pending, bit 1 = an IPI
//   5 EVENT_CHECK            (xen_version)    -                     after unmasking with an event
//                                                                   pending: have it delivered
//   6 MULTICALL              multicall        a0 = first, a1 = n    run n queued entries in one exit
//
// The shared info page (Xen's shared_info / vcpu_info) is guest memory the hypervisor reads and
// writes: the event mask byte (evtchn_upcall_mask, written by the kernel: masking interrupts is a
// plain store, no exit), the pending byte (evtchn_upcall_pending), the cause/epc/tval/sp of the trap
// being delivered (the PV kernel's trap entry reads them from memory instead of CSRs), the register
// frame IRET restores, and the multicall entries {op, result, arg0, arg1}. The hypervisor only ever
// touches guest memory inside this page.
//
// Virtual state is a VirtualCpu (paravirt = true), and injection is trap-and-emulate's own
// (enterVirtualTrap); on top of it the hypervisor writes the trap's details into the shared page and
// switches sp to the frame the last IRET named (Xen switches to the kernel stack likewise), keeping
// the interrupted sp in the page. Before injecting the timer interrupt it reads the mask: if set,
// it raises the pending byte instead and stops watching the timer (sie.STIE := 0) until the kernel,
// seeing the byte on unmasking, calls EVENT_CHECK — or a new SET_TIMER clears it. So the hypervisor
// never stops watching while the pending byte is clear, and an unmask needs an exit only when an
// event really waits.
//
// SMP (the 2-vCPU build): every vCPU has its own VirtualCpu and registers its own shared info area
// (Xen's vcpu_info), so the mask, the pending byte and the trap details are per vCPU. An IPI (SBI
// send_ipi, @vsim/executor smp.ts) is a software-interrupt event: the target's virtual sip.SSIP. Delivered
// to a task (the host's exit for SSIP while the vCPU is in virtual U-mode) it is treated like the
// timer: masked, it raises the pending byte and the hypervisor stops watching SSIP until
// EVENT_CHECK. An IPI sent to a vCPU whose mask byte is set raises its pending byte at once (Xen
// sets evtchn_upcall_pending when it sends the event: paravirtIpi, applied by the host), so the
// kernel, unmasking, sees it and calls EVENT_CHECK. The kernel itself is never interrupted; it takes an IPI at a point of its choosing:
// BLOCK returns once one is pending, and EVENT_CHECK from the kernel with its mask clear delivers
// it there and then, as Xen's event-check hypercall makes the upcall on its way back: the callback
// is entered with sp = 0 (a kernel event) and epc = the instruction after the ecall, so it returns
// by a plain jump. Delivering an IPI acknowledges it (clears the virtual SSIP): the PV kernel has no
// sip to clear.
//
// BLOCK that has to wait is restartable, like Xen's hypercall continuations: the vCPU blocks with
// its pc on the ecall and, for a multicall, a0/a1 rewritten to the entries still to do, so when the
// timer wakes it the hypercall runs again and returns.

import { MemWrite, RegWrite, TrapAction, TrapRequest, TrapResolution, VirtualCpu } from '@vsim/proto';
import { Cause } from '@vsim/isa';
import { HypervisorCosts } from './costs';
import { Routine } from './routine';
import {
  INJECTED_CAUSES,
  VMODE_S,
  VMODE_U,
  enterVirtualTrap,
  softwareExitArmed,
  timerExitArmed,
  timerPending,
  withSoftwareInterrupt,
} from './trap-and-emulate';

/** The hypercall extension: "\nvsp" (vsim paravirt), in the SBI firmware-specific range. */
export const PV_EID = 0x0a767370;
/** The kernel declares the ABI it speaks by this symbol (value = version), as Xen PV kernels do in ELF notes. */
export const PV_ABI_SYMBOL = 'vsim_pv_abi';
export const PV_ABI_VERSION = 1;

export const PV_OP = {
  REGISTER_SHARED_INFO: 0,
  SET_CALLBACK: 1,
  IRET: 2,
  SET_TIMER: 3,
  BLOCK: 4,
  EVENT_CHECK: 5,
  MULTICALL: 6,
} as const;

const OP_NAMES = ['register_shared_info', 'set_callback', 'iret', 'set_timer', 'block', 'event_check', 'multicall'];

/** Byte offsets in the shared info page (hv.h's HV_SH_*). */
export const SHARED_INFO = {
  MASK: 0,
  PENDING: 1,
  CAUSE: 4,
  EPC: 8,
  TVAL: 12,
  SP: 16,
  IRET: 32,
  MC: 164,
  MC_ENTRY: 16,
  MC_MAX: 8,
} as const;
/** The part of the page the hypervisor reads. */
export const SHARED_INFO_BYTES = SHARED_INFO.MC + SHARED_INFO.MC_ENTRY * SHARED_INFO.MC_MAX;

const SBI_ERR_NOT_SUPPORTED = -2;
const SBI_ERR_INVALID_PARAM = -3;
const SSIP = 1 << 1;
const STIP = 1 << 5;
const IRQ_SSOFT = 1;
const IRQ_STIMER = 5;
const SP = 2;
const A0 = 10;
const A1 = 11;
const A6 = 16;
const A7 = 17;

/** A fresh paravirtual vCPU: virtual S-mode, nothing registered, the timer off. */
export function initialParavirtCpu(): VirtualCpu {
  return VirtualCpu.fromPartial({ mode: VMODE_S, timerOff: true, paravirt: true });
}

/** Whether this request is a hypercall of the PV ABI (an ecall of the kernel with a7 = PV_EID). */
export function isPvHypercall(req: Pick<TrapRequest, 'cause' | 'x' | 'interrupt'> & { vcpuState?: VirtualCpu }): boolean {
  return !req.interrupt && req.cause === Cause.EcallFromU && req.vcpuState?.mode === VMODE_S && req.x[A7] >>> 0 === PV_EID;
}

/** Guest memory a paravirtual trap needs: the shared info page (the one being registered, or the registered one). */
export function pvMemoryNeeded(
  req: Pick<TrapRequest, 'cause' | 'x' | 'interrupt'> & { vcpuState?: VirtualCpu },
): { addr: number; len: number } | null {
  const v = req.vcpuState;
  if (v?.paravirt && isPvHypercall(req) && req.x[A6] >>> 0 === PV_OP.REGISTER_SHARED_INFO) return { addr: req.x[A0] >>> 0, len: SHARED_INFO_BYTES };
  if (!v?.paravirt || v.sharedInfo === 0) return null;
  return req.interrupt || isPvHypercall(req) ? { addr: v.sharedInfo, len: SHARED_INFO_BYTES } : null;
}

/** Reads the shared info page out of the memory attached to the request; undefined if it is not there. */
function sharedView(req: TrapRequest): DataView | undefined {
  const v = req.vcpuState!;
  if (v.sharedInfo === 0 || req.memoryAddr !== v.sharedInfo || req.memory.length < SHARED_INFO_BYTES) return undefined;
  return new DataView(req.memory.buffer, req.memory.byteOffset, SHARED_INFO_BYTES);
}

const word = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** What a hypercall (or a multicall's entries, one after another) has done so far. */
interface Effects {
  v: VirtualCpu;
  regs: RegWrite[];
  mem: MemWrite[];
  cost: number;
  /** Set by IRET (the task's pc) and by a BLOCK that waits (the ecall itself, to restart). */
  nextPc?: number;
  block?: boolean;
  /** Set by an EVENT_CHECK of the kernel that delivers a pending IPI right away (an upcall). */
  deliverIpi?: boolean;
}

/**
 * An IPI (SBI send_ipi) for a paravirtual vCPU whose mask byte is `mask`, as the host applies it:
 * the virtual SSIP is raised; if the kernel masked events, the pending byte of its shared info
 * area is raised too (`pending`: the host writes it) and SSIP is not watched until EVENT_CHECK.
 */
export function paravirtIpi(v: VirtualCpu, mask: number): { state: VirtualCpu; pending: boolean } {
  const state = withSoftwareInterrupt(v);
  if (v.sharedInfo === 0 || mask === 0) return { state, pending: false };
  return { state: { ...state, sie: (state.sie & ~SSIP) >>> 0 }, pending: true };
}

/** Whether an IPI (the virtual SSIP) waits for this vCPU. */
const ipiPending = (v: VirtualCpu) => (v.sip & SSIP) !== 0;

const fault = (detail: string): Partial<TrapResolution> => ({ action: TrapAction.TRAP_ACTION_FAULT, detail });

/**
 * Runs one operation on the effects so far. Returns the operation's result (a0 of a plain hypercall,
 * the entry's result in a multicall) and its value (a1), or a fault detail for a guest that broke the
 * ABI badly enough that the VM must stop.
 */
function runOp(
  op: number,
  a0: number,
  a1: number,
  e: Effects,
  req: TrapRequest,
  shared: DataView | undefined,
  c: HypervisorCosts,
  deliverNow = false,
): { result: number; value?: number } | string {
  const page = e.v.sharedInfo;
  switch (op) {
    case PV_OP.REGISTER_SHARED_INFO:
      e.cost += c.sbiSimple;
      // The page must be in guest RAM: the host attaches it to the request only then (pvMemoryNeeded).
      if (a0 === 0 || (a0 & 3) !== 0 || req.memoryAddr !== a0 || req.memory.length < SHARED_INFO_BYTES) return { result: SBI_ERR_INVALID_PARAM };
      // From now on the hypervisor watches the timer and IPIs and reads the mask before delivering them.
      e.v = { ...e.v, sharedInfo: a0 >>> 0, sie: (e.v.sie | STIP | SSIP) >>> 0 };
      return { result: 0 };
    case PV_OP.SET_CALLBACK:
      e.cost += c.sbiSimple;
      if ((a0 & 3) !== 0) return { result: SBI_ERR_INVALID_PARAM };
      e.v = { ...e.v, stvec: a0 >>> 0 };
      return { result: 0 };
    case PV_OP.IRET: {
      if (!shared) return `iret without a registered shared info page in guest RAM (a0 0x${(a0 >>> 0).toString(16)})`;
      e.cost += c.sbiSimple;
      for (let r = 1; r < 32; r++) e.regs.push({ reg: r, value: shared.getInt32(SHARED_INFO.IRET + 4 * r, true) });
      e.nextPc = shared.getUint32(SHARED_INFO.IRET + 128, true);
      // The next trap enters the kernel with sp = this frame (Xen: the kernel stack it registered).
      e.v = { ...e.v, mode: VMODE_U, sscratch: a0 >>> 0 };
      return { result: 0 };
    }
    case PV_OP.SET_TIMER: {
      e.cost += c.setTimer;
      const hi = a1 >>> 0;
      const off = hi >= 0x200000; // beyond 2^53: "never", as guests write -1 to disarm
      // A new deadline clears a pending timer event, so watch the timer again (see the header).
      e.v = { ...e.v, timerOff: off, stimecmp: off ? 0 : hi * 2 ** 32 + (a0 >>> 0), sie: (e.v.sie | STIP) >>> 0 };
      // ... but not an IPI still held back by the mask.
      if (page) e.mem.push({ addr: page + SHARED_INFO.PENDING, data: Buffer.of(ipiPending(e.v) ? 1 : 0), fill: 0 });
      return { result: 0 };
    }
    case PV_OP.BLOCK: {
      e.cost += c.sbiSimple;
      const events = (timerPending(e.v, req.nowNs) ? 1 : 0) | (ipiPending(e.v) ? 2 : 0);
      if (events !== 0) {
        if (page) e.mem.push({ addr: page + SHARED_INFO.PENDING, data: Buffer.of(1), fill: 0 });
        return { result: 0, value: events };
      }
      e.block = true;
      e.nextPc = req.pc;
      return { result: 0 };
    }
    case PV_OP.EVENT_CHECK: {
      e.cost += c.sbiSimple;
      // Watch the timer and IPIs again; a timer event is delivered when the kernel returns to its task.
      e.v = { ...e.v, sie: (e.v.sie | STIP | SSIP) >>> 0 };
      // An IPI, with events unmasked, is delivered now, into the kernel (a plain hypercall only: a
      // multicall's entries are the kernel's batch, not a point where it takes events).
      if (ipiPending(e.v) && e.v.mode === VMODE_S && shared && shared.getUint8(SHARED_INFO.MASK) === 0 && deliverNow) {
        e.deliverIpi = true;
        return { result: 0, value: 1 };
      }
      const pending = timerPending(e.v, req.nowNs) || ipiPending(e.v);
      if (page) e.mem.push({ addr: page + SHARED_INFO.PENDING, data: Buffer.of(pending ? 1 : 0), fill: 0 });
      return { result: 0, value: pending ? 1 : 0 };
    }
    default:
      e.cost += c.sbiSimple;
      return { result: SBI_ERR_NOT_SUPPORTED };
  }
}

function resolution(e: Effects, req: TrapRequest, detail: string | undefined, extraRegs: RegWrite[] = []): Partial<TrapResolution> {
  return {
    action: e.block ? TrapAction.TRAP_ACTION_BLOCK : TrapAction.TRAP_ACTION_RESUME,
    costCycles: e.cost,
    nextPc: e.nextPc ?? (req.pc + 4) >>> 0,
    writes: [...e.regs, ...extraRegs],
    memoryWrites: e.mem,
    vcpuState: e.v,
    detail,
  };
}

function singleOp(op: number): Routine {
  return {
    name: op >= 0 ? `pv.${OP_NAMES[op]}` : 'pv.not_supported',
    route: 'interpreter',
    handle(req, _vm, c) {
      const e: Effects = { v: req.vcpuState!, regs: [], mem: [], cost: 0 };
      const r = runOp(op, req.x[A0] >>> 0, req.x[A1] >>> 0, e, req, sharedView(req), c, true);
      if (typeof r === 'string') return fault(r);
      if (e.deliverIpi) {
        // The upcall returns to the instruction after this ecall; the IPI is acknowledged.
        const v: VirtualCpu = { ...e.v, sip: (e.v.sip & ~SSIP) >>> 0 };
        const up = upcall(req, v, IRQ_SSOFT, true, 0, c, (req.pc + 4) >>> 0);
        return { ...up, costCycles: e.cost + (up.costCycles ?? 0), detail: 'ipi delivered' };
      }
      // IRET restores every register; the others answer in a0/a1 (a restarted BLOCK leaves them).
      const answer: RegWrite[] =
        op === PV_OP.IRET || e.block
          ? []
          : [
              { reg: A0, value: r.result },
              { reg: A1, value: r.value ?? 0 },
            ];
      return resolution(e, req, undefined, answer);
    },
  };
}

/** HYPERVISOR_multicall: the queued entries shared->mc[first .. first+n), in order, in one exit. */
const MULTICALL: Routine = {
  name: 'pv.multicall',
  route: 'interpreter',
  handle(req, _vm, c) {
    const first = req.x[A0] >>> 0;
    const n = req.x[A1] >>> 0;
    const shared = sharedView(req);
    const e: Effects = { v: req.vcpuState!, regs: [], mem: [], cost: 0 };
    if (!shared) return fault('multicall without a registered shared info page in guest RAM');
    if (n === 0 || first + n > SHARED_INFO.MC_MAX) {
      e.cost += c.sbiSimple;
      return resolution(e, req, `bad entries ${first}+${n}`, [
        { reg: A0, value: SBI_ERR_INVALID_PARAM },
        { reg: A1, value: 0 },
      ]);
    }
    const names: string[] = [];
    for (let i = first; i < first + n; i++) {
      const at = SHARED_INFO.MC + SHARED_INFO.MC_ENTRY * i;
      const op = shared.getUint32(at, true);
      names.push(OP_NAMES[op] ?? `op${op}`);
      const last = i === first + n - 1;
      // Nested multicalls and (re)registering the page are refused; iret and block end a batch
      // (nothing after them would run).
      const r =
        op === PV_OP.MULTICALL || op === PV_OP.REGISTER_SHARED_INFO || ((op === PV_OP.IRET || op === PV_OP.BLOCK) && !last)
          ? { result: SBI_ERR_INVALID_PARAM }
          : runOp(op, shared.getUint32(at + 8, true), shared.getUint32(at + 12, true), e, req, shared, c);
      if (typeof r === 'string') return fault(r);
      if (e.block) {
        // Continuation: when the timer wakes the vCPU, the multicall runs again from this entry.
        return resolution(e, req, names.join(','), [
          { reg: A0, value: i },
          { reg: A1, value: 1 },
        ]);
      }
      e.mem.push({ addr: e.v.sharedInfo + at + 4, data: word(r.result), fill: 0 });
    }
    const answer: RegWrite[] =
      e.nextPc !== undefined
        ? []
        : [
            { reg: A0, value: 0 },
            { reg: A1, value: 0 },
          ];
    return resolution(e, req, names.join(','), answer);
  },
};

const PV_ROUTINES: ReadonlyMap<number, Routine> = new Map([
  ...[PV_OP.REGISTER_SHARED_INFO, PV_OP.SET_CALLBACK, PV_OP.IRET, PV_OP.SET_TIMER, PV_OP.BLOCK, PV_OP.EVENT_CHECK].map(
    (op) => [op, singleOp(op)] as const,
  ),
  [PV_OP.MULTICALL, MULTICALL],
]);

const PV_NOT_SUPPORTED = singleOp(-1);

/**
 * Delivers a trap to the paravirtual kernel: trap-and-emulate's virtual trap entry, plus the
 * trap's details in the shared page and sp switched to the frame the last iret named.
 */
function upcall(
  req: TrapRequest,
  v: VirtualCpu,
  cause: number,
  interrupt: boolean,
  tval: number,
  c: HypervisorCosts,
  epc = req.pc,
): Partial<TrapResolution> {
  if (v.sharedInfo === 0 || v.stvec === 0) {
    return fault(
      `trap (cause ${cause}${interrupt ? ', interrupt' : ''}) at pc 0x${(req.pc >>> 0).toString(16)} before the paravirtual kernel registered its shared info page and callback`,
    );
  }
  const { state, pc } = enterVirtualTrap(v, cause, interrupt, epc, tval);
  const info = Buffer.alloc(16);
  info.writeUInt32LE(state.scause, 0);
  info.writeUInt32LE(state.sepc, 4);
  info.writeUInt32LE(state.stval, 8);
  info.writeUInt32LE(req.x[SP] >>> 0, 12);
  const mem: MemWrite[] = [{ addr: v.sharedInfo + SHARED_INFO.CAUSE, data: info, fill: 0 }];
  if (interrupt) mem.push({ addr: v.sharedInfo + SHARED_INFO.PENDING, data: Buffer.of(0), fill: 0 });
  return {
    action: TrapAction.TRAP_ACTION_RESUME,
    costCycles: c.sbiSimple,
    nextPc: pc,
    vcpuState: { ...state, sscratch: 0 },
    writes: [{ reg: SP, value: v.sscratch | 0 }],
    memoryWrites: mem,
  };
}

/** An exception of the kernel's task (a system call, a fault): deliver it to the kernel. */
export const PV_INJECT: Routine = {
  name: 'pv.inject',
  route: 'interpreter',
  handle(req, _vm, c) {
    const r = upcall(req, req.vcpuState!, req.cause, false, req.cause === Cause.EcallFromU ? 0 : req.tval, c);
    return { detail: `cause ${req.cause}`, ...r };
  },
};

/** The host's timer exit: deliver the timer event, or mark it pending if the kernel masked events. */
export const PV_TIMER_EVENT: Routine = {
  name: 'pv.irq.timer',
  route: 'interpreter',
  handle(req, _vm, c) {
    const v = req.vcpuState!;
    if (!timerPending(v, req.nowNs) || !timerExitArmed(v)) {
      return { action: TrapAction.TRAP_ACTION_RESUME, costCycles: c.sbiSimple, nextPc: req.pc, vcpuState: v, detail: 'spurious' };
    }
    const shared = sharedView(req);
    if (!shared) return fault(`timer event with the shared info page at 0x${v.sharedInfo.toString(16)} not in guest RAM`);
    if (shared.getUint8(SHARED_INFO.MASK) !== 0) {
      return {
        action: TrapAction.TRAP_ACTION_RESUME,
        costCycles: c.sbiSimple,
        nextPc: req.pc,
        detail: 'masked: pending',
        vcpuState: { ...v, sie: (v.sie & ~STIP) >>> 0 },
        memoryWrites: [{ addr: v.sharedInfo + SHARED_INFO.PENDING, data: Buffer.of(1), fill: 0 }],
      };
    }
    return upcall(req, v, IRQ_STIMER, true, 0, c);
  },
};

/**
 * The host's exit for an IPI while the vCPU runs a task (virtual SSIP, watched): deliver it as a
 * software-interrupt event, acknowledging it, or, if the kernel masked events, mark it pending and
 * stop watching SSIP until EVENT_CHECK (as for the timer).
 */
export const PV_SOFTWARE_EVENT: Routine = {
  name: 'pv.irq.software',
  route: 'interpreter',
  handle(req, _vm, c) {
    const v = req.vcpuState!;
    if (!ipiPending(v) || !softwareExitArmed(v)) {
      return { action: TrapAction.TRAP_ACTION_RESUME, costCycles: c.sbiSimple, nextPc: req.pc, vcpuState: v, detail: 'spurious' };
    }
    const shared = sharedView(req);
    if (!shared) return fault(`ipi event with the shared info page at 0x${v.sharedInfo.toString(16)} not in guest RAM`);
    if (shared.getUint8(SHARED_INFO.MASK) !== 0) {
      return {
        action: TrapAction.TRAP_ACTION_RESUME,
        costCycles: c.sbiSimple,
        nextPc: req.pc,
        detail: 'masked: pending',
        vcpuState: { ...v, sie: (v.sie & ~SSIP) >>> 0 },
        memoryWrites: [{ addr: v.sharedInfo + SHARED_INFO.PENDING, data: Buffer.of(1), fill: 0 }],
      };
    }
    return upcall(req, { ...v, sip: (v.sip & ~SSIP) >>> 0 }, IRQ_SSOFT, true, 0, c);
  },
};

/** The dispatcher's choice for a trap of a paravirtual vCPU. */
export function classifyParavirt(req: TrapRequest, sbi: (req: TrapRequest) => Routine, faultRoutine: Routine): Routine {
  const v = req.vcpuState!;
  if (req.interrupt) return req.cause === IRQ_SSOFT ? PV_SOFTWARE_EVENT : PV_TIMER_EVENT;
  if (req.cause === Cause.EcallFromU && v.mode === VMODE_S) {
    if (req.x[A7] >>> 0 === PV_EID) return PV_ROUTINES.get(req.x[A6] >>> 0) ?? PV_NOT_SUPPORTED;
    return sbi(req); // console, shutdown: what a kernel asks firmware for
  }
  // A privileged instruction is a bug in a paravirtual kernel: it faults (no emulation here).
  if (v.mode === VMODE_U && INJECTED_CAUSES.has(req.cause)) return PV_INJECT;
  if (v.mode === VMODE_S && INJECTED_CAUSES.has(req.cause) && req.cause !== Cause.EcallFromU) return PV_INJECT;
  return faultRoutine;
}
