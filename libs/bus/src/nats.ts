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

export class NatsBus implements Bus {
  private readonly onError: (err: unknown, subject: string) => void;
  private readonly subs = new Set<NatsSubscription>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private draining = false;
  private readonly observer?: BusObserver;

  /** Wraps an open connection; the bus owns it from now on (close/drain close it). */
  constructor(
    /** The underlying connection, for what the Bus does not cover (JetStream, the services API). */
    readonly nc: NatsConnection,
    opts: BusOptions & { observer?: BusObserver } = {},
  ) {
    this.onError = opts.onError ?? defaultOnError;
    this.observer = opts.observer;
  }

  static async connect(opts: NatsBusConnectOptions): Promise<NatsBus> {
    const nc = await connect({ ...opts.connection, servers: opts.servers, name: opts.name });
    return new NatsBus(nc, { onError: opts.onError, observer: opts.observer });
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
    if (this.draining) throw new BusError('closed', 'bus is draining', { subject });
    let msg: Msg;
    const started = this.observer?.requested ? performance.now() : undefined;
    const observe = (outcome: 'ok' | 'error' | BusError['code']) => {
      if (started !== undefined) this.observer!.requested!(subject, (performance.now() - started) / 1000, outcome);
    };
    try {
      msg = await this.nc.request(subject, data.slice(), { timeout: opts.timeoutMs });
    } catch (err) {
      const e = toBusError(err, subject, opts.timeoutMs, this.nc);
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
  if (nc.isClosed()) return new BusError('closed', 'bus closed while the request was pending', { subject, cause: err });
  return err;
}
