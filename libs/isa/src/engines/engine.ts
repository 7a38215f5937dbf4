// The interface the cpu-node drives: an engine runs one hart for a budget of cycles under the cost
// model and says why it stopped. Four engines implement it over the same hart state; they differ
// only in how they get from an instruction word to its effect, never in the effect.

import { Hart } from '../rv32/hart';
import { RESUME, Stop, TRAP } from '../rv32/signals';

export type EngineName = 'dispatch' | 'indirect' | 'direct' | 'bt';
export const ENGINE_NAMES: readonly EngineName[] = ['dispatch', 'indirect', 'direct', 'bt'];

export interface Engine {
  readonly name: EngineName;
  readonly hart: Hart;
  /**
   * Runs the hart until it has consumed `budget` more cycles (an instruction starts only while the
   * budget is not spent, so the overshoot is less than one instruction), or until it stops earlier
   * for a trap the host handles, wfi with nothing pending, or a halt request.
   */
  run(budget: number): Stop;
  /** Drops every decoded or translated copy of guest code. */
  flush(): void;
  /** Engine-specific counters (blocks translated, cache size, ...). */
  stats(): Record<string, number>;
}

/**
 * Executes instructions while hart cycles < lim, returning early when the hart is kicked. May throw
 * TRAP (instruction did not complete; hart.pc at it) or RESUME (it completed; hart.pc after it).
 */
export type StepUntil = (lim: number) => void;

/**
 * Longest stretch an engine's inner loop runs before returning to the driver. Re-entering the
 * loop lets V8 switch from the on-stack-replacement code it compiled mid-loop to the fully
 * optimised function; measured 1.6x faster for the interpreters (bench:isa, 2nd-half MIPS).
 */
export const MAX_SLICE_CYCLES = 1_000_000;

/** The loop every engine shares: service the hart, run to the next limit, deliver traps. */
export function drive(h: Hart, budget: number, stepUntil: StepUntil): Stop {
  const end = h.cycles + budget;
  for (;;) {
    let lim = h.service(end);
    if (lim < 0) return h.stopReason;
    // Slicing only moves where the loop is re-entered, never which instruction runs when: limits
    // are checked between instructions, so results do not depend on it.
    lim = Math.min(lim, h.cycles + MAX_SLICE_CYCLES);
    h.limit = lim;
    try {
      stepUntil(lim);
    } catch (e) {
      if (e === TRAP) {
        if (h.deliverTrap()) return Stop.Trap;
      } else if (e !== RESUME) {
        throw e;
      }
    }
  }
}
