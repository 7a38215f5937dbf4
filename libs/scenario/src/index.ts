// @vsim/scenario: the scenario file format (architecture §9) — a YAML description of one simulation
// run (hosts, VMs, scheduler, duration, timed actions), its validator and its generated reference.

export type {
  Action,
  ActionKind,
  CreditAccounting,
  CostsSpec,
  CreditParams,
  Credit2Params,
  Credit2Runqueue,
  EngineName,
  HostIsa,
  HostSpec,
  NoParams,
  PoolSpec,
  Policy,
  RoundRobinParams,
  Scenario,
  SchedulerSpec,
  Technique,
  TrapPath,
  VmKind,
  VmSchedSpec,
  VmSchedUpdate,
  VmSpec,
  VmIsa,
  ExpansionSpec,
} from './types';
export { ELF_MACHINES, VM_ISAS } from './types';
export { CREDIT_ACCOUNTING, CREDIT2_RUNQUEUES, HOST_ISAS, POLICIES, TECHNIQUES, TRAP_PATHS, VM_KINDS } from './types';
export { COST_DEFAULTS, EXPANSION_DEFAULTS } from './format';
export type { ParseOptions } from './validate';
export { loadScenario, parseScenario } from './validate';
export type { ScenarioIssue } from './errors';
export { ScenarioError, formatIssues } from './errors';
export { describeScenarioFormat } from './describe';
export type { Parsed } from './units';
export { formatFrequency, formatSize, formatTime, parseFrequency, parseSize, parseTime } from './units';
