// The Bus over NATS (nats.js v3: @nats-io/transport-node for the connection, @nats-io/nats-core for
// headers and error classes). Subscriptions use callbacks, which nats.js calls in arrival order as it
// parses the socket; error replies use the @nats-io/services header convention so a requester can
// talk to a vsim responder or to a NATS micro service alike.

import {
  ClosedConnectionError,
  DrainingConnectionError,
  Msg,
  NatsConnection,
  NoRespondersError,
  Subscription as NatsSubscription,
  TimeoutError,
  headers as natsHeaders,
} from '@nats-io/nats-core';
import { NodeConnectionOptions, connect } from '@nats-io/transport-node';
import { StreamProbe, followStream, isEventSubject } from './stream';
import {
  Bus,
  BusError,
  BusObserver,
  BusOptions,
  MsgHandler,
  MsgMeta,
  RequestOptions,
  SERVICE_ERROR_CODE_HEADER,
  SERVICE_ERROR_HEADER,
  ServeHandler,
  SubscribeOptions,
  Subscription,
  checkSubject,
  isBusError,
  defaultOnError,
  remoteErrorOf,
  serviceErrorOf,
} from './bus';
import { checkTimeout } from './in-process';

export interface NatsBusConnectOptions extends BusOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Connection name shown by the server's monitoring (e.g. `vsim-node-3`). */
  name?: string;
  /** Anything else nats.js accepts (auth, reconnect policy, …). */
  connection?: Omit<NodeConnectionOptions, 'servers' | 'name'>;
  /** Sees every request, served request and publish (a service's metrics). */
  observer?: BusObserver;
}

/** What a NatsBus tells its owner about its connection (for a log line). */
export type ConnectionEvent = { type: 'disconnect'; server: string } | { type: 'reconnect'; server: string; downMs: number };

/**
 * Reconnection policy of vsim's processes: try every 250 ms (a restarted server is back in use at
 * once) for as long as it takes — a service without NATS has nothing to do but wait for it, and
 * requests in flight are retried once it is back (RequestOptions.attemptMs).
 */
export const RECONNECT_OPTIONS = { reconnectTimeWait: 250, reconnectJitter: 100, maxReconnectAttempts: -1 } as const;

export class NatsBus implements Bus {
  private readonly onError: (err: unknown, subject: string) => void;
  private readonly subs = new Set<NatsSubscription>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private draining = false;
  /** Resolved (and replaced) at every reconnection: requests in flight resend at once. */
  private reconnected = deferred();
  private downSince: number | undefined;
  private readonly listeners = new Set<(e: ConnectionEvent) => void>();
  private probe: StreamProbe | undefined;
  private readonly observer?: BusObserver;

  /** Wraps an open connection; the bus owns it from now on (close/drain close it). */
  constructor(
    /** The underlying connection, for what the Bus does not cover (JetStream, the services API). */
    readonly nc: NatsConnection,
    opts: BusOptions & { observer?: BusObserver } = {},
  ) {
    this.onError = opts.onError ?? defaultOnError;
    this.observer = opts.observer;
    void this.watchStatus();
  }

  /** Connects with vsim's reconnection policy (RECONNECT_OPTIONS) unless `connection` says otherwise. */
  static async connect(opts: NatsBusConnectOptions): Promise<NatsBus> {
    const nc = await connect({ ...RECONNECT_OPTIONS, ...opts.connection, servers: opts.servers, name: opts.name });
    return new NatsBus(nc, { onError: opts.onError, observer: opts.observer });
  }

  /** Calls `f` on every disconnection and reconnection; returns a function that stops it. */
  onConnection(f: (e: ConnectionEvent) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** Whether the connection is up now (false while nats.js reconnects). */
  isConnected(): boolean {
    return this.downSince === undefined && !this.nc.isClosed();
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      let e: ConnectionEvent | undefined;
      if (s.type === 'disconnect') {
        this.downSince ??= Date.now();
        e = { type: 'disconnect', server: s.server };
      } else if (s.type === 'reconnect') {
        e = { type: 'reconnect', server: s.server, downMs: Date.now() - (this.downSince ?? Date.now()) };
        this.downSince = undefined;
        const r = this.reconnected;
        this.reconnected = deferred();
        r.resolve();
      }
      if (e) for (const f of this.listeners) f(e);
    }
  }

  isClosed(): boolean {
    return this.nc.isClosed();
  }

  publish(subject: string, data: Uint8Array): void {
    checkSubject(subject, false);
    try {
      // nats.js queues a reference to `data` until the socket write; copy so that a caller reusing
      // its buffer after publish() cannot change what is sent (InProcessBus copies too).
      this.nc.publish(subject, data.slice());
    } catch (err) {
      throw toBusError(err, subject, undefined, this.nc);
    }
    this.observer?.published?.(subject, data.length);
  }

  subscribe(subject: string, handler: MsgHandler, opts: SubscribeOptions = {}): Subscription {
    checkSubject(subject, true);
    return this.addSub(subject, opts.queue, (msg) => {
      try {
        const r = handler(msg.data, metaOf(msg));
        if (r && typeof (r as Promise<void>).then === 'function') {
          this.track(Promise.resolve(r).catch((err: unknown) => this.onError(err, msg.subject)));
        }
      } catch (err) {
        this.onError(err, msg.subject);
      }
    });
  }

  serve(subject: string, handler: ServeHandler, opts: SubscribeOptions = {}): Subscription {
    checkSubject(subject, true);
    return this.addSub(subject, opts.queue, (msg) => {
      this.track(
        (async () => {
          let reply: Uint8Array;
          const started = this.observer?.served ? performance.now() : undefined;
          try {
            reply = await handler(msg.data, metaOf(msg));
          } catch (err) {
            if (started !== undefined) this.observer!.served!(msg.subject, (performance.now() - started) / 1000, 'error');
            if (!msg.reply) return this.onError(err, msg.subject);
            const { message, code } = serviceErrorOf(err);
            const h = natsHeaders();
            h.set(SERVICE_ERROR_HEADER, message);
            h.set(SERVICE_ERROR_CODE_HEADER, String(code));
            this.respond(msg, new Uint8Array(0), h);
            return;
          }
          if (started !== undefined) this.observer!.served!(msg.subject, (performance.now() - started) / 1000, 'ok');
          if (msg.reply) this.respond(msg, reply);
        })(),
      );
    });
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    checkSubject(subject, false);
    checkTimeout(opts.timeoutMs);
    if (opts.attemptMs !== undefined) checkTimeout(opts.attemptMs);
    if (this.draining) throw new BusError('closed', 'bus is draining', { subject });
    const bytes = data.slice();
    if (opts.attemptMs === undefined) return this.once(subject, bytes, opts.timeoutMs);
    const deadline = Date.now() + opts.timeoutMs;
    for (let attempt = 1, idle = 0; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new BusError('timeout', `request to ${subject} timed out after ${opts.timeoutMs} ms (${attempt - 1} attempts)`, { subject });
      const reconnected = this.reconnected.promise.then((): typeof RECONNECTED => RECONNECTED);
      const reply = this.once(subject, bytes, Math.min(opts.attemptMs, left));
      let got: Uint8Array | typeof RECONNECTED;
      try {
        got = await Promise.race([reply, reconnected]);
      } catch (err) {
        if (!isBusError(err) || (err.code !== 'timeout' && err.code !== 'no-responders')) throw err;
        // Nobody serves it (yet): a responder reconnecting re-subscribes within moments.
        if (err.code === 'no-responders') await sleep(Math.min(50 << idle++, 1000, Math.max(1, deadline - Date.now())));
        opts.onRetry?.(attempt, err.code);
        continue;
      }
      if (got !== RECONNECTED) return got;
      reply.catch(() => undefined); // abandoned: its reply (if any) is not awaited any more
      opts.onRetry?.(attempt, 'reconnected');
    }
  }

  private async once(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    let msg: Msg;
    const started = this.observer?.requested ? performance.now() : undefined;
    const observe = (outcome: 'ok' | 'error' | BusError['code']) => {
      if (started !== undefined) this.observer!.requested!(subject, (performance.now() - started) / 1000, outcome);
    };
    try {
      msg = await this.nc.request(subject, data, { timeout: timeoutMs });
    } catch (err) {
      const e = toBusError(err, subject, timeoutMs, this.nc);
      observe(e instanceof BusError ? e.code : 'error');
      throw e;
    }
    const h = msg.headers;
    if (h?.has(SERVICE_ERROR_HEADER)) {
      observe('remote');
      throw remoteErrorOf(subject, (k) => h.get(k));
    }
    observe('ok');
    return msg.data;
  }

  async publishStored(subject: string, data: Uint8Array, msgId: string): Promise<void> {
    checkSubject(subject, false);
    this.probe ??= new StreamProbe(this.nc);
    if (!isEventSubject(subject) || !(await this.probe.exists())) return this.publish(subject, data);
    const bytes = data.slice();
    // Stored once however often it is sent (msgId); retried until stored or the bus closes.
    for (let attempt = 0; ; attempt++) {
      if (this.nc.isClosed()) throw new BusError('closed', 'bus is closed', { subject });
      try {
        await this.probe.js.publish(subject, bytes, { msgID: msgId, timeout: 2000 });
        // Counted once, when stored (a retry that the stream de-duplicates is the same message).
        this.observer?.published?.(subject, bytes.length);
        return;
      } catch {
        await sleep(Math.min(50 << Math.min(attempt, 5), 1000));
      }
    }
  }

  async followStored(subject: string, handler: MsgHandler): Promise<Subscription> {
    checkSubject(subject, true);
    this.probe ??= new StreamProbe(this.nc);
    if (!(await this.probe.exists())) return this.subscribe(subject, handler);
    const f = await followStream(this.probe.js, subject, (subj, data) => {
      try {
        const r = handler(data, { subject: subj });
        if (r && typeof (r as Promise<void>).then === 'function') this.track(Promise.resolve(r).catch((err: unknown) => this.onError(err, subj)));
      } catch (err) {
        this.onError(err, subj);
      }
    });
    return { subject, unsubscribe: () => f.stop() };
  }

  async flush(): Promise<void> {
    try {
      await this.nc.flush();
    } catch (err) {
      throw toBusError(err, undefined, undefined, this.nc);
    }
  }

  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    if (this.draining) throw new BusError('closed', 'bus is already draining');
    this.draining = true;
    // nats.js's own drain does not wait for async callbacks, so: stop the subscriptions (messages
    // already received are still delivered), let the handlers finish and reply, then drain the
    // connection, which flushes what they published and closes.
    await Promise.allSettled([...this.subs].map((s) => s.drain()));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.nc.isClosed()) return;
    await this.nc.drain();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.close();
  }

  private addSub(subject: string, queue: string | undefined, onMsg: (msg: Msg) => void): Subscription {
    if (this.draining) throw new BusError('closed', 'bus is draining', { subject });
    let sub: NatsSubscription;
    try {
      sub = this.nc.subscribe(subject, {
        queue,
        callback: (err, msg) => {
          if (err) this.onError(err, subject);
          else onMsg(msg);
        },
      });
    } catch (err) {
      throw toBusError(err, subject, undefined, this.nc);
    }
    this.subs.add(sub);
    void sub.closed.finally(() => this.subs.delete(sub));
    return {
      subject,
      unsubscribe: () => {
        if (!sub.isClosed() && !this.nc.isClosed()) sub.unsubscribe();
      },
    };
  }

  private respond(msg: Msg, data: Uint8Array, headers?: ReturnType<typeof natsHeaders>): void {
    // A closed connection cannot answer; the requester sees a timeout, as with any lost responder.
    if (this.nc.isClosed()) return;
    try {
      msg.respond(data, headers ? { headers } : undefined);
    } catch (err) {
      this.onError(err, msg.subject);
    }
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}

const RECONNECTED: unique symbol = Symbol('reconnected');

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function metaOf(msg: Msg): MsgMeta {
  return msg.reply ? { subject: msg.subject, reply: msg.reply } : { subject: msg.subject };
}

/** Maps a nats.js error (possibly a RequestError wrapping the real one in `cause`) to a BusError. */
function toBusError(err: unknown, subject: string | undefined, timeoutMs: number | undefined, nc: NatsConnection): unknown {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof TimeoutError) {
      return new BusError('timeout', `request to ${subject} timed out after ${timeoutMs} ms`, { subject, cause: err });
    }
    if (e instanceof NoRespondersError) {
      return new BusError('no-responders', `no responders for ${subject}`, { subject, cause: err });
    }
    if (e instanceof ClosedConnectionError || e instanceof DrainingConnectionError) {
      return new BusError('closed', e instanceof ClosedConnectionError ? 'bus is closed' : 'bus is draining', { subject, cause: err });
    }
  }
  // A request pending when the connection closes fails with a bare RequestError("connection closed").
  if (nc.isClosed() || (err instanceof Error && /connection closed/.test(err.message)))
    return new BusError('closed', 'bus closed while the request was pending', { subject, cause: err });
  return err;
}
