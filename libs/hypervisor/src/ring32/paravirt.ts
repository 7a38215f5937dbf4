// The paravirt routines of the ring32 kernel's PV build (its ABI: pv-abi.ts). Masking and
// unmasking interrupts is a store to the shared page, no exit. An interrupt that arrives while the
// flag is clear is marked pending in the page (the real timer is held back meanwhile); the kernel
// asks for it with HC_IRQ_PENDING when it sets the flag again. On a virtual trap the frame goes to
// the page (Ring32Context.inject) and the kernel's vector is entered with the flag clear.

import { PSW } from '@vsim/isa';
import type { HypervisorCosts } from '../costs';
import type { Ring32Context } from './context';
import { HC, HC_NAMES, MAX_WRITE, SH } from './pv-abi';

/** The real timer fired: deliver it if the virtual flag allows, else mark it pending and hold the timer. */
export function pvTimerExit(m: Ring32Context, pc: number): { name: string; next: number } {
  if (m.time() < m.v.timecmp) return { name: 'r32.irq.spurious', next: pc };
  if (m.rd(SH.VIF) === 0) {
    m.wr(SH.PENDING, 1);
    m.pvTimerHeld = true;
    m.timecmp = Number.POSITIVE_INFINITY;
    return { name: 'r32.irq.pending', next: pc };
  }
  return { name: 'r32.irq.timer', next: m.inject(0, 0, true, pc) };
}

/** HCALL: the operation in SH_OP, its arguments in SH_A0/SH_A1. */
export function pvHypercall(m: Ring32Context, pc: number, costs: HypervisorCosts): { name: string; next: number } {
  const op = m.rd(SH.OP);
  const a0 = m.rd(SH.A0);
  const a1 = m.rd(SH.A1);
  const next = (pc + 4) >>> 0;
  const name = `r32.hcall.${HC_NAMES[op] ?? 'unknown'}`;
  switch (op) {
    case HC.SET_TVEC:
      m.v.tvec = (a0 & ~3) >>> 0;
      return { name, next };
    case HC.SET_TIMER:
      m.setTimer(a0 === -1 ? Number.POSITIVE_INFINITY : a0 >>> 0);
      return { name, next };
    case HC.GET_TIME:
      m.wr(SH.RET, m.time() % 2 ** 32);
      return { name, next };
    case HC.WRITE: {
      const len = Math.min(a1 >>> 0, MAX_WRITE);
      if (!m.inRam(a0 >>> 0, len)) return m.fault(`hcall write: 0x${(a0 >>> 0).toString(16)}+${len} is not guest RAM`);
      for (const b of m.readBytes(a0 >>> 0, len)) m.console.push(b);
      m.cost += costs.consoleWrite + costs.consolePerByte * len;
      return { name, next };
    }
    case HC.SHUTDOWN:
      return m.shutdown(a0);
    case HC.RETURN: {
      // What LPSW would load: ring and IF from SH_RPSW (into the shared flag), pc from SH_RPC.
      const psw = m.rd(SH.RPSW);
      const rpc = m.rd(SH.RPC) >>> 0;
      if (rpc & 3) return m.fault(`hcall return to misaligned pc 0x${rpc.toString(16)}`);
      m.wr(SH.VIF, psw & PSW.IF ? 1 : 0);
      m.wr(SH.VRING, psw & PSW.RING);
      m.setVirtualPsw((m.virtualPsw() & ~PSW.RING) | (psw & PSW.RING));
      if (psw & PSW.IF) unhold(m);
      return { name, next: rpc };
    }
    case HC.IRQ_PENDING:
      unhold(m);
      return { name, next };
    default:
      return m.fault(`unknown hypercall ${op} at pc 0x${pc.toString(16)}`);
  }
}

/** The flag is set again: let the real timer fire (at once, if the interrupt is still due). */
function unhold(m: Ring32Context): void {
  if (!m.pvTimerHeld) return;
  m.releaseTimer();
  m.applyVirtual();
}
