// @vsim/control: the control plane of a simulation (architecture §8, §9). The Coordinator
// (coordinator.ts) sets a simulation up through the three services' control APIs (control.proto),
// runs it and collects the merged event log and the results (simulation.ts). The same interfaces
// (control-plane.ts) are served by the services' control logic (*-control.ts), called directly in
// one process (embedded.ts: `vsim run`) or over gRPC (grpc-adapters.ts) across processes.

export { DRAIN_LIMIT_MS, Drain } from './drain';
export { ControlError, ControlStatus, isControlError, silentLogger } from './control-plane';
export type { ControlImplOptions, ControlLogger, ControlPlane, CpuNodeControl, HypervisorControl, SchedulerControl } from './control-plane';
export { HypervisorControlImpl } from './hypervisor-control';
export type { HypervisorControlOptions } from './hypervisor-control';
export { CPU_NODE_MAX_MESSAGE_BYTES, CpuNodeControlImpl, MAX_IMAGE_BYTES, MAX_PCPUS, MAX_VCPUS, MAX_VM_MEMORY_BYTES } from './cpu-node-control';
export type { CpuNodeControlOptions } from './cpu-node-control';
export { SchedulerControlImpl } from './scheduler-control';
// The converters live with the scheduler (libs/scheduler: the checkpoint manifest uses them too).
export { hostHandoverOf, loopStateMessage, loopStateOf, vcpuFiguresMessage, vcpuFiguresOf } from '@vsim/scheduler';
export { hostHandoverFrom } from './handover';
export type { SchedulerControlOptions } from './scheduler-control';
export {
  cpuNodeControlClient,
  cpuNodeControlServer,
  grpcControlPlane,
  hypervisorControlClient,
  hypervisorControlServer,
  schedulerControlClient,
  schedulerControlServer,
} from './grpc-adapters';
export type { GrpcControlOptions, GrpcControlPlane, GrpcEndpoints, RpcErrorHook } from './grpc-adapters';
export { Coordinator } from './coordinator';
export { ShardedScheduler } from './sharded-scheduler';
export { ShardedHypervisor } from './sharded-hypervisor';
export { PLACEMENT_POLICIES, assignHosts, placementPolicyOf, vmsPerHost } from './placement';
export type { HostToPlace, NodeLoad, PlacementOptions, PlacementPolicy } from './placement';
export type { CoordinatedRun, CoordinatorOptions } from './coordinator';
export { migrationsOf, summarize } from './simulation';
export { DEFAULT_NETWORK, linkFor } from './migration/params';
// Live migration and the balancer at the edge: domain values <-> MigrationParams / BalancerParams messages.
export {
  balancerMessage,
  balancerParamsOf,
  migrationMessage,
  migrationOverridesOfPlain,
  migrationParamsOf,
  withScenarioLink,
} from './proto-migration';
export type { BalancerParams, MigrationParams, NetworkSpec } from './migration/params';
export type { HostSpec, SimResult, SimSpec, VmResult, VmSpec } from './simulation';
export { runEmbedded } from './embedded';
export type { EmbeddedOptions } from './embedded';
export { simSpecFromScenario } from './from-scenario';
export { checkVmImage } from './image-check';
export type { ImageVm } from './image-check';
export { HostEnds } from './host-ends';
// Scheduling parameters at the edge: the plain record the policies read <-> the VmSchedParams message.
export { vmSchedMessage, vmSchedParamsOf } from '@vsim/scheduler';
// A scheduler's parameters (SchedulerParams) and a run's results (SimulationResult) at the edge.
export { policyOfMessage, schedulerMessage, schedulerSpecOf, schedulerUpdateMessage } from '@vsim/scheduler';
export { simResultOf, simulationResultMessage } from './proto-result';
// Trace-driven VMs (docs/replay.md): an event log's demand traces, for `vsim trace extract`.
export { TRACE_FORMAT, TRACE_VERSION, extractTraces, parseTrace } from '@vsim/executor';
export type { DemandTrace } from '@vsim/executor';
