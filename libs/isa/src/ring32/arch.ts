// ring32's architectural constants: the processor status word, the control registers, the trap
// causes and the I/O ports. The one-page specification is libs/isa/docs/ring32.md; every number
// here is defined there.

/** Processor status word fields (IA-32's CPL and IF, System/370's PSW as one register). */
export const PSW = {
  /** Current ring 0..3 (bits 1:0). Only ring 0 is privileged; rings 1 and 2 behave like ring 3. */
  RING: 0x3,
  /** Interrupt enable. */
  IF: 1 << 2,
  /** Ring before the last trap (bits 4:3), restored by IRET. */
  PRING_SHIFT: 3,
  PRING: 0x3 << 3,
  /** IF before the last trap, restored by IRET. */
  PIF: 1 << 5,
  /** Four user flags (bits 11:8) any ring may set with POPF, like IA-32's arithmetic flags. */
  UF: 0xf << 8,
} as const;

/** Bits of the PSW that exist; the rest read as 0 and ignore writes. */
export const PSW_WRITABLE = PSW.RING | PSW.IF | PSW.PRING | PSW.PIF | PSW.UF;

/** Control registers, numbered as MFCR/MTCR name them (bits 19:16 of the instruction). */
export const CR = {
  PSW: 0,
  /** Trap vector: where every trap and interrupt enters ring 0 (word aligned). */
  TVEC: 1,
  /** Saved pc: the trapping instruction, or the one an interrupt preempted. */
  EPC: 2,
  CAUSE: 3,
  /** Faulting address or instruction word. */
  TVAL: 4,
  /** Timer compare, in ticks; all-ones disarms the timer. */
  TIMECMP: 5,
  /** The free-running time counter, in ticks (read-only). */
  TIME: 6,
  /** Free for the kernel's trap handler. */
  SCRATCH: 7,
} as const;

export const CR_NAMES: readonly string[] = ['psw', 'tvec', 'epc', 'cause', 'tval', 'timecmp', 'time', 'scratch'];

/**
 * Exception causes. 0 and 1 are what every engine raises when it cannot fetch (shared with rv32);
 * the memory causes use rv32's numbers too, so a host can treat both ISAs' faults alike.
 */
export const Ring32Cause = {
  FetchMisaligned: 0,
  FetchFault: 1,
  IllegalInstruction: 2,
  /** A privileged instruction outside ring 0. */
  PrivilegedInstruction: 3,
  LoadMisaligned: 4,
  LoadFault: 5,
  StoreMisaligned: 6,
  StoreFault: 7,
  Syscall: 8,
  /** HCALL on bare hardware (under a hypervisor it exits to the hypervisor instead). */
  Hypercall: 9,
} as const;

/** Interrupts: CAUSE holds INTERRUPT_BIT | number. */
export const Ring32Irq = { Timer: 0 } as const;
export const RING32_INTERRUPT_BIT = 0x80000000;

const CAUSE_NAMES: Record<number, string> = {
  0: 'misaligned jump target',
  1: 'instruction fetch fault',
  2: 'illegal instruction',
  3: 'privileged instruction outside ring 0',
  4: 'misaligned load',
  5: 'load fault',
  6: 'misaligned store',
  7: 'store fault',
  8: 'system call',
  9: 'hypercall',
};

export function ring32CauseName(cause: number, interrupt = false): string {
  if (interrupt) return cause === Ring32Irq.Timer ? 'timer interrupt' : `interrupt ${cause}`;
  return CAUSE_NAMES[cause] ?? `exception ${cause}`;
}

/** I/O ports of the standard ring32 machine. */
export const PORT = {
  /** OUT: one byte to the console. IN: 0 (no input). */
  CONSOLE: 0x10,
  /** OUT: power off with this exit code. */
  EXIT: 0x20,
} as const;

/** Registers with a conventional role (used implicitly by PUSHF/POPF, and by the assembler's aliases). */
export const SP = 14;
export const LR = 15;

/** Where RAM starts on the standard ring32 machine, and where execution starts at reset. */
export const RING32_RAM_BASE = 0;
