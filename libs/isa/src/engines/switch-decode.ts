// Decode as a tree of switch statements generated from the instruction table: the first level
// switches on the opcode field, deeper levels on further fields only where the table needs them,
// and each leaf checks the full mask. V8 turns dense switches into jump tables, so decoding and
// dispatching is a couple of indirect jumps with no table loads.

import { InstrDef } from '../isa';

/** A field of the instruction word: its JavaScript expression over `w`, its bits, and its shift. */
export interface DecodeField {
  readonly expr: string;
  readonly mask: number;
  readonly shift: number;
}

/**
 * Generates `switch` code that runs `body(index)` for the entry matching `w`, or `body(0)` (the
 * illegal entry) when none does. Entries are tried in table order at the leaves.
 */
export function switchDecode(table: readonly InstrDef[], fields: readonly DecodeField[], body: (index: number) => string): string {
  const all = table.map((_, i) => i).filter((i) => i > 0);
  return level(table, fields, 0, all, body);
}

function level(table: readonly InstrDef[], fields: readonly DecodeField[], depth: number, cands: number[], body: (index: number) => string): string {
  if (cands.length === 0) return body(0);
  const f = fields[depth];
  const usesField = f && cands.some((i) => (table[i].mask & f.mask) !== 0);
  if (!f || !usesField) {
    // Leaf: check candidates' full masks in order.
    const tests = cands.map((i) => `if ((w & ${table[i].mask}) === ${table[i].match}) { ${body(i)} }`);
    return `${tests.join(' else ')} else { ${body(0)} }`;
  }
  // Group candidates by the value of this field; a candidate that doesn't constrain the field
  // (or only partly) is placed under every value it accepts.
  const groups = new Map<number, number[]>();
  const values = (f.mask >>> f.shift) + 1;
  for (let v = 0; v < values; v++) {
    const bits = (v << f.shift) & f.mask;
    const g = cands.filter((i) => ((table[i].match ^ bits) & table[i].mask & f.mask) === 0);
    if (g.length) groups.set(v, g);
  }
  // Share code between values with identical candidate lists.
  const byList = new Map<string, number[]>();
  for (const [v, g] of groups) {
    const k = g.join(',');
    byList.set(k, [...(byList.get(k) ?? []), v]);
  }
  const cases = [...byList.entries()].map(([k, vs]) => {
    const g = k.split(',').map(Number);
    return `${vs.map((v) => `case ${v}:`).join(' ')} { ${level(table, fields, depth + 1, g, body)} break; }`;
  });
  return `switch (${f.expr}) { ${cases.join('\n')} default: { ${body(0)} } }`;
}
