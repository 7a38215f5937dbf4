// An identity file: everything one process of a deployment needs to prove who it is and to check
// who calls it. `vsim secrets` / `vsim up` write one per process (mode 0600) into a secrets
// directory outside the repository; a service reads its own with --secrets FILE.
//
//   {
//     "version": 1, "identity": "cpu-node-1", "role": "cpu-node", "node": "n1",
//     "nats": { "seed": "SUA…" },                      // nkey seed: nats-server knows only its public key
//     "controlToken": "…",                              // presented on gRPC control calls (gateway)
//     "acceptControl": { "gateway": "<sha256>" },       // who may make control calls here
//     "acceptApi": { "client": "<sha256>" },            // gateway: the API's bearer tokens, by principal
//     "apiToken": "…",                                  // client: the bearer token for the gateway
//     "tls": { "ca": "tls/ca.pem", "cert": "tls/cert.pem", "key": "tls/key.pem" }   // optional
//   }
//
// Relative paths are relative to the file's directory, so one secrets directory works wherever it
// is mounted (a container's /secrets, or the host's directory).

import { readFileSync, statSync } from 'fs';
import { dirname, isAbsolute, resolve } from 'path';
import { fromSeed } from '@nats-io/nkeys';
import { ROLES, Role, SUBJECT_TOKEN, inboxPrefixOf } from './permissions';
import { TokenSet } from './tokens';

export interface TlsFiles {
  /** PEM of the CA that signs every certificate of the deployment (verifies peers). */
  readonly ca: string;
  /** This process's certificate and key (PEM); needed to serve (gRPC server, nats-server). */
  readonly cert?: string;
  readonly key?: string;
}

export interface IdentityFile {
  readonly version: 1;
  readonly identity: string;
  readonly role: Role;
  readonly node?: string;
  readonly nats: { readonly seed: string };
  readonly controlToken?: string;
  readonly acceptControl?: Readonly<Record<string, string>>;
  readonly acceptApi?: Readonly<Record<string, string>>;
  readonly apiToken?: string;
  readonly tls?: TlsFiles;
}

/** An identity file, read and checked, with paths resolved. */
export interface Identity {
  readonly file: string;
  readonly identity: string;
  readonly role: Role;
  readonly node?: string;
  /** The nkey seed (nats.js's nkeyAuthenticator takes it). */
  readonly natsSeed: Uint8Array;
  readonly natsPublicKey: string;
  readonly inboxPrefix: string;
  readonly controlToken?: string;
  /** Who may make gRPC control calls to this process (empty: nobody). */
  readonly acceptControl: TokenSet;
  /** Gateway: the API's principals. */
  readonly acceptApi: TokenSet;
  readonly apiToken?: string;
  /** Absolute paths. */
  readonly tls?: TlsFiles;
}

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

/** Reads and checks an identity file; refuses one that others can read (as ssh does for keys). */
export function readIdentity(file: string): Identity {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new IdentityError(`secrets file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message}`);
  }
  if ((mode & 0o077) !== 0)
    throw new IdentityError(`secrets file ${file} is readable by others (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${file}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new IdentityError(`secrets file ${file}: not JSON (${(err as Error).message})`);
  }
  return parseIdentity(raw, file);
}

export function parseIdentity(raw: unknown, file: string): Identity {
  const fail = (field: string, why: string): never => {
    throw new IdentityError(`secrets file ${file}: ${field} ${why}`);
  };
  const o = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : fail('', 'must be a JSON object')) as Record<string, unknown>;
  if (o.version !== 1) fail('version', 'must be 1');
  const str = (k: string, v: unknown = o[k]): string | undefined =>
    v === undefined ? undefined : typeof v === 'string' && v !== '' ? v : fail(k, 'must be a non-empty string');
  const identity = str('identity') ?? fail('identity', 'is required');
  if (!SUBJECT_TOKEN.test(identity)) fail('identity', 'must be 1-64 characters of [A-Za-z0-9_-]');
  const role = o.role as Role;
  if (!ROLES.includes(role)) fail('role', `must be one of ${ROLES.join(', ')}`);
  const node = str('node');
  if (role === 'cpu-node' && (node === undefined || !SUBJECT_TOKEN.test(node)))
    fail('node', "must be the cpu-node's node id (1-64 characters of [A-Za-z0-9_-])");
  const nats = o.nats as { seed?: unknown } | undefined;
  const seedText = str('nats.seed', nats?.seed) ?? fail('nats.seed', 'is required');
  let natsPublicKey = '';
  try {
    natsPublicKey = fromSeed(new TextEncoder().encode(seedText)).getPublicKey();
  } catch (err) {
    fail('nats.seed', `is not an nkey seed (${(err as Error).message})`);
  }
  if (!natsPublicKey.startsWith('U')) fail('nats.seed', 'must be a user nkey seed (SU…)');
  const tokens = (k: string): TokenSet => {
    const v = o[k] ?? {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(k, 'must be an object of SHA-256 hashes by name');
    try {
      return new TokenSet(v as Record<string, string>);
    } catch (err) {
      return fail(k, (err as Error).message);
    }
  };
  const dir = dirname(resolve(file));
  const path = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  let tls: TlsFiles | undefined;
  if (o.tls !== undefined) {
    const t = o.tls as Record<string, unknown>;
    const ca = str('tls.ca', t?.ca) ?? fail('tls.ca', 'is required with tls');
    const cert = str('tls.cert', t?.cert);
    const key = str('tls.key', t?.key);
    if ((cert === undefined) !== (key === undefined)) fail('tls', 'needs both cert and key, or neither');
    tls = { ca: path(ca), cert: cert && path(cert), key: key && path(key) };
  }
  return {
    file,
    identity,
    role,
    node,
    natsSeed: new TextEncoder().encode(seedText),
    natsPublicKey,
    inboxPrefix: inboxPrefixOf(identity),
    controlToken: str('controlToken'),
    acceptControl: tokens('acceptControl'),
    acceptApi: tokens('acceptApi'),
    apiToken: str('apiToken'),
    tls,
  };
}
