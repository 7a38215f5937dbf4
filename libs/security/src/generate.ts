// Generates the secrets of one deployment into a directory outside the repository (mode 0700,
// every file 0600): an identity file per process (identity.ts), nats-server's configuration
// (nats-config.ts) and, with TLS, copies of the CA, certificate and key. `vsim up` and
// `vsim secrets` (for docker-compose.yml) call it; nothing it writes is ever committed.
//
// Identities: hypervisor, scheduler, one per cpu-node, gateway — the services; client — what the
// CLI uses (NATS to find the gateway, the API token to call it); supervisor — `vsim up` itself,
// which only asks who has registered.

import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createUser } from '@nats-io/nkeys';
import { IdentityFile, TlsFiles, readIdentity } from './identity';
import { NatsUser, natsServerConfig } from './nats-config';
import { Role } from './permissions';
import { newToken, tokenHash } from './tokens';

export interface DeploymentSecretsSpec {
  /** The cpu-nodes: identity name (e.g. cpu-node-1) and node id (e.g. n1). */
  readonly cpuNodes: readonly { readonly identity: string; readonly node: string }[];
  /**
   * Where the directory is seen by nats-server (paths inside its configuration). Default: the
   * directory itself; docker-compose.yml mounts it at /secrets.
   */
  readonly mountedAt?: string;
  /** JetStream store directory for nats-server's configuration (omitted: JetStream off). */
  readonly jetstreamDir?: string;
  /** PEM files to copy in and use for TLS on NATS and gRPC. */
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

export interface DeploymentSecrets {
  readonly dir: string;
  /** nats-server's configuration file. */
  readonly natsConfig: string;
  /** Identity file by identity name. */
  readonly files: Readonly<Record<string, string>>;
  /** The API token of the `client` principal (the one the CLI uses). */
  readonly clientToken: string;
}

/** Identity names of the fixed processes. */
export const IDENTITY = { hypervisor: 'hypervisor', scheduler: 'scheduler', gateway: 'gateway', client: 'client', supervisor: 'supervisor' } as const;

const NATS_CONFIG = 'nats-server.conf';

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}

export function generateSecrets(dir: string, spec: DeploymentSecretsSpec): DeploymentSecrets {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const mount = spec.mountedAt ?? dir;
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
  const clientToken = newToken();
  const acceptControl = { [IDENTITY.gateway]: tokenHash(gatewayControl) };
  const entries: (Omit<IdentityFile, 'version' | 'nats'> & { role: Role })[] = [
    { identity: IDENTITY.hypervisor, role: 'hypervisor', acceptControl, tls },
    { identity: IDENTITY.scheduler, role: 'scheduler', acceptControl, tls },
    ...spec.cpuNodes.map((n) => ({ identity: n.identity, role: 'cpu-node' as const, node: n.node, acceptControl, tls })),
    { identity: IDENTITY.gateway, role: 'gateway', controlToken: gatewayControl, acceptApi: { [IDENTITY.client]: tokenHash(clientToken) }, tls },
    { identity: IDENTITY.client, role: 'client', apiToken: clientToken, tls: tls && { ca: tls.ca } },
    { identity: IDENTITY.supervisor, role: 'supervisor', tls: tls && { ca: tls.ca } },
  ];
  const names = new Set<string>();
  const users: NatsUser[] = [];
  const files: Record<string, string> = {};
  for (const e of entries) {
    if (names.has(e.identity)) throw new RangeError(`identity ${e.identity} defined twice`);
    names.add(e.identity);
    const kp = createUser();
    const file: IdentityFile = { version: 1, ...e, nats: { seed: new TextDecoder().decode(kp.getSeed()) } };
    const path = join(dir, `${e.identity}.json`);
    writeSecret(path, JSON.stringify(file, null, 2) + '\n');
    readIdentity(path); // what a service will read must parse
    files[e.identity] = path;
    users.push({ identity: e.identity, role: e.role, node: e.node, publicKey: kp.getPublicKey() });
  }
  const natsConfig = join(dir, NATS_CONFIG);
  writeSecret(natsConfig, natsServerConfig(users, {
    jetstreamDir: spec.jetstreamDir,
    tls: tls && { ca: join(mount, tls.ca), cert: join(mount, tls.cert!), key: join(mount, tls.key!) },
  }));
  return { dir, natsConfig, files, clientToken };
}

/**
 * The secrets already in `dir` if they were generated for exactly these cpu-nodes (a restarted
 * `vsim up --secrets DIR` keeps its tokens), else undefined.
 */
export function existingSecrets(dir: string, spec: Pick<DeploymentSecretsSpec, 'cpuNodes'>): DeploymentSecrets | undefined {
  const natsConfig = join(dir, NATS_CONFIG);
  if (!existsSync(natsConfig)) return undefined;
  const want = [IDENTITY.hypervisor, IDENTITY.scheduler, ...spec.cpuNodes.map((n) => n.identity), IDENTITY.gateway, IDENTITY.client, IDENTITY.supervisor];
  const files: Record<string, string> = {};
  for (const name of want) {
    const path = join(dir, `${name}.json`);
    if (!existsSync(path)) return undefined;
    const id = readIdentity(path);
    const node = spec.cpuNodes.find((n) => n.identity === name)?.node;
    if (node !== undefined && id.node !== node) return undefined;
    files[name] = path;
  }
  // Exactly these cpu-nodes: the configuration lists one user per identity.
  const users = (readFileSync(natsConfig, 'utf8').match(/^\s*\{ nkey: /gm) ?? []).length;
  if (users !== want.length) return undefined;
  const clientToken = readIdentity(files[IDENTITY.client]).apiToken;
  if (!clientToken) return undefined;
  return { dir, natsConfig, files, clientToken };
}
