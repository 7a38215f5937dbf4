// The one messaging interface of vsim (architecture §8). Two implementations carry the same bytes:
// NatsBus (every multi-process deployment) and InProcessBus (the embedded default and unit tests).
// Payloads are opaque `Uint8Array`s — callers encode protobuf from @vsim/proto — so the embedded
// path exercises the same encoding as the distributed one.
//
// Semantics shared by both implementations (and pinned by test/bus-contract.test.ts):
// - Subjects are NATS subjects: dot-separated tokens; subscriptions may use `*` (exactly one token)
//   and `>` (one or more trailing tokens). Publishing to a wildcard subject is an error.
// - Delivery is asynchronous (never inside `publish`), and messages from one publisher on one
//   subject arrive in the order they were published.
// - Subscribers sharing a `queue` name form a queue group: each message goes to one of them.
// - `request` fails with a `BusError`: `timeout`, `no-responders` (nobody subscribes to the
//   subject: fails at once rather than waiting for the timeout), `closed`, or `remote` (the
//   responder's handler threw; the reply carries the error in the `Nats-Service-Error` and
//   `Nats-Service-Error-Code` headers, the convention of @nats-io/services).

/** What a handler learns about a message besides its payload. */
export interface MsgMeta {
  /** The subject the message was published to (not the subscription's pattern). */
  readonly subject: string;
  /** Where a reply is expected, when the message is a request. */
  readonly reply?: string;
}

/** Receives published messages. A thrown error (or rejected promise) goes to the bus's `onError`. */
export type MsgHandler = (data: Uint8Array, meta: MsgMeta) => void | Promise<void>;

/**
 * Answers requests. The returned bytes are the reply; a thrown error becomes an error reply that the
 * requester receives as `BusError` with code `remote` and the error's message. An error carrying a
 * numeric `serviceCode` property sends that code (default 500).
 */
export type ServeHandler = (data: Uint8Array, meta: MsgMeta) => Promise<Uint8Array> | Uint8Array;

export interface SubscribeOptions {
  /** Queue group name: each message is delivered to one member of the group. */
  queue?: string;
}

export interface RequestOptions {
  /** How long to wait for the reply, in milliseconds (> 0); with `attemptMs`, over all attempts. */
  timeoutMs: number;
  /**
   * Retry: resend the same bytes when no reply came within `attemptMs`, when nobody served the
   * subject (a responder still reconnecting), and at once after the connection was re-established
   * (a NATS outage loses requests and replies in flight), until `timeoutMs`. Only for requests the
   * responder answers idempotently (a sequence number it answers again from a cache,
   * libs/security's ReplyCache). The in-process bus loses nothing and sends once.
   */
  attemptMs?: number;
  /** Told of each resend (for a log line or a counter). */
  onRetry?: (attempt: number, reason: string) => void;
}

export interface Subscription {
  /** The subject (pattern) subscribed to. */
  readonly subject: string;
  /** Stops delivery; messages not yet delivered are dropped. Idempotent. */
  unsubscribe(): void;
}

export type BusErrorCode = 'timeout' | 'no-responders' | 'closed' | 'remote';

/** The one error type the bus reports; `code` says what went wrong. */
export class BusError extends Error {
  override readonly name = 'BusError';
  readonly code: BusErrorCode;
  /** The subject of the failed operation, when there is one. */
  readonly subject?: string;
  /** For `remote`: the code from the `Nats-Service-Error-Code` header. */
  readonly serviceCode?: number;

  constructor(code: BusErrorCode, message: string, opts: { subject?: string; serviceCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.subject = opts.subject;
    this.serviceCode = opts.serviceCode;
  }
}

/** True when `err` is a `BusError` (with the given code, if one is given). */
export function isBusError(err: unknown, code?: BusErrorCode): err is BusError {
  return err instanceof BusError && (code === undefined || err.code === code);
}

export interface Bus {
  /** Sends `data` to every subscriber of `subject` (one per queue group). Throws `BusError('closed')` once closed. */
  publish(subject: string, data: Uint8Array): void;

  /** Delivers every message matching `subject` (wildcards allowed) to `handler`, in order. */
  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): Subscription;

  /** Sends a request and resolves with the first reply; rejects with `BusError`. */
  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array>;

  /** Answers requests on `subject` with `handler`; use a `queue` to share the load between responders. */
  serve(subject: string, handler: ServeHandler, opts?: SubscribeOptions): Subscription;

  /**
   * Publishes a message that must not be lost or duplicated by an outage (a simulation's events):
   * through the server's stream for `subject` if it has one (JetStream: resolves once stored; a
   * retried `msgId` is stored once), else as publish() does. Calls for one subject must be
   * awaited in order by the caller (the stream keeps the order they were stored in).
   */
  publishStored(subject: string, data: Uint8Array, msgId: string): Promise<void>;

  /**
   * Delivers every stored message matching `subject` from the first, then the new ones, surviving
   * reconnections (JetStream ordered consumer); without a stream, as subscribe(). Resolves once
   * delivery is set up.
   */
  followStored(subject: string, handler: MsgHandler): Promise<Subscription>;

  /** Resolves once everything published so far has been handed to the transport (NATS: a server round trip). */
  flush(): Promise<void>;

  /** Stops taking new work, lets handlers in flight finish and their replies go out, then closes. */
  drain(): Promise<void>;

  /**
   * Closes at once: subscriptions stop and pending requests reject with `BusError('closed')`.
   * Idempotent. With NATS the server learns of it only when it sees the socket close, so requests
   * sent meanwhile to this connection's subscriptions time out; stop services with drain().
   */
  close(): Promise<void>;

  isClosed(): boolean;
}

/**
 * Watches a bus's traffic for metrics (@vsim/metrics feeds Prometheus from it). Called inline, so
 * it must be cheap and must not throw. `outcome`: 'ok', a BusErrorCode, or 'error' (anything else).
 */
export interface BusObserver {
  /** A request this process sent got its reply (or failed) after `seconds`. */
  requested?(subject: string, seconds: number, outcome: 'ok' | 'error' | BusErrorCode): void;
  /** A request this process served was answered (or its handler threw) after `seconds`. */
  served?(subject: string, seconds: number, outcome: 'ok' | 'error'): void;
  /** This process published a message of `bytes` bytes. */
  published?(subject: string, bytes: number): void;
}

/** Options shared by both implementations. */
export interface BusOptions {
  /** Called when a subscribe handler throws or rejects. Default: console.error. */
  onError?: (err: unknown, subject: string) => void;
}

/** Header names of the error reply convention (as in @nats-io/services). */
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';
export const DEFAULT_SERVICE_ERROR_CODE = 500;

/** The message and code an error reply carries for a handler's thrown value. */
export function serviceErrorOf(err: unknown): { message: string; code: number } {
  const raw = err instanceof Error ? err.message : String(err);
  // Header values cannot hold line breaks (they would end the header line on the wire).
  const message = raw.replace(/[\r\n]+/g, ' ') || 'service error';
  const sc = (err as { serviceCode?: unknown } | null)?.serviceCode;
  const code = typeof sc === 'number' && Number.isInteger(sc) ? sc : DEFAULT_SERVICE_ERROR_CODE;
  return { message, code };
}

/** The `remote` BusError for an error reply's headers (`get` reads one header, '' when absent). */
export function remoteErrorOf(subject: string, get: (key: string) => string): BusError {
  const code = Number.parseInt(get(SERVICE_ERROR_CODE_HEADER), 10);
  return new BusError('remote', get(SERVICE_ERROR_HEADER) || 'service error', {
    subject,
    serviceCode: Number.isNaN(code) ? undefined : code,
  });
}

const TOKEN = /^[^\s.*>]+$/;

/**
 * Throws unless `subject` is a valid NATS subject: non-empty dot-separated tokens without
 * whitespace; with `wildcards`, a token may also be `*`, and the last token may be `>`.
 */
export function checkSubject(subject: string, wildcards: boolean): void {
  const tokens = subject.split('.');
  const ok = subject.length > 0 && tokens.every((t, i) => TOKEN.test(t) || (wildcards && (t === '*' || (t === '>' && i === tokens.length - 1))));
  if (!ok) throw new TypeError(`invalid ${wildcards ? 'subscription ' : ''}subject: ${JSON.stringify(subject)}`);
}

/** Whether `subject` (no wildcards) matches the subscription `pattern` (wildcards allowed). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

export function defaultOnError(err: unknown, subject: string): void {
  // eslint-disable-next-line no-console -- the fallback when the owner gave no logger of its own
  console.error(`vsim bus: handler for ${subject} failed:`, err);
}
