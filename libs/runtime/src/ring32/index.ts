// ring32 guests under a hypervisor: the kernel's builds, the five techniques, code patching and
// the diagnosis of plain trap-and-emulate.

export type { Ring32KernelBuild } from './build';
export { buildRing32Kernel, preprocess as preprocessRing32, RING32_KERNEL_SOURCE } from './build';
export type { Ring32Technique, Ring32VmOptions, Ring32VmResult, Ring32Exit, CriticalObservation, VirtualRing32 } from './hypervisor';
export { Ring32Vm, runRing32, RING32_TECHNIQUES, KERNEL_RING as RING32_KERNEL_RING } from './hypervisor';
export type { PatchSite, PatchingStats } from './code-patching';
export { CodePatcher, SCAN_CYCLES_PER_INSTRUCTION } from './code-patching';
export { HC as RING32_HYPERCALLS, SH as RING32_SHARED_PAGE, PV_SHARED_SYMBOL as RING32_PV_SHARED_SYMBOL } from './paravirt';
export type { Ring32Diagnosis } from './diagnosis';
export { diagnoseRing32 } from './diagnosis';
export type { IsaName, CrossIsaGuest, CrossIsaRun } from './cross-isa';
export { ISAS as GUEST_ISAS, BT_EXPANSION, MEASURED_RATIO_TO_BT, DEFAULT_EXPANSION_FACTORS, makeExpansionFactors, expansionFor, runOnHost, defaultRv32Guest } from './cross-isa';
