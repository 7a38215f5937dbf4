// The control plane of a simulation (control.proto) as plain async interfaces: what the Coordinator
// calls to set a simulation up, run it and tear it down. The same interfaces are implemented by the
// services' logic (HypervisorControlImpl, ...), by an in-process adapter that calls that logic
// directly (`vsim run`), and by gRPC clients of the services running as separate processes.

import { status } from '@grpc/grpc-js';
import {
  Ack,
  AddActionRequest,
  AddHostRequest,
  AddVmRequest,
  AdoptRequest,
  HandoverState,
  OpenSimulationRequest,
  CreateHostRequest,
  CreateVmReply,
  CreateVmRequest,
  RegisterVmRequest,
  RestoreVmRequest,
  RunRequest,
  RunResult,
  SchedParams,
  ServiceStatus,
  SetSchedParamsRequest,
  SimulationRef,
  StatusRequest,
  SwapSchedulerRequest,
  MigrateVmRequest,
} from '@vsim/proto';

/** `T` with the fields `K` optional: fields added to a request later, which older callers leave out (their zero value). */
export type WithOptional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;
/** Requests as callers may give them (checkpoint and resume fields optional). */
export type RegisterVmCall = WithOptional<RegisterVmRequest, 'brk' | 'ended'>;
export type AddHostCall = WithOptional<AddHostRequest, 'resumeKey'>;
export type RunCall = WithOptional<RunRequest, 'checkpointIntervalNs' | 'checkpointSpecId'>;

/** HypervisorControl (control.proto). */
export interface HypervisorControl {
  openSimulation(req: OpenSimulationRequest): Promise<Ack>;
  registerVm(req: RegisterVmCall): Promise<Ack>;
  closeSimulation(req: SimulationRef): Promise<Ack>;
  status(req: StatusRequest): Promise<ServiceStatus>;
}

/** CpuNodeControl (control.proto). */
export interface CpuNodeControl {
  createHost(req: CreateHostRequest): Promise<Ack>;
  createVm(req: CreateVmRequest): Promise<CreateVmReply>;
  /** Resume: a VM from the snapshots of a checkpoint, in the node's checkpoint store. */
  restoreVm(req: RestoreVmRequest): Promise<CreateVmReply>;
  closeSimulation(req: SimulationRef): Promise<Ack>;
  status(req: StatusRequest): Promise<ServiceStatus>;
}

/** SchedulerControl (control.proto). */
export interface SchedulerControl {
  addHost(req: AddHostCall): Promise<Ack>;
  addVm(req: AddVmRequest): Promise<Ack>;
  addAction(req: AddActionRequest): Promise<Ack>;
  run(req: RunCall): Promise<RunResult>;
  pause(req: SimulationRef): Promise<Ack>;
  resume(req: SimulationRef): Promise<Ack>;
  /** Run time (`xl sched-*`, hot swap): effective at each host's next scheduling decision. */
  setSchedParams(req: SetSchedParamsRequest): Promise<Ack>;
  getSchedParams(req: SimulationRef): Promise<SchedParams>;
  swapScheduler(req: SwapSchedulerRequest): Promise<Ack>;
  migrateVm(req: MigrateVmRequest): Promise<Ack>;
  /** Handing a running simulation to another scheduler service (docs/scheduler-protocol.md §8). */
  handover(req: SimulationRef): Promise<HandoverState>;
  adopt(req: AdoptRequest): Promise<Ack>;
  closeSimulation(req: SimulationRef): Promise<Ack>;
  status(req: StatusRequest): Promise<ServiceStatus>;
}

/** Every control service a simulation needs: one hypervisor, cpu-nodes by node id, one scheduler. */
export interface ControlPlane {
  readonly hypervisor: HypervisorControl;
  readonly nodes: ReadonlyMap<string, CpuNodeControl>;
  readonly scheduler: SchedulerControl;
}

/** gRPC status codes, re-exported so callers need not import grpc-js to read a ControlError. */
export { status as ControlStatus };

/**
 * A control call failed. `code` is a gRPC status code (the Impl classes pick it; the gRPC server
 * sends it; the gRPC client adapter turns a failed call back into a ControlError with the status
 * message as `message`), so a failure reads the same in-process and across processes.
 */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly code: status,
    message: string,
    opts: { cause?: unknown; rpc?: string } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.rpc = opts.rpc;
  }

  /** The RPC that failed, when known (client side): e.g. "vsim.v1.CpuNodeControl/CreateVm". */
  readonly rpc?: string;
}

export function isControlError(err: unknown, code?: status): err is ControlError {
  return err instanceof ControlError && (code === undefined || err.code === code);
}

export const invalid = (msg: string): ControlError => new ControlError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): ControlError => new ControlError(status.NOT_FOUND, msg);
export const exists = (msg: string): ControlError => new ControlError(status.ALREADY_EXISTS, msg);
export const precondition = (msg: string): ControlError => new ControlError(status.FAILED_PRECONDITION, msg);

/**
 * The little a control implementation needs from a logger; a pino logger fits it. Errors go as
 * `{ err }`, context as child bindings (sim, host, vm).
 */
export interface ControlLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): ControlLogger;
}

/** Logs nothing: the default, and what `vsim run` uses. */
export const silentLogger: ControlLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** Identity and logging shared by the three control implementations. */
export interface ControlImplOptions {
  /** This process's instance name (Status reports it). Default: the service name. */
  readonly instance?: string;
  /** Version reported by Status. Default 0.1.0. */
  readonly version?: string;
  readonly log?: ControlLogger;
  /** More counters for Status, e.g. the service shell's refused (unauthenticated) calls. */
  readonly counters?: () => Readonly<Record<string, number>>;
}

/** Ids that become NATS subject tokens (simulations, hosts). */
const TOKEN_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** VM ids (they appear in "vm/vcpu" keys, never alone as subject tokens). */
const VM_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkSim(sim: string): string {
  if (!TOKEN_ID.test(sim)) throw invalid(`simulation id ${JSON.stringify(sim)} must be 1-64 characters of [A-Za-z0-9_-]`);
  return sim;
}

export function checkHostId(host: string): string {
  if (!TOKEN_ID.test(host)) throw invalid(`host id ${JSON.stringify(host)} must be 1-64 characters of [A-Za-z0-9_-]`);
  return host;
}

export function checkNodeId(node: string): string {
  if (!TOKEN_ID.test(node)) throw invalid(`node id ${JSON.stringify(node)} must be 1-64 characters of [A-Za-z0-9_-]`);
  return node;
}

export function checkVmId(vm: string): string {
  if (!VM_ID.test(vm)) throw invalid(`VM id ${JSON.stringify(vm)} must be 1-64 characters of [A-Za-z0-9_.-]`);
  return vm;
}

export function checkCount(what: string, n: number, max: number): number {
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalid(`${what} must be an integer in 1..${max}, got ${n}`);
  return n;
}

/** Adds counters: `into[k] += from[k]`. */
export function addCounters(into: Record<string, number>, from: Readonly<Record<string, number>>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}
