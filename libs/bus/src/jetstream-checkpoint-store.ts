// The cluster's CheckpointStore (issue 11, architecture §11): blobs (VM memory pages, snapshots) in
// a JetStream object store, metadata in a JetStream key-value bucket whose per-key revision (the
// stream sequence of the key's last write) gives the compare-and-set: a put that names a previous
// revision is refused by the server ("wrong last sequence") when another writer got there first,
// so two schedulers (a stand-in and the one it replaces) can never both advance `latest`.
//
// Keys: checkpoint keys are '/'-separated tokens (checkpoint-store.ts). Object names may hold any
// string, so blobs keep the key as is. KV keys are subjects: '.' separates tokens and '/' is
// allowed but would make prefix listing a scan, so the key maps reversibly to '/' → '.' (one
// subject token per key token, so `list('sim-1/h0/')` is a server-side filter `sim-1.h0.>`) and
// '.' → '=' (a character checkpoint keys never hold).
//
// Who creates the buckets: the gateway at start (`create: true`, like the event stream); the other
// services open them (`create: false`), which needs only the lookup permission (libs/security).

import { NatsConnection } from '@nats-io/nats-core';
import { JetStreamApiCodes, JetStreamApiError, StorageType, jetstream } from '@nats-io/jetstream';
import { KV, Kvm } from '@nats-io/kv';
import { ObjectStore, Objm } from '@nats-io/obj';
import { CheckpointStore, MetaRecord, RevisionMismatchError, checkCheckpointKey } from './checkpoint-store';

/** The default bucket name: `KV_<name>` holds metadata, `OBJ_<name>` blobs. */
export const CHECKPOINT_BUCKET = 'vsim-checkpoints';

export interface JetStreamCheckpointStoreOptions {
  /** Bucket name (both buckets). Default CHECKPOINT_BUCKET. */
  bucket?: string;
  /** Create the buckets when missing (the gateway); otherwise they must exist. Default true. */
  create?: boolean;
  /** Replicas in a clustered JetStream. Default 1. */
  replicas?: number;
  /** Server-side timeout of each JetStream API call, ms. Default 10 s. */
  timeoutMs?: number;
}

/** KV key of a checkpoint key (see the header comment); reversible. */
export function checkpointKeyToKv(key: string): string {
  return key.replace(/\./g, '=').replace(/\//g, '.');
}

/** The checkpoint key of a KV key made by checkpointKeyToKv. */
export function kvKeyToCheckpoint(kvKey: string): string {
  return kvKey.replace(/\./g, '/').replace(/=/g, '.');
}

/** KV subject filter covering every key starting with `prefix` (refined client-side). */
function kvFilterFor(prefix: string): string {
  const cut = prefix.lastIndexOf('/');
  return cut < 0 ? '>' : `${checkpointKeyToKv(prefix.slice(0, cut))}.>`;
}

function isWrongLastSequence(e: unknown): boolean {
  return (
    e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

export class JetStreamCheckpointStore implements CheckpointStore {
  private constructor(
    private readonly kv: KV,
    private readonly obj: ObjectStore,
  ) {}

  /** Opens (or creates) the buckets on `nc`'s server, which must have JetStream. */
  static async open(nc: NatsConnection, opts: JetStreamCheckpointStoreOptions = {}): Promise<JetStreamCheckpointStore> {
    const bucket = opts.bucket ?? CHECKPOINT_BUCKET;
    const replicas = opts.replicas ?? 1;
    const timeout = opts.timeoutMs ?? 10_000;
    // Every API call and acknowledged publish of both clients waits at most `timeout`.
    const js = jetstream(nc, { timeout });
    const kvm = new Kvm(js);
    const objm = new Objm(js);
    try {
      const kv = opts.create === false ? await kvm.open(bucket) : await kvm.create(bucket, { history: 1, replicas, storage: StorageType.File });
      const obj = opts.create === false ? await objm.open(bucket) : await objm.create(bucket, { replicas, storage: StorageType.File });
      await kv.status(); // open() is lazy: a missing bucket (or no permission) must show now
      return new JetStreamCheckpointStore(kv, obj);
    } catch (e) {
      throw new Error(`checkpoint buckets ${bucket} (JetStream): ${(e as Error).message}`, { cause: e });
    }
  }

  async putBlob(key: string, data: Uint8Array): Promise<void> {
    checkCheckpointKey(key);
    await this.obj.putBlob({ name: key }, data);
  }

  async getBlob(key: string): Promise<Uint8Array | undefined> {
    checkCheckpointKey(key);
    return (await this.obj.getBlob(key)) ?? undefined;
  }

  async putMeta(key: string, value: Uint8Array, expectedRevision?: number): Promise<number> {
    checkCheckpointKey(key);
    const k = checkpointKeyToKv(key);
    try {
      if (expectedRevision === undefined) return await this.kv.put(k, value);
      if (expectedRevision === 0) return await this.kv.create(k, value);
      return await this.kv.update(k, value, expectedRevision);
    } catch (e) {
      if (expectedRevision !== undefined && isWrongLastSequence(e))
        throw new RevisionMismatchError(key, expectedRevision, (await this.getMeta(key))?.revision ?? 0);
      throw e;
    }
  }

  async getMeta(key: string): Promise<MetaRecord | undefined> {
    checkCheckpointKey(key);
    const e = await this.kv.get(checkpointKeyToKv(key));
    // A deleted or purged key reads as a marker entry: for the contract it does not exist.
    if (!e || e.operation !== 'PUT') return undefined;
    return { value: e.value, revision: e.revision };
  }

  async list(prefix: string): Promise<string[]> {
    const keys = new Set<string>();
    for await (const k of await this.kv.keys(kvFilterFor(prefix))) {
      const key = kvKeyToCheckpoint(k);
      if (key.startsWith(prefix)) keys.add(key);
    }
    // Object names are encoded into subjects, so blobs cannot be filtered server-side: a scan of
    // the bucket's metadata (one small message per live object).
    for (const info of await this.obj.list()) if (!info.deleted && info.name.startsWith(prefix)) keys.add(info.name);
    return [...keys].sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    for await (const k of await this.kv.keys(kvFilterFor(prefix))) if (kvKeyToCheckpoint(k).startsWith(prefix)) await this.kv.purge(k);
    for (const info of await this.obj.list()) if (!info.deleted && info.name.startsWith(prefix)) await this.obj.delete(info.name);
  }

  /** The connection belongs to the caller: nothing to release here. */
  async close(): Promise<void> {}
}
