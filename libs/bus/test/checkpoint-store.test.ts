import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore, DirectoryCheckpointStore, MemoryCheckpointStore, RevisionMismatchError } from '../src';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const stores: [string, () => CheckpointStore][] = [
  ['memory', () => new MemoryCheckpointStore()],
  [
    'directory',
    () => {
      const d = mkdtempSync(join(tmpdir(), 'vsim-ckpt-'));
      dirs.push(d);
      return new DirectoryCheckpointStore(d);
    },
  ],
];

describe.each(stores)('%s checkpoint store', (_name, make) => {
  it('keeps blobs and lists them by prefix', async () => {
    const s = make();
    await s.putBlob('sim-1/h0/ckpt-1/vm1.mem', enc('pages'));
    await s.putBlob('sim-1/h1/ckpt-1/vm2.mem', enc('other'));
    expect(dec(await s.getBlob('sim-1/h0/ckpt-1/vm1.mem'))).toBe('pages');
    expect(await s.getBlob('sim-1/h0/nothing')).toBeUndefined();
    expect(await s.list('sim-1/h0/')).toEqual(['sim-1/h0/ckpt-1/vm1.mem']);
    await s.deletePrefix('sim-1/h0/');
    expect(await s.list('sim-1/')).toEqual(['sim-1/h1/ckpt-1/vm2.mem']);
  });

  it('compare-and-set on metadata revisions', async () => {
    const s = make();
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
    const s = make();
    await expect(s.putBlob('../escape', enc('x'))).rejects.toThrow(/"\.\.\/escape"/);
    await expect(s.putMeta('a b', enc('x'))).rejects.toThrow(/checkpoint key/);
  });
});
