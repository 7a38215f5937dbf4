// Ways to reach the control plane:
// - inProcessControlPlane: the Impl objects themselves (they implement the async interfaces);
// - grpcControlPlane: clients of services in other processes, one per address, each call with a
//   deadline and failures turned back into ControlError (code = gRPC status, message = its details);
// - *ControlServer: the other side, an Impl behind the generated grpc-js server interface.

import {
  CallOptions,
  ChannelCredentials,
  ClientUnaryCall,
  Metadata,
  ServiceError,
  credentials,
  handleUnaryCall,
  sendUnaryData,
  status,
} from '@grpc/grpc-js';
import {
  AddHostRequest,
  RegisterVmRequest,
  RunRequest,
  CpuNodeControlClient,
  CpuNodeControlServer,
  HypervisorControlClient,
  HypervisorControlServer,
  SchedulerControlClient,
  SchedulerControlServer,
} from '@vsim/proto';
import { bearerMetadata } from '@vsim/security';
import { ControlError, ControlPlane, CpuNodeControl, HypervisorControl, SchedulerControl, isControlError } from './control-plane';
import { ShardedHypervisor } from './sharded-hypervisor';
import { ShardedScheduler } from './sharded-scheduler';

// ------------------------------------------------------------------------------------ in-process

/** A ControlPlane over objects in this process (e.g. the Impl classes); nodes keyed by `nodeId`. */
export function inProcessControlPlane(parts: {
  hypervisor: HypervisorControl;
  nodes: readonly (CpuNodeControl & { readonly nodeId: string })[];
  scheduler: SchedulerControl;
}): ControlPlane {
  const nodes = new Map<string, CpuNodeControl>();
  for (const n of parts.nodes) {
    if (nodes.has(n.nodeId)) throw new Error(`two cpu-nodes have node id ${n.nodeId}`);
    nodes.set(n.nodeId, n);
  }
  return { hypervisor: parts.hypervisor, nodes, scheduler: parts.scheduler };
}

// ------------------------------------------------------------------------------------ gRPC clients

export interface GrpcControlOptions {
  /** Deadline of every call but Run. Default 30 s. */
  readonly deadlineMs?: number;
  /** Deadline of SchedulerControl.Run, which lasts as long as the simulation. Default 1 h. */
  readonly runDeadlineMs?: number;
  /** Default: insecure (the services listen on loopback or a private network). */
  readonly credentials?: ChannelCredentials;
  /** The caller's control token (@vsim/security), sent as `authorization: Bearer` with every call. */
  readonly token?: string;
}

/** gRPC addresses ("host:port") of the services a simulation uses; nodes by node id. */
export interface GrpcEndpoints {
  readonly hypervisor: string;
  readonly scheduler: string;
  /**
   * Several scheduler instances sharing the simulation's hosts (sharded-scheduler.ts), `scheduler`
   * among them; absent or one: `scheduler` alone drives every host.
   */
  readonly schedulers?: readonly string[];
  /** Several hypervisor instances sharing the simulation's traps by cpu-node (sharded-hypervisor.ts). */
  readonly hypervisors?: readonly string[];
  readonly nodes: ReadonlyMap<string, string>;
}

export interface GrpcControlPlane extends ControlPlane {
  /** Closes every client channel. */
  close(): void;
}

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/** A promise-returning call with a deadline; a failure becomes a ControlError with the status message. */
function unary<Req, Res>(rpc: string, target: string, method: UnaryMethod<Req, Res>, deadlineMs: number, token?: string): (req: Req) => Promise<Res> {
  return (req) =>
    new Promise<Res>((resolve, reject) => {
      method(req, bearerMetadata(token), { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) reject(controlErrorOf(err, rpc, target, deadlineMs));
        else resolve(res);
      });
    });
}

/** A grpc-js ServiceError as a ControlError: the status code, and the status message as message. */
export function controlErrorOf(err: ServiceError, rpc: string, target: string, deadlineMs?: number): ControlError {
  const details = err.details || err.message;
  const message =
    err.code === status.DEADLINE_EXCEEDED && deadlineMs !== undefined
      ? `${details} (${rpc} at ${target}, deadline ${deadlineMs} ms)`
      : err.code === status.UNAVAILABLE
        ? `${details} (${rpc} at ${target})`
        : details;
  return new ControlError(err.code, message, { cause: err, rpc });
}

export function hypervisorControlClient(address: string, opts: GrpcControlOptions = {}): HypervisorControl & { close(): void } {
  const c = new HypervisorControlClient(address, opts.credentials ?? credentials.createInsecure());
  const d = opts.deadlineMs ?? 30_000;
  const rpc = (m: string) => `vsim.v1.HypervisorControl/${m}`;
  return {
    openSimulation: unary(rpc('OpenSimulation'), address, c.openSimulation.bind(c), d, opts.token),
    registerVm: (req) => unary(rpc('RegisterVm'), address, c.registerVm.bind(c), d, opts.token)(RegisterVmRequest.fromPartial(req)),
    closeSimulation: unary(rpc('CloseSimulation'), address, c.closeSimulation.bind(c), d, opts.token),
    status: unary(rpc('Status'), address, c.status.bind(c), d, opts.token),
    close: () => c.close(),
  };
}

export function cpuNodeControlClient(address: string, opts: GrpcControlOptions = {}): CpuNodeControl & { close(): void } {
  const c = new CpuNodeControlClient(address, opts.credentials ?? credentials.createInsecure());
  const d = opts.deadlineMs ?? 30_000;
  const rpc = (m: string) => `vsim.v1.CpuNodeControl/${m}`;
  return {
    createHost: unary(rpc('CreateHost'), address, c.createHost.bind(c), d, opts.token),
    createVm: unary(rpc('CreateVm'), address, c.createVm.bind(c), d, opts.token),
    restoreVm: unary(rpc('RestoreVm'), address, c.restoreVm.bind(c), d, opts.token),
    closeSimulation: unary(rpc('CloseSimulation'), address, c.closeSimulation.bind(c), d, opts.token),
    status: unary(rpc('Status'), address, c.status.bind(c), d, opts.token),
    close: () => c.close(),
  };
}

export function schedulerControlClient(address: string, opts: GrpcControlOptions = {}): SchedulerControl & { close(): void } {
  const c = new SchedulerControlClient(address, opts.credentials ?? credentials.createInsecure());
  const d = opts.deadlineMs ?? 30_000;
  const rpc = (m: string) => `vsim.v1.SchedulerControl/${m}`;
  return {
    addHost: (req) => unary(rpc('AddHost'), address, c.addHost.bind(c), d, opts.token)(AddHostRequest.fromPartial(req)),
    addVm: unary(rpc('AddVm'), address, c.addVm.bind(c), d, opts.token),
    addAction: unary(rpc('AddAction'), address, c.addAction.bind(c), d, opts.token),
    run: (req) => unary(rpc('Run'), address, c.run.bind(c), opts.runDeadlineMs ?? 3_600_000, opts.token)(RunRequest.fromPartial(req)),
    pause: unary(rpc('Pause'), address, c.pause.bind(c), d, opts.token),
    resume: unary(rpc('Resume'), address, c.resume.bind(c), d, opts.token),
    setSchedParams: unary(rpc('SetSchedParams'), address, c.setSchedParams.bind(c), d, opts.token),
    getSchedParams: unary(rpc('GetSchedParams'), address, c.getSchedParams.bind(c), d, opts.token),
    swapScheduler: unary(rpc('SwapScheduler'), address, c.swapScheduler.bind(c), d, opts.token),
    migrateVm: unary(rpc('MigrateVm'), address, c.migrateVm.bind(c), d, opts.token),
    handover: unary(rpc('Handover'), address, c.handover.bind(c), d, opts.token),
    adopt: unary(rpc('Adopt'), address, c.adopt.bind(c), d, opts.token),
    closeSimulation: unary(rpc('CloseSimulation'), address, c.closeSimulation.bind(c), d, opts.token),
    status: unary(rpc('Status'), address, c.status.bind(c), d, opts.token),
    close: () => c.close(),
  };
}

/** A ControlPlane of gRPC clients to services in other processes. */
export function grpcControlPlane(ep: GrpcEndpoints, opts: GrpcControlOptions = {}): GrpcControlPlane {
  const hvs = (ep.hypervisors?.length ?? 0) > 1 ? ep.hypervisors!.map((a) => hypervisorControlClient(a, opts)) : [];
  const hypervisor = hvs.length > 1 ? new ShardedHypervisor(hvs, ep.nodes.keys()) : hypervisorControlClient(ep.hypervisor, opts);
  const instances = (ep.schedulers?.length ?? 0) > 1 ? ep.schedulers!.map((a) => schedulerControlClient(a, opts)) : [];
  const scheduler = instances.length > 1 ? new ShardedScheduler(instances) : schedulerControlClient(ep.scheduler, opts);
  const nodes = new Map([...ep.nodes].map(([id, address]) => [id, cpuNodeControlClient(address, opts)]));
  return {
    hypervisor,
    scheduler,
    nodes,
    close: () => {
      if (hypervisor instanceof ShardedHypervisor) for (const c of hvs) c.close();
      else hypervisor.close();
      if (scheduler instanceof ShardedScheduler) for (const c of instances) c.close();
      else scheduler.close();
      for (const n of nodes.values()) n.close();
    },
  };
}

// ------------------------------------------------------------------------------------ gRPC servers

/** Called with every failed call (for the service's log). */
export type RpcErrorHook = (rpc: string, err: unknown) => void;

function handler<Req, Res>(rpc: string, f: (req: Req) => Promise<Res>, onError?: RpcErrorHook): handleUnaryCall<Req, Res> {
  return (call, callback: sendUnaryData<Res>) => {
    f(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => {
        onError?.(rpc, err);
        // A ControlError keeps its code; anything else is a bug or an unexpected failure: INTERNAL.
        const code = isControlError(err) ? err.code : status.INTERNAL;
        const details = (err instanceof Error ? err.message : String(err)).replace(/[\r\n]+/g, ' ');
        callback({ code, details });
      },
    );
  };
}

export function hypervisorControlServer(impl: HypervisorControl, onError?: RpcErrorHook): HypervisorControlServer {
  return {
    openSimulation: handler('OpenSimulation', (r) => impl.openSimulation(r), onError),
    registerVm: handler('RegisterVm', (r) => impl.registerVm(r), onError),
    closeSimulation: handler('CloseSimulation', (r) => impl.closeSimulation(r), onError),
    status: handler('Status', (r) => impl.status(r), onError),
  };
}

export function cpuNodeControlServer(impl: CpuNodeControl, onError?: RpcErrorHook): CpuNodeControlServer {
  return {
    createHost: handler('CreateHost', (r) => impl.createHost(r), onError),
    createVm: handler('CreateVm', (r) => impl.createVm(r), onError),
    restoreVm: handler('RestoreVm', (r) => impl.restoreVm(r), onError),
    closeSimulation: handler('CloseSimulation', (r) => impl.closeSimulation(r), onError),
    status: handler('Status', (r) => impl.status(r), onError),
  };
}

export function schedulerControlServer(impl: SchedulerControl, onError?: RpcErrorHook): SchedulerControlServer {
  return {
    addHost: handler('AddHost', (r) => impl.addHost(r), onError),
    addVm: handler('AddVm', (r) => impl.addVm(r), onError),
    addAction: handler('AddAction', (r) => impl.addAction(r), onError),
    run: handler('Run', (r) => impl.run(r), onError),
    pause: handler('Pause', (r) => impl.pause(r), onError),
    resume: handler('Resume', (r) => impl.resume(r), onError),
    setSchedParams: handler('SetSchedParams', (r) => impl.setSchedParams(r), onError),
    getSchedParams: handler('GetSchedParams', (r) => impl.getSchedParams(r), onError),
    swapScheduler: handler('SwapScheduler', (r) => impl.swapScheduler(r), onError),
    migrateVm: handler('MigrateVm', (r) => impl.migrateVm(r), onError),
    handover: handler('Handover', (r) => impl.handover(r), onError),
    adopt: handler('Adopt', (r) => impl.adopt(r), onError),
    closeSimulation: handler('CloseSimulation', (r) => impl.closeSimulation(r), onError),
    status: handler('Status', (r) => impl.status(r), onError),
  };
}
