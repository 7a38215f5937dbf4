// The process shell of a vsim service, shared by apps/*: flags, logger, NATS connection, the gRPC
// control server with health, registration on NATS, one `ready` log line, and a graceful stop on
// SIGTERM/SIGINT. An app supplies only its name and a `build` function that wires its logic.

import { NatsBus } from '@vsim/bus';
import { MetricsServer, ServiceMetrics, startMetricsServer } from '@vsim/metrics';
import type { Service } from '@nats-io/services';
import { Identity, guardService, natsConnectionOptions, readIdentity, tlsServerCredentials } from '@vsim/security';
import { GrpcServerHandle, GrpcServiceEntry, startGrpcServer } from './grpc';
import { FlagError, FlagSpec, CommonFlags, parseFlags, usage } from './flags';
import { Logger, createLogger } from './logger';
import { registerService } from './registry';
import { heartbeatSubject, startHeartbeat } from './heartbeat';
import { onShutdown } from './shutdown';

export interface ServiceContext {
  readonly bus: NatsBus;
  readonly log: Logger;
  readonly flags: CommonFlags;
  /** The service's own flags (see ServiceDefinition.flags). */
  readonly extra: Readonly<Record<string, string>>;
  readonly version: string;
  /** Who this process is (--secrets), or undefined when it runs without credentials. */
  readonly identity?: Identity;
  /**
   * The shell's own counters, for the service's Status: `refusedCalls` (gRPC calls without an
   * accepted token, refused before any handler ran).
   */
  readonly shellCounters: Record<string, number>;
  /** The process's Prometheus metrics (GET /metrics); a service adds its own (docs/metrics.md). */
  readonly metrics: ServiceMetrics;
}

export interface ServiceParts {
  readonly grpc: readonly GrpcServiceEntry[];
  /** More registration metadata (e.g. a cpu-node's `node` id, the gateway's `http` address). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** More fields for the `ready` line. */
  readonly ready?: Readonly<Record<string, unknown>>;
  /** First step of a graceful stop, after deregistration: stop taking work (e.g. close an HTTP listener). */
  readonly beforeStop?: () => Promise<void> | void;
  /**
   * A graceful stop's wait for the service's current work (after deregistration, before the gRPC
   * server stops: the work's own control calls still arrive): resolves true once it is done, false
   * if it gave up. Meanwhile the service heartbeats `draining`.
   */
  readonly finishWork?: () => Promise<boolean>;
  /** After the gRPC server stopped, before NATS drains. */
  readonly afterStop?: () => Promise<void> | void;
  /**
   * The service keeps its simulations' state where a process restarted under the same instance name
   * finds it (the hypervisor with JetStream): its heartbeat says so, and the gateway then waits for
   * that replacement instead of failing the runs when this process is lost.
   */
  readonly recoverable?: boolean;
  /** Largest gRPC request accepted (e.g. a cpu-node's CreateVm with its image). Default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
}

export interface ServiceDefinition {
  /** Short name, the `service` field of every log line, e.g. "cpu-node". */
  readonly service: string;
  /** Name registered on NATS, e.g. "vsim-cpu-node". */
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly flags?: readonly FlagSpec[];
  /** The role its identity file must have (@vsim/security): 'cpu-node', 'gateway', ... */
  readonly role: Identity['role'];
  build(ctx: ServiceContext): Promise<ServiceParts> | ServiceParts;
}

export interface RunningService {
  readonly ctx: ServiceContext;
  readonly grpc: GrpcServerHandle;
  readonly registration: Service;
  readonly metricsServer: MetricsServer;
  /** The graceful stop (what the first SIGTERM runs). Idempotent. */
  stop(): Promise<void>;
}

/** gRPC calls in flight get this long to finish on a graceful stop before they are cut. */
export const GRPC_GRACE_MS = 5000;
/** The whole graceful stop, finishing the current work included (its own limit is 5 min). */
export const SHUTDOWN_LIMIT_MS = 330_000;

/**
 * Starts the service, or prints usage and exits (2 on bad flags, 0 on --help), or exits 1 if it
 * cannot start (e.g. NATS unreachable). Resolves once it is registered and has logged `ready`.
 */
export async function runService(def: ServiceDefinition, argv: readonly string[] = process.argv.slice(2)): Promise<RunningService> {
  let parsed;
  try {
    parsed = parseFlags(def.service, argv, def.flags ?? []);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`${def.name}: ${err.message}\n\n${usage(def.name, def.flags)}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(`${def.description}\n\n${usage(def.name, def.flags)}\n`);
    process.exit(0);
  }
  const { common: flags, extra } = parsed;
  const log = createLogger(def.service, flags.instance, { level: flags.logLevel });
  try {
    return await start(def, flags, extra, log);
  } catch (err) {
    log.fatal({ err }, 'could not start');
    process.exit(1);
  }
}

async function start(def: ServiceDefinition, flags: CommonFlags, extra: Readonly<Record<string, string>>, log: Logger): Promise<RunningService> {
  const identity = flags.secrets === undefined ? undefined : readIdentity(flags.secrets);
  if (identity && identity.role !== def.role)
    throw new Error(`${flags.secrets} is the identity of a ${identity.role} (${identity.identity}), not of a ${def.role}`);
  if (!identity)
    log.warn(
      'no --secrets: running without credentials (anyone who reaches NATS or the gRPC port can act as any service); vsim up and docker-compose.yml always give one',
    );
  const metrics = new ServiceMetrics({ service: def.service, instance: flags.instance, version: def.version });
  const bus = await NatsBus.connect({
    servers: flags.nats
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    name: `${def.name}/${flags.instance}`,
    onError: (err, subject) => log.error({ err, subject }, 'bus handler failed'),
    connection: identity ? natsConnectionOptions(identity) : undefined,
    observer: metrics.bus,
  });
  // Outages are logged both ways; nats.js reconnects on its own (RECONNECT_OPTIONS), and requests in
  // flight are resent once it has (the data plane's retries).
  bus.onConnection((e) =>
    e.type === 'disconnect'
      ? log.warn({ natsServer: e.server }, 'NATS disconnected: reconnecting')
      : log.info({ natsServer: e.server, downMs: e.downMs }, 'NATS reconnected'),
  );
  const shellCounters = { refusedCalls: 0 };
  const ctx: ServiceContext = { bus, log, flags, extra, version: def.version, identity, shellCounters, metrics };
  const parts = await def.build(ctx);
  const services = identity
    ? parts.grpc.map((s) => ({
        ...s,
        implementation: guardService(s.definition, s.implementation, s.callers === 'api' ? identity.acceptApi : identity.acceptControl, (r) => {
          shellCounters.refusedCalls++;
          log.warn({ rpc: r.rpc, reason: r.reason, peer: r.peer }, 'gRPC call refused: not authenticated');
        }),
      }))
    : parts.grpc;
  const grpc = await startGrpcServer(services, flags.grpcPort, flags.grpcHost, {
    credentials: identity?.tls ? tlsServerCredentials(identity.tls) : undefined,
    maxReceiveMessageBytes: parts.maxReceiveMessageBytes,
  });
  const grpcAddress = `${flags.advertiseHost}:${grpc.port}`;
  const metricsServer = await startMetricsServer(metrics, flags.metricsPort, flags.metricsHost, (err) =>
    log.warn({ err }, 'metrics collection failed'),
  );
  const registration = await registerService(bus.nc, {
    name: def.name,
    version: def.version,
    description: def.description,
    metadata: {
      ...parts.metadata,
      grpc: grpcAddress,
      instance: flags.instance,
      metrics: `${flags.advertiseHost}:${metricsServer.port}`,
    },
  });
  let draining = false;
  const started = Date.now();
  const stopHeartbeat = startHeartbeat(bus, heartbeatSubject(def.role, parts.metadata?.node ?? flags.instance), () => ({
    service: def.service,
    instance: flags.instance,
    grpc: grpcAddress,
    ...(parts.metadata?.node ? { node: parts.metadata.node } : {}),
    started,
    draining,
    ...(parts.recoverable ? { recoverable: true } : {}),
  }));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // 1. Stop taking work: peers no longer discover us, health says NOT_SERVING.
      draining = true;
      await registration.stop().catch((err: unknown) => log.warn({ err }, 'deregistration failed'));
      await parts.beforeStop?.();
      // 2. Finish the current work (the simulations this service takes part in).
      if (parts.finishWork) {
        log.info('finishing current work before stopping');
        const t0 = Date.now();
        const done = await parts.finishWork();
        if (done) log.info({ waitedMs: Date.now() - t0 }, 'current work finished');
        else log.warn({ waitedMs: Date.now() - t0 }, 'current work not finished in time: stopping anyway');
      }
      // 2. Let control calls in flight finish (or cut them after the grace period).
      const how = await grpc.shutdown(GRPC_GRACE_MS);
      if (how === 'forced') log.warn({ graceMs: GRPC_GRACE_MS }, 'gRPC calls still running were cut');
      await parts.afterStop?.();
      await metricsServer.close();
      // 3. Let data-plane handlers in flight reply, then close.
      stopHeartbeat();
      await bus.drain();
    })());
  // Losing NATS for good (the client gave up reconnecting) leaves nothing to serve.
  void bus.nc.closed().then((err) => {
    if (stopping) return;
    log.fatal({ err }, 'NATS connection closed');
    process.exit(1);
  });
  onShutdown(stop, { log, timeoutMs: SHUTDOWN_LIMIT_MS });
  log.info(
    {
      grpc: grpc.address,
      grpcPort: grpc.port,
      metrics: metricsServer.address,
      nats: flags.nats,
      name: def.name,
      version: def.version,
      identity: identity?.identity ?? null,
      tls: identity?.tls !== undefined,
      ...parts.ready,
    },
    'ready',
  );
  return { ctx, grpc, registration, metricsServer, stop };
}
