// The public shapes of a ring32 VM run (vm.ts): its options, what it reports per exit, its result.

import type { EngineName } from '@vsim/isa';
import { RING32_TECHNIQUES } from '@vsim/vocabulary';
import type { HypervisorCosts } from '../costs';
import type { PatchingStats } from './code-patching';

export { RING32_TECHNIQUES };
export type Ring32Technique = (typeof RING32_TECHNIQUES)[number];

export interface Ring32VmOptions {
  readonly technique: Ring32Technique;
  /** Engine for native, trap-and-emulate, code-patching and paravirt (binary translation always uses 'bt'). */
  readonly engine?: EngineName;
  readonly costs?: HypervisorCosts;
  /**
   * Trap-and-emulate only: run on the translator with each critical instruction of the kernel
   * executed exactly as the hardware does, but observed (what diagnose() reports).
   */
  readonly observeCritical?: boolean;
  readonly ramSize?: number;
  /**
   * Host instructions per guest instruction when the host emulates this VM's ISA (cross-isa.ts):
   * the cycles the guest spends on the engine are multiplied by it. Default 1 (direct execution).
   */
  readonly expansion?: number;
  /**
   * Code patching only: scan code first reached at run time (default true). Off, the kernel's code
   * behind computed jumps runs unpatched — to show that the static scan alone is not enough.
   */
  readonly lazyPatching?: boolean;
  /** Timer ticks every this many cycles (default 100: a 1 GHz pCPU and the 10 MHz timer). */
  readonly cyclesPerTick?: number;
  /**
   * Called for each exit to the hypervisor and each call from translated code, after its
   * resolution was applied (a host logs them: libs/executor/src/runners/ring32.ts). `cost` is what
   * the hypervisor's work added to the vCPU's cycles.
   */
  readonly onExit?: (e: Ring32Exit) => void;
}

/** One exit (or call from translated code) and the routine the dispatcher sent it to. */
export interface Ring32Exit {
  /** The routine, e.g. 'r32.mtcr.timecmp', 'r32.patch.pushf', 'r32.hcall.console', 'r32.inject.syscall'. */
  readonly name: string;
  /** 'exit': the guest trapped; 'translated': translated code called the routine directly (no exit). */
  readonly via: 'exit' | 'translated';
  /** The exit was resolved by the hypervisor service over the bus (trapPath remote), not in-process. */
  readonly remote: boolean;
  /** The hardware cause (Ring32Cause, or Ring32Irq for an interrupt); -1 for a translated call. */
  readonly cause: number;
  readonly interrupt: boolean;
  readonly cost: number;
}

/** A critical instruction of the deprivileged kernel whose effect differed from what ring 0 would have done. */
export interface CriticalObservation {
  readonly pc: number;
  readonly name: string;
  readonly effect: string;
  count: number;
}

/** How a slice of the VM ended: its budget ran out, HLT waits for the timer, it powered off, it faulted. */
export type Ring32Outcome = 'budget' | 'wfi' | 'exit' | 'fault';

export interface Ring32VmResult {
  readonly technique: Ring32Technique;
  readonly outcome: 'exit' | 'deadlock' | 'budget' | 'fault';
  readonly exitCode: number | null;
  readonly console: string;
  readonly instructions: number;
  readonly cycles: number;
  /** Exits to the hypervisor by routine. */
  readonly exits: Record<string, number>;
  /** Calls from translated code by routine (binary translation). */
  readonly translatedCalls: Record<string, number>;
  readonly hypercalls: number;
  readonly patching?: PatchingStats;
  readonly critical: CriticalObservation[];
  readonly fault?: string;
}
