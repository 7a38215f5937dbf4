// @vsim/runtime: the simulation runtime. The services' logic lives here as libraries (apps are thin
// process shells around them), so one process can run them all on the in-process bus (`vsim run`)
// and separate processes can run them over NATS with the same code and the same messages.

export { subjects, checkSimId } from './subjects';
export { EventLog, EventStamper, compareEvents, eventJson, eventLine } from './events/log';
export { classify, handleTrap, memoryNeeded, MAX_WINDOW } from './hypervisor/dispatcher';
export type { Routine, VmRecord } from './hypervisor/dispatcher';
export { DEFAULT_HYPERVISOR_COSTS } from './hypervisor/costs';
export type { HypervisorCosts } from './hypervisor/costs';
export { SBI_EXT } from './hypervisor/sbi';
export { PV_ABI_SYMBOL, PV_ABI_VERSION, PV_EID, PV_OP, SHARED_INFO } from './hypervisor/pv';
export { HypervisorService } from './hypervisor/service';
export { HostExecutor } from './node/host';
export type { HostConfig, TrapHandlers } from './node/host';
export { VmInstance, TIMEBASE_HZ } from './node/vm';
export type { VmSetup, Vcpu } from './node/vm';
export { CpuNodeService } from './node/service';
export { HostLoop } from './scheduler/host-loop';
export type { HostLoopResult, VcpuStats, LoopVm } from './scheduler/host-loop';
export { idleWhileWaiting, jainIndex, latencyStats, latencySummary, percentile, schedMetricsOf } from './scheduler/metrics';
export type { HostSchedResult, LatencyStats, PcpuStats, VcpuSchedCounters, VcpuSchedResult, VmSchedResult } from './scheduler/metrics';
export { RoundRobinPolicy } from './scheduler/round-robin';
export { CreditPolicy } from './scheduler/credit';
export type { CreditOptions, CreditSnapshot } from './scheduler/credit';
export { SedfPolicy } from './scheduler/sedf';
export type { RealtimeSnapshot } from './scheduler/sedf';
export { RtdsPolicy } from './scheduler/rtds';
export { Credit2Policy, CREDIT2_RUNQUEUES, CSCHED2_CREDIT_INIT, CSCHED2_MAX_TIMER_NS, CSCHED2_MIN_TIMER_NS } from './scheduler/credit2';
export type { Credit2Options, Credit2Runqueue, Credit2Snapshot } from './scheduler/credit2';
export { readAffinity, allows as affinityAllows } from './scheduler/affinity';
export { CpupoolPolicy, CPUPOOLS_POLICY, DEFAULT_POOL, checkPools, hostPolicySpec, swapTarget } from './scheduler/cpupool';
export type { HostPoolSpec, PoolSetup } from './scheduler/cpupool';
export type { Affinity } from './scheduler/affinity';
export type { SchedulerPolicy, VcpuRef, VmSchedParams, Decision, SchedTrace } from './scheduler/policy';
export { SchedulerService, makePolicy } from './scheduler/service';
export type { PolicySpec, SimAction } from './scheduler/service';
export { summarize, placeVms, exitKey } from './simulation';
export type { SimSpec, HostSpec, VmSpec, SimResult, VmResult } from './simulation';
export { runEmbedded } from './embedded';
export type { EmbeddedOptions } from './embedded';
export type { DataPlaneHooks } from './hypervisor/service';
export { MAX_EVENTS_PER_BATCH } from './scheduler/service';
export * from './cluster';
// Test support (never used by production code).
export { twoHostSpec, GUEST_BIN } from './testing/specs';
export type { LoopAction } from './scheduler/host-loop';
export { simSpecFromScenario } from './from-scenario';
// ring32 guest kernels under a hypervisor (trap-and-emulate, code patching, binary translation, paravirt)
export * from './ring32';
export { checkVmImage } from './image-check';
export { HostEnds } from './host-ends';
export type { ImageVm } from './image-check';
