// ring32 disassembly from the instruction table: one formatter per operand format. The output is
// exactly what the assembler (asm.ts) reads back, so assemble(disassemble(w)) === w for every valid w.

import { InstrDef } from '../isa';
import { CR_NAMES, LR, SP } from './arch';

/** Register names as the disassembler prints them: r0..r13, sp (r14), lr (r15). */
export const RING32_REG_NAMES: readonly string[] = Array.from({ length: 16 }, (_, i) => (i === SP ? 'sp' : i === LR ? 'lr' : `r${i}`));

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

export function crName(n: number): string {
  return CR_NAMES[n] ?? `cr${n}`;
}

export function formatRing32(d: InstrDef, w: number, pc: number, imm: number): string {
  const R = RING32_REG_NAMES;
  const rd = R[(w >>> 8) & 15];
  const rs1 = R[(w >>> 12) & 15];
  const rs2 = R[(w >>> 16) & 15];
  const n = d.name;
  switch (d.format) {
    case 'R':
      return `${n} ${rd}, ${rs1}, ${rs2}`;
    case 'I':
      if (d.cls === 'load' || n === 'jalr') return `${n} ${rd}, ${imm}(${rs1})`;
      return `${n} ${rd}, ${rs1}, ${imm}`;
    case 'SH':
      return `${n} ${rd}, ${rs1}, ${imm}`;
    case 'U':
      return `${n} ${rd}, ${hex(imm >>> 12)}`;
    case 'S':
      return `${n} ${rs2}, ${imm}(${rs1})`;
    case 'B':
      return `${n} ${rs1}, ${rs2}, ${hex(pc + imm)}`;
    case 'J':
      return `${n} ${rd}, ${hex(pc + imm)}`;
    case 'CR':
      return `${n} ${rd}, ${crName(imm)}`;
    case 'CRW':
      return `${n} ${crName(imm)}, ${rs1}`;
    case 'IN':
      return `${n} ${rd}, ${hex(imm)}`;
    case 'OUT':
      return `${n} ${hex(imm)}, ${rs1}`;
    case 'M':
      return `${n} ${imm}(${rs1})`;
    case 'RD':
      return `${n} ${rd}`;
    case 'NONE':
      return n === 'illegal' ? `.word ${hex(w)}` : n;
    default:
      return n;
  }
}
