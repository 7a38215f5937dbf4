// The ring32 ISA object: table + decoder + disassembler, the same shape as rv32's.

import { buildDecoder } from '../decoder';
import { Isa } from '../isa';
import { formatRing32 } from './disasm';
import { RING32_FIELD_EXPR, RING32_IMM_EXPR, RING32_INSTRUCTIONS, Ring32Format } from './instructions';

// Key: the opcode byte. Every opcode names exactly one instruction, so the full-mask check decides.
const tables = buildDecoder(RING32_INSTRUCTIONS, {
  bits: 8,
  keyMask: 0xff,
  keyExpr: '(w & 0xff)',
  keyOf: (w) => w & 0xff,
  wordOf: (k) => k & 0xff,
});

const immFns = Object.fromEntries(
  Object.entries(RING32_IMM_EXPR).map(([fmt, src]) => [fmt, new Function('w', `return ${src};`) as (w: number) => number]),
) as Record<Ring32Format, (w: number) => number>;

/** The immediate of format `format` in word `w`, as the engines see it. */
export function ring32Imm(format: string, w: number): number {
  const f = immFns[format as Ring32Format];
  if (!f) throw new RangeError(`ring32 has no format '${format}'`);
  return f(w | 0);
}

const decode = tables.decode;

export const ring32: Isa = {
  name: 'ring32',
  instructions: RING32_INSTRUCTIONS,
  immExpr: RING32_IMM_EXPR,
  fieldExpr: RING32_FIELD_EXPR,
  decoder: tables,
  decodeFields: [{ expr: '(w & 0xff)', mask: 0xff, shift: 0 }],
  decode: (w) => decode(w | 0),
  disassemble(w: number, pc: number): string {
    const d = RING32_INSTRUCTIONS[decode(w | 0)];
    return formatRing32(d, w | 0, pc >>> 0, ring32Imm(d.format, w));
  },
};
