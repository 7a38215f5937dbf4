// The paravirtual interface of the ring32 kernel's PV build (guests/ring32/kernel.s, `.ifdef PV`):
// the kernel runs in ring 1 and never executes a privileged or critical instruction. It calls the
// hypervisor with HCALL, the operation and its arguments in the shared page (`pv_shared`, found by
// its symbol), and keeps its interrupt flag there too, as Xen's shared info page does: masking and
// unmasking interrupts is a store, no exit. An interrupt that arrives while the flag is clear is
// marked pending in the page (the real timer is held back meanwhile); the kernel asks for it with
// HC_IRQ_PENDING when it sets the flag again. On a virtual trap the hypervisor writes cause, epc
// and the previous ring/IF into the page and enters the kernel's vector with the flag clear.

import { PSW } from '@vsim/isa';
import type { Ring32Vm } from './hypervisor';

export const PV_SHARED_SYMBOL = 'pv_shared';

/** Hypercall numbers (SH_OP). */
export const HC = { SET_TVEC: 1, SET_TIMER: 2, GET_TIME: 3, WRITE: 4, SHUTDOWN: 5, RETURN: 6, IRQ_PENDING: 7 } as const;
const HC_NAMES: Record<number, string> = {
  1: 'set_tvec',
  2: 'set_timer',
  3: 'get_time',
  4: 'write',
  5: 'shutdown',
  6: 'return',
  7: 'irq_pending',
};

/** Shared page layout (byte offsets), as kernel.s defines them. */
export const SH = {
  OP: 0,
  A0: 4,
  A1: 8,
  RET: 12,
  VIF: 16,
  PENDING: 20,
  CAUSE: 24,
  EPC: 28,
  PPSW: 32,
  RPSW: 36,
  RPC: 40,
  VRING: 44,
} as const;

/** Longest console write one hypercall takes (as MAX_WINDOW for rv32's console). */
const MAX_WRITE = 4096;

export class Paravirt {
  /** The real timer is held back: an interrupt is pending in the shared page, waiting for the flag. */
  timerHeld = false;

  constructor(
    private readonly vm: Ring32Vm,
    private readonly shared: number,
  ) {
    if (!vm.bus.inRam(shared, 64)) throw new RangeError(`paravirt: shared page at 0x${shared.toString(16)} is not in guest RAM`);
  }

  private rd(off: number): number {
    return this.vm.bus.readU32(this.shared + off) | 0;
  }

  private wr(off: number, v: number): void {
    this.vm.bus.writeU32(this.shared + off, v >>> 0);
  }

  /** Virtual trap entry for the PV kernel: the frame goes to the shared page. */
  inject(cause: number, _tval: number, interrupt: boolean, epc: number): number {
    const vm = this.vm;
    const vif = this.rd(SH.VIF) !== 0;
    this.wr(SH.CAUSE, interrupt ? 0x80000000 | cause : cause);
    this.wr(SH.EPC, epc);
    this.wr(SH.PPSW, vm.vring | (vif ? PSW.IF : 0));
    this.wr(SH.VIF, 0);
    this.wr(SH.VRING, 0);
    vm.setVirtualPsw(vm.virtualPsw() & ~PSW.RING);
    return vm.v.tvec;
  }

  /** The real timer fired: deliver it if the virtual flag allows, else mark it pending and hold the timer. */
  timerExit(pc: number): string {
    const vm = this.vm;
    if (vm.hart.time() < vm.v.timecmp) return 'r32.irq.spurious';
    if (this.rd(SH.VIF) === 0) {
      this.wr(SH.PENDING, 1);
      this.timerHeld = true;
      vm.hart.timecmp = Number.POSITIVE_INFINITY;
      return 'r32.irq.pending';
    }
    vm.hart.pc = this.inject(0, 0, true, pc);
    return 'r32.irq.timer';
  }

  releaseTimer(): void {
    this.timerHeld = false;
    this.wr(SH.PENDING, 0);
  }

  hypercall(pc: number): { name: string; next: number } {
    const vm = this.vm;
    const op = this.rd(SH.OP);
    const a0 = this.rd(SH.A0);
    const a1 = this.rd(SH.A1);
    const next = (pc + 4) >>> 0;
    const name = `r32.hcall.${HC_NAMES[op] ?? 'unknown'}`;
    switch (op) {
      case HC.SET_TVEC:
        vm.v.tvec = (a0 & ~3) >>> 0;
        return { name, next };
      case HC.SET_TIMER:
        vm.setTimer(a0 === -1 ? Number.POSITIVE_INFINITY : a0 >>> 0);
        return { name, next };
      case HC.GET_TIME:
        this.wr(SH.RET, vm.hart.time() % 2 ** 32);
        return { name, next };
      case HC.WRITE: {
        const len = Math.min(a1 >>> 0, MAX_WRITE);
        if (!vm.bus.inRam(a0 >>> 0, len)) return vm.fault(`hcall write: 0x${(a0 >>> 0).toString(16)}+${len} is not guest RAM`);
        vm.console(vm.bus.readBytes(a0 >>> 0, len));
        vm.hart.cycles += vm.costs.consoleWrite + vm.costs.consolePerByte * len;
        return { name, next };
      }
      case HC.SHUTDOWN:
        return vm.shutdown(a0);
      case HC.RETURN: {
        // What LPSW would load: ring and IF from SH_RPSW (into the shared flag), pc from SH_RPC.
        const psw = this.rd(SH.RPSW);
        const rpc = this.rd(SH.RPC) >>> 0;
        if (rpc & 3) return vm.fault(`hcall return to misaligned pc 0x${rpc.toString(16)}`);
        this.wr(SH.VIF, psw & PSW.IF ? 1 : 0);
        this.wr(SH.VRING, psw & PSW.RING);
        vm.setVirtualPsw((vm.virtualPsw() & ~PSW.RING) | (psw & PSW.RING));
        if (psw & PSW.IF) this.unhold();
        return { name, next: rpc };
      }
      case HC.IRQ_PENDING:
        this.unhold();
        return { name, next };
      default:
        return vm.fault(`unknown hypercall ${op} at pc 0x${pc.toString(16)}`);
    }
  }

  /** The flag is set again: let the real timer fire (at once, if the interrupt is still due). */
  private unhold(): void {
    if (!this.timerHeld) return;
    this.releaseTimer();
    this.vm.applyVirtual();
  }
}
