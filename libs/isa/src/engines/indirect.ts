// Indirect threading (seed, "Emulation"): there is no central dispatch loop. Each interpreter
// routine ends with its own copy of the dispatch code — fetch the next instruction, decode it and
// jump indirectly through the routine table — so control threads from routine to routine.
// JavaScript has no computed goto or guaranteed tail calls, so "jump" is "return the next routine"
// to a trampoline; what the structure keeps is that the dispatch is replicated into every routine.

import { Isa } from '../isa';
import { Hart } from '../rv32/hart';
import { rv32 } from '../rv32';
import { compileFactory, makeEnv } from './emit';
import { Engine, EngineHart, StepUntil, drive } from './engine';
import { costTable, inlineDecode, wordGen } from './common';

interface Extra {
  slots: Int32Array;
  masks: Int32Array;
  matches: Int32Array;
  decode: (w: number) => number;
  COST: Float64Array;
}

function source(isa: Isa): string {
  // The threaded tail: account, fetch, decode, and hand back the next routine.
  const tail = (i: number, system: boolean) => `
    ctr[0] += COST[${i}]; ctr[1]++; PC = npc;
    if (ctr[0] >= LIM${system ? ' || h.kick' : ''}) return null;
    t = npc - mb;
    if ((t >>> 0) >= ms) return FETCH_FAULT;
    w = W = m32[t >>> 2];
    ${inlineDecode(isa)}
    return R[i];`;
  const routines = isa.instructions.map((d, i) => {
    const g = wordGen(isa, d.format, 'PC', 'h.pc = PC;', 'h.pc = PC');
    return `function r${i}_${d.name.replace(/\W/g, '_')}() {
    let w = W, npc = (PC + 4) >>> 0, t = 0, a = 0, s = 0, i = 0;
    ${d.sem(g)}${tail(i, d.flow === 'system')}
  }`;
  });
  return `let PC = 0, W = 0, LIM = 0;
  ${routines.join('\n  ')}
  const R = [${isa.instructions.map((d, i) => `r${i}_${d.name.replace(/\W/g, '_')}`).join(', ')}];
  function FETCH_FAULT() { h.raise(1, PC); }
  return function stepUntil(lim) {
    LIM = lim;
    PC = h.pc >>> 0;
    let t = PC - mb, w = 0, s = 0, i = 0;
    if ((t >>> 0) >= ms) h.raise(1, PC);
    w = W = m32[t >>> 2];
    ${inlineDecode(isa)}
    let r = R[i];
    try {
      while (r !== null) r = r();
    } catch (e) {
      h.pc = PC;
      if (e === RESUME) { w = W; ${inlineDecode(isa)} h.pc = (PC + 4) >>> 0; ctr[0] += COST[i]; ctr[1]++; }
      throw e;
    }
    h.pc = PC;
  };`;
}

const factories = new Map<Isa, ReturnType<typeof compileFactory<StepUntil, Extra>>>();

export class IndirectThreadedEngine<H extends EngineHart = Hart> implements Engine<H> {
  readonly name = 'indirect' as const;
  private readonly step: StepUntil;
  constructor(
    readonly hart: H,
    isa: Isa = rv32,
  ) {
    let f = factories.get(isa);
    if (!f) {
      f = compileFactory<StepUntil, Extra>(source(isa), `indirect-${isa.name}`, ['slots', 'masks', 'matches', 'decode', 'COST']);
      factories.set(isa, f);
    }
    const d = isa.decoder;
    this.step = f(makeEnv(hart), { slots: d.slots, masks: d.masks, matches: d.matches, decode: d.decode, COST: costTable(isa, hart) });
  }
  run(budget: number) {
    return drive(this.hart, budget, this.step);
  }
  flush(): void {
    /* nothing is cached */
  }
  stats() {
    return {};
  }
}
