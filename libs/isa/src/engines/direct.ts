// Direct threading with pre-decoding (seed, "Emulation"): each guest instruction is decoded once
// into a record holding the address of its routine and its operands already extracted; records are
// linked to their successors, so steady-state execution goes from routine to routine with no fetch
// and no decode. The price is memory per cached instruction and the need to invalidate records
// when guest code changes.

import { Isa, Gen } from '../isa';
import { Hart, X_SINK } from '../rv32/hart';
import { rv32 } from '../rv32';
import { PAGE_SHIFT } from '../memory/bus';
import { compileFactory, emitLoad, emitStore, makeEnv } from './emit';
import { RESUME } from '../rv32/signals';
import { Engine, StepUntil, drive } from './engine';

/** A pre-decoded instruction. */
export interface Op {
  /** Its routine: executes it and returns the next op if already linked, else null. */
  f: (o: Op) => Op | null;
  readonly pc: number;
  readonly w: number;
  readonly rd: number;
  readonly rs1: number;
  readonly rs2: number;
  readonly imm: number;
  /** Cycles it costs. */
  readonly c: number;
  /** Statically known branch/jump target, or -1. */
  readonly tgt: number;
  /** Links to the op that follows in sequence, and to the op at tgt. */
  n: Op | null;
  t: Op | null;
}

function opGen(format: string): Gen {
  void format;
  return {
    w: 'o.w',
    pc: 'o.pc',
    rs1: 'x[o.rs1]',
    rs2: 'x[o.rs2]',
    imm: 'o.imm',
    // rd was pre-decoded to the sink register when it is x0, so no check is needed here.
    setRd: (v) => `x[o.rd] = ${v};`,
    jumpTo: (t) => `npc = ${t};`,
    load: emitLoad,
    store: emitStore,
    sync: () => 'h.pc = o.pc;',
  };
}

function source(isa: Isa): string {
  const routines = isa.instructions.map((d, i) => {
    const g = opGen(d.format);
    const next = d.flow === 'seq' ? 'return o.n;'
      : d.flow === 'system' ? 'return null;'
      : 'return npc === o.tgt ? o.t : npc === ((o.pc + 4) >>> 0) ? o.n : null;';
    return `function r${i}(o) { let npc = (o.pc + 4) >>> 0, t = 0, a = 0; ${d.sem(g)} ctr[0] += o.c; ctr[1]++; PC = npc; ${next} }`;
  });
  return `let PC = 0;
  ${routines.join('\n  ')}
  return {
    routines: [${isa.instructions.map((_, i) => `r${i}`).join(', ')}],
    setPc(v) { PC = v; },
    getPc() { return PC; },
  };`;
}

interface Compiled {
  routines: ((o: Op) => Op | null)[];
  setPc(v: number): void;
  getPc(): number;
}

const factories = new Map<Isa, ReturnType<typeof compileFactory<Compiled>>>();

/** Returned by a stale op (its page was invalidated): makes the loop look the pc up afresh. */
const stale = () => null;

export class DirectThreadedEngine implements Engine {
  readonly name = 'direct' as const;
  private readonly compiled: Compiled;
  private readonly immFns: ((w: number) => number)[];
  /** Ops per RAM page, 1024 slots each (4-byte instructions). */
  private readonly pages: (Op[] | undefined)[];
  private readonly costs: number[];
  private decodedOps = 0;
  private invalidations = 0;
  private readonly step: StepUntil;
  private readonly fields: (w: number) => { rd: number; rs1: number; rs2: number };
  /** Set when lookup raised a fetch fault, so the handler reports the target pc, not the jump's. */
  private fetchFaultPc = -1;

  constructor(readonly hart: Hart, private readonly isa: Isa = rv32) {
    const fx = isa.fieldExpr;
    this.fields = new Function('w', `return { rd: ${fx.rd}, rs1: ${fx.rs1}, rs2: ${fx.rs2} };`) as DirectThreadedEngine['fields'];
    let f = factories.get(isa);
    if (!f) {
      f = compileFactory<Compiled>(source(isa), `direct-${isa.name}`);
      factories.set(isa, f);
    }
    this.compiled = f(makeEnv(hart), {});
    this.immFns = isa.instructions.map((d) => new Function('w', `return ${isa.immExpr[d.format] ?? '0'};`) as (w: number) => number);
    this.costs = isa.instructions.map((d) => hart.cost.instruction[d.cls]);
    this.pages = new Array(hart.ramSize >>> PAGE_SHIFT);
    hart.bus.onCodeChange((page) => this.dropPage(page));
    this.step = (lim) => this.stepUntil(lim);
  }

  private dropPage(page: number): void {
    const ops = this.pages[page];
    if (!ops) return;
    for (const o of ops) if (o) o.f = stale;
    this.pages[page] = undefined;
    this.invalidations++;
  }

  /** The op at pc, pre-decoding it on first use. Raises an instruction access fault outside RAM. */
  private lookup(pc: number): Op {
    const h = this.hart;
    const off = pc - h.ramBase;
    if (off < 0 || off >= h.ramSize) {
      h.pc = pc;
      this.fetchFaultPc = pc;
      return h.raise(1, pc);
    }
    const page = off >>> PAGE_SHIFT;
    let ops = this.pages[page];
    if (!ops) {
      ops = this.pages[page] = new Array(1 << (PAGE_SHIFT - 2));
      h.bus.markCode(page);
    }
    const slot = (off >>> 2) & ((1 << (PAGE_SHIFT - 2)) - 1);
    return ops[slot] ?? (ops[slot] = this.predecode(pc, h.bus.i32[off >>> 2]));
  }

  private predecode(pc: number, w: number): Op {
    const i = this.isa.decode(w);
    const d = this.isa.instructions[i];
    const f = this.fields(w);
    const imm = this.immFns[i](w);
    const tgt = d.format === 'B' || d.format === 'J' ? (pc + imm) >>> 0 : -1;
    this.decodedOps++;
    return {
      f: this.compiled.routines[i], pc, w, rd: f.rd === 0 ? X_SINK : f.rd, rs1: f.rs1, rs2: f.rs2,
      imm, c: this.costs[i], tgt, n: null, t: null,
    };
  }

  private stepUntil(lim: number): void {
    const h = this.hart;
    const ctr = h.ctr;
    const c = this.compiled;
    let pc = h.pc >>> 0;
    this.fetchFaultPc = -1;
    let o = this.lookup(pc);
    c.setPc(pc);
    try {
      while (ctr[0] < lim) {
        const nx = o.f(o);
        if (nx !== null) {
          o = nx;
          continue;
        }
        if (h.kick) break;
        pc = c.getPc();
        const n = this.lookup(pc);
        // Link the successor so the next execution of `o` needs no lookup.
        if (o.f !== stale) {
          if (pc === ((o.pc + 4) >>> 0)) o.n = n;
          else if (pc === o.tgt) o.t = n;
        }
        o = n;
      }
    } catch (e) {
      h.pc = o.pc;
      if (this.fetchFaultPc >= 0) {
        h.pc = this.fetchFaultPc;
        this.fetchFaultPc = -1;
      } else if (e === RESUME) {
        h.pc = (o.pc + 4) >>> 0;
        ctr[0] += o.c;
        ctr[1]++;
      }
      throw e;
    }
    h.pc = c.getPc();
  }

  run(budget: number) {
    return drive(this.hart, budget, this.step);
  }

  flush(): void {
    for (let p = 0; p < this.pages.length; p++) this.dropPage(p);
  }

  stats() {
    let cached = 0;
    for (const ops of this.pages) if (ops) for (const o of ops) if (o) cached++;
    return { decodedOps: this.decodedOps, cachedOps: cached, pageInvalidations: this.invalidations };
  }
}

