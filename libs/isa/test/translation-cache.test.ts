// Translations shared between VMs (issue 12 item 1): harts running the same code at the same address
// compile each block once, and a VM that rewrites its own code changes only itself.

import { BinaryTranslationEngine, Bus, Hart, Priv, Stop } from '@vsim/isa';
import { a1, a2, a3, a4, a5, addi, beq, bne, ebreak, jal, jalr, sw } from './helpers/asm';

const BASE = 0x80000000;
const PATCH = addi(a1, a1, 100);

/**
 * a1 += 1 ten times; then, if a2 != 0, the guest overwrites that `addi a1, a1, 1` with
 * `addi a1, a1, 100` (self-modifying code), clears a2 and runs the loop again.
 */
const PROGRAM = [
  addi(a3, 0, 10), // 0x00
  addi(a1, a1, 1), // 0x04: the instruction the guest patches
  addi(a3, a3, -1), // 0x08
  bne(a3, 0, -8), // 0x0c -> 0x04
  beq(a2, 0, 16), // 0x10 -> 0x20
  sw(a4, 4, a5), // 0x14: *(BASE + 4) = PATCH
  addi(a2, 0, 0), // 0x18
  jal(0, -0x1c), // 0x1c -> 0x00
  ebreak(), // 0x20
];

function vm(selfModifying: boolean, shared: boolean, program: readonly number[] = PROGRAM): { h: Hart; e: BinaryTranslationEngine } {
  const bus = new Bus(BASE, 64 * 1024);
  program.forEach((w, i) => bus.writeU32(BASE + 4 * i, w));
  const h = new Hart(bus, { hartId: 0 });
  h.priv = Priv.M;
  h.pc = BASE;
  h.x[a2] = selfModifying ? 1 : 0;
  h.x[a4] = PATCH;
  h.x[a5] = BASE;
  h.exitMask = 1 << 3; // ebreak ends the run
  return { h, e: new BinaryTranslationEngine(h, undefined, { shared }) };
}

function finish(x: { h: Hart; e: BinaryTranslationEngine }, budget = 1_000_000): number {
  const stop = x.e.run(budget);
  expect(stop.kind).toBe(Stop.Trap);
  return x.h.x[a1];
}

describe('shared translations', () => {
  it('a second VM running the same code reuses every block the first compiled', () => {
    const first = vm(false, true);
    const second = vm(false, true);
    expect(finish(first)).toBe(10);
    expect(finish(second)).toBe(10);
    const s1 = first.e.stats();
    const s2 = second.e.stats();
    // Both count the blocks they translated (what a hypervisor charges), the second compiled none.
    expect(s2.blocksTranslated).toBe(s1.blocksTranslated);
    expect(s2.sharedHits).toBe(s2.blocksTranslated);
    expect(second.h.instret).toBe(first.h.instret);
    expect(second.h.cycles).toBe(first.h.cycles);
  });

  it('a VM that rewrites its own code changes only itself', () => {
    const clean = vm(false, true);
    const writer = vm(true, true);
    // Interleave them in small slices, so the clean VM's blocks are live while the writer patches.
    let cleanDone = false;
    let writerDone = false;
    for (let round = 0; round < 10_000 && !(cleanDone && writerDone); round++) {
      if (!writerDone) writerDone = writer.e.run(3).kind === Stop.Trap;
      if (!cleanDone) cleanDone = clean.e.run(3).kind === Stop.Trap;
    }
    expect(writerDone && cleanDone).toBe(true);
    expect(writer.h.x[a1]).toBe(10 + 100 * 10);
    expect(clean.h.x[a1]).toBe(10);
    // A VM started after the writer finished still runs the original code.
    expect(finish(vm(false, true))).toBe(10);
    // And the writer computes what it computes with nothing shared.
    const alone = vm(true, false);
    expect(finish(alone)).toBe(1010);
    expect(alone.h.instret).toBe(writer.h.instret);
    expect(alone.h.cycles).toBe(writer.h.cycles);
    expect(alone.e.stats().sharedHits).toBe(0);
  });

  it('a block is shared only if every word its translator read matches, past the block too', () => {
    // Both loops start with the same forward branch at 0x04. In LOOP_BACK the path reaches a branch
    // back to 0x04, so the block at 0x04 is a superblock through the loop body; in INDIRECT the loop
    // closes with an indirect jump, so the translator stops its block at that first branch. The words
    // of the short block are equal in both programs: only those the translator read past it differ.
    const INDIRECT = [addi(a3, 0, 10), beq(a2, 0, 8), addi(a1, a1, 1), addi(a3, a3, -1), beq(a3, 0, 8), jalr(0, a5, 4), ebreak()];
    const LOOP_BACK = [addi(a3, 0, 10), beq(a2, 0, 8), addi(a1, a1, 1), addi(a3, a3, -1), bne(a3, 0, -12), ebreak()];
    const run = (program: readonly number[], shared: boolean) => {
      const x = vm(false, shared, program);
      x.h.x[a2] = 1;
      expect(finish(x)).toBe(10);
      return x.e.stats();
    };
    run(INDIRECT, true);
    const shared = run(LOOP_BACK, true);
    const alone = run(LOOP_BACK, false);
    expect(shared.instructionsTranslated).toBe(alone.instructionsTranslated);
    expect(shared.blocksTranslated).toBe(alone.blocksTranslated);
  });
});
