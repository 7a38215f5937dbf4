// Simulation ids unique across gateways, restarts and machines: `sim-` + a ULID (48 bits of
// milliseconds, then 80 random bits, in Crockford base32), so ids sort by submission time and two
// gateways never hand out the same one (a counter per process did: sim-1 again after a restart).
// 30 characters of [0-9A-Z-]: a valid NATS subject token.

import { randomBytes } from 'crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID (https://github.com/ulid/spec) for `ms` since the epoch. */
export function ulid(ms = Date.now(), random: Uint8Array = randomBytes(10)): string {
  if (!(Number.isSafeInteger(ms) && ms >= 0 && ms < 2 ** 48)) throw new RangeError(`ULID time must be 0..2^48-1 ms, got ${ms}`);
  if (random.length !== 10) throw new RangeError('a ULID needs 10 random bytes');
  let out = '';
  for (let i = 9, t = ms; i >= 0; i--, t = Math.floor(t / 32)) out = CROCKFORD[t % 32] + out; // 10 chars of time
  // 80 random bits: 16 chars of 5 bits.
  let acc = 0;
  let bits = 0;
  for (const b of random) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

export function newSimId(): string {
  return `sim-${ulid()}`;
}
