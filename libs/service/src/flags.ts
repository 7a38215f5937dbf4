// Command-line flags every service takes, plus its own. `--flag value` and `--flag=value` both work.
//
//   --nats URL          NATS server(s), comma-separated. Default $VSIM_NATS_URL or nats://127.0.0.1:4222
//   --instance NAME     This process's instance name. Default <service>-<hostname>-<pid>
//   --grpc-port N       gRPC control port. Default 0: the OS picks one (peers find it through NATS)
//   --grpc-host ADDR    Address to bind and advertise. Default 127.0.0.1
//   --advertise-host H  Host peers reach this process at (e.g. its container name). Default --grpc-host
//   --metrics-port N    Prometheus /metrics port. Default $VSIM_METRICS_PORT or 0: the OS picks one
//                       (logged in the `ready` line, advertised as `metrics` through NATS)
//   --metrics-host ADDR Address the /metrics listener binds. Default --grpc-host
//   --log-level LEVEL   fatal|error|warn|info|debug|trace|silent. Default info (or $VSIM_LOG_LEVEL)
//   --secrets FILE      this process's identity file (@vsim/security): NATS nkey, who may call it,
//                       TLS. Default $VSIM_SECRETS; without one the service runs unauthenticated

import { hostname } from 'os';
import { LOG_LEVELS } from './logger';

export interface CommonFlags {
  readonly nats: string;
  readonly instance: string;
  readonly grpcPort: number;
  readonly grpcHost: string;
  /** The host advertised through NATS (the gRPC address is `<advertiseHost>:<port>`). */
  readonly advertiseHost: string;
  readonly logLevel: string;
  /** Where GET /metrics (Prometheus) listens; port 0: any free port. */
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** The identity file, or undefined: no credentials (development and tests on a private NATS). */
  readonly secrets?: string;
}

export interface FlagSpec {
  /** Without dashes, e.g. "node-id". */
  readonly name: string;
  readonly value: string;
  readonly description: string;
  /** Default value; a function sees the common flags (e.g. node id defaults to the instance name). */
  readonly default?: string | ((common: CommonFlags) => string);
}

export interface ParsedFlags {
  readonly common: CommonFlags;
  /** The service's own flags, by name (defaults applied). */
  readonly extra: Readonly<Record<string, string>>;
  readonly help: boolean;
}

export class FlagError extends Error {
  override readonly name = 'FlagError';
}

const COMMON: readonly FlagSpec[] = [
  { name: 'nats', value: 'URL', description: 'NATS server URL(s), comma-separated (default $VSIM_NATS_URL or nats://127.0.0.1:4222)' },
  { name: 'instance', value: 'NAME', description: 'instance name (default <service>-<hostname>-<pid>)' },
  { name: 'grpc-port', value: 'N', description: 'gRPC control port (default 0: any free port, advertised through NATS)' },
  { name: 'grpc-host', value: 'ADDR', description: 'address the gRPC server binds and advertises (default 127.0.0.1)' },
  { name: 'advertise-host', value: 'HOST', description: 'host peers reach this process at, advertised through NATS (default --grpc-host)' },
  {
    name: 'metrics-port',
    value: 'N',
    description: 'Prometheus GET /metrics port (default $VSIM_METRICS_PORT or 0: any free port, advertised through NATS)',
  },
  { name: 'metrics-host', value: 'ADDR', description: 'address the /metrics listener binds (default --grpc-host)' },
  { name: 'log-level', value: 'LEVEL', description: `${LOG_LEVELS.join('|')} (default info or $VSIM_LOG_LEVEL)` },
  {
    name: 'secrets',
    value: 'FILE',
    description: 'identity file: NATS credentials, who may call this service, TLS (default $VSIM_SECRETS; none: unauthenticated)',
  },
];

export function usage(service: string, extra: readonly FlagSpec[] = []): string {
  const lines = [...COMMON, ...extra].map((f) => `  --${`${f.name} ${f.value}`.padEnd(22)} ${f.description}`);
  return [`usage: ${service} [flags]`, '', ...lines, `  --${'help'.padEnd(22)} this text`].join('\n');
}

export function parseFlags(
  service: string,
  argv: readonly string[],
  extra: readonly FlagSpec[] = [],
  env: NodeJS.ProcessEnv = process.env,
): ParsedFlags {
  const known = new Map([...COMMON, ...extra].map((f) => [f.name, f]));
  const values = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new FlagError(`unexpected argument ${JSON.stringify(arg)}`);
    const [, name, inline] = m;
    if (!known.has(name)) throw new FlagError(`unknown flag --${name}`);
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`--${name} needs a value`);
      value = argv[++i];
    }
    if (values.has(name)) throw new FlagError(`--${name} given twice`);
    values.set(name, value);
  }
  const grpcPortText = values.get('grpc-port') ?? '0';
  const grpcPort = Number(grpcPortText);
  if (!/^\d+$/.test(grpcPortText) || grpcPort > 65535)
    throw new FlagError(`--grpc-port must be an integer in 0..65535, got ${JSON.stringify(grpcPortText)}`);
  const metricsPortText = values.get('metrics-port') ?? (env.VSIM_METRICS_PORT || '0');
  const metricsPort = Number(metricsPortText);
  if (!/^\d+$/.test(metricsPortText) || metricsPort > 65535)
    throw new FlagError(`--metrics-port must be an integer in 0..65535, got ${JSON.stringify(metricsPortText)}`);
  const logLevel = values.get('log-level') ?? env.VSIM_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new FlagError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const instance = values.get('instance') ?? `${service}-${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(instance)) throw new FlagError(`--instance must be 1-128 characters of [A-Za-z0-9_.-]`);
  const common: CommonFlags = {
    nats: values.get('nats') ?? env.VSIM_NATS_URL ?? 'nats://127.0.0.1:4222',
    instance,
    grpcPort,
    grpcHost: values.get('grpc-host') ?? '127.0.0.1',
    advertiseHost: values.get('advertise-host') ?? values.get('grpc-host') ?? '127.0.0.1',
    logLevel,
    metricsPort,
    metricsHost: values.get('metrics-host') ?? values.get('grpc-host') ?? '127.0.0.1',
    secrets: values.get('secrets') ?? (env.VSIM_SECRETS || undefined),
  };
  const out: Record<string, string> = {};
  for (const f of extra) {
    const v = values.get(f.name) ?? (typeof f.default === 'function' ? f.default(common) : f.default);
    if (v !== undefined) out[f.name] = v;
  }
  return { common, extra: out, help };
}
