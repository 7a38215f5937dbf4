// What the hypervisor's work costs in virtual cycles, on top of the guest instructions around it.
//
// The exit figure is a VM exit plus re-entry on hardware-assisted virtualization: Adams & Agesen
// (ASPLOS 2006) measured ~1,000-2,000 cycles for a VT-x round trip on the first implementations;
// later silicon brought it to a few hundred (Intel SDM latencies, KVM's vmexit microbenchmarks).
// vsim's default sits in that range. Handler costs are the software work of the routine itself.

export interface HypervisorCosts {
  /** Leaving the guest and coming back (VM exit + entry). */
  readonly exit: number;
  /** An SBI call whose routine does almost nothing (probe, version). */
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
}

export const DEFAULT_HYPERVISOR_COSTS: HypervisorCosts = {
  exit: 1000,
  sbiSimple: 50,
  setTimer: 100,
  consoleWrite: 200,
  consolePerByte: 10,
  syscall: 150,
  allocator: 5000,
};
