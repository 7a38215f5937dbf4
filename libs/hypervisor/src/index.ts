// @vsim/hypervisor: the hypervisor's trap logic as a library (architecture §5). A trap reaches the
// dispatcher (dispatcher.ts), which routes it to an interpreter routine (SBI, paravirtual hypercalls,
// trap-and-emulate, Linux system calls, illegal instructions) or to the allocator; the hypervisor
// service (service.ts) is the thin responder on vsim.<sim>.hv.trap around the same functions, and
// the cpu-node links them in for the split trap path. ring32/ is the teaching ISA's hypervisor:
// trap-and-emulate, code patching, binary translation, paravirt, and the diagnosis of why plain
// trap-and-emulate fails on it.

// The dispatcher and the trap service.
export { classify, handleTrap, memoryNeeded } from './dispatcher';
export { HypervisorService } from './service';
export type { DataPlaneHooks } from './service';
export { DEFAULT_HYPERVISOR_COSTS, makeHypervisorCosts } from './costs';
export type { HypervisorCosts } from './costs';
export type { VmRecord } from './routine';
// Virtual state the cpu-node keeps per vCPU and updates without a round trip.
export { VMODE_S, initialVirtualCpu, softwareExitArmed, timerExitArmed, withSoftwareInterrupt } from './trap-and-emulate';
export { PV_ABI_SYMBOL, PV_ABI_VERSION, SHARED_INFO, initialParavirtCpu, paravirtIpi } from './pv';
export { HSM_STATE, SBI_EXT, needsHartStates } from './sbi';
export { REDIRECT_ILLEGAL_NAME } from './illegal';
export { STORM_FUTILE_EXITS, TrapStormDetector } from './trap-storm';
// ring32.
export { Ring32Vm, runRing32 } from './ring32/vm';
export { RING32_TECHNIQUES } from './ring32/types';
export type { Ring32Exit, Ring32Outcome, Ring32Technique, Ring32VmOptions, Ring32VmResult } from './ring32/types';
export { handleRing32Trap, ring32MemoryNeeded } from './ring32/dispatcher';
export { diagnoseRing32 } from './ring32/diagnosis';
export { saveRing32Vm, loadRing32Vm } from './ring32/state';
export type { Ring32VmState } from './ring32/state';
export type { Ring32Diagnosis } from './ring32/diagnosis';
