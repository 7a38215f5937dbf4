// What the Popek–Goldberg prober needs from an ISA: how to build a one-instruction machine in a
// chosen system configuration, run one word on it, and read back what it did. Each ISA supplies one
// (rv32's in prober.ts, ring32's in ring32/probe.ts); the prober's reasoning is the same for all.

import { InstrDef, Isa } from '../isa';

/** What one run of one word did. */
export interface ProbeOutcome {
  readonly trapped: boolean;
  readonly cause: number;
  /** Stopped to wait for an interrupt (wfi, HLT). */
  readonly wfi: boolean;
  readonly gprs: string;
  readonly pc: number;
  readonly memory: string;
  /** System state after the run, or 'same' if the instruction left it unchanged. */
  readonly system: string;
  /**
   * The part of system state whose value after the run must not depend on the configuration for an
   * innocuous instruction (configurations agree on it beforehand), e.g. ring32's IF and user flags.
   * Compared across configurations like registers and memory. '' when the ISA has none.
   */
  readonly observable: string;
}

export interface ProbeTarget {
  /** General registers 1..registers-1 are randomised, pointing into the data region. */
  readonly registers: number;
  /** Where the probed word is placed. */
  readonly codeBase: number;
  /** Start of a 4 KiB data region the registers point into (offset 0x800..0xc00). */
  readonly dataBase: number;
  /** Number of configurations: index 0 is the most privileged (the reference), the last the least privileged (user). */
  readonly configs: number;
  /** The cause a privileged instruction raises outside the most privileged mode. */
  readonly privilegeCause: number;
  /** A random instance of `d`. */
  sampleWord(d: InstrDef, next: () => number): number;
  /** Runs `w` once from registers `regs` (x0 ignored) in configuration `config`, with data memory from `memSeed`. */
  runOnce(isa: Isa, w: number, regs: Int32Array, config: number, memSeed: number): ProbeOutcome;
}

/** Deterministic xorshift32. */
export function probeRng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}
