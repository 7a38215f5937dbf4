// The rv32 ISA object: table + decoder + disassembler.

import { buildDecoder } from '../decoder';
import { Isa } from '../isa';
import { formatRv32 } from './disasm';
import { RV32_FIELD_EXPR, RV32_IMM_EXPR, RV32_INSTRUCTIONS } from './instructions';

// Key: opcode (bits 6:0), funct3 (14:12), funct7 (31:25) -> 17 bits.
const KEY_MASK = 0xfe00707f | 0;
const tables = buildDecoder(RV32_INSTRUCTIONS, {
  bits: 17,
  keyMask: KEY_MASK,
  keyExpr: '((w & 0x7f) | ((w >>> 5) & 0x380) | ((w >>> 15) & 0x1fc00))',
  keyOf: (w) => (w & 0x7f) | ((w >>> 5) & 0x380) | ((w >>> 15) & 0x1fc00),
  wordOf: (k) => (k & 0x7f) | ((k & 0x380) << 5) | ((k & 0x1fc00) << 15),
});

/** Immediate extractors compiled from the same expressions the engines inline. */
const immFns: Record<string, (w: number) => number> = Object.fromEntries(
  Object.entries(RV32_IMM_EXPR).map(([fmt, src]) => [fmt, new Function('w', `return ${src};`) as (w: number) => number]),
);

export function rv32Imm(format: string, w: number): number {
  return immFns[format](w | 0);
}

const decode = tables.decode;

export const rv32: Isa = {
  name: 'rv32',
  instructions: RV32_INSTRUCTIONS,
  immExpr: RV32_IMM_EXPR,
  fieldExpr: RV32_FIELD_EXPR,
  decoder: tables,
  decodeFields: [
    { expr: '(w & 0x7f)', mask: 0x7f, shift: 0 },
    { expr: '((w >>> 12) & 7)', mask: 0x7000, shift: 12 },
    { expr: '(w >>> 25)', mask: 0xfe000000 | 0, shift: 25 },
  ],
  decode: (w) => decode(w | 0),
  disassemble(w: number, pc: number): string {
    const d = RV32_INSTRUCTIONS[decode(w | 0)];
    return formatRv32(d, w | 0, pc >>> 0, rv32Imm(d.format, w));
  },
};
