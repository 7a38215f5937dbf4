// Every instruction of RV32_INSTRUCTIONS, executed on all four engines, against expectations that
// come from the spec (literal values) or from an independent reference (helpers/ref.ts).

import {
  Cause,
  CSR,
  ENGINE_NAMES,
  Hart,
  MSTATUS,
  Priv,
  RV32_INSTRUCTIONS,
  Stop,
  mulh as libMulh,
  mulhsu as libMulhsu,
  mulhu as libMulhu,
  rv32,
  rv32Imm,
} from '@vsim/isa';
import * as A from './helpers/asm';
import {
  CODE,
  DATA,
  M_TRAP,
  SnippetOptions,
  a0,
  a1,
  a2,
  a3,
  a4,
  a5,
  endOf,
  li,
  prepareSnippet,
  prng,
  ra,
  s0,
  s1,
  t0,
  t1,
  writeWords,
  zero,
} from './helpers/asm';
import { EDGE_VALUES, REF_AMO, REF_BRANCH, REF_I, REF_R } from './helpers/ref';
import { lastStop } from './helpers/state';

interface Case {
  /** The instruction this case is about (for the coverage check). */
  readonly name: string;
  readonly title: string;
  readonly prog: readonly number[];
  readonly opts?: Omit<Partial<SnippetOptions>, 'engine'>;
  /** Default: the run must end at the appended ebreak. */
  readonly endsAt?: number | 'any';
  check(h: Hart): void;
}

const CASES: Case[] = [];
const add = (c: Case) => CASES.push(c);

const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;
const words = (h: Hart, addr: number, n: number) => Array.from({ length: n }, (_, i) => h.bus.readU32(addr + 4 * i) | 0);
const withData = (opts: Case['opts'] = {}): Case['opts'] => ({ ...opts, regs: { [s0]: DATA, ...(opts.regs ?? {}) } });

// -------------------------------------------------------------------------------- register-register ALU and M

type REnc = (rd: number, rs1: number, rs2: number) => number;
const R_ENC: Record<string, REnc> = {
  add: A.add,
  sub: A.sub,
  sll: A.sll,
  slt: A.slt,
  sltu: A.sltu,
  xor: A.xor,
  srl: A.srl,
  sra: A.sra,
  or: A.or,
  and: A.and,
  mul: A.mul,
  mulh: A.mulh,
  mulhsu: A.mulhsu,
  mulhu: A.mulhu,
  div: A.div,
  divu: A.divu,
  rem: A.rem,
  remu: A.remu,
};

// Each pair is computed twice: into a fresh register, and into rs2 itself (rd == rs2), which catches a
// template that writes rd before it has read both operands.
for (const [name, enc] of Object.entries(R_ENC)) {
  const pairs: [number, number][] = [];
  for (const a of EDGE_VALUES) for (const b of EDGE_VALUES) pairs.push([a, b]);
  const prog: number[] = [];
  for (const [a, b] of pairs) {
    prog.push(...li(a1, a), ...li(a2, b), enc(a3, a1, a2), A.sw(a3, 0, s0), enc(a2, a1, a2), A.sw(a2, 4, s0), A.addi(s0, s0, 8));
  }
  add({
    name,
    title: `${pairs.length} edge-value pairs, rd distinct and rd == rs2`,
    prog,
    opts: withData(),
    check: (h) => {
      const got = words(h, DATA, pairs.length * 2);
      const want = pairs.flatMap(([a, b]) => [REF_R[name](a, b), REF_R[name](a, b)]);
      expect(got).toEqual(want);
    },
  });
}

// The M-extension corner cases, with literal expectations (spec Table 7.1).
const M_CORNERS: [string, number, number, number][] = [
  ['div', 7, 0, -1],
  ['div', INT_MIN, 0, -1],
  ['div', 0, 0, -1],
  ['div', INT_MIN, -1, INT_MIN],
  ['div', -7, 2, -3],
  ['div', 7, -2, -3],
  ['divu', 7, 0, -1],
  ['divu', -1, 0, -1],
  ['divu', INT_MIN, -1, 0],
  ['divu', -1, 2, INT_MAX],
  ['rem', 7, 0, 7],
  ['rem', INT_MIN, 0, INT_MIN],
  ['rem', -7, 0, -7],
  ['rem', INT_MIN, -1, 0],
  ['rem', -7, 2, -1],
  ['rem', 7, -2, 1],
  ['remu', 7, 0, 7],
  ['remu', -7, 0, -7],
  ['remu', INT_MIN, -1, INT_MIN],
  ['remu', -1, 10, 5],
  ['mul', INT_MIN, -1, INT_MIN],
  ['mulh', INT_MIN, -1, 0],
  ['mulh', INT_MIN, INT_MIN, 0x40000000],
  ['mulhu', -1, -1, -2],
  ['mulhsu', -1, -1, -1],
  ['mulhsu', INT_MIN, -1, INT_MIN],
  ['mulh', -1, -1, 0],
];
for (const [name, a, b, want] of M_CORNERS) {
  add({
    name,
    title: `${a} ${name} ${b} = ${want}`,
    prog: [R_ENC[name](a0, a1, a2)],
    opts: { regs: { [a1]: a, [a2]: b } },
    check: (h) => {
      expect(h.x[a0]).toBe(want | 0);
      expect(h.x[a0]).toBe(REF_R[name](a, b)); // the reference agrees with the spec table
    },
  });
}

// mulh/mulhsu/mulhu (and mul, div*, rem*) over ~2000 seeded random pairs plus edge values, in a
// loop over a table in memory: the translated loop body runs many times.
{
  const rnd = prng(0x6d756c68);
  const edge = [0, 1, -1, INT_MIN, INT_MAX, 0xffff, 0x10000];
  const pairs: [number, number][] = [];
  for (const a of edge) for (const b of edge) pairs.push([a, b]);
  while (pairs.length < 2000) {
    // Mix full-range values with small ones and zero divisors.
    const v = () => (rnd.chance(0.15) ? rnd.pick(edge) : rnd.chance(0.2) ? rnd.range(-300, 300) : rnd.i32());
    pairs.push([v(), v()]);
  }
  const TABLE = A.RAM_BASE + 0x10000;
  const OPS = ['mulh', 'mulhsu', 'mulhu', 'mul', 'div', 'divu', 'rem', 'remu'] as const;
  const STRIDE = 4 * (2 + OPS.length);
  const body = [A.lw(a1, 0, s0), A.lw(a2, 4, s0)];
  OPS.forEach((op, i) => body.push(R_ENC[op](a3, a1, a2), A.sw(a3, 8 + 4 * i, s0)));
  body.push(A.addi(s0, s0, STRIDE), A.addi(s1, s1, -1));
  const prog = [...body, A.bne(s1, zero, -4 * body.length)];
  for (const op of OPS) {
    add({
      name: op,
      title: `${pairs.length} seeded random and edge pairs against BigInt`,
      prog,
      opts: {
        ramSize: 0x40000,
        regs: { [s0]: TABLE, [s1]: pairs.length },
        setup: (h) =>
          writeWords(
            h.bus,
            TABLE,
            pairs.flatMap(([a, b]) => [a, b, ...OPS.map(() => 0x0badf00d)]),
          ),
      },
      check: (h) => {
        const i = OPS.indexOf(op);
        const got = pairs.map((_, k) => h.bus.readU32(TABLE + k * STRIDE + 8 + 4 * i) | 0);
        const bad = pairs.map(([a, b], k) => ({ a, b, got: got[k], want: REF_R[op](a, b) })).filter((r) => r.got !== r.want);
        expect(bad.slice(0, 5)).toEqual([]);
        expect(h.instret).toBe(pairs.length * (body.length + 1));
      },
    });
  }
}

// -------------------------------------------------------------------------------- register-immediate ALU

const I_ENC: Record<string, (rd: number, rs1: number, imm: number) => number> = {
  addi: A.addi,
  slti: A.slti,
  sltiu: A.sltiu,
  xori: A.xori,
  ori: A.ori,
  andi: A.andi,
  slli: A.slli,
  srli: A.srli,
  srai: A.srai,
};
for (const [name, enc] of Object.entries(I_ENC)) {
  const shift = (name.startsWith('s') && name.endsWith('li')) || name === 'srai';
  const imms = shift ? [0, 1, 2, 7, 15, 16, 30, 31] : [0, 1, -1, 2, -2, 5, 0x7ff, -0x800, 0x555, -0x556, 0x80, 31];
  const pairs: [number, number][] = [];
  for (const a of EDGE_VALUES) for (const i of imms) pairs.push([a, i]);
  const prog: number[] = [];
  // Once into a fresh register, once in place (rd == rs1).
  for (const [a, i] of pairs) prog.push(...li(a1, a), enc(a3, a1, i), A.sw(a3, 0, s0), enc(a1, a1, i), A.sw(a1, 4, s0), A.addi(s0, s0, 8));
  add({
    name,
    title: `${pairs.length} edge values x immediates, rd distinct and rd == rs1`,
    prog,
    opts: withData(),
    check: (h) => {
      const want = pairs.flatMap(([a, i]) => [REF_I[name](a, i), REF_I[name](a, i)]);
      expect(words(h, DATA, pairs.length * 2)).toEqual(want);
    },
  });
}

// -------------------------------------------------------------------------------- upper immediates, jumps

add({
  name: 'lui',
  title: 'loads the upper 20 bits and clears the rest',
  prog: [A.lui(a0, 0x12345), A.lui(a1, 0xfffff), A.lui(a2, 0x80000), A.lui(a3, 0)],
  opts: { regs: { [a3]: -1 } },
  check: (h) => expect([h.x[a0], h.x[a1], h.x[a2], h.x[a3]]).toEqual([0x12345000, -4096, INT_MIN, 0]),
});
add({
  name: 'auipc',
  title: 'adds the upper immediate to its own pc, wrapping',
  prog: [A.nop(), A.auipc(a0, 0), A.auipc(a1, 1), A.auipc(a2, 0x80000), A.auipc(a3, 0xfffff)],
  check: (h) =>
    expect([h.x[a0], h.x[a1], h.x[a2], h.x[a3]].map((v) => v >>> 0)).toEqual([
      CODE + 4,
      CODE + 8 + 0x1000,
      (CODE + 12 + 0x80000000) >>> 0,
      (CODE + 16 - 0x1000) >>> 0,
    ]),
});
add({
  name: 'jal',
  title: 'forward: links pc+4 and skips',
  prog: [A.jal(ra, 8), A.addi(a0, zero, 1), A.addi(a1, zero, 2)],
  check: (h) => {
    expect(h.x[ra] >>> 0).toBe(CODE + 4);
    expect([h.x[a0], h.x[a1]]).toEqual([0, 2]);
  },
});
add({
  name: 'jal',
  title: 'backward, rd = x0',
  // 0: j 12 -> 12: addi a1; j -8 -> 8: ... a countdown through three jumps.
  prog: [A.jal(zero, 12), A.addi(a0, a0, 100), A.jal(zero, 12), A.addi(a1, a1, 1), A.jal(zero, -8), A.addi(a2, zero, 3)],
  check: (h) => {
    expect([h.x[a0], h.x[a1], h.x[a2], h.x[0]]).toEqual([0, 1, 3, 0]);
  },
});
add({
  name: 'jalr',
  title: 'register + offset target, links pc+4',
  prog: [A.auipc(t0, 0), A.jalr(ra, t0, 12), A.addi(a0, zero, 1), A.addi(a1, zero, 2)],
  check: (h) => {
    expect(h.x[ra] >>> 0).toBe(CODE + 8);
    expect([h.x[a0], h.x[a1]]).toEqual([0, 2]);
  },
});
add({
  name: 'jalr',
  title: 'clears bit 0 of the target',
  prog: [A.jalr(ra, t0, 1), A.addi(a0, zero, 1), A.addi(a1, zero, 2)],
  opts: { regs: { [t0]: CODE + 8 } },
  check: (h) => expect([h.x[a0], h.x[a1], h.x[ra] >>> 0]).toEqual([0, 2, CODE + 4]),
});
add({
  name: 'jalr',
  title: 'rd == rs1 uses the old rs1 (jalr ra, 0(ra))',
  prog: [A.jalr(ra, ra, 0), A.addi(a0, zero, 1), A.addi(a1, zero, 2), A.addi(a2, zero, 3)],
  opts: { regs: { [ra]: CODE + 12 } },
  check: (h) => expect([h.x[a0], h.x[a1], h.x[a2], h.x[ra] >>> 0]).toEqual([0, 0, 3, CODE + 4]),
});
add({
  name: 'jalr',
  title: 'negative offset, call and return through ra',
  // 0: jal ra, 16 (call f) ; 4: addi a1 ; 8: jal x0, 16 (to end) ; 12: (pad) ; 16: f: addi a0 ; 20: jalr x0, 0(ra)
  prog: [A.jal(ra, 16), A.addi(a1, a1, 1), A.jal(zero, 16), A.addi(a2, zero, 99), A.addi(a0, a0, 5), A.jalr(zero, t1, -4)],
  opts: { regs: { [t1]: CODE + 8 } },
  check: (h) => expect([h.x[a0], h.x[a1], h.x[a2]]).toEqual([5, 1, 0]),
});

// -------------------------------------------------------------------------------- branches

const B_ENC: Record<string, (rs1: number, rs2: number, off: number) => number> = {
  beq: A.beq,
  bne: A.bne,
  blt: A.blt,
  bge: A.bge,
  bltu: A.bltu,
  bgeu: A.bgeu,
};
const BRANCH_PAIRS: [number, number][] = [
  [5, 5],
  [-1, 1],
  [1, -1],
  [0, INT_MIN],
  [INT_MIN, 0],
  [INT_MAX, INT_MIN],
  [INT_MIN, INT_MAX],
  [3, 4],
  [4, 3],
  [-1, -1],
  [0, 0],
];
for (const [name, enc] of Object.entries(B_ENC)) {
  const prog: number[] = [];
  for (const [a, b] of BRANCH_PAIRS) {
    prog.push(...li(a1, a), ...li(a2, b), A.addi(a3, zero, 1), enc(a1, a2, 8), A.addi(a3, zero, 0), A.sw(a3, 0, s0), A.addi(s0, s0, 4));
  }
  add({
    name,
    title: `forward, ${BRANCH_PAIRS.length} signed/unsigned operand pairs`,
    prog,
    opts: withData(),
    check: (h) => expect(words(h, DATA, BRANCH_PAIRS.length)).toEqual(BRANCH_PAIRS.map(([a, b]) => +REF_BRANCH[name](a, b))),
  });
  // Same register on both sides.
  add({
    name,
    title: 'rs1 == rs2',
    prog: [A.addi(a3, zero, 1), enc(a1, a1, 8), A.addi(a3, zero, 0)],
    opts: { regs: { [a1]: -7 } },
    check: (h) => expect(h.x[a3]).toBe(+REF_BRANCH[name](-7, -7)),
  });
}
// Backward branches: counting loops.
add({
  name: 'bne',
  title: 'backward loop counts down to zero',
  prog: [A.addi(a0, zero, 37), A.addi(a1, a1, 3), A.addi(a0, a0, -1), A.bne(a0, zero, -8)],
  check: (h) => {
    expect([h.x[a0], h.x[a1]]).toEqual([0, 111]);
    expect(h.instret).toBe(1 + 37 * 3);
  },
});
add({
  name: 'blt',
  title: 'backward loop counts up (signed)',
  prog: [A.addi(a0, zero, -20), A.addi(a2, zero, 5), A.addi(a0, a0, 1), A.addi(a1, a1, 1), A.blt(a0, a2, -8)],
  check: (h) => expect([h.x[a0], h.x[a1]]).toEqual([5, 25]),
});
add({
  name: 'bltu',
  title: 'backward loop (unsigned)',
  prog: [A.addi(a2, zero, 10), A.addi(a0, a0, 2), A.bltu(a0, a2, -4)],
  check: (h) => expect(h.x[a0]).toBe(10),
});
add({
  name: 'bgeu',
  title: 'backward loop, unsigned compare against 1',
  prog: [A.addi(a0, zero, 9), A.addi(a2, zero, 1), A.addi(a1, a1, 1), A.addi(a0, a0, -3), A.bgeu(a0, a2, -8)],
  check: (h) => expect([h.x[a0], h.x[a1]]).toEqual([0, 3]),
});
add({
  name: 'bge',
  title: 'backward loop (signed, through zero)',
  prog: [A.addi(a0, zero, 3), A.addi(a1, a1, 1), A.addi(a0, a0, -1), A.bge(a0, zero, -8)],
  check: (h) => expect([h.x[a0], h.x[a1]]).toEqual([-1, 4]),
});
add({
  name: 'beq',
  title: 'backward loop while equal',
  prog: [A.addi(a1, a1, 1), A.andi(a2, a1, 3), A.beq(a2, zero, 8), A.beq(zero, zero, -12)],
  check: (h) => expect(h.x[a1]).toBe(4),
});

// Misaligned targets (no C extension): the branch or jump itself raises cause 0 with tval = target.
const misaligned: [string, number[], Record<number, number>, number][] = [
  ['beq', [A.nop(), A.beq(a0, a0, 6)], {}, 4],
  ['bne', [A.nop(), A.nop(), A.bne(a0, a1, -6)], { [a1]: 1 }, 8],
  ['blt', [A.blt(a1, a0, 10)], { [a1]: -1 }, 0],
  ['bge', [A.bge(a0, a1, 2)], { [a1]: -1 }, 0],
  ['bltu', [A.bltu(a0, a1, 14)], { [a1]: -1 }, 0],
  ['bgeu', [A.bgeu(a1, a0, 18)], { [a1]: -1 }, 0],
  ['jal', [A.nop(), A.jal(ra, 6)], {}, 4],
  ['jalr', [A.jalr(ra, t0, 2)], { [t0]: CODE + 8 }, 0],
  ['jalr', [A.jalr(ra, t0, 0)], { [t0]: CODE + 0x1006 }, 0],
];
for (const [name, prog, regs, at] of misaligned) {
  const w = prog[at / 4];
  const format = RV32_INSTRUCTIONS[rv32.decode(w)].format;
  const target = name === 'jalr' ? ((regs[t0] + (w >> 20)) & -2) >>> 0 : (CODE + at + rv32Imm(format, w)) >>> 0;
  add({
    name,
    title: `misaligned target 0x${target.toString(16)} exits with cause 0 at the ${name} (exitMask)`,
    prog,
    endsAt: CODE + at,
    opts: { regs, exitMask: (1 << Cause.InstructionMisaligned) | (1 << Cause.Breakpoint) },
    check: (h) => {
      expect(target & 3).toBe(2);
      expect(lastStop(h).stop).toBe(Stop.Trap);
      expect(lastStop(h).exitCause).toBe(Cause.InstructionMisaligned);
      expect(lastStop(h).exitTval >>> 0).toBe(target);
      expect(h.instret).toBe(at / 4);
      expect(h.x[ra]).toBe(0); // a faulting jump does not link
    },
  });
  add({
    name,
    title: `misaligned target 0x${target.toString(16)} traps to mtvec: mcause 0, mepc = the ${name}, mtval = target`,
    prog,
    endsAt: M_TRAP,
    opts: { regs },
    check: (h) => {
      expect([h.mcause, h.mepc >>> 0, h.mtval >>> 0]).toEqual([0, CODE + at, target]);
      expect(h.x[ra]).toBe(0);
    },
  });
}
add({
  name: 'beq',
  title: 'a not-taken branch to a misaligned target does not trap',
  prog: [A.beq(a0, a1, 6), A.addi(a2, zero, 1)],
  opts: { regs: { [a1]: 1 } },
  check: (h) => expect(h.x[a2]).toBe(1),
});

// -------------------------------------------------------------------------------- loads and stores

const LOAD_BYTES = [0x80, 0x7f, 0xff, 0x01, 0x34, 0x12, 0xfe, 0xca, 0x00, 0x00, 0x00, 0x80];
const dataSetup = (h: Hart) => h.bus.writeBytes(DATA, Uint8Array.from(LOAD_BYTES));
const loadCase = (name: string, prog: number[], want: number[]) =>
  add({
    name,
    title: `sign/zero extension: ${want.join(', ')}`,
    prog,
    opts: { regs: { [s0]: DATA, [s1]: DATA + 8 }, setup: dataSetup },
    check: (h) => expect([a0, a1, a2, a3].slice(0, want.length).map((r) => h.x[r])).toEqual(want),
  });
loadCase('lb', [A.lb(a0, 0, s0), A.lb(a1, 1, s0), A.lb(a2, 2, s0), A.lb(a3, -5, s1)], [-128, 127, -1, 0x01]);
loadCase('lbu', [A.lbu(a0, 0, s0), A.lbu(a1, 1, s0), A.lbu(a2, 2, s0), A.lbu(a3, -2, s1)], [128, 127, 255, 0xfe]);
loadCase('lh', [A.lh(a0, 0, s0), A.lh(a1, 2, s0), A.lh(a2, 6, s0), A.lh(a3, 2, s1)], [0x7f80, 0x01ff, -13570, INT_MIN >> 16]);
loadCase('lhu', [A.lhu(a0, 0, s0), A.lhu(a1, 2, s0), A.lhu(a2, -2, s1), A.lhu(a3, 2, s1)], [0x7f80, 0x01ff, 0xcafe, 0x8000]);
loadCase('lw', [A.lw(a0, 0, s0), A.lw(a1, 4, s0), A.lw(a2, 0, s1), A.lw(a3, -8, s1)], [0x01ff7f80, 0xcafe1234 | 0, INT_MIN, 0x01ff7f80]);

const STORE_INIT = [0x11223344, 0x55667788];
const storeCase = (name: string, prog: number[], want: number[]) =>
  add({
    name,
    title: `partial overwrite -> ${want.map((w) => `0x${(w >>> 0).toString(16)}`).join(', ')}`,
    prog,
    opts: { regs: { [s0]: DATA, [s1]: DATA + 8, [a1]: 0xabcdef99 | 0 }, setup: (h) => writeWords(h.bus, DATA, STORE_INIT) },
    check: (h) => {
      expect(words(h, DATA, 2)).toEqual(want.map((w) => w | 0));
      expect([h.x[a2], h.x[a3]]).toEqual(want.map((w) => w | 0)); // read back by the program itself
    },
  });
storeCase('sb', [A.sb(a1, 1, s0), A.sb(a1, -1, s1), A.lw(a2, 0, s0), A.lw(a3, 4, s0)], [0x11229944, 0x99667788]);
storeCase('sh', [A.sh(a1, 2, s0), A.sh(a1, -8, s1), A.lw(a2, 0, s0), A.lw(a3, 4, s0)], [0xef99ef99, 0x55667788]);
storeCase('sw', [A.sw(a1, 4, s0), A.sw(zero, -8, s1), A.lw(a2, 0, s0), A.lw(a3, 4, s0)], [0, 0xabcdef99]);

// -------------------------------------------------------------------------------- A extension

const AMO_ENC: Record<string, (rd: number, rs2: number, rs1: number) => number> = {
  'amoswap.w': A.amoswap_w,
  'amoadd.w': A.amoadd_w,
  'amoxor.w': A.amoxor_w,
  'amoand.w': A.amoand_w,
  'amoor.w': A.amoor_w,
  'amomin.w': A.amomin_w,
  'amomax.w': A.amomax_w,
  'amominu.w': A.amominu_w,
  'amomaxu.w': A.amomaxu_w,
};
const AMO_PAIRS: [number, number][] = [
  [-1, 1],
  [1, -1],
  [INT_MIN, INT_MAX],
  [INT_MAX, INT_MIN],
  [5, 5],
  [0xf0f0, 0x0ff0],
  [0, -2],
];
for (const [name, enc] of Object.entries(AMO_ENC)) {
  const prog: number[] = [];
  // old value at 0(s0) -> rd stored at 4(s0); memory result stays at 0(s0); s0 advances by 8.
  for (const [, src] of AMO_PAIRS) prog.push(...li(a2, src), enc(a3, a2, s0), A.sw(a3, 4, s0), A.addi(s0, s0, 8));
  add({
    name,
    title: `${AMO_PAIRS.length} signed/unsigned pairs: rd = old, memory = op(old, rs2)`,
    prog,
    opts: {
      regs: { [s0]: DATA },
      setup: (h) =>
        writeWords(
          h.bus,
          DATA,
          AMO_PAIRS.flatMap(([old]) => [old, 0x0badf00d]),
        ),
    },
    check: (h) => {
      const want = AMO_PAIRS.flatMap(([old, src]) => [REF_AMO[name](old, src), old]);
      expect(words(h, DATA, AMO_PAIRS.length * 2)).toEqual(want);
    },
  });
  add({
    name,
    title: 'rd == rs2 and rd = x0',
    prog: [enc(a2, a2, s0), enc(zero, a3, t0)],
    opts: { regs: { [s0]: DATA, [t0]: DATA + 4, [a2]: 6, [a3]: -3 }, setup: (h) => writeWords(h.bus, DATA, [9, 12]) },
    check: (h) => {
      expect(h.x[a2]).toBe(9);
      expect(words(h, DATA, 2)).toEqual([REF_AMO[name](9, 6), REF_AMO[name](12, -3)]);
      expect(h.x[0]).toBe(0);
    },
  });
}
add({
  name: 'lr.w',
  title: 'lr/sc pair succeeds: sc writes 0 and stores',
  prog: [A.lr_w(a0, s0), A.addi(a0, a0, 1), A.sc_w(a1, a0, s0), A.lw(a2, 0, s0)],
  opts: { regs: { [s0]: DATA }, setup: (h) => writeWords(h.bus, DATA, [41]) },
  check: (h) => expect([h.x[a0], h.x[a1], h.x[a2]]).toEqual([42, 0, 42]),
});
add({
  name: 'sc.w',
  title: 'sc without a reservation fails: writes 1, memory unchanged',
  prog: [A.addi(a0, zero, 7), A.sc_w(a1, a0, s0), A.lw(a2, 0, s0)],
  opts: { regs: { [s0]: DATA }, setup: (h) => writeWords(h.bus, DATA, [41]) },
  check: (h) => expect([h.x[a1], h.x[a2]]).toEqual([1, 41]),
});
add({
  name: 'sc.w',
  title: 'sc to another address than the reservation fails; a second sc fails too',
  prog: [A.lr_w(a0, s0), A.sc_w(a1, a0, s1), A.lr_w(a0, s0), A.sc_w(a2, a0, s0), A.sc_w(a3, a0, s0), A.lw(a4, 0, s0), A.lw(a5, 0, s1)],
  opts: { regs: { [s0]: DATA, [s1]: DATA + 4 }, setup: (h) => writeWords(h.bus, DATA, [41, 77]) },
  check: (h) => expect([h.x[a1], h.x[a2], h.x[a3], h.x[a4], h.x[a5]]).toEqual([1, 0, 1, 41, 77]),
});
add({
  name: 'sc.w',
  title: 'a trap between lr and sc clears the reservation',
  // ecall -> M handler skips the ecall and returns.
  prog: [A.lr_w(a0, s0), A.ecall(), A.sc_w(a1, a0, s0)],
  opts: {
    regs: { [s0]: DATA },
    setup: (h) => writeWords(h.bus, DATA, [41]),
    mHandler: [A.csrr(t0, CSR.mepc), A.addi(t0, t0, 4), A.csrw(CSR.mepc, t0), A.mret()],
  },
  check: (h) => expect([h.x[a0], h.x[a1], h.mcause]).toEqual([41, 1, Cause.EcallFromM]),
});

// -------------------------------------------------------------------------------- fences

add({
  name: 'fence',
  title: 'is a no-op (any pred/succ)',
  prog: [A.addi(a0, zero, 1), A.fence(), A.fence(1, 2), A.addi(a0, a0, 1)],
  check: (h) => {
    expect(h.x[a0]).toBe(2);
    expect(h.instret).toBe(4);
  },
});
add({
  name: 'fence.i',
  title: 'continues with the next instruction',
  prog: [A.addi(a0, zero, 1), A.fence_i(), A.addi(a0, a0, 1), A.fence_i()],
  check: (h) => {
    expect(h.x[a0]).toBe(2);
    expect(h.instret).toBe(4);
  },
});
add({
  name: 'fence.i',
  title: 'makes a stored instruction visible',
  // Overwrite the instruction at offset 16 (addi a0, a0, 1) with addi a0, a0, 100, fence.i, then run it.
  prog: [A.sw(t1, 16, t0), A.fence_i(), A.nop(), A.nop(), A.addi(a0, a0, 1)],
  opts: { regs: { [t0]: CODE, [t1]: A.addi(a0, a0, 100) | 0 } },
  check: (h) => expect(h.x[a0]).toBe(100),
});

// -------------------------------------------------------------------------------- system

add({
  name: 'ecall',
  title: 'from M with exitMask: exits with cause 11 at the ecall',
  prog: [A.nop(), A.ecall()],
  endsAt: CODE + 4,
  opts: { exitMask: 1 << Cause.EcallFromM },
  check: (h) => {
    expect([lastStop(h).stop, lastStop(h).exitCause, lastStop(h).exitTval]).toEqual([Stop.Trap, Cause.EcallFromM, 0]);
    expect(h.instret).toBe(1);
  },
});
add({
  name: 'ecall',
  title: 'to the M handler: mcause 11, mepc, mtval 0',
  prog: [A.nop(), A.ecall()],
  endsAt: M_TRAP,
  opts: {
    setup: (h) => {
      h.mtval = 123;
    },
  },
  check: (h) => expect([h.mcause, h.mepc >>> 0, h.mtval]).toEqual([Cause.EcallFromM, CODE + 4, 0]),
});
add({
  name: 'ebreak',
  title: 'exits with cause 3, tval = pc, without retiring',
  prog: [A.nop(), A.nop(), A.ebreak()],
  endsAt: CODE + 8,
  opts: { noEbreak: true },
  check: (h) => {
    expect([lastStop(h).stop, lastStop(h).exitCause, lastStop(h).exitTval >>> 0]).toEqual([Stop.Trap, Cause.Breakpoint, CODE + 8]);
    expect(h.instret).toBe(2);
  },
});
add({
  name: 'ebreak',
  title: 'to the M handler: mcause 3, mepc = mtval = its address',
  prog: [A.nop(), A.ebreak(), A.ecall()],
  endsAt: CODE + 8,
  opts: {
    exitMask: 1 << Cause.EcallFromM,
    mHandler: [A.csrr(a0, CSR.mcause), A.csrr(a1, CSR.mepc), A.csrr(a2, CSR.mtval), A.addi(a3, a1, 4), A.csrw(CSR.mepc, a3), A.mret()],
  },
  check: (h) => {
    expect([lastStop(h).exitCause, h.x[a0], h.x[a1] >>> 0, h.x[a2] >>> 0]).toEqual([Cause.EcallFromM, Cause.Breakpoint, CODE + 4, CODE + 4]);
  },
});
add({
  name: 'mret',
  title: 'returns to mepc in MPP (U), MIE = MPIE, MPIE = 1, MPP = U',
  prog: [A.mret(), A.addi(a0, zero, 1), A.addi(a1, zero, 2)],
  opts: {
    setup: (h) => {
      h.mepc = CODE + 8;
      h.mstatus = MSTATUS.MPIE; // MPP = U
    },
  },
  check: (h) => {
    expect(h.priv).toBe(Priv.U);
    expect([h.x[a0], h.x[a1]]).toEqual([0, 2]);
    expect(h.mstatus & (MSTATUS.MIE | MSTATUS.MPIE | MSTATUS.MPP)).toBe(MSTATUS.MIE | MSTATUS.MPIE);
  },
});
add({
  name: 'sret',
  title: 'returns to sepc in SPP (S), SIE = SPIE, SPIE = 1, SPP = U',
  prog: [A.sret(), A.addi(a0, zero, 1), A.addi(a1, zero, 2)],
  opts: {
    setup: (h) => {
      h.sepc = CODE + 8;
      h.mstatus = MSTATUS.SPIE | MSTATUS.SPP;
    },
  },
  check: (h) => {
    expect(h.priv).toBe(Priv.S);
    expect([h.x[a0], h.x[a1]]).toEqual([0, 2]);
    expect(h.mstatus & (MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP)).toBe(MSTATUS.SIE | MSTATUS.SPIE);
  },
});
add({
  name: 'wfi',
  title: 'with nothing pending stops with Stop.Wfi after retiring',
  prog: [A.addi(a0, zero, 1), A.wfi(), A.addi(a0, a0, 1)],
  endsAt: CODE + 8,
  check: (h) => {
    expect(lastStop(h).stop).toBe(Stop.Wfi);
    expect(h.x[a0]).toBe(1);
    expect(h.instret).toBe(2);
  },
});
add({
  name: 'sfence.vma',
  title: 'is a no-op in M-mode',
  prog: [A.addi(a0, zero, 1), A.sfence_vma(a0, a1), A.sfence_vma(), A.addi(a0, a0, 1)],
  check: (h) => expect([h.x[a0], h.instret]).toEqual([2, 4]),
});
add({
  name: 'sfence.vma',
  title: 'is illegal in U-mode (tval = the word)',
  prog: [A.sfence_vma(a0, a1)],
  endsAt: M_TRAP,
  opts: { priv: Priv.U },
  check: (h) => expect([h.mcause, h.mepc >>> 0, h.mtval >>> 0]).toEqual([Cause.IllegalInstruction, CODE, A.sfence_vma(a0, a1)]),
});

// -------------------------------------------------------------------------------- Zicsr

const CSR_INIT = 0x0ff0f00f;
const csrCase = (name: string, instr: number, regs: Record<number, number>, wantOld: number, wantNew: number) =>
  add({
    name,
    title: `mscratch 0x${CSR_INIT.toString(16)} -> 0x${(wantNew >>> 0).toString(16)}, rd = old`,
    prog: [instr, A.csrr(a2, CSR.mscratch)],
    opts: {
      regs,
      setup: (h) => {
        h.mscratch = CSR_INIT;
      },
    },
    check: (h) => {
      expect(h.x[a0]).toBe(wantOld | 0);
      expect(h.x[a2]).toBe(wantNew | 0);
      expect(h.mscratch | 0).toBe(wantNew | 0);
    },
  });
csrCase('csrrw', A.csrrw(a0, CSR.mscratch, a1), { [a1]: 0x12345678 }, CSR_INIT, 0x12345678);
csrCase('csrrw', A.csrrw(a0, CSR.mscratch, a0), { [a0]: -1 }, CSR_INIT, -1); // rd == rs1
csrCase('csrrs', A.csrrs(a0, CSR.mscratch, a1), { [a1]: 0xf0000000 | 0 }, CSR_INIT, 0xfff0f00f);
csrCase('csrrs', A.csrrs(a0, CSR.mscratch, zero), {}, CSR_INIT, CSR_INIT);
csrCase('csrrc', A.csrrc(a0, CSR.mscratch, a1), { [a1]: 0x0000f00f }, CSR_INIT, 0x0ff00000);
csrCase('csrrwi', A.csrrwi(a0, CSR.mscratch, 21), {}, CSR_INIT, 21);
csrCase('csrrsi', A.csrrsi(a0, CSR.mscratch, 0x1f), {}, CSR_INIT, 0x0ff0f01f);
csrCase('csrrci', A.csrrci(a0, CSR.mscratch, 0x0f), {}, CSR_INIT, 0x0ff0f000);
add({
  name: 'csrrs',
  title: 'reading a read-only CSR with rs1 = x0 does not trap (mhartid, mvendorid, misa)',
  prog: [A.csrrs(a0, CSR.mhartid, zero), A.csrrsi(a1, CSR.mvendorid, 0), A.csrr(a2, CSR.misa)],
  opts: { regs: { [a0]: 5, [a1]: 5 } },
  check: (h) => {
    expect([h.x[a0], h.x[a1]]).toEqual([0, 0]);
    expect(h.x[a2] >>> 30).toBe(1); // MXL = 32
    for (const ext of 'AIMSU') expect((h.x[a2] >>> (ext.charCodeAt(0) - 65)) & 1).toBe(1);
  },
});
add({
  name: 'csrrwi',
  title: 'csrrwi with rd = x0 writes without reading',
  prog: [A.csrrwi(zero, CSR.sscratch, 9), A.csrr(a0, CSR.sscratch)],
  check: (h) => expect([h.x[a0], h.sscratch]).toEqual([9, 9]),
});
add({
  name: 'csrrci',
  title: 'counters: minstret counts retired instructions, mcycle their cost',
  prog: [A.nop(), A.nop(), A.nop(), A.csrrci(a0, CSR.minstret, 0), A.csrrs(a1, CSR.mcycle, zero), A.csrr(a2, CSR.minstreth)],
  check: (h) => expect([h.x[a0], h.x[a1], h.x[a2]]).toEqual([3, 3 + 2, 0]),
});

// -------------------------------------------------------------------------------- x0

add({
  name: 'addi',
  title: 'x0 stays 0 whatever writes it',
  prog: [
    A.addi(zero, zero, 5),
    A.add(a0, zero, zero),
    A.lui(zero, 0x12345),
    A.auipc(zero, 1),
    A.lw(zero, 0, s0),
    A.jal(zero, 4),
    A.mul(zero, a1, a1),
    A.amoadd_w(zero, a1, s0),
    A.lr_w(zero, s0),
    A.sc_w(zero, a1, s0),
    A.csrrs(zero, CSR.mscratch, zero),
    A.csrrw(zero, CSR.mscratch, a1),
    A.slli(zero, a1, 3),
    A.addi(a1, zero, 1),
    A.add(a2, zero, a1),
    A.sw(zero, 4, s0),
    A.lw(a3, 4, s0),
  ],
  opts: { regs: { [s0]: DATA, [a0]: 77, [a1]: 3, [a3]: 9 }, setup: (h) => writeWords(h.bus, DATA, [-1, -1]) },
  check: (h) => {
    expect(h.x[0]).toBe(0);
    expect([h.x[a0], h.x[a1], h.x[a2], h.x[a3]]).toEqual([0, 1, 1, 0]);
  },
});

// ------------------------------------------------------------------------------------------------ run

const fmt = (c: Case) => `${c.name}: ${c.title}`;

describe.each(ENGINE_NAMES)('%s engine', (engine) => {
  it.each(CASES.map((c) => [fmt(c), c] as const))('%s', (_title, c) => {
    const s = prepareSnippet(c.prog, { engine, ...(c.opts ?? {}) });
    s.engine.run(c.opts?.budget ?? 10_000_000);
    const h = s.hart;
    const endsAt = c.endsAt ?? endOf(c.prog);
    if (endsAt !== 'any') expect(h.pc >>> 0).toBe(endsAt >>> 0);
    if (c.endsAt === undefined) {
      expect(lastStop(h).stop).toBe(Stop.Trap);
      expect(lastStop(h).exitCause).toBe(Cause.Breakpoint);
    }
    c.check(h);
  });
});

describe('instruction table coverage', () => {
  it('every instruction but illegal has a test, and each test executes its instruction', () => {
    const tested = new Set(CASES.map((c) => c.name));
    const untested = RV32_INSTRUCTIONS.filter((d) => d.name !== 'illegal' && !tested.has(d.name)).map((d) => d.name);
    expect(untested).toEqual([]);
    const table = new Set(RV32_INSTRUCTIONS.map((d) => d.name));
    const notInTable = [...tested].filter((n) => !table.has(n));
    expect(notInTable).toEqual([]);
    // A case must contain its instruction in its program.
    const without = CASES.filter((c) => !c.prog.some((w) => RV32_INSTRUCTIONS[rv32.decode(w)].name === c.name)).map(fmt);
    expect(without).toEqual([]);
  });
});

describe('mulh helpers (exported)', () => {
  it('agree with BigInt over edge values and 20000 seeded random pairs', () => {
    const r = prng(0x4d554c48);
    const vals = [0, 1, -1, INT_MIN, INT_MAX, 0xffff, 0x10000, 0xffff0000 | 0, 0x8000, -0x8000];
    const pairs: [number, number][] = [];
    for (const a of vals) for (const b of vals) pairs.push([a, b]);
    for (let i = 0; i < 20000; i++) pairs.push([r.i32(), r.i32()]);
    const bad = pairs.filter(
      ([a, b]) => libMulh(a, b) !== REF_R.mulh(a, b) || libMulhu(a, b) !== REF_R.mulhu(a, b) || libMulhsu(a, b) !== REF_R.mulhsu(a, b),
    );
    expect(bad.slice(0, 5)).toEqual([]);
  });
});
