// The target description gdb reads (qXfer:features:read:target.xml): the rv32 integer registers
// and pc in g-packet order, under the feature gdb's RISC-V support requires (org.gnu.gdb.riscv.cpu).

import { ABI_NAMES } from '../rv32/disasm';

/** x0..x31 then pc, as gdb numbers them. */
export const RV32_GDB_REGISTERS = 33;
export const RV32_GDB_PC = 32;

/** ebreak, little-endian: what a software breakpoint writes over an instruction. */
export const RV32_EBREAK = Uint8Array.of(0x73, 0x00, 0x10, 0x00);

function regType(name: string): string {
  if (name === 'ra' || name === 'pc') return 'code_ptr';
  if (name === 'sp' || name === 'gp' || name === 'tp' || name === 's0' || name === 'fp') return 'data_ptr';
  return 'int';
}

/** The description of an rv32 hart (RV32IMA: no floating-point registers). */
export function rv32TargetXml(): string {
  const regs = [...ABI_NAMES.slice(0, 32), 'pc'].map(
    (name, i) => `<reg name="${name}" bitsize="32" type="${regType(name)}"${i === 0 ? ' regnum="0"' : ''}/>`,
  );
  return (
    '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">' +
    '<target version="1.0"><architecture>riscv:rv32</architecture>' +
    `<feature name="org.gnu.gdb.riscv.cpu">${regs.join('')}</feature></target>`
  );
}
