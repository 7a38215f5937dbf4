// Direct threading with pre-decoding (seed, "Emulation"; Smith & Nair §2.4): each guest instruction
// is decoded once into an intermediate form that names its interpreter routine and carries its
// operands already extracted, so steady-state execution never fetches or decodes guest code again.
//
// JavaScript has no labels-as-values, so the "routine address" stored in the intermediate form is
// the routine's index in a dense `switch`, which V8 compiles to a jump table: dispatch is one
// indirect jump, as in a C direct-threaded interpreter. (Storing a closure per instruction and
// calling it was measured slower: a megamorphic call per instruction costs more than the jump.)
//
// The intermediate form is two 32-bit words per instruction, per 4 KiB guest page, made on first
// execution and dropped when the guest writes to the page.

import { Gen, Isa } from '../isa';
import { Hart, X_SINK } from '../rv32/hart';
import { rv32 } from '../rv32';
import { PAGE_SHIFT, PAGE_SIZE } from '../memory/bus';
import { costTable, operandDecoder, OperandDecoder } from './common';
import { compileFactory, emitLoad, emitStore, makeEnv } from './emit';
import { Engine, EngineHart, StepUntil, drive } from './engine';

/** Layout of the first word of a pre-decoded instruction. */
const DECODED = 1 << 31;
const OP_MASK = 0xff;
const RD_SHIFT = 8; // 6 bits: x0 is pre-mapped to the sink register 32
const RS1_SHIFT = 14;
const RS2_SHIFT = 19;

function predecodedGen(sync: string, syncExpr: string): Gen {
  return {
    w: 'W',
    pc: 'pc',
    rs1: `x[(e >>> ${RS1_SHIFT}) & 31]`,
    rs2: `x[(e >>> ${RS2_SHIFT}) & 31]`,
    imm: 'imm',
    setRd: (v) => `x[(e >>> ${RD_SHIFT}) & 63] = ${v};`,
    jumpTo: (t) => `npc = ${t};`,
    load: (kind, addr) => emitLoad(kind, addr, syncExpr),
    store: (kind, addr, v) => emitStore(kind, addr, v, syncExpr),
    sync: () => sync,
  };
}

interface Extra {
  predecode: (pc: number, code: Int32Array, k: number) => number;
  pageCode: (page: number) => Int32Array;
  COST: Float64Array;
}

function source(isa: Isa, cost: Float64Array): string {
  const sync = 'h.pc = pc; ctr[0] = cyc; ctr[1] = ins;';
  const g = predecodedGen(sync, 'h.pc = pc, ctr[0] = cyc, ctr[1] = ins');
  const cases = isa.instructions.map((d, i) => {
    const after = d.flow === 'system' ? ' if (h.kick) break loop;' : '';
    // Helpers that take the raw word (csr, illegal, mret...) read it back from guest memory.
    const needsWord = d.sem(g).includes('W');
    const word = needsWord ? 'W = m32[(pc - mb) >>> 2]; ' : '';
    return `case ${i}: { ${word}${d.sem(g)} cyc += ${cost[i]}; ins++; pc = npc;${after} continue loop; }`;
  });
  return `return function stepUntil(lim) {
  let pc = h.pc >>> 0, cyc = ctr[0], ins = ctr[1];
  let base = 0, code = EMPTY, k = 0, e = 0, imm = 0, npc = 0, t = 0, a = 0, W = 0;
  try {
    // Start with the current page in hand, so the loop's page check is a single compare.
    t = pc - mb;
    if ((t >>> 0) >= ms) h.raise(1, pc);
    code = pageCode(t >>> ${PAGE_SHIFT});
    base = pc - (t & ${PAGE_SIZE - 1});
    loop: while (cyc < lim) {
      k = pc - base;
      if ((k >>> 0) >= ${PAGE_SIZE}) {
        t = pc - mb;
        if ((t >>> 0) >= ms) h.raise(1, pc);
        code = pageCode(t >>> ${PAGE_SHIFT});
        base = pc - (t & ${PAGE_SIZE - 1});
        k = pc - base;
      }
      k >>>= 1;
      e = code[k];
      if (e === 0) e = predecode(pc, code, k);
      imm = code[k + 1];
      npc = (pc + 4) >>> 0;
      switch (e & ${OP_MASK}) {
        ${cases.join('\n        ')}
      }
    }
  } catch (ex) {
    h.pc = pc; ctr[0] = cyc; ctr[1] = ins;
    if (ex === RESUME) { h.pc = npc; ctr[0] += COST[e & ${OP_MASK}]; ctr[1]++; }
    throw ex;
  }
  h.pc = pc; ctr[0] = cyc; ctr[1] = ins;
};`;
}

const factories = new Map<string, ReturnType<typeof compileFactory<StepUntil, Extra>>>();

export class DirectThreadedEngine<H extends EngineHart = Hart> implements Engine<H> {
  readonly name = 'direct' as const;
  /** Pre-decoded code per RAM page: [word0, imm] per instruction slot. */
  private readonly pages: (Int32Array | undefined)[];
  private readonly immFns: OperandDecoder['imm'];
  private readonly fields: OperandDecoder['fields'];
  private readonly step: StepUntil;
  private decodedOps = 0;
  private invalidations = 0;

  constructor(
    readonly hart: H,
    private readonly isa: Isa = rv32,
  ) {
    if (isa.instructions.length > OP_MASK + 1) throw new RangeError(`${isa.name} has more than ${OP_MASK + 1} instructions`);
    const cost = costTable(isa, hart);
    const key = `${isa.name}:${cost.join(',')}`;
    let f = factories.get(key);
    if (!f) {
      f = compileFactory<StepUntil, Extra>(`const EMPTY = new Int32Array(0);\n${source(isa, cost)}`, `direct-${isa.name}`, [
        'predecode',
        'pageCode',
        'COST',
      ]);
      factories.set(key, f);
    }
    this.pages = new Array(hart.ramSize >>> PAGE_SHIFT);
    ({ imm: this.immFns, fields: this.fields } = operandDecoder(isa));
    hart.bus.onCodeChange((page) => this.dropPage(page));
    this.step = f(makeEnv(hart), {
      predecode: (pc, code, k) => this.predecode(pc, code, k),
      pageCode: (page) => this.pageCode(page),
      COST: cost,
    });
  }

  private pageCode(page: number): Int32Array {
    let code = this.pages[page];
    if (!code) {
      code = this.pages[page] = new Int32Array(2 * (PAGE_SIZE >>> 2));
    }
    return code;
  }

  /** Decodes the instruction at pc into slot k of its page's intermediate form. */
  private predecode(pc: number, code: Int32Array, k: number): number {
    const w = this.hart.bus.i32[(pc - this.hart.ramBase) >>> 2];
    this.hart.bus.markCode(pc, 4);
    const i = this.isa.decode(w);
    const f = this.fields(w);
    const rd = f.rd === 0 ? X_SINK : f.rd;
    const e = DECODED | i | (rd << RD_SHIFT) | (f.rs1 << RS1_SHIFT) | (f.rs2 << RS2_SHIFT);
    code[k] = e;
    code[k + 1] = this.immFns[i](w);
    this.decodedOps++;
    return e;
  }

  private dropPage(page: number): void {
    if (!this.pages[page]) return;
    this.pages[page] = undefined;
    this.invalidations++;
  }

  run(budget: number) {
    return drive(this.hart, budget, this.step);
  }

  flush(): void {
    for (let p = 0; p < this.pages.length; p++) this.dropPage(p);
  }

  stats() {
    let cached = 0;
    for (const code of this.pages) if (code) for (let k = 0; k < code.length; k += 2) if (code[k] !== 0) cached++;
    return { decodedOps: this.decodedOps, cachedOps: cached, bytesPerCachedOp: 8, pageInvalidations: this.invalidations };
  }
}
