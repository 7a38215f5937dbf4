// THE description of a vsim deployment: nats-server (with JetStream), the gateway, the hypervisor,
// the scheduler and N cpu-nodes, each with its own identity (@vsim/security: a NATS user limited to
// its role's subjects, the tokens of the calls it makes and accepts). `vsim up` spawns it as local
// child processes (commands/up.ts) and `vsim compose` writes it as docker-compose.yml
// (deploy/compose.ts); both read only this list, so the two never drift apart. The secrets it
// refers to are generated outside the repository (`vsim secrets DIR`, or by `vsim up` itself).

/** Where the deployment runs: local child processes, or containers of docker-compose.yml. */
import { instanceIdentities } from '@vsim/security';

export type Target =
  | {
      readonly kind: 'local';
      readonly natsUrl: string;
      /** The secrets directory (deploymentSecretsSpec's identities, nats-server.conf). */
      readonly secretsDir: string;
      readonly httpPort?: number;
      /** The gateway's gRPC port (fixed, so a restarted gateway keeps its address). Default 0. */
      readonly gatewayGrpcPort?: number;
      /**
       * The name services advertise for their gRPC address (they bind 127.0.0.1). Default 127.0.0.1;
       * with TLS `localhost`: certificates name hosts, and TLS clients should not be given an IP
       * address as server name (RFC 6066; Node warns).
       */
      readonly advertiseHost?: string;
      /** Each service's Prometheus /metrics port, by service name (fixed, so a restart keeps it). */
      readonly metricsPorts?: Readonly<Record<string, number>>;
      /** The checkpoint store (a directory) the scheduler, cpu-nodes and gateway share (`vsim up --checkpoint-dir`). */
      readonly checkpointDir?: string;
    }
  | { readonly kind: 'compose' };

export interface ServiceDescription {
  /** Unique name: the compose service name, the log file name (`<name>.log`) of `vsim up`, its identity. */
  readonly name: string;
  /** The app under apps/ (undefined for nats, which is nats-server itself). */
  readonly app?: string;
  /** The name it registers on NATS under (undefined for nats). */
  readonly registersAs?: string;
  /** Arguments after serviceCommand(app) (for nats: nats-server's arguments). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Ports published to the host machine (container port = host port). */
  readonly ports: readonly number[];
  /** Where its GET /metrics listens (Prometheus; docs/metrics.md): a container port in compose. */
  readonly metricsPort?: number;
  /** Services that must be started first. */
  readonly dependsOn: readonly string[];
}

export const NATS_IMAGE = 'nats:2';
/** The gateway's HTTP API port in the compose deployment. */
export const COMPOSE_HTTP_PORT = 8080;
export const NATS_CLIENT_PORT = 4222;
/**
 * The gateway's gRPC port in the compose deployment, published on the host with NATS's client
 * port, so the CLI drives the stack from the host as it drives `vsim up`: `vsim run --nats
 * nats://127.0.0.1:4222 --credentials $VSIM_SECRETS/client.json` finds the gateway through NATS at
 * the address it advertises, 127.0.0.1:50051 (nothing inside the stack calls the gateway).
 */
export const COMPOSE_GATEWAY_GRPC_PORT = 50051;
/** Every service's /metrics port inside its container (the port of Prometheus exporters of Node). */
export const COMPOSE_METRICS_PORT = 9464;
export const DEFAULT_CPU_NODES = 2;
/** Where docker-compose.yml mounts the secrets directory ($VSIM_SECRETS on the host). */
export const COMPOSE_SECRETS_DIR = '/secrets';
/** JetStream's store inside the nats container. */
export const COMPOSE_JETSTREAM_DIR = '/data';

/**
 * `node apps/<app>/bin/vsim-<app>.js`, the command of every vsim service: its launcher runs the
 * compiled bundle (apps/<app>/dist/main.js, built by `npm run build`), or in a development tree
 * without one the sources through tsx (scripts/launch.js).
 */
export function serviceCommand(app: string): string[] {
  return ['node', `apps/${app}/bin/vsim-${app}.js`];
}

/** The cpu-nodes of a deployment: compose/log/identity name and node id. */
export function cpuNodesOf(cpuNodes: number): { identity: string; node: string }[] {
  if (!Number.isSafeInteger(cpuNodes) || cpuNodes < 1) throw new Error(`cpu-nodes must be a positive integer, got ${cpuNodes}`);
  return Array.from({ length: cpuNodes }, (_, i) => ({ identity: `cpu-node-${i + 1}`, node: `n${i + 1}` }));
}

/** Scheduler and hypervisor instances of a deployment (vsim up --schedulers/--hypervisors). Default 1 each. */
export interface Instances {
  readonly schedulers?: number;
  readonly hypervisors?: number;
}

/**
 * The names (compose service, log file, identity, --instance) of a deployment's schedulers and
 * hypervisors: scheduler, scheduler-2, ... (@vsim/security instanceIdentities).
 */
export function instanceNamesOf(instances: Instances = {}): { schedulers: string[]; hypervisors: string[] } {
  return {
    schedulers: instanceIdentities('scheduler', instances.schedulers ?? 1),
    hypervisors: instanceIdentities('hypervisor', instances.hypervisors ?? 1),
  };
}

export function describeDeployment(target: Target, cpuNodes = DEFAULT_CPU_NODES, instances: Instances = {}): ServiceDescription[] {
  const nodes = cpuNodesOf(cpuNodes);
  const { schedulers, hypervisors } = instanceNamesOf(instances);
  const compose = target.kind === 'compose';
  const natsUrl = compose ? `nats://nats:${NATS_CLIENT_PORT}` : target.natsUrl;
  const secrets = compose ? COMPOSE_SECRETS_DIR : target.secretsDir;
  const metricsPortOf = (name: string): number | undefined => (compose ? COMPOSE_METRICS_PORT : target.metricsPorts?.[name]);
  /** The flags every vsim service gets: where NATS is, its instance name and identity, where peers reach it, where it is scraped. */
  const common = (name: string, advertise = name): string[] => [
    '--nats',
    natsUrl,
    '--instance',
    name,
    '--secrets',
    `${secrets}/${name}.json`,
    ...(compose
      ? ['--grpc-host', '0.0.0.0', '--advertise-host', advertise]
      : ['--grpc-host', '127.0.0.1', ...(target.advertiseHost ? ['--advertise-host', target.advertiseHost] : [])]),
    ...(metricsPortOf(name) === undefined ? [] : ['--metrics-port', String(metricsPortOf(name))]),
  ];
  const env = { VSIM_LOG_LEVEL: 'info' };
  const checkpoints = !compose && target.checkpointDir !== undefined ? ['--checkpoint-dir', target.checkpointDir] : [];
  const deps = compose ? ['nats'] : [];
  const out: ServiceDescription[] = [
    {
      // Its configuration (users, permissions, JetStream, TLS) is generated with the secrets.
      name: 'nats',
      args: ['-c', `${secrets}/nats-server.conf`],
      env: {},
      // Published for the CLI on the host; every NATS user needs its credentials (no anonymous access).
      ports: compose ? [NATS_CLIENT_PORT] : [],
      dependsOn: [],
    },
  ];
  const service = (name: string, app: string, args: string[], more: Partial<ServiceDescription> = {}): ServiceDescription => ({
    name,
    app,
    registersAs: `vsim-${app}`,
    args,
    env,
    ports: [],
    dependsOn: deps,
    metricsPort: metricsPortOf(name),
    ...more,
  });
  for (const h of hypervisors) out.push(service(h, 'hypervisor', common(h)));
  for (const sc of schedulers) out.push(service(sc, 'scheduler', [...common(sc), ...checkpoints]));
  for (const n of nodes) {
    out.push(service(n.identity, 'cpu-node', [...common(n.identity), '--node-id', n.node, ...checkpoints]));
  }
  const httpPort = compose ? COMPOSE_HTTP_PORT : (target.httpPort ?? 0);
  out.push(
    service(
      'gateway',
      'gateway',
      [
        // Compose: clients on the host reach its published gRPC port at 127.0.0.1 (COMPOSE_GATEWAY_GRPC_PORT).
        ...common('gateway', '127.0.0.1'),
        '--http-port',
        String(httpPort),
        '--http-host',
        compose ? '0.0.0.0' : '127.0.0.1',
        ...(compose ? ['--grpc-port', String(COMPOSE_GATEWAY_GRPC_PORT)] : []),
        ...(!compose && target.gatewayGrpcPort ? ['--grpc-port', String(target.gatewayGrpcPort)] : []),
        ...checkpoints,
      ],
      {
        ports: compose ? [COMPOSE_HTTP_PORT, COMPOSE_GATEWAY_GRPC_PORT] : [],
        dependsOn: compose ? ['nats', ...hypervisors, ...schedulers, ...nodes.map((n) => n.identity)] : [],
      },
    ),
  );
  return out;
}
