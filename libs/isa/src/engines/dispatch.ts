// Decode-and-dispatch (seed, "Emulation"): a central loop fetches each instruction, decodes it and
// dispatches through one switch to the routine for its opcode, then returns to the loop. Nothing is
// remembered between executions of the same instruction: cheap to start, slow in steady state.

import { Isa } from '../isa';
import { Hart } from '../rv32/hart';
import { rv32 } from '../rv32';
import { compileFactory, makeEnv } from './emit';
import { Engine, EngineHart, StepUntil, drive } from './engine';
import { costTable, wordGen } from './common';
import { switchDecode } from './switch-decode';

interface Extra {
  slots: Int32Array;
  masks: Int32Array;
  matches: Int32Array;
  decode: (w: number) => number;
  COST: Float64Array;
}

function source(isa: Isa, cost: Float64Array): string {
  // Cycles and instructions retired live in locals (registers, once optimised) and are written
  // back to the hart only when a helper may read them, on exit, and on a trap.
  const sync = 'h.pc = pc; ctr[0] = cyc; ctr[1] = ins;';
  const body = (i: number) => {
    const d = isa.instructions[i];
    const g = wordGen(isa, d.format, 'pc', sync, 'h.pc = pc, ctr[0] = cyc, ctr[1] = ins');
    const after = d.flow === 'system' ? ' if (h.kick) break loop;' : '';
    return `i = ${i}; ${d.sem(g)} cyc += ${cost[i]}; ins++; pc = npc;${after} continue loop;`;
  };
  return `return function stepUntil(lim) {
  let pc = h.pc >>> 0, w = 0, npc = 0, t = 0, a = 0, i = 0, cyc = ctr[0], ins = ctr[1];
  try {
    loop: while (cyc < lim) {
      t = pc - mb;
      if ((t >>> 0) >= ms) { i = 0; h.raise(1, pc); }
      w = m32[t >>> 2];
      npc = (pc + 4) >>> 0;
      ${switchDecode(isa.instructions, isa.decodeFields, body)}
    }
  } catch (e) {
    h.pc = pc; ctr[0] = cyc; ctr[1] = ins;
    if (e === RESUME) { h.pc = npc; ctr[0] += COST[i]; ctr[1]++; }
    throw e;
  }
  h.pc = pc; ctr[0] = cyc; ctr[1] = ins;
};`;
}

const factories = new Map<string, ReturnType<typeof compileFactory<StepUntil, Extra>>>();

/** The dispatch engine's stepUntil for a hart; the translator also uses it to finish partial blocks. */
export function dispatchStepper(h: EngineHart, isa: Isa = rv32): StepUntil {
  const cost = costTable(isa, h);
  // Costs are compiled in as constants, so one compiled engine per ISA and cost model.
  const key = `${isa.name}:${cost.join(',')}`;
  let f = factories.get(key);
  if (!f) {
    f = compileFactory<StepUntil, Extra>(source(isa, cost), `dispatch-${isa.name}`, ['slots', 'masks', 'matches', 'decode', 'COST']);
    factories.set(key, f);
  }
  const d = isa.decoder;
  return f(makeEnv(h), { slots: d.slots, masks: d.masks, matches: d.matches, decode: d.decode, COST: cost });
}

export class DispatchEngine<H extends EngineHart = Hart> implements Engine<H> {
  readonly name = 'dispatch' as const;
  private readonly step: StepUntil;
  constructor(
    readonly hart: H,
    isa: Isa = rv32,
  ) {
    this.step = dispatchStepper(hart, isa);
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
