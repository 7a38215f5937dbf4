// Bearer tokens: the gateway's API tokens (one per client principal) and the control tokens a
// service presents on gRPC control calls. A token is 32 random bytes, base64url; whoever checks
// one keeps only its SHA-256, so a checker's secrets file never holds a token it could present.

import { createHash, randomBytes, timingSafeEqual } from 'crypto';

/** A fresh random token (256 bits, base64url, 43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The hex SHA-256 of a token: what a checker stores. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * The tokens one checker accepts, by the name of the principal each one authenticates
 * (e.g. `{gateway: <hash>}` on a cpu-node, `{client: <hash>}` on the gateway).
 */
export class TokenSet {
  private readonly byName: ReadonlyMap<string, Buffer>;

  constructor(hashes: Readonly<Record<string, string>>) {
    const m = new Map<string, Buffer>();
    for (const [name, h] of Object.entries(hashes)) {
      if (!HASH.test(h)) throw new RangeError(`token hash of ${JSON.stringify(name)} must be 64 hex digits (a SHA-256)`);
      m.set(name, Buffer.from(h, 'hex'));
    }
    this.byName = m;
  }

  get names(): readonly string[] {
    return [...this.byName.keys()];
  }

  /** The principal `token` authenticates, or undefined. Compares every entry in constant time. */
  verify(token: string | undefined): string | undefined {
    if (token === undefined || token === '') return undefined;
    const h = createHash('sha256').update(token, 'utf8').digest();
    let found: string | undefined;
    for (const [name, want] of this.byName) if (timingSafeEqual(h, want) && found === undefined) found = name;
    return found;
  }
}

/** The token of an `authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | readonly string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const m = typeof v === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(v) : null;
  return m ? m[1] : undefined;
}
