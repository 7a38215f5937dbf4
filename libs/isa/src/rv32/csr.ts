// CSR addresses and bit fields of the RISC-V privileged architecture (v1.12), RV32.
// Named once here so the hart, the disassembler and the tests agree.

export const CSR = {
  // Supervisor
  sstatus: 0x100,
  sie: 0x104,
  stvec: 0x105,
  scounteren: 0x106,
  senvcfg: 0x10a,
  sscratch: 0x140,
  sepc: 0x141,
  scause: 0x142,
  stval: 0x143,
  sip: 0x144,
  stimecmp: 0x14d,
  stimecmph: 0x15d,
  satp: 0x180,
  // Machine
  mstatus: 0x300,
  misa: 0x301,
  medeleg: 0x302,
  mideleg: 0x303,
  mie: 0x304,
  mtvec: 0x305,
  mcounteren: 0x306,
  menvcfg: 0x30a,
  mstatush: 0x310,
  menvcfgh: 0x31a,
  mcountinhibit: 0x320,
  mscratch: 0x340,
  mepc: 0x341,
  mcause: 0x342,
  mtval: 0x343,
  mip: 0x344,
  mcycle: 0xb00,
  minstret: 0xb02,
  mcycleh: 0xb80,
  minstreth: 0xb82,
  mvendorid: 0xf11,
  marchid: 0xf12,
  mimpid: 0xf13,
  mhartid: 0xf14,
  mconfigptr: 0xf15,
  // Unprivileged counters
  cycle: 0xc00,
  time: 0xc01,
  instret: 0xc02,
  cycleh: 0xc80,
  timeh: 0xc81,
  instreth: 0xc82,
} as const;

export const CSR_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(CSR).map(([name, num]) => [num, name]));

// mstatus fields
export const MSTATUS = {
  SIE: 1 << 1,
  MIE: 1 << 3,
  SPIE: 1 << 5,
  MPIE: 1 << 7,
  SPP: 1 << 8,
  MPP_SHIFT: 11,
  MPP: 3 << 11,
  MPRV: 1 << 17,
  SUM: 1 << 18,
  MXR: 1 << 19,
  TVM: 1 << 20,
  TW: 1 << 21,
  TSR: 1 << 22,
} as const;

/** Bits of mstatus software may write (no F/V/X state, little-endian only). */
export const MSTATUS_WRITABLE =
  MSTATUS.SIE |
  MSTATUS.MIE |
  MSTATUS.SPIE |
  MSTATUS.MPIE |
  MSTATUS.SPP |
  MSTATUS.MPP |
  MSTATUS.MPRV |
  MSTATUS.SUM |
  MSTATUS.MXR |
  MSTATUS.TVM |
  MSTATUS.TW |
  MSTATUS.TSR;

/** sstatus is a restricted view of mstatus. */
export const SSTATUS_MASK = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SUM | MSTATUS.MXR;

// Interrupt bits of mip/mie (and sip/sie, restricted by mideleg).
export const IRQ = {
  SSI: 1,
  MSI: 3,
  STI: 5,
  MTI: 7,
  SEI: 9,
  MEI: 11,
} as const;
export const MIP = {
  SSIP: 1 << IRQ.SSI,
  MSIP: 1 << IRQ.MSI,
  STIP: 1 << IRQ.STI,
  MTIP: 1 << IRQ.MTI,
  SEIP: 1 << IRQ.SEI,
  MEIP: 1 << IRQ.MEI,
} as const;
/** Interrupts that can be delegated to S-mode. */
export const MIDELEG_WRITABLE = MIP.SSIP | MIP.STIP | MIP.SEIP;
/** All interrupt-enable bits implemented. */
export const MIE_WRITABLE = MIP.SSIP | MIP.MSIP | MIP.STIP | MIP.MTIP | MIP.SEIP | MIP.MEIP;
/** mip bits writable by M-mode software (MTIP/MSIP/MEIP come from devices). */
export const MIP_WRITABLE = MIP.SSIP | MIP.STIP | MIP.SEIP;
/** Exceptions that can be delegated: everything but ecall-from-M (11). */
export const MEDELEG_WRITABLE = 0xb3ff;

/** Interrupt priority order, highest first (privileged spec §3.1.9). */
export const IRQ_PRIORITY = [IRQ.MEI, IRQ.MSI, IRQ.MTI, IRQ.SEI, IRQ.SSI, IRQ.STI] as const;

/** menvcfgh.STCE: enables the Sstc stimecmp timer. */
export const MENVCFGH_STCE = 1 << 31;

/** misa for RV32IMA with S and U modes. */
export const MISA_VALUE = (1 << 30) | (1 << 0) /* A */ | (1 << 8) /* I */ | (1 << 12) /* M */ | (1 << 18) /* S */ | (1 << 20); /* U */

export const enum Priv {
  U = 0,
  S = 1,
  M = 3,
}

/** A 64-bit compare value as ticks; values beyond 2^53 mean "never" in any simulation we can run. */
export function toTicks(lo: number, hi: number): number {
  return hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 2 ** 32 + lo;
}
