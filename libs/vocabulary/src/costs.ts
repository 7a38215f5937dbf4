// The defaults of the hypervisor's cost model and of the cross-ISA expansion factors. The scenario
// format fills them in, @vsim/hypervisor and @vsim/executor use them when a host names none;
// docs/cost-model.md says where each figure comes from.

import type { EngineName } from './machine';

/** The hypervisor's cost model, in cycles of the host's pCPUs. */
export interface HypervisorCosts {
  /** Leaving the guest and coming back (VM exit + entry): paid by every trap and hypercall. */
  readonly exit: number;
  /** An SBI call whose routine does almost nothing (probe, version): a hypercall costs exit + this. */
  readonly sbiSimple: number;
  /** Programming the virtual timer. */
  readonly setTimer: number;
  /** A console write: fixed part plus per byte. */
  readonly consoleWrite: number;
  readonly consolePerByte: number;
  /** A Linux system call emulated for a user-program VM. */
  readonly syscall: number;
  /** Allocator work: lifecycle changes, memory allocation. */
  readonly allocator: number;
  /**
   * Trap-and-emulate: an interpreter routine emulating one sensitive instruction on the virtual
   * supervisor state (decode, update, write back), or injecting a virtual trap or interrupt.
   */
  readonly emulate: number;
  /**
   * Binary translation: translated kernel code calling an interpreter routine directly (a function
   * call and a few checks, no exit); the routine's own work is charged on top.
   */
  readonly translatedCall: number;
  /** Binary translation: translating one basic block of the guest kernel (paid once per block translated). */
  readonly translateBlock: number;
}

export const COST_DEFAULTS = {
  exit: 1000,
  sbiSimple: 50,
  setTimer: 100,
  consoleWrite: 200,
  consolePerByte: 10,
  syscall: 150,
  allocator: 5000,
  emulate: 50,
  translatedCall: 40,
  translateBlock: 1000,
} as const satisfies HypervisorCosts;

export const COST_DOCS: Readonly<Record<keyof HypervisorCosts, string>> = {
  exit: 'a VM exit plus re-entry, paid by every trap and hypercall that leaves the guest',
  sbiSimple: 'the routine of a trivial hypercall (SBI probe, version): a hypercall costs `exit` + its routine',
  setTimer: 'the routine programming the virtual timer (SBI set_timer)',
  consoleWrite: 'the routine of a console write, fixed part',
  consolePerByte: 'the routine of a console write, per byte',
  syscall: 'a Linux system call emulated for a `kind: linux` VM',
  allocator: 'allocator work: VM lifecycle (shutdown), memory (brk)',
  emulate: 'trap-and-emulate: the interpreter routine emulating one sensitive instruction, or injecting a virtual trap or interrupt',
  translatedCall: 'binary translation: translated kernel code calling an interpreter routine directly (no exit), on top of the routine',
  translateBlock: 'binary translation: translating one basic block of the guest kernel',
};

/** Host instructions per guest instruction when a host emulates a VM of another ISA, per engine. */
export type ExpansionFactors = Readonly<Record<EngineName, number>>;

/**
 * The engines' measured speed relative to the translator, whose factor 4 is the anchor
 * (libs/executor/src/cross-isa.ts explains the measurement).
 */
export const EXPANSION_DEFAULTS = { dispatch: 14, indirect: 8, direct: 8, bt: 4 } as const satisfies ExpansionFactors;
