// What the gdb stub needs from the thing it debugs: a register file, memory, and a way to run it
// a little. The stub (session.ts) builds breakpoints, stepping and stop replies on top, so a Linux
// user process, a bare machine or one vCPU of a VM can each be debugged by implementing this.

/** Why a target's resume() returned. */
export type TargetStop =
  /** The cycle budget ran out; the target can simply be resumed again. */
  | { readonly kind: 'budget' }
  /** An exception the target does not handle itself: `signal` is the POSIX signal gdb is told (5 SIGTRAP for ebreak). */
  | { readonly kind: 'trap'; readonly signal: number }
  /** The program ended with an exit status (0..255). */
  | { readonly kind: 'exited'; readonly status: number };

export interface GdbTarget {
  /** The target description gdb reads with qXfer:features:read:target.xml. */
  readonly targetXml: string;
  /** Registers in g-packet order; each is 32 bits wide. */
  readonly registerCount: number;
  /** Index of the program counter among them. */
  readonly pcRegister: number;
  /** The instruction a software breakpoint writes over guest code (rv32: ebreak). */
  readonly breakpointInstruction: Uint8Array;
  readRegister(n: number): number;
  writeRegister(n: number, value: number): void;
  /** Memory as the guest sees it, or undefined where nothing is mapped. */
  readMemory(addr: number, length: number): Uint8Array | undefined;
  /** Writes as a host (keeping translated code coherent); false where nothing is mapped. */
  writeMemory(addr: number, bytes: Uint8Array): boolean;
  /**
   * Runs until `cycles` more cycles are spent, the program exits, or an exception stops it (pc at
   * the faulting instruction). `cycles = 1` executes exactly one instruction: a single step.
   * `breakpoints` are the addresses where the stub has put the breakpoint instruction: a target
   * whose program may use that instruction itself tells the two apart by them.
   */
  resume(cycles: number, breakpoints: ReadonlySet<number>): TargetStop;
  /**
   * A target that runs on its own (a vCPU of a running simulation, which its host's loop runs):
   * continue lets it go instead of running it in slices here. start() is called with the
   * breakpoints in its memory; it calls `stopped` once, when it stops (at one of them, or at the
   * program's end); halt() asks it to stop (gdb's interrupt), which it reports through `stopped`.
   */
  readonly freeRun?: FreeRun;
}

export interface FreeRun {
  start(breakpoints: ReadonlySet<number>, stopped: (stop: TargetStop) => void): void;
  halt(): void;
}
