// A service's gRPC server: its control services plus the standard health service, bound to
// 127.0.0.1 on a port the OS picks (services never bind fixed ports by default; peers learn the
// port through NATS). shutdown() is the graceful half of a stop: health turns NOT_SERVING, then
// tryShutdown lets calls in flight finish, and forceShutdown ends whatever is left after `graceMs`.

import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as ServingStatus, HealthService, HealthStatus } from '@vsim/proto';

export interface GrpcServiceEntry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly definition: ServiceDefinition<any>;
  readonly implementation: UntypedServiceImplementation;
  /**
   * Who may call it when the service runs with credentials (runService guards it): 'control' (the
   * identities allowed to make control calls, i.e. the gateway) or 'api' (the gateway's clients).
   * Default 'control'.
   */
  readonly callers?: 'control' | 'api';
}

export interface GrpcServerHandle {
  readonly port: number;
  /** "host:port" as bound. */
  readonly address: string;
  readonly server: Server;
  readonly health: HealthStatus;
  /** NOT_SERVING, tryShutdown, forceShutdown after `graceMs` (default 5 s). Idempotent. */
  shutdown(graceMs?: number): Promise<'graceful' | 'forced'>;
}

/** The full service name of a generated definition, from its methods' paths ("/pkg.Service/Method"). */
export function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  const m = first && /^\/([^/]+)\//.exec(first.path);
  if (!m) throw new Error('cannot tell the service name of an empty service definition');
  return m[1];
}

export interface GrpcServerOptions {
  /** Default: insecure (loopback or a private network); TLS with @vsim/security's tlsServerCredentials. */
  readonly credentials?: ServerCredentials;
  /** Largest request accepted, in bytes. Default: grpc-js's 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
}

export async function startGrpcServer(
  services: readonly GrpcServiceEntry[],
  port = 0,
  host = '127.0.0.1',
  opts: GrpcServerOptions = {},
): Promise<GrpcServerHandle> {
  const server = new Server(
    opts.maxReceiveMessageBytes === undefined ? undefined : { 'grpc.max_receive_message_length': opts.maxReceiveMessageBytes },
  );
  const health = new HealthStatus();
  server.addService(HealthService, health.implementation);
  for (const s of services) {
    server.addService(s.definition, s.implementation);
    health.set(serviceNameOf(s.definition), ServingStatus.SERVING);
  }
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, opts.credentials ?? ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  let stopping: Promise<'graceful' | 'forced'> | undefined;
  return {
    port: bound,
    address: `${host}:${bound}`,
    server,
    health,
    shutdown: (graceMs = 5000) =>
      (stopping ??= new Promise((resolve) => {
        health.shutdown();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve('forced');
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve('graceful');
        });
      })),
  };
}
