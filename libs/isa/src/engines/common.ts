// Helpers the generated engines share: per-instruction costs under a hart's cost model, and the
// Gen every interpreter uses when operands come straight from the instruction word.

import { Gen, Isa } from '../isa';
import { Hart } from '../rv32/hart';
import { emitLoad, emitStore } from './emit';

/** Cycles of each table entry under the hart's cost model, indexed like isa.instructions. */
export function costTable(isa: Isa, h: Hart): Float64Array {
  return Float64Array.from(isa.instructions, (d) => h.cost.instruction[d.cls]);
}

/** A Gen whose operands are decoded from the word `w` each time (decode-and-dispatch, indirect threading). */
export function wordGen(isa: Isa, format: string, pcExpr: string, syncStmt: string, syncExpr: string): Gen {
  const f = isa.fieldExpr;
  return {
    w: 'w',
    pc: pcExpr,
    rs1: `x[${f.rs1}]`,
    rs2: `x[${f.rs2}]`,
    imm: isa.immExpr[format] ?? '0',
    setRd: (v) => `x[${f.rd}] = ${v}; x[0] = 0;`,
    jumpTo: (t) => `npc = ${t};`,
    load: (kind, addr) => emitLoad(kind, addr, syncExpr),
    store: (kind, addr, v) => emitStore(kind, addr, v, syncExpr),
    sync: () => syncStmt,
  };
}

/** Inline decode of `w` into `i` using the ISA's key table (falls back to decode() for shared slots). */
export function inlineDecode(isa: Isa): string {
  return `s = slots[${isa.decoder.keyExpr}]; i = s > 0 && (w & masks[s]) === matches[s] ? s : decode(w);`;
}
