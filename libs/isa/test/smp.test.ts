// Two harts sharing one memory (an SMP guest): LR/SC must stay atomic when the harts are
// interleaved in small slices, because the bus cancels a hart's reservation when another hart
// stores to the reserved word. Without that, both harts' SCs succeed and increments are lost.

import { Bus, ENGINE_NAMES, Hart, Priv, Stop, createEngine } from '@vsim/isa';
import { a0, a1, a2, a3, addi, bne, ebreak, lr_w, sc_w } from './helpers/asm';

const BASE = 0x80000000;
const COUNTER = BASE + 0x1000;
const ITERATIONS = 2000;

/** Each hart: a3 = ITERATIONS; loop { retry: lr a1,(a0); addi a1,a1,1; sc a2,a1,(a0); bnez a2 retry; a3--; bnez a3 loop } */
const PROGRAM = [
  addi(a0, 0, 0), // a0 is set by the test
  lr_w(a1, a0), // 4: retry
  addi(a1, a1, 1),
  sc_w(a2, a1, a0),
  bne(a2, 0, -12),
  addi(a3, a3, -1),
  bne(a3, 0, -20),
  ebreak(),
];

describe.each(ENGINE_NAMES)('SMP LR/SC on %s', (engine) => {
  it.each([7, 13, 101])('two harts interleaved every %d cycles lose no increment', (slice) => {
    const bus = new Bus(BASE, 64 * 1024);
    PROGRAM.forEach((w, i) => bus.writeU32(BASE + 4 * i, w));
    const harts = [0, 1].map((id) => {
      const h = new Hart(bus, { hartId: id });
      h.priv = Priv.M;
      h.pc = BASE + 4; // skip the placeholder
      h.x[a0] = COUNTER;
      h.x[a3] = ITERATIONS;
      h.exitMask = 1 << 3; // ebreak ends the hart
      return { h, e: createEngine(engine, h), done: false };
    });
    for (let round = 0; round < 1_000_000 && harts.some((x) => !x.done); round++) {
      for (const x of harts) {
        if (x.done) continue;
        const stop = x.e.run(slice);
        if (stop.kind === Stop.Trap) {
          expect(stop.cause).toBe(3);
          x.done = true;
        }
      }
    }
    expect(harts.every((x) => x.done)).toBe(true);
    expect(bus.readU32(COUNTER)).toBe(2 * ITERATIONS);
    // Interleaving this fine must have made some SCs fail and retry (6 instructions per clean pass).
    expect(harts.some((x) => x.h.instret > ITERATIONS * 5 + 2)).toBe(true);
  });
});
