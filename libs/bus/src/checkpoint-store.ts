// Where checkpoints live (issue 11, architecture §11): blobs (VM memory pages, snapshots) and small
// metadata records with a revision, so that two writers (a scheduler and its stand-in) can never
// both believe they own the latest checkpoint. Three implementations share this contract: a local
// directory (the embedded runner, `vsim run --checkpoint-dir`), memory (tests), and NATS JetStream
// (object store for blobs, key-value for metadata; jetstream-checkpoint-store.ts).
//
// Keys are '/'-separated tokens of [A-Za-z0-9_-] (e.g. `sim-01J.../h0/ckpt-3/vm1.mem`); they map to
// file paths, object names and KV keys without escaping.

import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

export interface MetaRecord {
  readonly value: Uint8Array;
  /** Increases by at least one on every successful put of this key; 0 is never a stored revision. */
  readonly revision: number;
}

/** Thrown by putMeta when the key's current revision is not the expected one. */
export class RevisionMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`checkpoint metadata ${key}: expected revision ${expected}, found ${actual}`);
    this.name = 'RevisionMismatchError';
  }
}

export interface CheckpointStore {
  putBlob(key: string, data: Uint8Array): Promise<void>;
  /** undefined when there is no such blob. */
  getBlob(key: string): Promise<Uint8Array | undefined>;
  /**
   * Writes a metadata record. `expectedRevision` (compare-and-set): 0 means "the key must not
   * exist yet", n > 0 "its revision must be n"; omitted means unconditional. Resolves with the new
   * revision; rejects with RevisionMismatchError when the condition does not hold.
   */
  putMeta(key: string, value: Uint8Array, expectedRevision?: number): Promise<number>;
  getMeta(key: string): Promise<MetaRecord | undefined>;
  /** Every blob and metadata key starting with `prefix` (sorted). */
  list(prefix: string): Promise<string[]>;
  /** Deletes every blob and metadata record whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  close(): Promise<void>;
}

const KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/;

/** Throws a RangeError naming the key when it is not made of allowed tokens. */
export function checkCheckpointKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((t) => t === '.' || t === '..'))
    throw new RangeError(`checkpoint key ${JSON.stringify(key)}: use '/'-separated tokens of letters, digits, '_', '-' (and '.' after the first)`);
}

/** In memory: tests, and a process that wants checkpoints only to resume itself. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly blobs = new Map<string, Uint8Array>();
  private readonly meta = new Map<string, MetaRecord>();

  async putBlob(key: string, data: Uint8Array): Promise<void> {
    checkCheckpointKey(key);
    this.blobs.set(key, Uint8Array.from(data));
  }

  async getBlob(key: string): Promise<Uint8Array | undefined> {
    const b = this.blobs.get(key);
    return b && Uint8Array.from(b);
  }

  async putMeta(key: string, value: Uint8Array, expectedRevision?: number): Promise<number> {
    checkCheckpointKey(key);
    const actual = this.meta.get(key)?.revision ?? 0;
    if (expectedRevision !== undefined && expectedRevision !== actual) throw new RevisionMismatchError(key, expectedRevision, actual);
    const revision = actual + 1;
    this.meta.set(key, { value: Uint8Array.from(value), revision });
    return revision;
  }

  async getMeta(key: string): Promise<MetaRecord | undefined> {
    return this.meta.get(key);
  }

  async list(prefix: string): Promise<string[]> {
    return [...new Set([...this.blobs.keys(), ...this.meta.keys()])].filter((k) => k.startsWith(prefix)).sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const k of [...this.blobs.keys()]) if (k.startsWith(prefix)) this.blobs.delete(k);
    for (const k of [...this.meta.keys()]) if (k.startsWith(prefix)) this.meta.delete(k);
  }

  async close(): Promise<void> {}
}

/**
 * A local directory: blobs as files under `blobs/`, metadata under `meta/` as `<key>` holding the
 * value and `<key>.rev` its revision. One writer process at a time (the compare-and-set is not
 * atomic across processes); files are written to a temporary name and renamed, so a crash never
 * leaves a half-written checkpoint behind a valid name.
 */
export class DirectoryCheckpointStore implements CheckpointStore {
  constructor(readonly dir: string) {}

  private path(kind: 'blobs' | 'meta', key: string): string {
    checkCheckpointKey(key);
    return join(this.dir, kind, ...key.split('/'));
  }

  private async writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }

  async putBlob(key: string, data: Uint8Array): Promise<void> {
    await this.writeAtomically(this.path('blobs', key), data);
  }

  async getBlob(key: string): Promise<Uint8Array | undefined> {
    return readOptional(this.path('blobs', key));
  }

  async putMeta(key: string, value: Uint8Array, expectedRevision?: number): Promise<number> {
    const path = this.path('meta', key);
    const actual = await this.revisionOf(path);
    if (expectedRevision !== undefined && expectedRevision !== actual) throw new RevisionMismatchError(key, expectedRevision, actual);
    const revision = actual + 1;
    await this.writeAtomically(path, value);
    await this.writeAtomically(`${path}.rev`, String(revision));
    return revision;
  }

  async getMeta(key: string): Promise<MetaRecord | undefined> {
    const path = this.path('meta', key);
    const value = await readOptional(path);
    return value && { value, revision: await this.revisionOf(path) };
  }

  private async revisionOf(path: string): Promise<number> {
    const rev = await readOptional(`${path}.rev`);
    return rev ? Number(Buffer.from(rev).toString('utf8')) : 0;
  }

  async list(prefix: string): Promise<string[]> {
    const keys = new Set<string>();
    for (const kind of ['blobs', 'meta'] as const) {
      const root = join(this.dir, kind);
      for (const f of await filesUnder(root)) {
        if (f.endsWith('.rev') || f.includes('.tmp-')) continue;
        const key = relative(root, f).split(sep).join('/');
        if (key.startsWith(prefix)) keys.add(key);
      }
    }
    return [...keys].sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const key of await this.list(prefix)) {
      for (const kind of ['blobs', 'meta'] as const) {
        const p = join(this.dir, kind, ...key.split('/'));
        await rm(p, { force: true });
        if (kind === 'meta') await rm(`${p}.rev`, { force: true });
      }
    }
  }

  async close(): Promise<void> {}
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}
