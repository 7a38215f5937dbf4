// Control planes and the Coordinator: how a simulation is set up, run and collected, in one process
// or across processes.
export {
  ControlError, ControlStatus, isControlError, silentLogger,
} from './control';
export type {
  ControlImplOptions, ControlLogger, ControlPlane, CpuNodeControl, HypervisorControl, SchedulerControl,
} from './control';
export { HypervisorControlImpl } from './hypervisor';
export type { HypervisorControlOptions } from './hypervisor';
export { CPU_NODE_MAX_MESSAGE_BYTES, CpuNodeControlImpl, MAX_IMAGE_BYTES, MAX_PCPUS, MAX_VCPUS, MAX_VM_MEMORY_BYTES } from './cpu-node';
export type { CpuNodeControlOptions } from './cpu-node';
export { SchedulerControlImpl, hostResultOf } from './scheduler';
export {
  controlErrorOf, cpuNodeControlClient, cpuNodeControlServer, grpcControlPlane, hypervisorControlClient,
  hypervisorControlServer, inProcessControlPlane, schedulerControlClient, schedulerControlServer,
} from './adapters';
export type { GrpcControlOptions, GrpcControlPlane, GrpcEndpoints, RpcErrorHook } from './adapters';
export { Coordinator, assignHosts, checkSpec } from './coordinator';
export type { CoordinatedRun, CoordinatorOptions } from './coordinator';
