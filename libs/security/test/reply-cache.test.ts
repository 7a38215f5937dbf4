// ReplyCache: a resent request (same sequence number) gets the reply already given — the same
// pending promise while the first is still worked on — and is never applied twice; a stale or
// skipped number is refused as the SequenceWindow refuses it.

import { ReplyCache, SequenceWindow, isRefusedMessage } from '../src';

const at = { subject: 'vsim.s.run.n1.h0', host: 'h0' };

describe('ReplyCache', () => {
  it('answers a resend from the cache without applying it again', async () => {
    let applied = 0;
    const cache = new ReplyCache<string>(new SequenceWindow(true));
    const apply = () => `reply ${++applied}`;
    expect(await cache.answer('h0', 1, at, apply)).toBe('reply 1');
    expect(await cache.answer('h0', 1, at, apply)).toBe('reply 1');
    expect(applied).toBe(1);
    expect(cache.duplicates).toBe(1);
    expect(await cache.answer('h0', 2, at, apply)).toBe('reply 2');
  });

  it('a resend while the first still runs waits for the same reply', async () => {
    let release!: (s: string) => void;
    const cache = new ReplyCache<string>(new SequenceWindow(true));
    const first = cache.answer('h0', 1, at, () => new Promise<string>((r) => (release = r)));
    const again = cache.answer('h0', 1, at, () => 'must not run');
    release('report');
    expect(await first).toBe('report');
    expect(await again).toBe('report');
  });

  it('refuses stale and skipped numbers; keeps the last `keep` replies per stream', async () => {
    const dup = jest.fn();
    const cache = new ReplyCache<number>(new SequenceWindow(false), 2, dup);
    for (const n of [1, 2, 3]) await cache.answer('h0', n, at, () => n * 10);
    expect(await cache.answer('h0', 2, at, () => -1)).toBe(20); // still cached
    expect(dup).toHaveBeenCalledTimes(1);
    let refused: unknown;
    try {
      await cache.answer('h0', 1, at, () => -1); // dropped from the cache: stale
    } catch (err) {
      refused = err;
    }
    expect(isRefusedMessage(refused) && refused.refusal.kind).toBe('sequence');
    const strict = new ReplyCache<number>(new SequenceWindow(true));
    await strict.answer('h0', 1, at, () => 1);
    expect(() => strict.answer('h0', 3, at, () => 3)).toThrow(/gap sequence number 3/);
  });
});
