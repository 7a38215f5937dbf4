// Seeded random *valid* RV32IMA instruction streams for differential testing: ALU and M
// operations, loads/stores/AMOs/LR-SC relative to a pinned base register (s0), forward branches,
// counted loops (counter s1) and a few CSR accesses, ending in the ebreak the harness appends.

import { CSR } from '@vsim/isa';
import * as A from './asm';
import { DATA, DATA_SIZE, Prng, SnippetOptions, li, prng, s0, s1, t6, zero } from './asm';

export const S0_BASE = DATA + 0x1000; // s0 is pinned here: every load/store/AMO address is s0 + offset
const RESERVED = new Set<number>([s0, s1, t6]); // base, loop counter, AMO address
const RD_POOL = Array.from({ length: 32 }, (_, i) => i).filter((r) => !RESERVED.has(r)); // includes x0
const RS_POOL = Array.from({ length: 32 }, (_, i) => i);

const R_OPS = [A.add, A.sub, A.sll, A.slt, A.sltu, A.xor, A.srl, A.sra, A.or, A.and, A.mul, A.mulh, A.mulhsu, A.mulhu, A.div, A.divu, A.rem, A.remu];
const I_OPS = [A.addi, A.slti, A.sltiu, A.xori, A.ori, A.andi];
const SH_OPS = [A.slli, A.srli, A.srai];
const LOADS: [(rd: number, imm: number, rs1: number) => number, number][] = [
  [A.lb, 1],
  [A.lbu, 1],
  [A.lh, 2],
  [A.lhu, 2],
  [A.lw, 4],
];
const STORES: [(rs2: number, imm: number, rs1: number) => number, number][] = [
  [A.sb, 1],
  [A.sh, 2],
  [A.sw, 4],
];
const BRANCHES = [A.beq, A.bne, A.blt, A.bge, A.bltu, A.bgeu];
const AMOS = [A.amoswap_w, A.amoadd_w, A.amoxor_w, A.amoand_w, A.amoor_w, A.amomin_w, A.amomax_w, A.amominu_w, A.amomaxu_w];
const CSR_RW = [A.csrrw, A.csrrs, A.csrrc];
const CSR_RWI = [A.csrrwi, A.csrrsi, A.csrrci];
const COUNTERS = [CSR.mcycle, CSR.minstret, CSR.cycle, CSR.instret, CSR.time, CSR.mcycleh, CSR.minstreth];

type Item =
  { kind: 'plain'; words: number[] } | { kind: 'branch'; make: (offset: number) => number; skip: number } | { kind: 'loop'; words: number[] };

const offsetFor = (r: Prng, width: number) => width * r.range(Math.ceil(-2048 / width), Math.floor((2048 - width) / width));

/** One straight-line item: ALU, M, memory, AMO, LR/SC or CSR. */
function plainItem(r: Prng, opts: { csr: boolean }): number[] {
  const rd = () => r.pick(RD_POOL);
  const rs = () => r.pick(RS_POOL);
  const p = r.int(100);
  if (p < 30) return [r.pick(R_OPS)(rd(), rs(), rs())];
  if (p < 42) return [r.pick(I_OPS)(rd(), rs(), r.range(-2048, 2047))];
  if (p < 48) return [r.pick(SH_OPS)(rd(), rs(), r.int(32))];
  if (p < 51) return [r.chance(0.5) ? A.lui(rd(), r.int(1 << 20)) : A.auipc(rd(), r.int(1 << 20))];
  if (p < 65) {
    const [ld, width] = r.pick(LOADS);
    return [ld(rd(), offsetFor(r, width), s0)];
  }
  if (p < 77) {
    const [st, width] = r.pick(STORES);
    return [st(rs(), offsetFor(r, width), s0)];
  }
  if (p < 84) return [A.addi(t6, s0, offsetFor(r, 4)), r.pick(AMOS)(rd(), rs(), t6)];
  if (p < 89) {
    // LR, a little work, SC (to the same address, or sometimes another one: then it fails).
    const words = [A.addi(t6, s0, offsetFor(r, 4)), A.lr_w(rd(), t6)];
    for (let i = r.int(3); i > 0; i--) words.push(r.pick(R_OPS)(rd(), rs(), rs()));
    if (r.chance(0.2)) words.push(A.addi(t6, t6, 4 * r.range(-2, 2)));
    words.push(A.sc_w(rd(), rs(), t6));
    return words;
  }
  if (p < 95 && opts.csr) {
    // Mostly the scratch registers; sometimes the writable counters (their offsets must agree too).
    const csr = r.chance(0.9) ? r.pick([CSR.mscratch, CSR.sscratch]) : r.pick([CSR.mcycle, CSR.minstret, CSR.mcycleh, CSR.minstreth]);
    return [r.chance(0.6) ? r.pick(CSR_RW)(rd(), csr, rs()) : r.pick(CSR_RWI)(rd(), csr, r.int(32))];
  }
  if (p < 98 && opts.csr) return [A.csrr(rd(), r.pick(COUNTERS))];
  if (p < 99) return [r.chance(0.8) ? A.fence() : A.fence_i()];
  return [A.nop()];
}

const branchItem = (r: Prng): Item => {
  const op = r.pick(BRANCHES);
  const x = r.pick(RS_POOL);
  const y = r.pick(RS_POOL);
  if (r.chance(0.1)) return { kind: 'branch', make: (off) => A.jal(r.pick(RD_POOL), off), skip: r.range(1, 6) };
  return { kind: 'branch', make: (off) => op(x, y, off), skip: r.range(1, 8) };
};

/**
 * Lays items out, resolving forward branches: a branch skips at most up to the next loop's start
 * (never into a loop, whose counter might be stale) or the end (the ebreak at `end` words).
 */
function layout(items: Item[]): number[] {
  const size = (it: Item) => (it.kind === 'branch' ? 1 : it.words.length);
  const out: number[] = [];
  items.forEach((it, i) => {
    if (it.kind !== 'branch') {
      out.push(...it.words);
      return;
    }
    let room = 0; // words after this branch that it may skip over
    for (let j = i + 1; j < items.length && items[j].kind !== 'loop'; j++) room += size(items[j]);
    out.push(it.make(4 * Math.min(it.skip, room + 1)));
  });
  return out;
}

/** A counted loop: s1 = iters; body; s1 -= 1; bne s1, x0, body. Branches inside stay inside. */
function loopItem(r: Prng, iters: number, bodyItems: number): Item {
  const body: Item[] = [];
  for (let i = 0; i < bodyItems; i++) body.push(r.chance(0.15) ? branchItem(r) : { kind: 'plain', words: plainItem(r, { csr: true }) });
  const words = layout(body);
  const n = words.length + 1; // back to the first body word from the bne: body + the decrement
  return { kind: 'loop', words: [...li(s1, iters), ...words, A.addi(s1, s1, -1), A.bne(s1, zero, -4 * n)] };
}

export interface StreamOptions {
  length: number;
  loopChance: number;
  maxIters: number;
  maxBody: number;
}

export function genStream(seed: number, o: StreamOptions): { prog: number[]; opts: Omit<SnippetOptions, 'engine'> } {
  const r = prng(seed);
  const items: Item[] = [];
  let words = 0;
  while (words < o.length) {
    let it: Item;
    if (r.chance(o.loopChance)) it = loopItem(r, r.range(2, o.maxIters), r.range(2, o.maxBody));
    else if (r.chance(0.1)) it = branchItem(r);
    else it = { kind: 'plain', words: plainItem(r, { csr: true }) };
    items.push(it);
    words += it.kind === 'branch' ? 1 : it.words.length;
  }
  const prog = layout(items);
  const regs: Record<number, number> = {};
  for (const rg of RD_POOL) if (rg !== 0) regs[rg] = r.chance(0.3) ? r.range(-20, 20) : r.i32();
  regs[s0] = S0_BASE;
  regs[t6] = S0_BASE;
  const data = Uint8Array.from({ length: DATA_SIZE }, () => r.int(256));
  const [mscratch, sscratch] = [r.i32(), r.i32()];
  return {
    prog,
    opts: {
      regs,
      // Everything random is drawn above: setup runs once per engine and must do the same each time.
      setup: (h) => {
        h.bus.writeBytes(DATA, data);
        h.mscratch = mscratch;
        h.sscratch = sscratch;
      },
    },
  };
}
