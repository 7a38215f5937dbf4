// Who may call a gRPC service. Each call carries `authorization: Bearer <token>` metadata; the
// server side (guardService) checks it against the TokenSet of the principals allowed to call that
// service and refuses anything else with UNAUTHENTICATED before the handler runs — counted and
// logged by the caller's hook. The principal a call proved is available to the handler
// (principalOf), e.g. for the gateway to keep each client to its own simulations.
// TLS (tlsServerCredentials, tlsChannelCredentials) keeps tokens and payloads private between
// machines; without it they cross the network in clear (fine on loopback or a private network).

import { readFileSync } from 'fs';
import { ChannelCredentials, Metadata, ServerCredentials, ServiceDefinition, UntypedServiceImplementation, credentials, status } from '@grpc/grpc-js';
import { TlsFiles } from './identity';
import { TokenSet, bearerToken } from './tokens';

/** A refused call, for the service's counter and log. */
export interface RefusedCall {
  /** "/vsim.v1.CpuNodeControl/CreateHost" */
  readonly rpc: string;
  readonly reason: 'no token' | 'wrong token';
  /** The caller's address as the server saw it. */
  readonly peer: string;
}

const principals = new WeakMap<object, string>();

/** The principal a guarded call authenticated as (undefined for an unguarded service). */
export function principalOf(call: object): string | undefined {
  return principals.get(call);
}

/**
 * The implementation with every method guarded: a call without a token `accept` knows is refused
 * with UNAUTHENTICATED (and `onRefused` is told) before the method runs.
 */
export function guardService(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  definition: ServiceDefinition<any>,
  impl: UntypedServiceImplementation,
  accept: TokenSet,
  onRefused: (r: RefusedCall) => void,
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const original = impl[name] as ((call: unknown, cb?: unknown) => void) | undefined;
    if (!original) continue;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    out[name] = ((call: any, callback?: (err: unknown) => void) => {
      const token = bearerToken(call.metadata.get('authorization').map(String));
      const who = accept.verify(token);
      if (who === undefined) {
        const reason = token === undefined ? 'no token' : 'wrong token';
        onRefused({ rpc: method.path, reason, peer: typeof call.getPeer === 'function' ? call.getPeer() : '' });
        const err = {
          code: status.UNAUTHENTICATED,
          details: `${method.path}: ${reason === 'no token' ? 'a bearer token is required (authorization metadata)' : 'the bearer token is not accepted'}`,
        };
        if (method.responseStream || method.requestStream || !callback) call.emit('error', err);
        else callback(err);
        return;
      }
      principals.set(call, who);
      return callback ? original.call(impl, call, callback) : original.call(impl, call);
    }) as never;
  }
  return out;
}

/** Metadata carrying a bearer token (for one call; grpc-js may reuse it, so one per call is safest). */
export function bearerMetadata(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

export function tlsServerCredentials(tls: TlsFiles): ServerCredentials {
  if (!tls.cert || !tls.key) throw new Error('serving gRPC over TLS needs tls.cert and tls.key');
  return ServerCredentials.createSsl(readFileSync(tls.ca), [{ cert_chain: readFileSync(tls.cert), private_key: readFileSync(tls.key) }], false);
}

export function tlsChannelCredentials(tls: TlsFiles | undefined): ChannelCredentials {
  return tls ? credentials.createSsl(readFileSync(tls.ca)) : credentials.createInsecure();
}
