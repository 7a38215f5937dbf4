// Checkpoints and resume in one process (issue 11 items 1 and 5): for every example, a run that
// checkpoints has the event log of a run that does not, and a run resumed from any of its
// checkpoints — onto another number of cpu-nodes — ends with that same event log, event for event.
// A missing or corrupted checkpoint is refused before anything runs, naming the key at fault.

import { readdirSync } from 'fs';
import { resolve } from 'path';
import { MemoryCheckpointStore } from '@vsim/bus';
import { loadScenario, parseScenario, ScenarioError } from '@vsim/scenario';
import { runEmbedded, simSpecFromScenario, SimSpec } from '@vsim/control';
import { HostCheckpoint, VmSnapshot, encode } from '@vsim/proto';
import { checkpointKeys } from '@vsim/scheduler';

const EXAMPLES = resolve(__dirname, '../../../examples');
const MS = 1e6;

function example(name: string): SimSpec {
  return simSpecFromScenario(loadScenario(resolve(EXAMPLES, `${name}.yaml`)));
}

/** Each host's checkpoint indexes in the store, in order. */
async function indexesOf(store: MemoryCheckpointStore, host: string): Promise<number[]> {
  const keys = await store.list(checkpointKeys.host('embedded', host));
  return keys
    .filter((k) => k.endsWith('/manifest'))
    .map((k) => Number(k.split('/')[2]))
    .sort((a, b) => a - b);
}

/**
 * The first, a middle and the last index of the host with the most checkpoints (a host with fewer
 * resumes from its newest, one with none starts afresh: hosts are independent).
 */
function pick(perHost: number[][]): number[] {
  const most = Math.max(...perHost.map((l) => l.length));
  if (most === 0) return [];
  return [...new Set([1, Math.ceil(most / 2), most])];
}

// Every example, at two intervals: an eighth and a third of the time its hosts run (the last event),
// so that every example — some end within milliseconds — has several checkpoints, at times that do
// not divide its run.
// (examples/migration.yaml is refused: checkpoints do not hold a migration yet, tested below.)
const CASES: [string, number][] = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml') && f !== 'migration.yaml')
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort()
  .flatMap((name): [string, number][] => [
    [name, 8],
    [name, 3],
  ]);

describe('checkpoints and resume (embedded)', () => {
  const baselines = new Map<string, { hash: string; events: string; endNs: number }>();
  async function baseline(name: string): Promise<{ hash: string; events: string; endNs: number }> {
    let b = baselines.get(name);
    if (!b) {
      const { result, log } = await runEmbedded(example(name));
      const all = log.all();
      b = { hash: result.eventLogHash, events: log.toJsonLines(), endNs: all[all.length - 1].timeNs };
      baselines.set(name, b);
    }
    return b;
  }

  it.each(CASES)(
    '%s every 1/%d of its run: same hash with checkpoints, and resumed from several of them',
    async (name, fraction) => {
      const spec = example(name);
      const base = await baseline(name);
      const intervalNs = Math.ceil(base.endNs / fraction);
      const store = new MemoryCheckpointStore();
      const checkpointed = await runEmbedded(spec, 'embedded', { checkpoint: { store, intervalNs } });
      expect(checkpointed.result.eventLogHash).toBe(base.hash);
      const perHost = await Promise.all(spec.hosts.map((h) => indexesOf(store, h.id)));
      const indexes = pick(perHost);
      expect(indexes.length).toBeGreaterThan(0);
      for (const [i, index] of indexes.entries()) {
        // 1, 2, 3 cpu-nodes in turn: hosts are independent, where they run does not matter.
        const resumed = await runEmbedded(spec, 'embedded', { resume: { store, index }, cpuNodes: 1 + (i % 3) });
        // It did resume: each host with checkpoints from checkpoint `index` (or its newest, if it has
        // fewer), the others from the start; the events before came from the checkpoints.
        const expected = spec.hosts.flatMap((h, j) => (perHost[j].length === 0 ? [] : [[h.id, Math.min(index, perHost[j].length)]]));
        expect([...resumed.resumed!].map(([h, r]) => [h, r.index])).toEqual(expected);
        for (const r of resumed.resumed!.values()) expect(r.eventsBefore).toBeGreaterThan(0);
        expect({ index, hash: resumed.result.eventLogHash }).toEqual({ index, hash: base.hash });
        expect(resumed.log.toJsonLines()).toBe(base.events);
      }
      // And from each host's newest checkpoint.
      const latest = await runEmbedded(spec, 'embedded', { resume: { store } });
      expect([...latest.resumed!.values()].map((r) => r.index)).toEqual(perHost.filter((l) => l.length > 0).map((l) => l.length));
      expect(latest.result.eventLogHash).toBe(base.hash);
    },
    600_000,
  );
});

describe('snapshot chains', () => {
  it('are full again every fullEvery checkpoints, and resuming from any of them gives the same hash', async () => {
    const spec = example('quickstart');
    const { result } = await runEmbedded(spec);
    const store = new MemoryCheckpointStore();
    const checkpointed = await runEmbedded(spec, 'embedded', { checkpoint: { store, intervalNs: 5 * MS, fullEvery: 3 } });
    expect(checkpointed.result.eventLogHash).toBe(result.eventLogHash);
    const host = spec.hosts[0].id;
    const indexes = await indexesOf(store, host);
    expect(indexes.length).toBeGreaterThan(6);
    for (const index of indexes) {
      const m = HostCheckpoint.decode((await store.getBlob(checkpointKeys.manifest('embedded', host, index)))!);
      for (const v of m.vms) {
        // Checkpoints 1, 4, 7, ... start the chains: 1, 2, 3, 1, 2, 3, ... snapshots long.
        expect(v.chain.length).toBe(((index - 1) % 3) + 1);
        expect(VmSnapshot.decode((await store.getBlob(v.chain[0]))!).baseGeneration).toBe(0);
      }
    }
    for (const index of [3, 4, indexes.length]) {
      const resumed = await runEmbedded(spec, 'embedded', { resume: { store, index } });
      expect({ index, hash: resumed.result.eventLogHash }).toEqual({ index, hash: result.eventLogHash });
    }
  }, 300_000);
});

describe('a checkpoint that cannot be resumed', () => {
  const spec = (): SimSpec => example('quickstart');
  let store: MemoryCheckpointStore;

  beforeAll(async () => {
    store = new MemoryCheckpointStore();
    await runEmbedded(spec(), 'embedded', { checkpoint: { store, intervalNs: 50 * MS } });
  }, 120_000);

  /** A copy of the store to break. */
  async function copy(): Promise<MemoryCheckpointStore> {
    const c = new MemoryCheckpointStore();
    for (const k of await store.list('')) {
      const b = await store.getBlob(k);
      if (b) await c.putBlob(k, b);
      const m = await store.getMeta(k);
      if (m) await c.putMeta(k, m.value);
    }
    return c;
  }

  const host = () => spec().hosts[0].id;

  it('a missing VM snapshot: the error names its key', async () => {
    const c = await copy();
    const vmKey = (await c.list(checkpointKeys.vmPrefix('embedded', host(), 1)))[0];
    await c.deletePrefix(vmKey);
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: c, index: 1 } })).rejects.toThrow(`checkpoint blob ${vmKey} is missing`);
  });

  it('a corrupted VM snapshot: the error names its key', async () => {
    const c = await copy();
    const vmKey = (await c.list(checkpointKeys.vmPrefix('embedded', host(), 1)))[0];
    await c.putBlob(vmKey, Buffer.from('not a snapshot at all, just bytes'));
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: c, index: 1 } })).rejects.toThrow(`checkpoint blob ${vmKey} is not a VmSnapshot`);
  });

  it('a missing or corrupted manifest, or missing events: the error names the key', async () => {
    const manifest = checkpointKeys.manifest('embedded', host(), 1);
    const c = await copy();
    await c.deletePrefix(manifest);
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: c, index: 1 } })).rejects.toThrow(`checkpoint blob ${manifest}`);
    const d = await copy();
    await d.putBlob(manifest, Buffer.from([0xff, 0xff, 0xff]));
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: d, index: 1 } })).rejects.toThrow(
      `checkpoint blob ${manifest} is not a HostCheckpoint`,
    );
    const e = await copy();
    const events = checkpointKeys.events('embedded', host(), 1);
    await e.deletePrefix(events);
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: e, index: 1 } })).rejects.toThrow(`checkpoint blob ${events} (events of host`);
  });

  it('a checkpoint of another scenario or seed is refused', async () => {
    await expect(runEmbedded({ ...spec(), seed: spec().seed + 1 }, 'embedded', { resume: { store } })).rejects.toThrow(
      /was taken of another scenario, seed or image/,
    );
  });

  it('a scenario with live migration is refused before anything runs, naming checkpoint', async () => {
    const store = new MemoryCheckpointStore();
    await expect(runEmbedded(example('migration'), 'embedded', { checkpoint: { store, intervalNs: 1_000_000 } })).rejects.toThrow(
      /checkpoint: checkpoints and resume do not support live migration yet/,
    );
    expect(await store.list('')).toEqual([]);
  });

  it('a checkpoint index that does not exist, and a store without checkpoints', async () => {
    await expect(runEmbedded(spec(), 'embedded', { resume: { store, index: 999 } })).rejects.toThrow(
      /^no host of simulation embedded has checkpoint 999 \(newest per host: h0: \d+/,
    );
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: new MemoryCheckpointStore() } })).rejects.toThrow(
      'no checkpoint of simulation embedded (no host has metadata embedded/<host>/latest)',
    );
  });

  it('a manifest of another format is refused, naming it', async () => {
    const c = await copy();
    const key = checkpointKeys.manifest('embedded', host(), 1);
    const m = HostCheckpoint.decode((await c.getBlob(key))!);
    await c.putBlob(key, encode(HostCheckpoint, { ...m, format: 99 }));
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: c, index: 1 } })).rejects.toThrow(`checkpoint ${key}: format 99`);
    // Format 1 held the loop state as JSON (fields now reserved): refused, saying so.
    await c.putBlob(key, encode(HostCheckpoint, { ...m, format: 1, loop: undefined, scheduler: undefined }));
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: c, index: 1 } })).rejects.toThrow(
      `checkpoint ${key}: format 1, this vsim resumes format 2 (format 1 held the loop state as JSON; take a new checkpoint)`,
    );
    await c.putBlob(key, encode(HostCheckpoint, { ...m, loop: undefined }));
    await expect(runEmbedded(spec(), 'embedded', { resume: { store: c, index: 1 } })).rejects.toThrow(`checkpoint ${key}: loop is missing`);
  });
});

describe('scenario key checkpoint.interval', () => {
  const base = `
duration: 10ms
hosts: [{ id: h0, pcpus: 1 }]
vms: [{ id: a, image: ${resolve(__dirname, '../../../guests/rv32/bin/hello.elf')}, kind: linux, memory: 16MiB }]
`;
  const opts = { checkImage: () => undefined };

  it('is read as ns of virtual time, and absent means none', () => {
    expect(parseScenario(`${base}checkpoint: { interval: 5ms }\n`, opts).checkpoint).toEqual({ interval: 5e6 });
    expect(parseScenario(base, opts).checkpoint).toBeNull();
  });

  it('a bad value is refused naming the field', () => {
    for (const bad of ['checkpoint: { interval: 0ms }', 'checkpoint: { interval: soon }', 'checkpoint: {}', 'checkpoint: { every: 1ms }']) {
      let err: unknown;
      try {
        parseScenario(`${base}${bad}\n`, opts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScenarioError);
      // Every problem reported is this field's (the rest of the scenario is valid).
      for (const line of (err as ScenarioError).message.split('\n')) expect(line).toMatch(/^checkpoint(\.interval|\.every)?: /);
    }
  });
});
