// RV32 disassembly from the instruction table: one formatter per operand format, ABI register names.

import { InstrDef } from '../isa';
import { CSR_NAMES } from './csr';

export const ABI_NAMES = [
  'zero',
  'ra',
  'sp',
  'gp',
  'tp',
  't0',
  't1',
  't2',
  's0',
  's1',
  'a0',
  'a1',
  'a2',
  'a3',
  'a4',
  'a5',
  'a6',
  'a7',
  's2',
  's3',
  's4',
  's5',
  's6',
  's7',
  's8',
  's9',
  's10',
  's11',
  't3',
  't4',
  't5',
  't6',
] as const;

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

export function formatRv32(d: InstrDef, w: number, pc: number, imm: number): string {
  const rd = ABI_NAMES[(w >>> 7) & 31];
  const rs1 = ABI_NAMES[(w >>> 15) & 31];
  const rs2 = ABI_NAMES[(w >>> 20) & 31];
  const n = d.name;
  switch (d.format) {
    case 'R':
      return `${n} ${rd}, ${rs1}, ${rs2}`;
    case 'SH':
      return `${n} ${rd}, ${rs1}, ${imm}`;
    case 'U':
      return `${n} ${rd}, ${hex(imm >>> 12)}`;
    case 'J':
      return `${n} ${rd}, ${hex(pc + imm)}`;
    case 'B':
      return `${n} ${rs1}, ${rs2}, ${hex(pc + imm)}`;
    case 'S':
      return `${n} ${rs2}, ${imm}(${rs1})`;
    case 'I':
      if (d.cls === 'load' || n === 'jalr') return `${n} ${rd}, ${imm}(${rs1})`;
      return `${n} ${rd}, ${rs1}, ${imm}`;
    case 'LR':
      return `${n} ${rd}, (${rs1})`;
    case 'AMO':
      return `${n} ${rd}, ${rs2}, (${rs1})`;
    case 'CSR':
    case 'CSRI': {
      const num = w >>> 20;
      const name = CSR_NAMES.get(num) ?? hex(num);
      const src = d.format === 'CSRI' ? String((w >>> 15) & 31) : rs1;
      return `${n} ${rd}, ${name}, ${src}`;
    }
    case 'SFENCE':
      return `${n} ${rs1}, ${rs2}`;
    case 'FENCE':
      return n;
    case 'NONE':
      return d.name === 'illegal' ? `.word ${hex(w)}` : n;
    default:
      return n;
  }
}
