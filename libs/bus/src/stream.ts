// Messages that must survive a NATS outage (a simulation's events) go through a JetStream stream
// when the server has one for their subject: the publisher waits for the server's acknowledgement
// and retries with the same message id (Nats-Msg-Id), which the stream de-duplicates, and the
// reader follows the stream with an ordered consumer, which resumes where it stood after a
// reconnection. Without such a stream (a server without JetStream, most unit tests) the same calls
// fall back to a plain publish and subscription. Who creates the stream: the gateway
// (ensureEventStream), at start.

import { NatsConnection } from '@nats-io/nats-core';
import { DeliverPolicy, JetStreamClient, JetStreamManager, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';

/** The stream of every simulation's events (vsim.<sim>.events.<host>). */
export const EVENT_STREAM = 'VSIM_EVENTS';
export const EVENT_STREAM_SUBJECTS = ['vsim.*.events.*'];
/** A retried publish within this window is recognised as a duplicate by its message id. */
export const DUPLICATE_WINDOW_MS = 120_000;
/** Events are kept this long (a client may reattach to a finished simulation meanwhile). */
export const EVENT_RETENTION_MS = 24 * 3600_000;

const NS = 1_000_000;

/**
 * Creates the event stream if the server has JetStream and no such stream yet. Resolves with
 * whether the stream exists now (false: JetStream is not enabled; events travel as plain messages).
 */
export async function ensureEventStream(nc: NatsConnection): Promise<boolean> {
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: 5000 });
  } catch {
    return false; // no JetStream on this server
  }
  try {
    await jsm.streams.info(EVENT_STREAM);
    return true;
  } catch {
    // not there yet
  }
  await jsm.streams.add({
    name: EVENT_STREAM,
    subjects: EVENT_STREAM_SUBJECTS,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: DUPLICATE_WINDOW_MS * NS,
    max_age: EVENT_RETENTION_MS * NS,
    max_bytes: 1 << 30,
  });
  return true;
}

/** Whether `subject` is captured by the event stream. */
export function isEventSubject(subject: string): boolean {
  const t = subject.split('.');
  return t.length === 4 && t[0] === 'vsim' && t[2] === 'events';
}

/** Looks the stream up at most every `recheckMs` (it may be created after this process started). */
export class StreamProbe {
  private known: boolean | undefined;
  private checkedAt = 0;
  private pending: Promise<boolean> | undefined;
  readonly js: JetStreamClient;

  constructor(
    private readonly nc: NatsConnection,
    private readonly recheckMs = 5000,
  ) {
    this.js = jetstream(nc);
  }

  /** True once the stream was seen: from then on, stored publishes wait for the server's ack. */
  async exists(): Promise<boolean> {
    if (this.known) return true;
    if (this.known === false && Date.now() - this.checkedAt < this.recheckMs) return false;
    this.pending ??= this.look().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async look(): Promise<boolean> {
    try {
      const jsm = await jetstreamManager(this.nc, { timeout: 2000, checkAPI: false });
      await jsm.streams.info(EVENT_STREAM);
      this.known = true;
    } catch {
      this.known = false;
    }
    this.checkedAt = Date.now();
    return this.known;
  }
}

/** An ordered consumer over the stream's `subject` from its first message; resumes after outages. */
export async function followStream(
  js: JetStreamClient,
  subject: string,
  onMsg: (subject: string, data: Uint8Array) => void,
): Promise<{ stop(): void }> {
  // The stream's subjects are vsim.*.events.*: say `*` for the host where a subscriber says `>`.
  const filter = subject.endsWith('.events.>') ? `${subject.slice(0, -1)}*` : subject;
  const consumer = await js.consumers.get(EVENT_STREAM, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
  // Short pulls with heartbeats: after a server restart (the consumer is gone with it) the client
  // notices within ~2 s and recreates it from the last message it delivered.
  const messages = await consumer.consume({
    expires: 2000,
    idle_heartbeat: 1000,
    callback: (m) => onMsg(m.subject, m.data),
  });
  return {
    stop: () => {
      void messages.close().catch(() => undefined);
    },
  };
}
