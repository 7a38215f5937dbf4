// @vsim/scheduler: scheduling (architecture §4). The policies mirror Xen's (round-robin, Credit,
// Credit2, SEDF, RTDS, cpupools); a HostLoop (host-loop.ts) drives one host: it sends the host a run
// order, accounts the report, asks the policy for the next decision, and records metrics
// (metrics.ts). SchedulerService (service.ts) runs the loops of a simulation over the bus.

// The policies and the interface they implement.
export type { Decision, SchedTrace, SchedulerPolicy, VcpuRef, VmSchedParams } from './policy';
export { RoundRobinPolicy } from './round-robin';
export { CreditPolicy, CSCHED_DEFAULT_WEIGHT } from './credit';
export type { CreditOptions } from './credit';
export { Credit2Policy } from './credit2';
export type { Credit2Options } from './credit2';
export { SedfPolicy, SEDF_DEFAULT_PERIOD_NS, SEDF_DEFAULT_SLICE_NS } from './sedf';
export { RtdsPolicy, RTDS_DEFAULT_BUDGET_NS, RTDS_DEFAULT_PERIOD_NS } from './rtds';
export { CPUPOOLS_POLICY, hostPolicySpec } from './cpupool';
export type { HostPoolSpec } from './cpupool';
// One host's loop, a simulation's loops, and what they measure.
export { HostLoop } from './host-loop';
export type { HostLoopResult, LoopAction, LoopState, LoopVm, PlainLoopAction, RunHost, VcpuStats } from './host-loop';
export { NotFoundError, SchedulerService, loopActionsOf, makePolicy, schedulerOf } from './service';
export { POLICY_STATE_FORMAT } from './policy-state';
export type { PolicyStateData } from './policy-state';
export type { CpupoolState } from './cpupool';
// The policy registry (as Xen's REGISTER_SCHEDULER): each policy's vocabulary entry and constructor.
export { SCHEDULERS, isRegisteredPolicy, makeRegisteredPolicy, registeredScheduler } from './registry';
export type { PolicyRegistration } from './policy';
export type { HostHandover, PolicySpec, SchedulerObserver, SimAction } from './service';
// Checkpoints of a simulation's hosts, and what resume reads back (checkpoint.proto).
export { CHECKPOINT_FORMAT, DEFAULT_FULL_EVERY, Checkpointer, checkpointKeys, stateToJson } from './checkpointer';
// The scheduler's values at the edge (control.proto), shared by the control plane and the checkpoint manifest.
export { hostHandoverFrom, hostHandoverOf } from './handover-proto';
export { loopStateMessage, loopStateOf, vcpuFiguresMessage, vcpuFiguresOf } from './loop-state-proto';
export { vmSchedMessage, vmSchedParamsOf } from './proto-sched';
export { policyOfMessage, schedulerMessage, schedulerSpecOf, schedulerUpdateMessage } from './proto-scheduler';
export type { CheckpointConfig, CheckpointTaken } from './checkpointer';
export { hostSchedResult, jainIndex, latencySummary, newVcpuCounters, schedMetricsOf, vmSchedResult } from './metrics';
export type { HostSchedResult, LatencyStats, PcpuStats, VmSchedResult } from './metrics';
export { PLACEMENT_POLICIES, placeVmsOnHosts } from './placement';
export type { PlacementPolicy } from './placement';
// Live migration by pre-copy (issue 12 item 3).
export { DEFAULT_MIGRATION_RULE, Migrations, checkLink, transferNs } from './migration';
export type { MigrationRule, MigrationSpec, MigrationSummary, MigrationTransport, NetworkLink } from './migration';
export type { DetachedVcpu } from './host-loop';
// Load balancing by live migration (issue 12 item 4).
export { Balancer, checkBalancer } from './balancer';
export type { BalancerSpec } from './balancer';
