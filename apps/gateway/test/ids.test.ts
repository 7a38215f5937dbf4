// Simulation ids: sim-<ULID>, valid NATS subject tokens, unique across gateways, sorted by time.

import { checkSimId } from '@vsim/proto';
import { newSimId, ulid } from '../src/ids';

describe('simulation ids', () => {
  it('encodes time and randomness as the ULID spec does', () => {
    // The spec's example time, 1469918176385 ms, is 01ARYZ6S41.
    expect(ulid(1469918176385, new Uint8Array(10))).toBe('01ARYZ6S410000000000000000');
    expect(ulid(0, new Uint8Array(10).fill(255))).toBe('0000000000ZZZZZZZZZZZZZZZZ');
    expect(() => ulid(2 ** 48)).toThrow(RangeError);
  });

  it('are subject tokens, distinct, and sort by submission time', () => {
    const ids = Array.from({ length: 1000 }, () => newSimId());
    for (const id of ids) expect(checkSimId(id)).toMatch(/^sim-[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ulid(1000) < ulid(2000)).toBe(true);
  });
});
