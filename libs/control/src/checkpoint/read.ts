// Reading checkpoints back (resume): a host's manifest, by index or the newest one, and the events
// before it — each missing or corrupted piece reported with its key, before anything is set up.

import { CheckpointStore } from '@vsim/bus';
import { Event, EventBatch, HostCheckpoint } from '@vsim/proto';
import { CHECKPOINT_FORMAT, checkpointKeys } from '@vsim/scheduler';

/** A checkpoint that cannot be resumed: the message names the key (or the field) at fault. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

async function blob(store: CheckpointStore, key: string, what: string): Promise<Uint8Array> {
  const data = await store.getBlob(key);
  if (!data) throw new CheckpointError(`checkpoint blob ${key} (${what}) is missing`);
  return data;
}

/** The index `latest` names for `host` of `sim`, or undefined when the host has no checkpoint. */
export async function latestIndex(store: CheckpointStore, sim: string, host: string): Promise<number | undefined> {
  const key = checkpointKeys.latest(sim, host);
  const rec = await store.getMeta(key);
  if (!rec) return undefined;
  const text = Buffer.from(rec.value).toString('utf8');
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CheckpointError(`checkpoint metadata ${key} holds ${JSON.stringify(text)}, not a checkpoint index`);
  return n;
}

/** Decodes and checks the manifest stored at `key`. */
export async function readManifest(store: CheckpointStore, key: string): Promise<HostCheckpoint> {
  const data = await blob(store, key, 'a host checkpoint manifest');
  let m: HostCheckpoint;
  try {
    m = HostCheckpoint.decode(data);
  } catch (err) {
    throw new CheckpointError(`checkpoint blob ${key} is not a HostCheckpoint manifest (${(err as Error).message})`, { cause: err });
  }
  if (m.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `checkpoint ${key}: format ${m.format}, this vsim resumes format ${CHECKPOINT_FORMAT}` +
        (m.format === 1 ? ' (format 1 held the loop state as JSON; take a new checkpoint)' : ''),
    );
  if (!m.loop) throw new CheckpointError(`checkpoint ${key}: loop is missing`);
  if (!m.scheduler?.policy) throw new CheckpointError(`checkpoint ${key}: scheduler names no policy`);
  if (m.loop.host !== m.host || m.loop.pcpus !== m.pcpus)
    throw new CheckpointError(
      `checkpoint ${key}: loop is of host ${m.loop.host} with ${m.loop.pcpus} pCPUs, the manifest's is ${m.host} with ${m.pcpus}`,
    );
  return m;
}

/** Host `host`'s checkpoint `index` of `sim` (default: its newest), with the key it was read from. */
export async function findManifest(
  store: CheckpointStore,
  sim: string,
  host: string,
  index?: number,
): Promise<{ key: string; manifest: HostCheckpoint }> {
  const n = index ?? (await latestIndex(store, sim, host));
  if (n === undefined)
    throw new CheckpointError(`no checkpoint of host ${host} of simulation ${sim} (metadata ${checkpointKeys.latest(sim, host)} is missing)`);
  const key = checkpointKeys.manifest(sim, host, n);
  const manifest = await readManifest(store, key);
  if (manifest.host !== host || manifest.sim !== sim || manifest.index !== n)
    throw new CheckpointError(`checkpoint ${key} is of ${manifest.sim}/${manifest.host} #${manifest.index}, not ${sim}/${host} #${n}`);
  return { key, manifest };
}

/** The host's events before the checkpoint, in the order they were published. */
export async function readCheckpointEvents(store: CheckpointStore, m: HostCheckpoint): Promise<Event[]> {
  const events: Event[] = [];
  for (const key of m.eventKeys) {
    const data = await blob(store, key, `events of host ${m.host}`);
    let batch: EventBatch;
    try {
      batch = EventBatch.decode(data);
    } catch (err) {
      throw new CheckpointError(`checkpoint blob ${key} is not an EventBatch (${(err as Error).message})`, { cause: err });
    }
    if (Number(batch.firstIndex) !== events.length || batch.host !== m.host)
      throw new CheckpointError(`checkpoint blob ${key}: events of ${batch.host} from ${batch.firstIndex}, expected ${m.host} from ${events.length}`);
    try {
      events.push(...batch.events.map((e) => Event.fromMessage(e)));
    } catch (err) {
      throw new CheckpointError(`checkpoint blob ${key}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (events.length !== m.eventsPublished)
    throw new CheckpointError(
      `checkpoint of host ${m.host} #${m.index}: its event blobs hold ${events.length} events, the manifest says ${m.eventsPublished}`,
    );
  return events;
}
