// What every ISA in the library provides: one instruction table that the four engines, the
// disassembler, the assembler and the Popek–Goldberg analyzer all read. Semantics are written once,
// as JavaScript code templates over an emitter (Gen): each engine supplies a Gen that says how to
// read a register, an immediate or memory in its own world (a field of the instruction word, a
// pre-decoded operand, a local variable of a translated block), and compiles the result.

import { CostClass } from './cost';
import type { DecoderTables } from './decoder';
import type { DecodeField } from './engines/switch-decode';

/** How an instruction affects control flow; anything but 'seq' ends a translated block. */
export type Flow = 'seq' | 'branch' | 'jump' | 'system';

export type LoadKind = 'i8' | 'u8' | 'i16' | 'u16' | 'i32';
export type StoreKind = 'i8' | 'i16' | 'i32';

/**
 * The emitter an instruction's semantics are written against. Every member returns JavaScript
 * source. Expressions are int32 unless said otherwise. Templates may use the scratch variables
 * `t` and `a` (numbers) and the hart `h`.
 */
export interface Gen {
  /** The instruction word (int32). */
  readonly w: string;
  /** This instruction's address (uint32). */
  readonly pc: string;
  readonly rs1: string;
  readonly rs2: string;
  /** The immediate of the instruction's format, sign-extended. */
  readonly imm: string;
  /** Statement: write `v` to rd (evaluates `v` even when rd is x0, for its faults). */
  setRd(v: string): string;
  /** Statement: continue at `target` (uint32) instead of the next instruction. */
  jumpTo(target: string): string;
  /** Expression: load from uint32 address `addr`. */
  load(kind: LoadKind, addr: string): string;
  /** Statement: store `v` at uint32 address `addr`. */
  store(kind: StoreKind, addr: string, v: string): string;
  /** Statement: make h.pc and the hart's counters exact before a helper that reads them. */
  sync(): string;
}

/**
 * Classification used by the Popek–Goldberg analysis (seed, "The Conditions for Virtualizing ISAs").
 * - privileged: traps when executed outside the most privileged mode, and does not trap inside it.
 * - controlSensitive: changes the configuration of resources (mode, interrupts, timer, translation).
 * - behaviorSensitive: its effect depends on that configuration (the current mode, real time, ...).
 */
export interface Sensitivity {
  readonly privileged: boolean;
  readonly controlSensitive: boolean;
  readonly behaviorSensitive: boolean;
  /** Why, in a sentence. */
  readonly note?: string;
}

export interface InstrDef {
  readonly name: string;
  /** Bits that identify the instruction, and their value. */
  readonly mask: number;
  readonly match: number;
  /** Operand format, for decoding immediates and disassembly. */
  readonly format: string;
  readonly cls: CostClass;
  readonly flow: Flow;
  /** The semantics, as a code template. */
  readonly sem: (g: Gen) => string;
  readonly meta: Sensitivity;
}

/** An instruction set: its table plus the few format-specific pieces engines need. */
export interface Isa {
  readonly name: string;
  /** Index 0 is the illegal-instruction entry: what every undecodable word maps to. */
  readonly instructions: readonly InstrDef[];
  /** JavaScript expression over `w` for each format's immediate. */
  readonly immExpr: Readonly<Record<string, string>>;
  /** Register fields as JavaScript expressions over `w`. */
  readonly fieldExpr: { readonly rd: string; readonly rs1: string; readonly rs2: string };
  readonly decoder: DecoderTables;
  /** Fields to build a switch-tree decoder from, most significant distinction first. */
  readonly decodeFields: readonly DecodeField[];
  /** Decodes a word to its instruction index (0 when illegal). */
  decode(w: number): number;
  disassemble(w: number, pc: number): string;
}
