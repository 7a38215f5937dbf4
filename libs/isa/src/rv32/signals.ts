// Control-flow signals thrown from deep inside an instruction (a memory access, a helper) back to
// the engine's driver loop. They are preallocated plain objects, not Errors: throwing one captures
// no stack, so a trap costs little more than a return.

/** The instruction raised an exception and did not complete; details are in hart.trapCause/trapTval (inside libs/isa only: a trap leaves it as a TrapExit). */
export const TRAP = { signal: 'trap' } as const;
/**
 * The instruction completed, but it changed something the engine caches (it wrote to a device or to
 * code): the engine must account it, move to the next instruction and re-service the hart.
 */
export const RESUME = { signal: 'resume' } as const;

/** Why an engine returned control to its caller. */
export const enum Stop {
  /** The cycle budget is spent. */
  Budget = 0,
  /** An exception the host handles (it is in the hart's exitMask): run() returns a TrapExit. */
  Trap = 1,
  /** The hart executed wfi with no interrupt pending: nothing to do until one arrives. */
  Wfi = 2,
  /** A device (tohost, shutdown) asked the machine to halt. */
  Halt = 3,
}

export const STOP_NAMES = ['budget', 'trap', 'wfi', 'halt'] as const;
export type StopName = (typeof STOP_NAMES)[number];

/**
 * What leaves an engine when a trap exits to the host (the cause is in the hart's exitMask, or the
 * interrupt in its exitInterruptMask): a value, not hart fields to read back. pc is the hart's pc,
 * at the trapping instruction (or, for an interrupt, the next one to run).
 */
export interface TrapExit {
  readonly kind: Stop.Trap;
  readonly cause: number;
  readonly tval: number;
  readonly interrupt: boolean;
}

/** An engine's stop that carries nothing but its reason. */
export interface PlainStop {
  readonly kind: Stop.Budget | Stop.Wfi | Stop.Halt;
}

/** Why an engine's run() returned: a plain stop, or the trap that exits to the host. */
export type StopRecord = PlainStop | TrapExit;

/** The plain stops, preallocated (an engine returns one per run). */
export const BUDGET_STOP: PlainStop = Object.freeze({ kind: Stop.Budget });
export const WFI_STOP: PlainStop = Object.freeze({ kind: Stop.Wfi });
export const HALT_STOP: PlainStop = Object.freeze({ kind: Stop.Halt });

/** The record of a plain stop reason. */
export function plainStop(reason: Stop.Budget | Stop.Wfi | Stop.Halt): PlainStop {
  return reason === Stop.Budget ? BUDGET_STOP : reason === Stop.Wfi ? WFI_STOP : HALT_STOP;
}

/** A trap that exits to the host. */
export function trapExit(cause: number, tval: number, interrupt: boolean): TrapExit {
  return { kind: Stop.Trap, cause, tval: tval >>> 0, interrupt };
}
