import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointStore,
  DirectoryCheckpointStore,
  JetStreamCheckpointStore,
  MemoryCheckpointStore,
  NATS_SERVER_MISSING,
  NatsBus,
  NatsServer,
  RevisionMismatchError,
  checkpointKeyToKv,
  findNatsServer,
  kvKeyToCheckpoint,
  startNatsServer,
} from '../src';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// JetStream: a real nats-server with JetStream on free ports, one bucket per test (no shared state).
const natsMissing = findNatsServer() === undefined;
const skipJs = natsMissing && process.env.CI !== 'true';
let server: NatsServer | undefined;
const buses: NatsBus[] = [];
let buckets = 0;
async function jetStreamStore(bucket = `ckpt-${++buckets}`): Promise<JetStreamCheckpointStore> {
  server ??= await startNatsServer({ jetstream: true });
  const bus = await NatsBus.connect({ servers: server.url });
  buses.push(bus);
  return JetStreamCheckpointStore.open(bus.nc, { bucket });
}
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await server?.stop();
});

const stores: [string, () => CheckpointStore | Promise<CheckpointStore>][] = [
  ['memory', () => new MemoryCheckpointStore()],
  [
    'directory',
    () => {
      const d = mkdtempSync(join(tmpdir(), 'vsim-ckpt-'));
      dirs.push(d);
      return new DirectoryCheckpointStore(d);
    },
  ],
  ...(skipJs ? [] : [['jetstream', () => jetStreamStore()] as [string, () => Promise<CheckpointStore>]]),
];

describe.each(stores)('%s checkpoint store', (_name, make) => {
  it('keeps blobs and lists them by prefix', async () => {
    const s = await make();
    await s.putBlob('sim-1/h0/ckpt-1/vm1.mem', enc('pages'));
    await s.putBlob('sim-1/h1/ckpt-1/vm2.mem', enc('other'));
    expect(dec(await s.getBlob('sim-1/h0/ckpt-1/vm1.mem'))).toBe('pages');
    expect(await s.getBlob('sim-1/h0/nothing')).toBeUndefined();
    expect(await s.list('sim-1/h0/')).toEqual(['sim-1/h0/ckpt-1/vm1.mem']);
    await s.deletePrefix('sim-1/h0/');
    expect(await s.list('sim-1/')).toEqual(['sim-1/h1/ckpt-1/vm2.mem']);
  });

  it('compare-and-set on metadata revisions', async () => {
    const s = await make();
    const r1 = await s.putMeta('sim-1/latest', enc('a'), 0);
    expect(r1).toBeGreaterThan(0);
    await expect(s.putMeta('sim-1/latest', enc('b'), 0)).rejects.toBeInstanceOf(RevisionMismatchError);
    const r2 = await s.putMeta('sim-1/latest', enc('b'), r1);
    expect(r2).toBeGreaterThan(r1);
    await expect(s.putMeta('sim-1/latest', enc('c'), r1)).rejects.toThrow(/expected revision/);
    const m = await s.getMeta('sim-1/latest');
    expect(dec(m?.value)).toBe('b');
    expect(m?.revision).toBe(r2);
    expect(await s.getMeta('sim-1/none')).toBeUndefined();
  });

  it('refuses keys that are not plain tokens, naming the key', async () => {
    const s = await make();
    await expect(s.putBlob('../escape', enc('x'))).rejects.toThrow(/"\.\.\/escape"/);
    await expect(s.putMeta('a b', enc('x'))).rejects.toThrow(/checkpoint key/);
  });
});

const jsTest = skipJs ? (name: string, fn: jest.ProvidesCallback) => it.skip(`${name} (skipped: ${NATS_SERVER_MISSING})`, fn) : it;

describe('JetStreamCheckpointStore', () => {
  it('maps checkpoint keys to KV keys and back without loss', () => {
    for (const k of ['sim-01J/latest', 'sim-1/h0/ckpt-3/vm1.mem', 'a/b.c.d/e_f-g', 'x/...']) expect(kvKeyToCheckpoint(checkpointKeyToKv(k))).toBe(k);
    expect(checkpointKeyToKv('sim-1/h0/vm1.mem')).toBe('sim-1.h0.vm1=mem');
  });

  jsTest('two writers on separate connections: only one compare-and-set wins', async () => {
    const a = await jetStreamStore('ckpt-shared');
    const b = await jetStreamStore('ckpt-shared');
    const r1 = await a.putMeta('sim-2/latest', enc('1'), 0);
    const results = await Promise.allSettled([a.putMeta('sim-2/latest', enc('a'), r1), b.putMeta('sim-2/latest', enc('b'), r1)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(RevisionMismatchError);
    const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<number>).value;
    expect((lost.reason as RevisionMismatchError).actual).toBe(winner);
    expect((await b.getMeta('sim-2/latest'))?.revision).toBe(winner);
  });

  jsTest('blobs larger than a JetStream message, and metadata re-created after deletePrefix', async () => {
    const s = await jetStreamStore();
    const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) & 0xff);
    await s.putBlob('sim-3/h0/ckpt-1/vm1.mem', big);
    expect(Buffer.from((await s.getBlob('sim-3/h0/ckpt-1/vm1.mem')) ?? []).equals(Buffer.from(big))).toBe(true);
    await s.putMeta('sim-3/latest', enc('x'), 0);
    expect(await s.list('sim-3')).toEqual(['sim-3/h0/ckpt-1/vm1.mem', 'sim-3/latest']);
    await s.deletePrefix('sim-3/');
    expect(await s.list('sim-3/')).toEqual([]);
    expect(await s.getBlob('sim-3/h0/ckpt-1/vm1.mem')).toBeUndefined();
    expect(await s.getMeta('sim-3/latest')).toBeUndefined();
    expect(await s.putMeta('sim-3/latest', enc('y'), 0)).toBeGreaterThan(0);
  });
});
