// A table-driven decoder built from an instruction table. The instruction word's identifying
// fields are folded into a key that indexes a dense table; most keys name a single candidate whose
// full mask is then checked, the rest (e.g. RISC-V's SYSTEM opcode) name a short list to scan.

import { InstrDef } from './isa';

export interface KeyScheme {
  /** Number of bits in a key. */
  readonly bits: number;
  /** The key of a word. */
  keyOf(w: number): number;
  /** The word bits a key stands for (key fields placed back, everything else 0). */
  wordOf(key: number): number;
  /** Word bits that make up the key. */
  readonly keyMask: number;
  /** keyOf as a JavaScript expression over `w`, for engines that inline decoding. */
  readonly keyExpr: string;
}

/** A decoder's tables, exposed so generated engines can inline the common case. */
export interface DecoderTables {
  readonly slots: Int32Array;
  readonly masks: Int32Array;
  readonly matches: Int32Array;
  readonly keyExpr: string;
  decode(w: number): number;
}

export function buildDecoder(table: readonly InstrDef[], scheme: KeyScheme): DecoderTables {
  const size = 1 << scheme.bits;
  // slot >= 1: the only candidate; 0: illegal; < 0: -(index into lists) - 1.
  const slots = new Int32Array(size);
  const lists: number[][] = [];
  const listIndex = new Map<string, number>();
  const masks = Int32Array.from(table, (d) => d.mask);
  const matches = Int32Array.from(table, (d) => d.match);
  for (let k = 0; k < size; k++) {
    const wk = scheme.wordOf(k);
    const cands: number[] = [];
    for (let i = 1; i < table.length; i++) {
      const m = table[i].mask & scheme.keyMask;
      if (((wk ^ table[i].match) & m) === 0) cands.push(i);
    }
    if (cands.length === 1) slots[k] = cands[0];
    else if (cands.length > 1) {
      const id = cands.join(',');
      let li = listIndex.get(id);
      if (li === undefined) {
        li = lists.length;
        lists.push(cands);
        listIndex.set(id, li);
      }
      slots[k] = -li - 1;
    }
  }
  const keyOf = scheme.keyOf;
  function decode(w: number): number {
    const s = slots[keyOf(w)];
    if (s > 0) return (w & masks[s]) === matches[s] ? s : 0;
    if (s === 0) return 0;
    for (const i of lists[-s - 1]) if ((w & masks[i]) === matches[i]) return i;
    return 0;
  }
  return { slots, masks, matches, keyExpr: scheme.keyExpr, decode };
}
