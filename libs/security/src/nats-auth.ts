// How an identity connects to nats-server: nkey challenge-response (the seed never leaves the
// process), its own inbox prefix (the only reply subjects it may subscribe to, permissions.ts),
// and TLS when the deployment uses it.

import { Authenticator, TlsOptions, nkeyAuthenticator } from '@nats-io/nats-core';
import { Identity } from './identity';

export interface NatsIdentityOptions {
  readonly authenticator: Authenticator;
  readonly inboxPrefix: string;
  readonly tls?: TlsOptions;
}

export function natsConnectionOptions(id: Identity): NatsIdentityOptions {
  return {
    authenticator: nkeyAuthenticator(id.natsSeed),
    inboxPrefix: id.inboxPrefix,
    ...(id.tls ? { tls: { caFile: id.tls.ca } } : {}),
  };
}
