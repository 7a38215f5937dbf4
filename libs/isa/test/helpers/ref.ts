// Reference semantics for the RV32IM register-register operations, written independently of the
// library (BigInt for the M extension, the spec's Table 7.1 for the division corner cases).

const INT_MIN = -0x80000000;

const big = (v: number) => BigInt(v | 0);
const ubig = (v: number) => BigInt(v >>> 0);
const lo32 = (v: bigint) => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint) => Number(BigInt.asIntN(32, v >> 32n));

export const REF_R: Readonly<Record<string, (a: number, b: number) => number>> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  sll: (a, b) => lo32(big(a) << BigInt(b & 31)),
  slt: (a, b) => ((a | 0) < (b | 0) ? 1 : 0),
  sltu: (a, b) => (a >>> 0 < b >>> 0 ? 1 : 0),
  xor: (a, b) => lo32(big(a) ^ big(b)),
  srl: (a, b) => lo32(ubig(a) >> BigInt(b & 31)),
  sra: (a, b) => lo32(big(a) >> BigInt(b & 31)),
  or: (a, b) => lo32(big(a) | big(b)),
  and: (a, b) => lo32(big(a) & big(b)),
  mul: (a, b) => lo32(big(a) * big(b)),
  mulh: (a, b) => hi32(big(a) * big(b)),
  mulhsu: (a, b) => hi32(big(a) * ubig(b)),
  mulhu: (a, b) => hi32(ubig(a) * ubig(b)),
  div: (a, b) => ((b | 0) === 0 ? -1 : (a | 0) === INT_MIN && (b | 0) === -1 ? INT_MIN : lo32(big(a) / big(b))),
  divu: (a, b) => ((b | 0) === 0 ? -1 : lo32(ubig(a) / ubig(b))),
  rem: (a, b) => ((b | 0) === 0 ? a | 0 : (a | 0) === INT_MIN && (b | 0) === -1 ? 0 : lo32(big(a) % big(b))),
  remu: (a, b) => ((b | 0) === 0 ? a | 0 : lo32(ubig(a) % ubig(b))),
};

/** I-type ALU operations: rs1 value and sign-extended immediate (shift amount for shifts). */
export const REF_I: Readonly<Record<string, (a: number, imm: number) => number>> = {
  addi: REF_R.add,
  slti: REF_R.slt,
  sltiu: REF_R.sltu,
  xori: REF_R.xor,
  ori: REF_R.or,
  andi: REF_R.and,
  slli: REF_R.sll,
  srli: REF_R.srl,
  srai: REF_R.sra,
};

export const REF_BRANCH: Readonly<Record<string, (a: number, b: number) => boolean>> = {
  beq: (a, b) => (a | 0) === (b | 0),
  bne: (a, b) => (a | 0) !== (b | 0),
  blt: (a, b) => (a | 0) < (b | 0),
  bge: (a, b) => (a | 0) >= (b | 0),
  bltu: (a, b) => a >>> 0 < b >>> 0,
  bgeu: (a, b) => a >>> 0 >= b >>> 0,
};

/** AMO results: the new memory value from the old one and rs2. */
export const REF_AMO: Readonly<Record<string, (old: number, src: number) => number>> = {
  'amoswap.w': (_o, s) => s | 0,
  'amoadd.w': (o, s) => (o + s) | 0,
  'amoxor.w': (o, s) => (o ^ s) | 0,
  'amoand.w': (o, s) => o & s,
  'amoor.w': (o, s) => o | s,
  'amomin.w': (o, s) => ((o | 0) < (s | 0) ? o | 0 : s | 0),
  'amomax.w': (o, s) => ((o | 0) > (s | 0) ? o | 0 : s | 0),
  'amominu.w': (o, s) => (o >>> 0 < s >>> 0 ? o | 0 : s | 0),
  'amomaxu.w': (o, s) => (o >>> 0 > s >>> 0 ? o | 0 : s | 0),
};

export const EDGE_VALUES: readonly number[] = [
  0, 1, -1, 2, -2, 5, -5, 31, 32, 0xffff, 0x10000, 0x7fffffff, -0x80000000, 0x12345678, -0x12345678, 0x55555555,
];
