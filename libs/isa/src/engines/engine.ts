// The interface the cpu-node drives: an engine runs one hart for a budget of cycles under the cost
// model and says why it stopped. Four engines implement it over the same hart state; they differ
// only in how they get from an instruction word to its effect, never in the effect.

import { ENGINE_NAMES as VOCABULARY_ENGINE_NAMES, EngineName } from '@vsim/vocabulary';
import { Bus } from '../memory/bus';
import { CostModel } from '../cost';
import { Hart } from '../rv32/hart';
import { RESUME, StopRecord, TRAP, TrapExit } from '../rv32/signals';

// The engines' names are @vsim/vocabulary's (the scenario format and the cost defaults use them too).
export type { EngineName };
export const ENGINE_NAMES: readonly EngineName[] = VOCABULARY_ENGINE_NAMES;

/**
 * What the engines (their drivers and the code they generate outside an instruction's own
 * semantics) need from a hart, whatever its ISA: registers, pc and counters, the RAM fast-path
 * bounds, the memory slow paths, trap delivery and the service protocol. rv32's Hart and ring32's
 * hart both satisfy it; an ISA's instruction templates may call further helpers of their own hart.
 */
export interface EngineHart {
  /** General registers plus the write-only sink at index 32 (pre-decoding engines send rd = 0 there). */
  readonly x: Int32Array;
  pc: number;
  /** [cycles, instret]. */
  readonly ctr: Float64Array;
  readonly cycles: number;
  /** Cycle count at which the running engine must call service() again. */
  limit: number;
  /** Set by a helper when the engine must re-service the hart before the next instruction. */
  kick: boolean;
  readonly ramBase: number;
  readonly ramSize: number;
  readonly bus: Bus;
  readonly cost: CostModel;
  /** The key translated code is cached under (0..3): the privilege mode or ring it was translated for. */
  readonly translationMode: number;
  /** Binary translation of a deprivileged kernel: called for each sensitive instruction (see BtOptions). */
  sensitiveHook: ((w: number, pc: number) => number) | null;
  hookCost: number;
  /** Between instructions: the next cycle count to call it again at, or -1 to stop (why: stopRecord()). */
  service(end: number): number;
  stopRecord(): StopRecord;
  /** The engine caught TRAP: enter the guest's handler (null), or the TrapExit to stop with. */
  deliverTrap(): TrapExit | null;
  raise(cause: number, tval: number): never;
  ld8(a: number): number;
  ld8u(a: number): number;
  ld16(a: number): number;
  ld16u(a: number): number;
  ld32(a: number): number;
  st8(a: number, v: number): void;
  st16(a: number, v: number): void;
  st32(a: number, v: number): void;
}

/** Engine trap causes every ISA shares: the engines raise them themselves when fetching. */
export const FETCH_MISALIGNED_CAUSE = 0;
export const FETCH_FAULT_CAUSE = 1;

export interface Engine<H extends EngineHart = Hart> {
  readonly name: EngineName;
  readonly hart: H;
  /**
   * Runs the hart until it has consumed `budget` more cycles (an instruction starts only while the
   * budget is not spent, so the overshoot is less than one instruction), or until it stops earlier
   * for a trap the host handles (a TrapExit: cause, tval, interrupt), wfi with nothing pending, or
   * a halt request.
   */
  run(budget: number): StopRecord;
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
export function drive(h: EngineHart, budget: number, stepUntil: StepUntil): StopRecord {
  const end = h.cycles + budget;
  for (;;) {
    let lim = h.service(end);
    if (lim < 0) return h.stopRecord();
    // Slicing only moves where the loop is re-entered, never which instruction runs when: limits
    // are checked between instructions, so results do not depend on it.
    lim = Math.min(lim, h.cycles + MAX_SLICE_CYCLES);
    h.limit = lim;
    try {
      stepUntil(lim);
    } catch (e) {
      if (e === TRAP) {
        const exit = h.deliverTrap();
        if (exit !== null) return exit;
      } else if (e !== RESUME) {
        throw e;
      }
    }
  }
}
