// The CSR file of an RV32 hart: what each CSR reads as and how a write is masked (WARL), and the
// privilege checks on access. Split from hart.ts so the hart keeps execution and traps; these are
// plain functions over the hart's fields.

import {
  CSR,
  MENVCFGH_STCE,
  MIDELEG_WRITABLE,
  MIE_WRITABLE,
  MIP,
  MIP_WRITABLE,
  MISA_VALUE,
  MEDELEG_WRITABLE,
  MSTATUS,
  MSTATUS_WRITABLE,
  Priv,
  SSTATUS_MASK,
} from './csr';
import type { Hart } from './hart';
import { toTicks } from './csr';

function counterAllowed(h: Hart, num: number): boolean {
  const bit = 1 << (num & 31);
  if (h.priv === Priv.M) return true;
  if (!(h.mcounteren & bit)) return false;
  return h.priv === Priv.S || (h.scounteren & bit) !== 0;
}

/** Reads a CSR by number; raises illegal instruction (with `w` as tval) for unknown or forbidden ones. */
export function readCsr(h: Hart, num: number, w = 0): number {
  switch (num) {
    case CSR.sstatus:
      return h.mstatus & SSTATUS_MASK;
    case CSR.sie:
      return h.mie & h.mideleg;
    case CSR.stvec:
      return h.stvec;
    case CSR.scounteren:
      return h.scounteren;
    case CSR.senvcfg:
      return 0;
    case CSR.sscratch:
      return h.sscratch;
    case CSR.sepc:
      return h.sepc;
    case CSR.scause:
      return h.scause;
    case CSR.stval:
      return h.stval;
    case CSR.sip:
      h.updateTimers();
      return h.mip & h.mideleg;
    case CSR.stimecmp:
    case CSR.stimecmph:
      if (!h.sstcEnabled || (h.priv === Priv.S && !(h.mcounteren & 2))) return h.illegal(w);
      return num === CSR.stimecmp ? h.stimecmpLo : h.stimecmpHi;
    case CSR.satp:
      if (h.priv === Priv.S && h.mstatus & MSTATUS.TVM) return h.illegal(w);
      return 0; // Bare only: no paging is implemented, satp is read-only zero (WARL).
    case CSR.mstatus:
      return h.mstatus;
    case CSR.mstatush:
      return 0;
    case CSR.misa:
      return MISA_VALUE;
    case CSR.medeleg:
      return h.medeleg;
    case CSR.mideleg:
      return h.mideleg;
    case CSR.mie:
      return h.mie;
    case CSR.mtvec:
      return h.mtvec;
    case CSR.mcounteren:
      return h.mcounteren;
    case CSR.menvcfg:
      return h.menvcfg;
    case CSR.menvcfgh:
      return h.menvcfgh;
    case CSR.mcountinhibit:
      return 0;
    case CSR.mscratch:
      return h.mscratch;
    case CSR.mepc:
      return h.mepc;
    case CSR.mcause:
      return h.mcause;
    case CSR.mtval:
      return h.mtval;
    case CSR.mip:
      h.updateTimers();
      return h.mip;
    case CSR.mcycle:
      return lo32(h.cycles + h.cycleOffset);
    case CSR.mcycleh:
      return hi32(h.cycles + h.cycleOffset);
    case CSR.minstret:
      return lo32(h.instret + h.instretOffset);
    case CSR.minstreth:
      return hi32(h.instret + h.instretOffset);
    case CSR.cycle:
    case CSR.cycleh:
    case CSR.time:
    case CSR.timeh:
    case CSR.instret:
    case CSR.instreth: {
      if (!counterAllowed(h, num)) return h.illegal(w);
      const v = (num & 3) === 0 ? h.cycles + h.cycleOffset : (num & 3) === 1 ? h.mtime() : h.instret + h.instretOffset;
      return num & 0x80 ? hi32(v) : lo32(v);
    }
    case CSR.mvendorid:
    case CSR.marchid:
    case CSR.mimpid:
    case CSR.mconfigptr:
      return 0;
    case CSR.mhartid:
      return h.hartId;
    default:
      // PMP registers exist (firmware writes them) but protect nothing: RAM is per VM already.
      if (num >= 0x3a0 && num <= 0x3ef) return 0;
      // Other hardware performance counters read as zero.
      if ((num >= 0xb03 && num <= 0xb1f) || (num >= 0xb83 && num <= 0xb9f) || (num >= 0x323 && num <= 0x33f)) return 0;
      if ((num >= 0xc03 && num <= 0xc1f) || (num >= 0xc83 && num <= 0xc9f)) {
        if (!counterAllowed(h, num)) return h.illegal(w);
        return 0;
      }
      return h.illegal(w);
  }
}

/** Writes a CSR by number, applying its WARL mask. */
export function writeCsr(h: Hart, num: number, v: number, w = 0): void {
  switch (num) {
    case CSR.sstatus:
      h.mstatus = (h.mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK);
      h.kick = true;
      return;
    case CSR.sie:
      h.mie = (h.mie & ~h.mideleg) | (v & h.mideleg & MIE_WRITABLE);
      h.kick = true;
      return;
    case CSR.stvec:
      h.stvec = v & ~2;
      return;
    case CSR.scounteren:
      h.scounteren = v & 7;
      return;
    case CSR.senvcfg:
      return;
    case CSR.sscratch:
      h.sscratch = v;
      return;
    case CSR.sepc:
      h.sepc = v & ~3;
      return;
    case CSR.scause:
      h.scause = v;
      return;
    case CSR.stval:
      h.stval = v;
      return;
    case CSR.sip: {
      const m = h.mideleg & MIP.SSIP;
      h.mip = (h.mip & ~m) | (v & m);
      h.kick = true;
      return;
    }
    case CSR.stimecmp:
    case CSR.stimecmph: {
      if (!h.sstcEnabled || (h.priv === Priv.S && !(h.mcounteren & 2))) h.illegal(w);
      if (num === CSR.stimecmp) h.stimecmpLo = v >>> 0;
      else h.stimecmpHi = v >>> 0;
      h.stimecmp = toTicks(h.stimecmpLo, h.stimecmpHi);
      h.updateTimers();
      h.kick = true;
      return;
    }
    case CSR.satp:
      if (h.priv === Priv.S && h.mstatus & MSTATUS.TVM) h.illegal(w);
      return; // Only Bare mode: writes of other modes have no effect (WARL).
    case CSR.mstatus: {
      let s = (h.mstatus & ~MSTATUS_WRITABLE) | (v & MSTATUS_WRITABLE);
      if ((s & MSTATUS.MPP) >>> MSTATUS.MPP_SHIFT === 2) s &= ~MSTATUS.MPP; // MPP=2 is reserved: WARL to U
      h.mstatus = s;
      h.kick = true;
      return;
    }
    case CSR.mstatush:
    case CSR.misa:
    case CSR.mcountinhibit:
      return;
    case CSR.medeleg:
      h.medeleg = v & MEDELEG_WRITABLE;
      return;
    case CSR.mideleg:
      h.mideleg = v & MIDELEG_WRITABLE;
      h.kick = true;
      return;
    case CSR.mie:
      h.mie = v & MIE_WRITABLE;
      h.kick = true;
      return;
    case CSR.mtvec:
      h.mtvec = v & ~2;
      return;
    case CSR.mcounteren:
      h.mcounteren = v & 7;
      return;
    case CSR.menvcfg:
      h.menvcfg = v & 1;
      return;
    case CSR.menvcfgh:
      h.menvcfgh = v & MENVCFGH_STCE;
      h.updateTimers();
      h.kick = true;
      return;
    case CSR.mscratch:
      h.mscratch = v;
      return;
    case CSR.mepc:
      h.mepc = v & ~3;
      return;
    case CSR.mcause:
      h.mcause = v;
      return;
    case CSR.mtval:
      h.mtval = v;
      return;
    case CSR.mip: {
      let m = MIP_WRITABLE;
      if (h.sstcEnabled) m &= ~MIP.STIP;
      h.mip = (h.mip & ~m) | (v & m);
      h.kick = true;
      return;
    }
    case CSR.mcycle:
      h.cycleOffset = setLo(h.cycles + h.cycleOffset, v) - h.cycles;
      return;
    case CSR.mcycleh:
      h.cycleOffset = setHi(h.cycles + h.cycleOffset, v) - h.cycles;
      return;
    case CSR.minstret:
      h.instretOffset = setLo(h.instret + h.instretOffset, v) - h.instret - 1;
      return;
    case CSR.minstreth:
      h.instretOffset = setHi(h.instret + h.instretOffset, v) - h.instret - 1;
      return;
    default:
      if (num >= 0x3a0 && num <= 0x3ef) return;
      if ((num >= 0xb03 && num <= 0xb1f) || (num >= 0xb83 && num <= 0xb9f) || (num >= 0x323 && num <= 0x33f)) return;
      h.illegal(w);
  }
}

function lo32(v: number): number {
  return Number.isFinite(v) ? (Math.floor(v) % 2 ** 32) | 0 : -1;
}

function hi32(v: number): number {
  return Number.isFinite(v) ? Math.floor(v / 2 ** 32) | 0 : -1;
}

function setLo(cur: number, lo: number): number {
  return Math.floor(cur / 2 ** 32) * 2 ** 32 + (lo >>> 0);
}

function setHi(cur: number, hi: number): number {
  return (hi >>> 0) * 2 ** 32 + (cur % 2 ** 32);
}
