// How the CLI reaches a cluster's gateway, with the credentials a secured cluster requires:
//   --credentials FILE (default $VSIM_CREDENTIALS): the client identity file `vsim up` / `vsim
//     secrets` writes (client.json): the NATS nkey used to find the gateway, the API token, TLS;
//   --token-file FILE, or $VSIM_TOKEN: the API bearer token alone (e.g. with --gateway HOST:PORT).
// Without either the CLI talks to an unsecured cluster. Every gateway call carries
// `authorization: Bearer <token>` when there is one.

import { readFileSync } from 'fs';
import { ChannelCredentials, Metadata, credentials as grpcCredentials } from '@grpc/grpc-js';
import { NatsBus } from '@vsim/bus';
import { GatewayClient } from '@vsim/proto';
import { Identity, IdentityError, bearerMetadata, natsConnectionOptions, readIdentity, tlsChannelCredentials } from '@vsim/security';
import { discover } from '@vsim/service';

export const EX_UNAVAILABLE = 69;
export const EX_USAGE = 2;

/** A failure to reach the gateway: one line for the user, and the exit status. */
export class AccessError extends Error {
  override readonly name = 'AccessError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The CLI options every command that talks to a gateway shares. */
export const ACCESS_OPTIONS = {
  credentials: {
    type: 'string',
    valueName: 'FILE',
    description: 'client identity file of a secured cluster (vsim up prints it; default $VSIM_CREDENTIALS)',
  },
  'token-file': {
    type: 'string',
    valueName: 'FILE',
    description: "file holding the gateway's API token (default $VSIM_TOKEN, else the identity file's)",
  },
} as const;

export interface GatewayAccess {
  readonly identity?: Identity;
  readonly token?: string;
  /** Fresh metadata for one call (the bearer token, if any). */
  metadata(): Metadata;
  readonly channel: ChannelCredentials;
}

export function gatewayAccess(o: { credentials?: string; 'token-file'?: string }, env: NodeJS.ProcessEnv = process.env): GatewayAccess {
  const file = o.credentials ?? (env.VSIM_CREDENTIALS || undefined);
  let identity: Identity | undefined;
  if (file !== undefined) {
    try {
      identity = readIdentity(file);
    } catch (e) {
      throw new AccessError((e as Error).message, e instanceof IdentityError ? EX_USAGE : EX_UNAVAILABLE);
    }
  }
  let token = identity?.apiToken;
  if (env.VSIM_TOKEN) token = env.VSIM_TOKEN.trim();
  if (o['token-file'] !== undefined) {
    try {
      token = readFileSync(o['token-file'], 'utf8').trim();
    } catch (e) {
      throw new AccessError(
        `${o['token-file']}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`,
        EX_USAGE,
      );
    }
  }
  return { identity, token, metadata: () => bearerMetadata(token), channel: tlsChannelCredentials(identity?.tls) };
}

/** The gateway's gRPC address, found through NATS at `natsUrl` (with the identity's credentials). */
export async function findGateway(natsUrl: string, access: GatewayAccess): Promise<string> {
  let bus: NatsBus;
  try {
    bus = await NatsBus.connect({
      servers: natsUrl.split(',').map((s) => s.trim()),
      connection: { maxReconnectAttempts: 0, timeout: 5000, ...(access.identity ? natsConnectionOptions(access.identity) : {}) },
    });
  } catch (e) {
    const why = (e as Error).message;
    const hint =
      /Authorization Violation|authentication/i.test(why) && !access.identity
        ? " (a secured cluster: give --credentials FILE or set VSIM_CREDENTIALS, as 'vsim up' printed)"
        : '';
    throw new AccessError(`cannot reach NATS at ${natsUrl}: ${why}${hint}`, EX_UNAVAILABLE);
  }
  try {
    const found = await discover(bus, 'vsim-gateway', 2000);
    if (found.length === 0)
      throw new AccessError(`no gateway found on ${natsUrl} (no vsim-gateway registered; start one with 'vsim up')`, EX_UNAVAILABLE);
    return found[0].grpc;
  } finally {
    await bus.close().catch(() => undefined);
  }
}

export function gatewayClient(address: string, access: GatewayAccess): GatewayClient {
  return new GatewayClient(address, access.channel ?? grpcCredentials.createInsecure());
}
