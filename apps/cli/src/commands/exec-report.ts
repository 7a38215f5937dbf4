// How `vsim exec` turns the end of a guest program into its exit status and the one `vsim:` line
// on stderr that says why, when vsim rather than the program decided the status.

import { BareResult, Cause, GuestFault, ProcessResult } from '@vsim/isa';
import { EXIT } from '../command';

/** Writes `vsim: PROGRAM: message` and returns `status`. */
export type Fail = (message: string, status: number) => number;

/** Exception causes whose tval is a memory address worth reporting. */
const ADDRESS_CAUSES: ReadonlySet<number> = new Set([
  Cause.InstructionMisaligned,
  Cause.InstructionAccessFault,
  Cause.LoadMisaligned,
  Cause.LoadAccessFault,
  Cause.StoreMisaligned,
  Cause.StoreAccessFault,
  Cause.InstructionPageFault,
  Cause.LoadPageFault,
  Cause.StorePageFault,
]);

export function reportLinux(result: ProcessResult, fail: Fail): number {
  if (result.fault) return fail(formatFault(result.fault), result.fault.status);
  if (!result.exited) return fail(`cycle budget exhausted after ${result.instructions} instructions`, EXIT.timeout);
  return result.status;
}

export function reportBare(result: BareResult, pc: number, fail: Fail): number {
  switch (result.outcome) {
    case 'pass':
      return EXIT.ok;
    case 'fail':
      return fail(`bare test failed: test ${result.failedTest} (tohost=${hex(result.tohost)})`, EXIT.failure);
    case 'deadlock':
      return fail(
        `deadlock: wfi with no interrupt pending and no timer armed, at pc ${hex(pc)} after ${result.instructions} instructions`,
        EXIT.failure,
      );
    case 'budget':
      return fail(`cycle budget exhausted after ${result.instructions} instructions without writing tohost`, EXIT.failure);
  }
}

/** `guest fault: illegal instruction at pc 0x000100b4: 0x00000000 (.word 0x0) [SIGILL]` */
export function formatFault(f: GuestFault): string {
  let s = `guest fault: ${f.causeName} at pc ${hex(f.pc)}`;
  s += f.instruction === undefined ? ' (instruction not readable)' : `: ${hex(f.instruction)} (${f.disassembly ?? '?'})`;
  if (ADDRESS_CAUSES.has(f.cause)) s += `, address ${hex(f.tval)}`;
  return `${s} [${f.signal}]`;
}

export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}
