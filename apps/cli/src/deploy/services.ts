// THE description of a vsim deployment: nats-server (with JetStream), the gateway, the hypervisor,
// the scheduler and N cpu-nodes. `vsim up` spawns it as local child processes
// (commands/up.ts) and `vsim compose` writes it as docker-compose.yml (deploy/compose.ts); both
// read only this list, so the two never drift apart.

/** Where the deployment runs: local child processes, or containers of docker-compose.yml. */
export type Target =
  | { readonly kind: 'local'; readonly natsUrl: string; readonly httpPort?: number }
  | { readonly kind: 'compose' };

export interface ServiceDescription {
  /** Unique name: the compose service name, the log file name (`<name>.log`) of `vsim up`. */
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
  /** Services that must be started first. */
  readonly dependsOn: readonly string[];
}

export const NATS_IMAGE = 'nats:2';
/** The gateway's HTTP API port in the compose deployment. */
export const COMPOSE_HTTP_PORT = 8080;
export const NATS_CLIENT_PORT = 4222;
export const DEFAULT_CPU_NODES = 2;

/**
 * `node apps/<app>/bin/vsim-<app>.js`, the command of every vsim service: its launcher runs the
 * compiled bundle (apps/<app>/dist/main.js, built by `npm run build`), or in a development tree
 * without one the sources through tsx (scripts/launch.js).
 */
export function serviceCommand(app: string): string[] {
  return ['node', `apps/${app}/bin/vsim-${app}.js`];
}

export function describeDeployment(target: Target, cpuNodes = DEFAULT_CPU_NODES): ServiceDescription[] {
  if (!Number.isSafeInteger(cpuNodes) || cpuNodes < 1) throw new Error(`cpu-nodes must be a positive integer, got ${cpuNodes}`);
  const compose = target.kind === 'compose';
  const natsUrl = compose ? `nats://nats:${NATS_CLIENT_PORT}` : target.natsUrl;
  /** The flags every vsim service gets: where NATS is, its instance name, where peers reach it. */
  const common = (name: string): string[] => [
    '--nats', natsUrl, '--instance', name,
    ...(compose ? ['--grpc-host', '0.0.0.0', '--advertise-host', name] : ['--grpc-host', '127.0.0.1']),
  ];
  const env = { VSIM_LOG_LEVEL: 'info' };
  const deps = compose ? ['nats'] : [];
  const out: ServiceDescription[] = [{
    name: 'nats', args: ['-js', ...(compose ? ['-sd', '/data'] : [])], env: {}, ports: [], dependsOn: [],
  }];
  out.push({ name: 'hypervisor', app: 'hypervisor', registersAs: 'vsim-hypervisor', args: common('hypervisor'), env, ports: [], dependsOn: deps });
  out.push({ name: 'scheduler', app: 'scheduler', registersAs: 'vsim-scheduler', args: common('scheduler'), env, ports: [], dependsOn: deps });
  for (let i = 1; i <= cpuNodes; i++) {
    const name = `cpu-node-${i}`;
    out.push({ name, app: 'cpu-node', registersAs: 'vsim-cpu-node', args: [...common(name), '--node-id', `n${i}`], env, ports: [], dependsOn: deps });
  }
  const httpPort = compose ? COMPOSE_HTTP_PORT : target.httpPort ?? 0;
  out.push({
    name: 'gateway', app: 'gateway', registersAs: 'vsim-gateway',
    args: [...common('gateway'), '--http-port', String(httpPort), '--http-host', compose ? '0.0.0.0' : '127.0.0.1'],
    env, ports: compose ? [COMPOSE_HTTP_PORT] : [], dependsOn: compose ? ['nats', 'hypervisor', 'scheduler', ...out.filter((s) => s.app === 'cpu-node').map((s) => s.name)] : [],
  });
  return out;
}
