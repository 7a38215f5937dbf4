// @vsim/vocabulary: the words every vsim package shares — ISAs, engines, techniques, VM kinds, trap
// paths, limits, the cost model's and the expansion factors' defaults, and the scheduling policies
// with their parameters. It depends on nothing (eslint's module boundaries enforce it), so any
// package, app or doc generator can import it.

export {
  DEPRECATED_VM_KINDS,
  ELF_MACHINES,
  ENGINE_NAMES,
  ISAS,
  RING32_ONLY_TECHNIQUES,
  RING32_TECHNIQUES,
  TECHNIQUES,
  TRAP_PATHS,
  VM_KINDS,
} from './machine';
export { WHOLE_MACHINE_TECHNIQUES, vmKindOf } from './machine';
export type { EngineName, IsaName, Technique, TrapPath, VmKind } from './machine';
export { MAX_PCPUS, MAX_SEED, MAX_VCPUS, MAX_VM_MEMORY_BYTES, PAGE_BYTES } from './limits';
export { COST_DEFAULTS, COST_DOCS, EXPANSION_DEFAULTS } from './costs';
export type { ExpansionFactors, HypervisorCosts } from './costs';
export { defaultsOf, describeRange, formatNs, paramProblem } from './params';
export type { ParamProblem, ParamSchema, ParamSpec, ValueOf } from './params';
export {
  COMMON_VM_SCHED_KEYS,
  CREDIT,
  CREDIT2,
  CREDIT2_RUNQUEUES,
  DEFAULT_WEIGHT,
  POLICIES,
  POLICY_DESCRIPTORS,
  ROUND_ROBIN,
  RTDS,
  SEDF,
} from './policies';
export { VM_SCHED_PARAMS, checkPolicyParams, checkVmParams, policyDescriptor, readersOf, unknownPolicy, vmParamDefault } from './policies';
export type { ParamsOf, Policy, PolicyDescriptor, VmSchedKey, XlCommand, XlFlag } from './policies';
export { EVENT_KINDS, EVENT_PATHS, SCHED_TRACE_POINTS, TRAP_ROUTES, schedTraceKind } from './events';
export type { EventKindName, EventPathName, SchedTracePoint, TrapRouteName } from './events';
