// What a vsim subcommand is. Each lives in its own module under commands/ and is listed in
// commands/index.ts; main.ts only dispatches.

import { Io } from './io';

export interface Command {
  /** The word after `vsim` (for a group such as `isa`, the group's name). */
  readonly name: string;
  /** One line for the command list in `vsim help`. */
  readonly summary: string;
  /** The full text of `vsim help NAME` / `vsim NAME --help`. */
  readonly help: string;
  /**
   * Runs the command with the arguments after its name and returns the process exit status.
   * Throws UsageError for command-line mistakes (status 2); anything else is an internal error.
   */
  run(argv: readonly string[], io: Io): number | Promise<number>;
}

/** Exit statuses vsim itself uses (beyond the guest's own). */
export const EXIT = {
  ok: 0,
  /** A bare-machine test failed, deadlocked or ran out of cycles. */
  failure: 1,
  /** The command line was wrong. */
  usage: 2,
  /** An unexpected error inside vsim (BSD sysexits EX_SOFTWARE). */
  internal: 70,
  /** --max-cycles ran out before the program exited (as timeout(1)). */
  timeout: 124,
  /** The file exists but cannot be run: not a valid rv32 executable for this machine, or unreadable. */
  cannotExecute: 126,
  /** The file does not exist. */
  notFound: 127,
} as const;
