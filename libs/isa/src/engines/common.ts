// Helpers the generated engines share: per-instruction costs under a hart's cost model, and the
// Gen every interpreter uses when operands come straight from the instruction word.

import { Gen, Isa } from '../isa';
import { EngineHart } from './engine';
import { emitLoad, emitStore } from './emit';

/** Cycles of each table entry under the hart's cost model, indexed like isa.instructions. */
export function costTable(isa: Isa, h: EngineHart): Float64Array {
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

/** Extracts an instruction's operands outside generated code (for pre-decoding and translation). */
export interface OperandDecoder {
  /** Immediate of instruction-table entry i for word w. */
  readonly imm: readonly ((w: number) => number)[];
  readonly fields: (w: number) => { rd: number; rs1: number; rs2: number };
}

const operandDecoders = new WeakMap<Isa, OperandDecoder>();

/** One operand decoder per ISA, compiled from the same expressions the engines inline. */
export function operandDecoder(isa: Isa): OperandDecoder {
  let d = operandDecoders.get(isa);
  if (!d) {
    const byFormat = new Map<string, (w: number) => number>();
    const immOf = (format: string) => {
      let f = byFormat.get(format);
      if (!f) byFormat.set(format, (f = new Function('w', `return ${isa.immExpr[format] ?? '0'};`) as (w: number) => number));
      return f;
    };
    const fx = isa.fieldExpr;
    d = {
      imm: isa.instructions.map((ins) => immOf(ins.format)),
      fields: new Function('w', `return { rd: ${fx.rd}, rs1: ${fx.rs1}, rs2: ${fx.rs2} };`) as OperandDecoder['fields'],
    };
    operandDecoders.set(isa, d);
  }
  return d;
}
