// Where a replaceable service keeps the state a replacement must find (issue 11 item 2,
// architecture §11): small records by key in a JetStream key-value bucket of its own (the hypervisor's
// VM records, the gateway's simulations), so that a process restarted after a kill -9, or a stand-in,
// takes over from the last write. Keys are checkpoint-style '/'-separated tokens, mapped to KV keys
// as the checkpoint store does. In memory for tests and for a process without JetStream.

import { NatsConnection } from '@nats-io/nats-core';
import { StorageType, jetstream } from '@nats-io/jetstream';
import { KV, Kvm } from '@nats-io/kv';
import { checkCheckpointKey } from './checkpoint-store';
import { checkpointKeyToKv, kvKeyToCheckpoint } from './jetstream-checkpoint-store';
import { EVENT_RETENTION_MS } from './stream';

/** How long a state record lives (as long as the events a takeover would follow). */
export const STATE_RETENTION_MS = EVENT_RETENTION_MS;

export interface StateStore {
  /** Writes `value` under `key` (last writer wins); resolves once the server stored it. */
  put(key: string, value: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every key starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes every key starting with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
}

export class MemoryStateStore implements StateStore {
  private readonly m = new Map<string, Uint8Array>();
  async put(key: string, value: Uint8Array): Promise<void> {
    checkCheckpointKey(key);
    this.m.set(key, Uint8Array.from(value));
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.m.get(key);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.m.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async deletePrefix(prefix: string): Promise<void> {
    for (const k of [...this.m.keys()]) if (k.startsWith(prefix)) this.m.delete(k);
  }
}

export class JetStreamStateStore implements StateStore {
  private constructor(private readonly kv: KV) {}

  /**
   * Opens the bucket (creating it unless `create` is false) on `nc`'s server, which must have
   * JetStream. Records live STATE_RETENTION_MS at most: the events a takeover needs are kept no
   * longer (the event stream's retention), and a record whose owner never came back must not stay.
   */
  static async open(nc: NatsConnection, bucket: string, opts: { create?: boolean; timeoutMs?: number } = {}): Promise<JetStreamStateStore> {
    const kvm = new Kvm(jetstream(nc, { timeout: opts.timeoutMs ?? 5000 }));
    try {
      const kv =
        opts.create === false ? await kvm.open(bucket) : await kvm.create(bucket, { history: 1, storage: StorageType.File, ttl: STATE_RETENTION_MS });
      await kv.status(); // open() is lazy: a missing bucket (or no permission) must show now
      return new JetStreamStateStore(kv);
    } catch (e) {
      throw new Error(`state bucket ${bucket} (JetStream): ${(e as Error).message}`, { cause: e });
    }
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    checkCheckpointKey(key);
    await this.kv.put(checkpointKeyToKv(key), value);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkCheckpointKey(key);
    const e = await this.kv.get(checkpointKeyToKv(key));
    return e && e.operation === 'PUT' ? e.value : undefined;
  }

  async list(prefix: string): Promise<string[]> {
    const cut = prefix.lastIndexOf('/');
    const filter = cut < 0 ? '>' : `${checkpointKeyToKv(prefix.slice(0, cut))}.>`;
    const out: string[] = [];
    for await (const k of await this.kv.keys(filter)) {
      const key = kvKeyToCheckpoint(k);
      if (key.startsWith(prefix)) out.push(key);
    }
    return out.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const key of await this.list(prefix)) await this.kv.purge(checkpointKeyToKv(key));
  }
}
