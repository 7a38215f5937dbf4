// Decode-and-dispatch (seed, "Emulation"): a central loop fetches each instruction, decodes it and
// dispatches through one switch to the routine for its opcode, then returns to the loop. Nothing is
// remembered between executions of the same instruction: cheap to start, slow in steady state.

import { Isa } from '../isa';
import { Hart } from '../rv32/hart';
import { rv32 } from '../rv32';
import { compileFactory, makeEnv } from './emit';
import { Engine, StepUntil, drive } from './engine';
import { costTable, inlineDecode, wordGen } from './common';

interface Extra { slots: Int32Array; masks: Int32Array; matches: Int32Array; decode: (w: number) => number; COST: Float64Array }

function source(isa: Isa): string {
  const cases = isa.instructions.map((d, i) => {
    const g = wordGen(isa, d.format, 'pc', 'h.pc = pc;');
    const after = d.flow === 'system' ? ' if (h.kick) { h.pc = pc; return; }' : '';
    return `case ${i}: { ${d.sem(g)} ctr[0] += COST[${i}]; ctr[1]++; pc = npc;${after} continue; }`;
  });
  return `return function stepUntil(lim) {
  let pc = h.pc >>> 0, w = 0, npc = 0, t = 0, a = 0, i = 0, s = 0;
  try {
    while (ctr[0] < lim) {
      t = pc - mb;
      if ((t >>> 0) >= ms) { i = 0; h.raise(1, pc); }
      w = m32[t >>> 2];
      ${inlineDecode(isa)}
      npc = (pc + 4) >>> 0;
      switch (i) {
        ${cases.join('\n        ')}
      }
    }
  } catch (e) {
    h.pc = pc;
    if (e === RESUME) { h.pc = npc; ctr[0] += COST[i]; ctr[1]++; }
    throw e;
  }
  h.pc = pc;
};`;
}

const factories = new Map<Isa, ReturnType<typeof compileFactory<StepUntil, Extra>>>();

/** The dispatch engine's stepUntil for a hart; the translator also uses it to finish partial blocks. */
export function dispatchStepper(h: Hart, isa: Isa = rv32): StepUntil {
  let f = factories.get(isa);
  if (!f) {
    f = compileFactory<StepUntil, Extra>(source(isa), `dispatch-${isa.name}`, ['slots', 'masks', 'matches', 'decode', 'COST']);
    factories.set(isa, f);
  }
  const d = isa.decoder;
  return f(makeEnv(h), { slots: d.slots, masks: d.masks, matches: d.matches, decode: d.decode, COST: costTable(isa, h) });
}

export class DispatchEngine implements Engine {
  readonly name = 'dispatch' as const;
  private readonly step: StepUntil;
  constructor(readonly hart: Hart, isa: Isa = rv32) {
    this.step = dispatchStepper(hart, isa);
  }
  run(budget: number) {
    return drive(this.hart, budget, this.step);
  }
  flush(): void { /* nothing is cached */ }
  stats() {
    return {};
  }
}
