// Control-flow signals thrown from deep inside an instruction (a memory access, a helper) back to
// the engine's driver loop. They are preallocated plain objects, not Errors: throwing one captures
// no stack, so a trap costs little more than a return.

/** The instruction raised an exception and did not complete; details are in hart.trapCause/trapTval. */
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
  /** An exception the host handles (it is in the hart's exitMask): see hart.exit*. */
  Trap = 1,
  /** The hart executed wfi with no interrupt pending: nothing to do until one arrives. */
  Wfi = 2,
  /** A device (tohost, shutdown) asked the machine to halt. */
  Halt = 3,
}

export const STOP_NAMES = ['budget', 'trap', 'wfi', 'halt'] as const;
export type StopName = (typeof STOP_NAMES)[number];
