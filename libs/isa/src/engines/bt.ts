// Binary translation (seed, "Emulation"): a guest basic block is translated once into a JavaScript
// function, compiled by V8 to host code, and cached by guest address and privilege mode. Within a
// block the guest registers live in JavaScript locals, immediates and addresses are constants, and
// a block that branches back to its own start loops inside the function. Blocks are chained: each
// remembers its successors, so the dispatcher goes from block to block without a cache lookup.
// A store into a page holding translated code invalidates that page's blocks (self-modifying code).
//
// Precise state is kept cheaply: the block tracks the index of the instruction that may fault; on
// a trap it writes the locals back and sets pc and the counters exactly as an interpreter would.

import { Gen, InstrDef, Isa } from '../isa';
import { Hart } from '../rv32/hart';
import { rv32 } from '../rv32';
import { PAGE_SHIFT } from '../memory/bus';
import { compileFactory, emitLoad, emitStore, makeEnv, Env } from './emit';
import { Engine, StepUntil, drive } from './engine';
import { dispatchStepper } from './dispatch';

/** Longest block translated: long enough to amortise entry, short enough to stop near a budget. */
export const MAX_BLOCK_INSTRUCTIONS = 64;

interface Block {
  readonly fn: () => void;
  readonly start: number;
  readonly priv: number;
  /** Address after the last instruction, and the static target of the final branch/jump (-1 if none). */
  readonly fall: number;
  readonly tgt: number;
  /** Cycles before the last instruction starts: the block runs whole only if cycles + span < limit. */
  readonly span: number;
  readonly length: number;
  readonly sourceBytes: number;
  valid: boolean;
  nFall: Block | null;
  nTgt: Block | null;
}

interface Decoded {
  readonly pc: number;
  readonly w: number;
  readonly d: InstrDef;
  readonly imm: number;
  readonly rd: number;
  readonly rs1: number;
  readonly rs2: number;
  readonly cost: number;
}

/** Instruction classes that cannot raise an exception: no fault-index bookkeeping needed before them. */
const CANNOT_TRAP = new Set(['alu', 'mul', 'div', 'fence']);

export class BinaryTranslationEngine implements Engine {
  readonly name = 'bt' as const;
  private readonly env: Env;
  private readonly immFns: ((w: number) => number)[];
  private readonly fields: (w: number) => { rd: number; rs1: number; rs2: number };
  /** blocks[priv][page][slot] */
  private readonly blocks: (Block | undefined)[][][] = [[], [], [], []];
  private readonly interp: StepUntil;
  private readonly step: StepUntil;
  private translated = 0;
  private translatedInstructions = 0;
  private sourceBytes = 0;
  private invalidations = 0;
  private chainHits = 0;
  private lookups = 0;

  constructor(readonly hart: Hart, private readonly isa: Isa = rv32) {
    this.env = makeEnv(hart);
    this.immFns = isa.instructions.map((d) => new Function('w', `return ${isa.immExpr[d.format] ?? '0'};`) as (w: number) => number);
    const fx = isa.fieldExpr;
    this.fields = new Function('w', `return { rd: ${fx.rd}, rs1: ${fx.rs1}, rs2: ${fx.rs2} };`) as BinaryTranslationEngine['fields'];
    this.interp = dispatchStepper(hart, isa);
    hart.bus.onCodeChange((page) => this.dropPage(page));
    this.step = (lim) => this.stepUntil(lim);
  }

  private dropPage(page: number): void {
    for (const perPriv of this.blocks) {
      const slots = perPriv[page];
      if (!slots) continue;
      for (const b of slots) if (b) b.valid = false;
      perPriv[page] = undefined as unknown as (Block | undefined)[];
      this.invalidations++;
    }
  }

  private lookup(pc: number): Block {
    const h = this.hart;
    this.lookups++;
    const off = pc - h.ramBase;
    if (off < 0 || off >= h.ramSize) {
      h.pc = pc;
      return h.raise(1, pc);
    }
    const page = off >>> PAGE_SHIFT;
    const perPriv = this.blocks[h.priv];
    let slots = perPriv[page];
    if (!slots) {
      slots = perPriv[page] = new Array(1 << (PAGE_SHIFT - 2));
      h.bus.markCode(page);
    }
    const slot = (off >>> 2) & ((1 << (PAGE_SHIFT - 2)) - 1);
    return slots[slot] ?? (slots[slot] = this.translate(pc));
  }

  /** Collects the block at pc: up to a control transfer, the page end, or MAX_BLOCK_INSTRUCTIONS. */
  private collect(start: number): Decoded[] {
    const h = this.hart;
    const out: Decoded[] = [];
    const page = (start - h.ramBase) >>> PAGE_SHIFT;
    for (let pc = start; out.length < MAX_BLOCK_INSTRUCTIONS; pc = (pc + 4) >>> 0) {
      const off = pc - h.ramBase;
      if (off < 0 || off >= h.ramSize || off >>> PAGE_SHIFT !== page) break;
      const w = h.bus.i32[off >>> 2];
      const i = this.isa.decode(w);
      const d = this.isa.instructions[i];
      const f = this.fields(w);
      out.push({ pc, w, d, imm: this.immFns[i](w), rd: f.rd, rs1: f.rs1, rs2: f.rs2, cost: h.cost.instruction[d.cls] });
      if (d.flow !== 'seq') break;
    }
    return out;
  }

  private translate(start: number): Block {
    const ins = this.collect(start);
    const used = new Set<number>();
    const written = new Set<number>();
    const pfx: number[] = [];
    let cost = 0;
    const body: string[] = [];
    ins.forEach((it, k) => {
      pfx.push(cost);
      const reg = (r: number) => {
        if (r === 0) return '0';
        used.add(r);
        return `r${r}`;
      };
      const g: Gen = {
        w: `(${it.w | 0})`,
        pc: `${it.pc >>> 0}`,
        get rs1() { return reg(it.rs1); },
        get rs2() { return reg(it.rs2); },
        imm: `(${it.imm})`,
        setRd: (v) => {
          if (it.rd === 0) return `(${v});`;
          used.add(it.rd);
          written.add(it.rd);
          return `r${it.rd} = ${v};`;
        },
        jumpTo: (t) => `npc = ${t};`,
        load: emitLoad,
        store: emitStore,
        sync: () => `ctr[0] = c0 + ${cost}; ctr[1] = i0 + ${k};`,
      };
      const mark = CANNOT_TRAP.has(it.d.cls) ? '' : `n = ${k}; `;
      body.push(`/* ${this.isa.disassemble(it.w, it.pc)} */ ${mark}${it.d.sem(g)}`);
      cost += it.cost;
    });
    const last = ins[ins.length - 1];
    const span = cost - last.cost;
    const fall = (last.pc + 4) >>> 0;
    const tgt = last.d.format === 'B' || last.d.format === 'J' ? (last.pc + last.imm) >>> 0 : -1;
    const loops = tgt === start;
    const regs = [...used].sort((a, b) => a - b);
    const load = regs.length ? `let ${regs.map((r) => `r${r} = x[${r}]`).join(', ')};` : '';
    const writeback = [...written].sort((a, b) => a - b).map((r) => `x[${r}] = r${r};`).join(' ');
    const src = `const PFX = [${pfx.join(', ')}], COSTS = [${ins.map((i) => i.cost).join(', ')}];
return function block_${start.toString(16)}() {
  ${load}
  let npc = 0, t = 0, a = 0, n = 0, c0 = ctr[0], i0 = ctr[1];
  const lim = h.limit;
  try {
    for (;;) {
      npc = ${fall};
      ${body.join('\n      ')}
      ${loops ? `if (npc === ${start} && c0 + ${cost + span} < lim) { c0 += ${cost}; i0 += ${ins.length}; continue; }` : ''}
      break;
    }
  } catch (e) {
    ${writeback}
    ctr[0] = c0 + PFX[n]; ctr[1] = i0 + n;
    if (e === RESUME) { h.pc = (${start} + 4 * n + 4) >>> 0; ctr[0] += COSTS[n]; ctr[1]++; } else h.pc = (${start} + 4 * n) >>> 0;
    throw e;
  }
  ${writeback}
  ctr[0] = c0 + ${cost}; ctr[1] = i0 + ${ins.length}; h.pc = npc;
};`;
    const fn = compileFactory<() => void>(src, `bt-${start.toString(16)}`)(this.env, {});
    this.translated++;
    this.translatedInstructions += ins.length;
    this.sourceBytes += src.length;
    return {
      fn, start, priv: this.hart.priv, fall, tgt, span, length: ins.length, sourceBytes: src.length,
      valid: true, nFall: null, nTgt: null,
    };
  }

  private stepUntil(lim: number): void {
    const h = this.hart;
    const ctr = h.ctr;
    let b = this.lookup(h.pc >>> 0);
    for (;;) {
      if (ctr[0] + b.span >= lim) {
        // The block would start an instruction past the limit: finish instruction by instruction,
        // so every engine stops at exactly the same instruction.
        this.interp(lim);
        return;
      }
      b.fn();
      if (h.kick || ctr[0] >= lim) return;
      const pc = h.pc;
      let nb = pc === b.fall ? b.nFall : pc === b.tgt ? b.nTgt : null;
      if (nb !== null && nb.valid && nb.priv === h.priv) {
        this.chainHits++;
      } else {
        nb = this.lookup(pc);
        if (b.valid) {
          if (pc === b.fall) b.nFall = nb;
          else if (pc === b.tgt) b.nTgt = nb;
        }
      }
      b = nb;
    }
  }

  run(budget: number) {
    return drive(this.hart, budget, this.step);
  }

  flush(): void {
    for (let p = 0; p < this.hart.ramSize >>> PAGE_SHIFT; p++) this.dropPage(p);
  }

  stats() {
    return {
      blocksTranslated: this.translated,
      instructionsTranslated: this.translatedInstructions,
      sourceBytes: this.sourceBytes,
      pageInvalidations: this.invalidations,
      chainHits: this.chainHits,
      lookups: this.lookups,
    };
  }
}
