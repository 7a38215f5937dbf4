// Generates the secrets of one deployment into a directory outside the repository (mode 0700,
// every file 0600): an identity file per process (identity.ts), a manifest of who is who
// (deployment.json: identities, roles, nodes, public keys — what nats-server's configuration is
// rendered from) and nats-server's configuration (nats-config.ts); with TLS, copies of the CA,
// certificate and key. `vsim up` and `vsim secrets` (for docker-compose.yml) call it; nothing it
// writes is ever committed.
//
// Identities: hypervisor, scheduler, one per cpu-node, gateway — the services; one per API client
// principal (default just `client`): what the CLI uses (NATS to find the gateway, its API token);
// supervisor — `vsim up` itself, which only asks who has registered.

import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createUser } from '@nats-io/nkeys';
import { IdentityFile, TlsFiles, readIdentity } from './identity';
import { NatsUser, natsServerConfig } from './nats-config';
import { Role, SUBJECT_TOKEN } from './permissions';
import { newToken, tokenHash } from './tokens';

export interface DeploymentSecretsSpec {
  /** The cpu-nodes: identity name (e.g. cpu-node-1) and node id (e.g. n1). */
  readonly cpuNodes: readonly { readonly identity: string; readonly node: string }[];
  /** The gateway's API principals, one identity file each. Default ['client']. */
  readonly clients?: readonly string[];
  /**
   * Scheduler and hypervisor instances (each its own identity with its role's permissions): the
   * first is `scheduler` / `hypervisor`, the next `scheduler-2`, ... (instanceIdentities). Default 1.
   */
  readonly schedulers?: number;
  readonly hypervisors?: number;
  /** PEM files to copy in and use for TLS on NATS, gRPC and the HTTP API. */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export interface NatsConfigPlacement {
  /**
   * Where the secrets directory is seen by nats-server (paths inside its configuration). Default:
   * the directory itself; docker-compose.yml mounts it at /secrets.
   */
  readonly mountedAt?: string;
  /** JetStream's store directory (omitted: JetStream off). */
  readonly jetstreamDir?: string;
}

export interface DeploymentSecrets {
  readonly dir: string;
  /** nats-server's configuration file. */
  readonly natsConfig: string;
  /** Identity file by identity name. */
  readonly files: Readonly<Record<string, string>>;
  /** API token by client principal. */
  readonly clientTokens: Readonly<Record<string, string>>;
  /** Whether the deployment uses TLS. */
  readonly tls: boolean;
}

/** Identity names of the fixed processes. */
/**
 * The identities of `n` instances of a service: `base`, then `base-2`, `base-3`, ... (the first
 * keeps the name a one-instance deployment has always used).
 */
export function instanceIdentities(base: string, n: number): string[] {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${base} instances must be a positive integer, got ${n}`);
  return Array.from({ length: n }, (_, i) => (i === 0 ? base : `${base}-${i + 1}`));
}

export const IDENTITY = { hypervisor: 'hypervisor', scheduler: 'scheduler', gateway: 'gateway', client: 'client', supervisor: 'supervisor' } as const;

const NATS_CONFIG = 'nats-server.conf';
const MANIFEST = 'deployment.json';

interface Manifest {
  readonly version: 1;
  readonly tls: boolean;
  readonly identities: readonly NatsUser[];
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}

export function generateSecrets(dir: string, spec: DeploymentSecretsSpec, placement: NatsConfigPlacement = {}): DeploymentSecrets {
  const clients = spec.clients ?? [IDENTITY.client];
  if (clients.length === 0) throw new RangeError('a deployment needs at least one API client principal');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  let tls: TlsFiles | undefined;
  if (spec.tls) {
    mkdirSync(join(dir, 'tls'), { recursive: true, mode: 0o700 });
    for (const k of ['ca', 'cert', 'key'] as const) {
      copyFileSync(spec.tls[k], join(dir, 'tls', `${k}.pem`));
      chmodSync(join(dir, 'tls', `${k}.pem`), 0o600);
    }
    tls = { ca: 'tls/ca.pem', cert: 'tls/cert.pem', key: 'tls/key.pem' };
  }
  const gatewayControl = newToken();
  const clientTokens: Record<string, string> = Object.fromEntries(clients.map((c) => [c, newToken()]));
  const acceptControl = { [IDENTITY.gateway]: tokenHash(gatewayControl) };
  const entries: (Omit<IdentityFile, 'version' | 'nats'> & { role: Role })[] = [
    ...instanceIdentities(IDENTITY.hypervisor, spec.hypervisors ?? 1).map((identity) => ({
      identity,
      role: 'hypervisor' as const,
      acceptControl,
      tls,
    })),
    ...instanceIdentities(IDENTITY.scheduler, spec.schedulers ?? 1).map((identity) => ({ identity, role: 'scheduler' as const, acceptControl, tls })),
    ...spec.cpuNodes.map((n) => ({ identity: n.identity, role: 'cpu-node' as const, node: n.node, acceptControl, tls })),
    {
      identity: IDENTITY.gateway,
      role: 'gateway',
      controlToken: gatewayControl,
      tls,
      acceptApi: Object.fromEntries(clients.map((c) => [c, tokenHash(clientTokens[c])])),
    },
    ...clients.map((c) => ({ identity: c, role: 'client' as const, apiToken: clientTokens[c], tls: tls && { ca: tls.ca } })),
    { identity: IDENTITY.supervisor, role: 'supervisor', tls: tls && { ca: tls.ca } },
  ];
  const files: Record<string, string> = {};
  const users: NatsUser[] = [];
  for (const e of entries) {
    if (!SUBJECT_TOKEN.test(e.identity)) throw new RangeError(`identity ${JSON.stringify(e.identity)} must be 1-64 characters of [A-Za-z0-9_-]`);
    if (files[e.identity]) throw new RangeError(`identity ${e.identity} defined twice`);
    const kp = createUser();
    const file: IdentityFile = { version: 1, ...e, nats: { seed: new TextDecoder().decode(kp.getSeed()) } };
    const path = join(dir, `${e.identity}.json`);
    writeSecret(path, JSON.stringify(file, null, 2) + '\n');
    readIdentity(path); // what a service will read must parse
    files[e.identity] = path;
    users.push({ identity: e.identity, role: e.role, node: e.node, publicKey: kp.getPublicKey() });
  }
  const manifest: Manifest = { version: 1, tls: tls !== undefined, identities: users };
  writeSecret(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  const natsConfig = writeNatsConfig(dir, placement);
  return { dir, natsConfig, files, clientTokens, tls: tls !== undefined };
}

function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  return m.version === 1 && Array.isArray(m.identities) ? m : undefined;
}

/** (Re)writes nats-server's configuration from the directory's manifest; returns its path. */
export function writeNatsConfig(dir: string, placement: NatsConfigPlacement = {}): string {
  const m = readManifest(dir);
  if (!m) throw new Error(`${dir}: no ${MANIFEST} (not a secrets directory generated by vsim)`);
  const at = placement.mountedAt ?? dir;
  const path = join(dir, NATS_CONFIG);
  writeSecret(
    path,
    natsServerConfig(m.identities, {
      jetstreamDir: placement.jetstreamDir,
      tls: m.tls ? { ca: join(at, 'tls/ca.pem'), cert: join(at, 'tls/cert.pem'), key: join(at, 'tls/key.pem') } : undefined,
    }),
  );
  return path;
}

/**
 * The secrets already in `dir` if they were generated for exactly these cpu-nodes (a restarted
 * `vsim up --secrets DIR` keeps its tokens), else undefined.
 */
export function existingSecrets(
  dir: string,
  spec: Pick<DeploymentSecretsSpec, 'cpuNodes' | 'schedulers' | 'hypervisors'>,
): DeploymentSecrets | undefined {
  const m = readManifest(dir);
  if (!m) return undefined;
  // Made for as many scheduler and hypervisor instances (an older manifest: one of each).
  const count = (role: Role) => m.identities.filter((u) => u.role === role).length;
  if (count('scheduler') !== (spec.schedulers ?? 1) || count('hypervisor') !== (spec.hypervisors ?? 1)) return undefined;
  const nodes = m.identities
    .filter((u) => u.role === 'cpu-node')
    .map((u) => `${u.identity}=${u.node}`)
    .sort();
  if (
    nodes.join() !==
    spec.cpuNodes
      .map((n) => `${n.identity}=${n.node}`)
      .sort()
      .join()
  )
    return undefined;
  const files: Record<string, string> = {};
  const clientTokens: Record<string, string> = {};
  for (const u of m.identities) {
    const path = join(dir, `${u.identity}.json`);
    const id = readIdentity(path);
    if (id.natsPublicKey !== u.publicKey) throw new Error(`${path} does not match ${join(dir, MANIFEST)}`);
    files[u.identity] = path;
    if (u.role === 'client' && id.apiToken) clientTokens[u.identity] = id.apiToken;
  }
  return { dir, natsConfig: join(dir, NATS_CONFIG), files, clientTokens, tls: m.tls };
}
