// An illegal instruction the hypervisor cannot emulate is the guest kernel's to handle, not the
// hypervisor's: it is redirected into the kernel's trap handler as the hardware would have delivered
// it (scause 2, sepc = its pc, stval = the instruction word). That is what a real SBI firmware does:
// OpenSBI's sbi_illegal_insn_handler (lib/sbi/sbi_illegal_insn.c) emulates the few CSR reads it
// knows and hands every other word to truly_illegal_insn, which calls sbi_trap_redirect with
// tval = insn; sbi_trap_redirect (lib/sbi/sbi_trap.c) writes scause/sepc/stval, stacks sstatus.SIE
// into SPIE, sets SPP, and returns to stvec in S-mode. A kernel can then emulate the instruction,
// skip it (probing for an extension), kill the task that ran it — or trap again forever, which the
// trap-storm policy (trap-storm.ts) stops: a redirected illegal instruction is a futile exit.
//
// A kernel that has not installed a trap handler (stvec 0) cannot take it: the VM faults, naming
// the instruction and its pc, as it did before redirection existed.

import { TrapAction, TrapRequest, TrapResolution } from '@vsim/proto';
import { Routine } from './routine';

/** The event log's name of a redirected illegal instruction (the routine's name, every technique). */
export const REDIRECT_ILLEGAL_NAME = 'illegal-instruction';

/** The fault of a guest that cannot take the exception. */
export function illegalInstructionFault(req: Pick<TrapRequest, 'pc'>, instruction: number): Partial<TrapResolution> {
  return {
    action: TrapAction.TRAP_ACTION_FAULT,
    handler: 'fault',
    detail: `illegal instruction at pc 0x${(req.pc >>> 0).toString(16)} (instruction 0x${(instruction >>> 0).toString(16).padStart(8, '0')})`,
  };
}

/**
 * A kernel in real S-mode (paravirt over SBI): the host writes its real S-mode trap state
 * (`redirect`) and resumes it at stvec. Deprivileged kernels get a virtual exception instead
 * (trap-and-emulate.ts, INJECT_ILLEGAL_INSTRUCTION, the same name in the log).
 */
export const REDIRECT_ILLEGAL_INSTRUCTION: Routine = {
  name: REDIRECT_ILLEGAL_NAME,
  route: 'interpreter',
  handle(req, _vm, c) {
    if (req.stvec >>> 2 === 0) return illegalInstructionFault(req, req.tval);
    // Exceptions always enter at stvec's base, whatever its mode.
    const pc = (req.stvec & ~3) >>> 0;
    return {
      action: TrapAction.TRAP_ACTION_RESUME,
      costCycles: c.emulate,
      nextPc: pc,
      redirect: true,
      detail: `redirected to stvec 0x${pc.toString(16)}`,
    };
  },
};
