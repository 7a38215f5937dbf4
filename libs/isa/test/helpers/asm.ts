// Tiny RV32IMA + Zicsr encoders and a harness that runs a snippet of machine code on one engine.
// Encoders return the instruction word as an unsigned 32-bit number and throw on operands that do
// not fit their field, so a wrong test program fails loudly instead of encoding something else.
// Operand order follows the assembler: `add(rd, rs1, rs2)`, `lw(rd, offset, rs1)`, `sw(rs2, offset, rs1)`,
// `beq(rs1, rs2, offset)`, `amoadd_w(rd, rs2, rs1)` (as in `amoadd.w rd, rs2, (rs1)`).

import { Bus, Clint, CLINT_BASE, CSR, Engine, EngineName, Hart, HartOptions, Priv, createEngine } from '@vsim/isa';
import { recordingStops } from './state';

// ------------------------------------------------------------------------------------ registers

/** Register numbers by ABI name (x0..x31). */
export const REG = {
  zero: 0,
  ra: 1,
  sp: 2,
  gp: 3,
  tp: 4,
  t0: 5,
  t1: 6,
  t2: 7,
  s0: 8,
  s1: 9,
  a0: 10,
  a1: 11,
  a2: 12,
  a3: 13,
  a4: 14,
  a5: 15,
  a6: 16,
  a7: 17,
  s2: 18,
  s3: 19,
  s4: 20,
  s5: 21,
  s6: 22,
  s7: 23,
  s8: 24,
  s9: 25,
  s10: 26,
  s11: 27,
  t3: 28,
  t4: 29,
  t5: 30,
  t6: 31,
} as const;
export const { zero, ra, sp, gp, tp, t0, t1, t2, s0, s1, a0, a1, a2, a3, a4, a5, a6, a7, t3, t4, t5, t6 } = REG;

// ------------------------------------------------------------------------------------ field checks

function reg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new RangeError(`register ${r} is not x0..x31`);
  return r;
}

function simm(v: number, bits: number, what: string): number {
  const lo = -(2 ** (bits - 1));
  const hi = 2 ** (bits - 1) - 1;
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${what} ${v} does not fit ${bits} signed bits`);
  return v;
}

function uimm(v: number, bits: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new RangeError(`${what} ${v} does not fit ${bits} unsigned bits`);
  return v;
}

const u32 = (v: number) => v >>> 0;

// ------------------------------------------------------------------------------------ formats

export function rType(f7: number, f3: number, op: number, rd: number, rs1: number, rs2: number): number {
  return u32((f7 << 25) | (reg(rs2) << 20) | (reg(rs1) << 15) | (f3 << 12) | (reg(rd) << 7) | op);
}

export function iType(f3: number, op: number, rd: number, rs1: number, imm: number): number {
  simm(imm, 12, 'I-immediate');
  return u32(((imm & 0xfff) << 20) | (reg(rs1) << 15) | (f3 << 12) | (reg(rd) << 7) | op);
}

export function sType(f3: number, op: number, rs2: number, rs1: number, imm: number): number {
  simm(imm, 12, 'S-immediate');
  return u32((((imm >> 5) & 0x7f) << 25) | (reg(rs2) << 20) | (reg(rs1) << 15) | (f3 << 12) | ((imm & 31) << 7) | op);
}

export function bType(f3: number, rs1: number, rs2: number, offset: number): number {
  simm(offset, 13, 'branch offset');
  if (offset & 1) throw new RangeError(`branch offset ${offset} is odd`);
  const o = offset;
  return u32(
    (((o >> 12) & 1) << 31) |
      (((o >> 5) & 63) << 25) |
      (reg(rs2) << 20) |
      (reg(rs1) << 15) |
      (f3 << 12) |
      (((o >> 1) & 15) << 8) |
      (((o >> 11) & 1) << 7) |
      0x63,
  );
}

export function uType(op: number, rd: number, imm20: number): number {
  uimm(imm20, 20, 'U-immediate');
  return u32((imm20 << 12) | (reg(rd) << 7) | op);
}

export function jType(rd: number, offset: number): number {
  simm(offset, 21, 'jump offset');
  if (offset & 1) throw new RangeError(`jump offset ${offset} is odd`);
  const o = offset;
  return u32((((o >> 20) & 1) << 31) | (((o >> 1) & 1023) << 21) | (((o >> 11) & 1) << 20) | (((o >> 12) & 255) << 12) | (reg(rd) << 7) | 0x6f);
}

// ------------------------------------------------------------------------------------ RV32I

export const lui = (rd: number, imm20: number) => uType(0x37, rd, imm20);
export const auipc = (rd: number, imm20: number) => uType(0x17, rd, imm20);
export const jal = (rd: number, offset: number) => jType(rd, offset);
export const jalr = (rd: number, rs1: number, imm = 0) => iType(0, 0x67, rd, rs1, imm);

export const beq = (rs1: number, rs2: number, offset: number) => bType(0, rs1, rs2, offset);
export const bne = (rs1: number, rs2: number, offset: number) => bType(1, rs1, rs2, offset);
export const blt = (rs1: number, rs2: number, offset: number) => bType(4, rs1, rs2, offset);
export const bge = (rs1: number, rs2: number, offset: number) => bType(5, rs1, rs2, offset);
export const bltu = (rs1: number, rs2: number, offset: number) => bType(6, rs1, rs2, offset);
export const bgeu = (rs1: number, rs2: number, offset: number) => bType(7, rs1, rs2, offset);

export const lb = (rd: number, imm: number, rs1: number) => iType(0, 0x03, rd, rs1, imm);
export const lh = (rd: number, imm: number, rs1: number) => iType(1, 0x03, rd, rs1, imm);
export const lw = (rd: number, imm: number, rs1: number) => iType(2, 0x03, rd, rs1, imm);
export const lbu = (rd: number, imm: number, rs1: number) => iType(4, 0x03, rd, rs1, imm);
export const lhu = (rd: number, imm: number, rs1: number) => iType(5, 0x03, rd, rs1, imm);
export const sb = (rs2: number, imm: number, rs1: number) => sType(0, 0x23, rs2, rs1, imm);
export const sh = (rs2: number, imm: number, rs1: number) => sType(1, 0x23, rs2, rs1, imm);
export const sw = (rs2: number, imm: number, rs1: number) => sType(2, 0x23, rs2, rs1, imm);

export const addi = (rd: number, rs1: number, imm: number) => iType(0, 0x13, rd, rs1, imm);
export const slti = (rd: number, rs1: number, imm: number) => iType(2, 0x13, rd, rs1, imm);
export const sltiu = (rd: number, rs1: number, imm: number) => iType(3, 0x13, rd, rs1, imm);
export const xori = (rd: number, rs1: number, imm: number) => iType(4, 0x13, rd, rs1, imm);
export const ori = (rd: number, rs1: number, imm: number) => iType(6, 0x13, rd, rs1, imm);
export const andi = (rd: number, rs1: number, imm: number) => iType(7, 0x13, rd, rs1, imm);
const shiftImm = (f7: number, f3: number) => (rd: number, rs1: number, shamt: number) => rType(f7, f3, 0x13, rd, rs1, uimm(shamt, 5, 'shift amount'));
export const slli = shiftImm(0x00, 1);
export const srli = shiftImm(0x00, 5);
export const srai = shiftImm(0x20, 5);

const op = (f7: number, f3: number) => (rd: number, rs1: number, rs2: number) => rType(f7, f3, 0x33, rd, rs1, rs2);
export const add = op(0x00, 0);
export const sub = op(0x20, 0);
export const sll = op(0x00, 1);
export const slt = op(0x00, 2);
export const sltu = op(0x00, 3);
export const xor = op(0x00, 4);
export const srl = op(0x00, 5);
export const sra = op(0x20, 5);
export const or = op(0x00, 6);
export const and = op(0x00, 7);

// ------------------------------------------------------------------------------------ RV32M

export const mul = op(0x01, 0);
export const mulh = op(0x01, 1);
export const mulhsu = op(0x01, 2);
export const mulhu = op(0x01, 3);
export const div = op(0x01, 4);
export const divu = op(0x01, 5);
export const rem = op(0x01, 6);
export const remu = op(0x01, 7);

// ------------------------------------------------------------------------------------ RV32A

export function amoType(f5: number, rd: number, rs2: number, rs1: number, aq = false, rl = false): number {
  return u32((f5 << 27) | (+aq << 26) | (+rl << 25) | (reg(rs2) << 20) | (reg(rs1) << 15) | (2 << 12) | (reg(rd) << 7) | 0x2f);
}
const amo =
  (f5: number) =>
  (rd: number, rs2: number, rs1: number, aq = false, rl = false) =>
    amoType(f5, rd, rs2, rs1, aq, rl);
export const lr_w = (rd: number, rs1: number, aq = false, rl = false) => amoType(0x02, rd, 0, rs1, aq, rl);
export const sc_w = amo(0x03);
export const amoswap_w = amo(0x01);
export const amoadd_w = amo(0x00);
export const amoxor_w = amo(0x04);
export const amoand_w = amo(0x0c);
export const amoor_w = amo(0x08);
export const amomin_w = amo(0x10);
export const amomax_w = amo(0x14);
export const amominu_w = amo(0x18);
export const amomaxu_w = amo(0x1c);

// ------------------------------------------------------------------------------------ fences, system

export const fence = (pred = 0xf, succ = 0xf) => u32((uimm(pred, 4, 'pred') << 24) | (uimm(succ, 4, 'succ') << 20) | 0x0f);
export const fence_i = () => 0x0000100f;
export const ecall = () => 0x00000073;
export const ebreak = () => 0x00100073;
export const sret = () => 0x10200073;
export const mret = () => 0x30200073;
export const wfi = () => 0x10500073;
export const sfence_vma = (rs1 = 0, rs2 = 0) => rType(0x09, 0, 0x73, 0, rs1, rs2);

const csrOp = (f3: number) => (rd: number, csr: number, rs1: number) =>
  u32((uimm(csr, 12, 'csr') << 20) | (reg(rs1) << 15) | (f3 << 12) | (reg(rd) << 7) | 0x73);
const csrImm = (f3: number) => (rd: number, csr: number, zimm: number) =>
  u32((uimm(csr, 12, 'csr') << 20) | (uimm(zimm, 5, 'csr immediate') << 15) | (f3 << 12) | (reg(rd) << 7) | 0x73);
export const csrrw = csrOp(1);
export const csrrs = csrOp(2);
export const csrrc = csrOp(3);
export const csrrwi = csrImm(5);
export const csrrsi = csrImm(6);
export const csrrci = csrImm(7);

// ------------------------------------------------------------------------------------ pseudo-instructions

export const nop = () => addi(0, 0, 0);
export const mv = (rd: number, rs: number) => addi(rd, rs, 0);
export const j = (offset: number) => jal(0, offset);
export const ret = () => jalr(0, REG.ra, 0);
export const csrr = (rd: number, csr: number) => csrrs(rd, csr, 0);
export const csrw = (csr: number, rs1: number) => csrrw(0, csr, rs1);
export const csrs = (csr: number, rs1: number) => csrrs(0, csr, rs1);
export const csrc = (csr: number, rs1: number) => csrrc(0, csr, rs1);
export const csrwi = (csr: number, zimm: number) => csrrwi(0, csr, zimm);
export const csrsi = (csr: number, zimm: number) => csrrsi(0, csr, zimm);
export const csrci = (csr: number, zimm: number) => csrrci(0, csr, zimm);

/** Loads any 32-bit constant: one addi when it fits 12 bits, else lui (+ addi). */
export function li(rd: number, value: number): number[] {
  const v = value | 0;
  if (v >= -2048 && v <= 2047) return [addi(rd, 0, v)];
  const lo = (v << 20) >> 20;
  const hi = ((v - lo) >>> 12) & 0xfffff;
  return lo === 0 ? [lui(rd, hi)] : [lui(rd, hi), addi(rd, rd, lo)];
}

// ------------------------------------------------------------------------------------ harness

export const RAM_BASE = 0x80000000;
/** 16 pages: code from RAM_BASE, trap handlers, then data. */
export const RAM_SIZE = 0x10000;
export const CODE = RAM_BASE;
/** mtvec and stvec point here by default; each holds a single ebreak. */
export const M_TRAP = RAM_BASE + 0xc000;
export const S_TRAP = RAM_BASE + 0xc800;
/** A data region the snippets may load from and store to (two pages). */
export const DATA = RAM_BASE + 0xe000;
export const DATA_SIZE = 0x2000;

export interface SnippetOptions {
  engine: EngineName;
  /** Initial register values by number. */
  regs?: Readonly<Record<number, number>>;
  priv?: Priv;
  /** Runs after the program, handlers and registers are in place, before the engine is created. */
  setup?: (hart: Hart) => void;
  /** Cycles to run for (default 1,000,000). */
  budget?: number;
  /** Exceptions that exit to the host; default: breakpoint only. */
  exitMask?: number;
  /** Attach a CLINT at CLINT_BASE. */
  clint?: boolean;
  /** Do not append the final ebreak. */
  noEbreak?: boolean;
  /** Code for the M and S trap vectors (default: one ebreak each). */
  mHandler?: readonly number[];
  sHandler?: readonly number[];
  hart?: HartOptions;
  ramSize?: number;
  /** Build the engine some other way than createEngine(engine, hart) (e.g. with engine options). */
  makeEngine?: (hart: Hart) => Engine;
}

export interface Snippet {
  readonly hart: Hart;
  readonly bus: Bus;
  readonly engine: Engine;
  readonly clint?: Clint;
  /** Address of the ebreak appended after the program. */
  readonly end: number;
}

export function writeWords(bus: Bus, addr: number, words: readonly number[]): void {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  bus.writeBytes(addr, b);
}

export function readWord(bus: Bus, addr: number): number {
  return bus.readU32(addr);
}

/** Builds the machine for a snippet without running it. */
export function prepareSnippet(words: readonly number[], opts: SnippetOptions): Snippet {
  const ramSize = opts.ramSize ?? RAM_SIZE;
  const bus = new Bus(RAM_BASE, ramSize);
  const program = opts.noEbreak ? [...words] : [...words, ebreak()];
  if (CODE + program.length * 4 > M_TRAP && ramSize === RAM_SIZE) throw new RangeError('snippet overlaps the trap handlers');
  writeWords(bus, CODE, program);
  writeWords(bus, M_TRAP, opts.mHandler ?? [ebreak()]);
  writeWords(bus, S_TRAP, opts.sHandler ?? [ebreak()]);
  const hart = new Hart(bus, opts.hart);
  let clint: Clint | undefined;
  if (opts.clint) {
    clint = new Clint([hart]);
    bus.attach(clint);
  }
  hart.pc = CODE;
  hart.priv = opts.priv ?? Priv.M;
  hart.mtvec = M_TRAP;
  hart.stvec = S_TRAP;
  hart.exitMask = opts.exitMask ?? 1 << 3;
  for (const [r, v] of Object.entries(opts.regs ?? {})) {
    if (Number(r) === 0) throw new RangeError('x0 cannot be preset');
    hart.x[Number(r)] = v | 0;
  }
  opts.setup?.(hart);
  const engine = recordingStops(opts.makeEngine ? opts.makeEngine(hart) : createEngine(opts.engine, hart));
  return { hart, bus, engine, clint, end: CODE + words.length * 4 };
}

/** Runs a snippet (plus a final ebreak) on one engine and returns the hart. */
export function runSnippet(words: readonly number[], opts: SnippetOptions): Hart {
  const s = prepareSnippet(words, opts);
  s.engine.run(opts.budget ?? 1_000_000);
  return s.hart;
}

/** Address of the ebreak runSnippet appends after `words`. */
export const endOf = (words: readonly number[]) => CODE + words.length * 4;

/** Reads a CSR as M-mode software would (tests only: the hart keeps its privilege). */
export function csrOf(h: Hart, num: number): number {
  const p = h.priv;
  h.priv = Priv.M;
  try {
    return h.csrRead(num) >>> 0;
  } finally {
    h.priv = p;
  }
}

export { CSR, CLINT_BASE };

// ------------------------------------------------------------------------------------ PRNG

/** mulberry32: a small seeded PRNG, so every random test is reproducible. */
export function prng(seed: number) {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    /** uint32 */
    u32: next,
    /** int32 */
    i32: () => next() | 0,
    /** integer in [0, n) */
    int: (n: number) => Math.floor((next() / 2 ** 32) * n),
    /** integer in [lo, hi] */
    range: (lo: number, hi: number) => lo + Math.floor((next() / 2 ** 32) * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor((next() / 2 ** 32) * xs.length)],
    chance: (p: number) => next() / 2 ** 32 < p,
  };
}
export type Prng = ReturnType<typeof prng>;
