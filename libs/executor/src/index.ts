// @vsim/executor: the cpu-node's executor (architecture §3, §4). A HostExecutor (host.ts) holds a
// host's VMs (vm.ts: memory, vCPUs, devices) and runs a run order: it advances the host's pCPUs
// together in virtual time, in lockstep quanta, until the order's horizon or the first
// unpredictable event, and reports; each vCPU runs on the runner of its VM's execution mode
// (runners/table.ts, keyed by ISA, technique and kind). CpuNodeService (service.ts) serves run
// orders from the bus.
// cross-isa.ts: what a VM of another ISA costs (emulation's expansion factors).

export { HostExecutor } from './host';
export type { HostConfig, TrapHandlers } from './host';
export type { ExecutionMode, SliceStop, VcpuRunner } from './runners/runner';
export { TECHNIQUES, TIMEBASE_HZ, VmInstance } from './vm';
export type { Technique, Vcpu, VmSetup } from './vm';
export { CpuNodeService } from './service';
export { SNAPSHOT_FORMAT, snapshotVm } from './snapshot/capture';
export type { SnapshotOptions } from './snapshot/capture';
export { restoreVm } from './snapshot/restore';
export type { RestoredVm } from './snapshot/restore';
export {
  BT_EXPANSION,
  DEFAULT_EXPANSION_FACTORS,
  ISAS as GUEST_ISAS,
  MEASURED_RATIO_TO_BT,
  defaultRv32Guest,
  expansionFor,
  makeExpansionFactors,
  runOnHost,
} from './cross-isa';
export type { CrossIsaGuest, CrossIsaRun, IsaName } from './cross-isa';
export { TRACE_FORMAT, TRACE_VERSION, TraceError, parseTrace, traceOf } from './replay/trace';
export type { DemandTrace, TraceOp, VcpuTrace, VmTrace } from './replay/trace';
export { extractTraces } from './replay/extract';
export { ReplayRunner } from './runners/replay';
