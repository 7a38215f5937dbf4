// The in-memory Bus: what `vsim run` uses when everything lives in one process, and what unit tests
// use. It keeps the semantics of NATS rather than calling handlers directly: delivery happens in a
// microtask (never inside `publish`), payloads are copied (a receiver never shares the sender's
// buffer), requests go through reply inboxes, and error replies carry the same headers.
//
// An InProcessBroker plays the server; each InProcessBus is one connection to it, so services in the
// same process can close independently, as they would with their own NATS connections.

import {
  Bus,
  BusError,
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
  subjectMatches,
} from './bus';

/** One message on the in-process wire. */
interface Envelope {
  subject: string;
  data: Uint8Array;
  reply?: string;
  headers?: Record<string, string>;
}

/** A subscription as the broker sees it. */
interface BrokerSub {
  readonly pattern: string;
  readonly queue?: string;
  deliver(env: Envelope): void;
}

/** A wildcard-free pattern matches exactly one subject: itself. */
function isExact(pattern: string): boolean {
  return !pattern.includes('*') && !pattern.includes('>');
}

/** The in-process "server": routes messages between the InProcessBus connections made from it. */
export class InProcessBroker {
  // Exact subjects are indexed so that routing costs O(1) per message rather than O(subscriptions)
  // (a simulation of N hosts has O(N) subscriptions and sends O(N) messages a step); wildcard patterns
  // are few and scanned only when present. Every subscription gets an insertion sequence number:
  // fan-out order (and queue-group rotation) is insertion order, as it was with one ordered set.
  private readonly exact = new Map<string, Set<BrokerSub>>();
  private readonly wildcards = new Set<BrokerSub>();
  private readonly seqOf = new Map<BrokerSub, number>();
  private nextSeq = 0;
  // Round-robin position per queue group name.
  private readonly nextInGroup = new Map<string, number>();

  /** A new connection to this broker. */
  connect(opts: BusOptions = {}): InProcessBus {
    return new InProcessBus({ ...opts, broker: this });
  }

  /** @internal */
  add(sub: BrokerSub): void {
    if (this.seqOf.has(sub)) return;
    this.seqOf.set(sub, this.nextSeq++);
    if (!isExact(sub.pattern)) {
      this.wildcards.add(sub);
      return;
    }
    const bucket = this.exact.get(sub.pattern);
    if (bucket) bucket.add(sub);
    else this.exact.set(sub.pattern, new Set([sub]));
  }

  /** @internal */
  remove(sub: BrokerSub): void {
    if (!this.seqOf.delete(sub)) return;
    if (!isExact(sub.pattern)) {
      this.wildcards.delete(sub);
      return;
    }
    const bucket = this.exact.get(sub.pattern);
    if (bucket) {
      bucket.delete(sub);
      if (bucket.size === 0) this.exact.delete(sub.pattern);
    }
  }

  /** The subscriptions matching `subject`, in insertion order. */
  private matching(subject: string): BrokerSub[] {
    const bucket = this.exact.get(subject);
    // A Set iterates in insertion order, so one bucket alone is already ordered.
    const out: BrokerSub[] = bucket ? [...bucket] : [];
    if (this.wildcards.size === 0) return out;
    const exactCount = out.length;
    for (const sub of this.wildcards) if (subjectMatches(sub.pattern, subject)) out.push(sub);
    if (exactCount > 0 && out.length > exactCount) {
      out.sort((a, b) => (this.seqOf.get(a) ?? 0) - (this.seqOf.get(b) ?? 0));
    }
    return out;
  }

  /**
   * @internal Picks the receivers now (as a server would on receiving the message) and delivers in a
   * microtask; microtasks run in FIFO order, which keeps each publisher's order. Returns whether
   * anyone was interested (false is what makes a request fail with no-responders).
   */
  route(env: Envelope): boolean {
    const matched = this.matching(env.subject);
    if (matched.length === 0) return false;
    let targets: BrokerSub[] = matched;
    if (matched.some((sub) => sub.queue !== undefined)) {
      targets = [];
      const groups = new Map<string, BrokerSub[]>();
      for (const sub of matched) {
        if (sub.queue === undefined) targets.push(sub);
        else {
          const members = groups.get(sub.queue);
          if (members) members.push(sub);
          else groups.set(sub.queue, [sub]);
        }
      }
      for (const [queue, members] of groups) {
        const n = this.nextInGroup.get(queue) ?? 0;
        targets.push(members[n % members.length]);
        this.nextInGroup.set(queue, n + 1);
      }
    }
    queueMicrotask(() => {
      // Each receiver gets its own copy, as each NATS subscriber gets its own buffer.
      for (const t of targets) t.deliver({ ...env, data: env.data.slice() });
    });
    return true;
  }
}

type State = 'open' | 'draining' | 'closed';

interface PendingRequest {
  resolve(data: Uint8Array): void;
  reject(err: BusError): void;
}

let connections = 0;

/** One connection to an InProcessBroker (by default, a private broker of its own). */
export class InProcessBus implements Bus {
  readonly broker: InProcessBroker;
  private state: State = 'open';
  private readonly onError: (err: unknown, subject: string) => void;
  private readonly subs = new Set<InProcessSubscription>();
  private readonly pending = new Set<PendingRequest>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly inboxPrefix = `_INBOX.inproc${++connections}`;
  private nextInbox = 0;

  constructor(opts: BusOptions & { broker?: InProcessBroker } = {}) {
    this.broker = opts.broker ?? new InProcessBroker();
    this.onError = opts.onError ?? defaultOnError;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  publish(subject: string, data: Uint8Array): void {
    checkSubject(subject, false);
    this.checkOpen(subject, true);
    this.broker.route({ subject, data: data.slice() });
  }

  subscribe(subject: string, handler: MsgHandler, opts: SubscribeOptions = {}): Subscription {
    checkSubject(subject, true);
    this.checkOpen(subject, false);
    return this.addSub(subject, opts.queue, (env) => {
      const meta: MsgMeta = env.reply === undefined ? { subject: env.subject } : { subject: env.subject, reply: env.reply };
      this.track(env.subject, () => handler(env.data, meta));
    });
  }

  serve(subject: string, handler: ServeHandler, opts: SubscribeOptions = {}): Subscription {
    checkSubject(subject, true);
    this.checkOpen(subject, false);
    return this.addSub(subject, opts.queue, (env) => {
      const reply = env.reply;
      const meta: MsgMeta = reply === undefined ? { subject: env.subject } : { subject: env.subject, reply };
      const done = (async () => {
        let out: Envelope | undefined;
        try {
          const data = await handler(env.data, meta);
          if (reply !== undefined) out = { subject: reply, data: data.slice() };
        } catch (err) {
          if (reply === undefined) this.onError(err, env.subject);
          else {
            const { message, code } = serviceErrorOf(err);
            out = {
              subject: reply,
              data: new Uint8Array(0),
              headers: { [SERVICE_ERROR_HEADER]: message, [SERVICE_ERROR_CODE_HEADER]: String(code) },
            };
          }
        }
        // A closed connection cannot answer, as with NATS.
        if (out && this.state !== 'closed') this.broker.route(out);
      })();
      this.inFlight.add(done);
      void done.finally(() => this.inFlight.delete(done));
    });
  }

  request(subject: string, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    try {
      checkSubject(subject, false);
      checkTimeout(opts.timeoutMs);
      this.checkOpen(subject, false);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const inbox = `${this.inboxPrefix}.${++this.nextInbox}`;
      const settle = () => {
        clearTimeout(timer);
        sub.unsubscribe();
        this.pending.delete(p);
      };
      const p: PendingRequest = {
        resolve: (d) => (settle(), resolve(d)),
        reject: (e) => (settle(), reject(e)),
      };
      const sub = this.addSub(inbox, undefined, (env) => {
        if (env.headers?.[SERVICE_ERROR_HEADER] !== undefined) {
          const h = env.headers;
          p.reject(remoteErrorOf(subject, (k) => h[k] ?? ''));
        } else p.resolve(env.data);
      });
      const timer = setTimeout(
        () => p.reject(new BusError('timeout', `request to ${subject} timed out after ${opts.timeoutMs} ms`, { subject })),
        opts.timeoutMs,
      );
      this.pending.add(p);
      if (!this.broker.route({ subject, data: data.slice(), reply: inbox })) {
        // NATS answers at once with a 503 status when no subscription matches; so do we.
        queueMicrotask(() => p.reject(new BusError('no-responders', `no responders for ${subject}`, { subject })));
      }
    });
  }

  async publishStored(subject: string, data: Uint8Array): Promise<void> {
    this.publish(subject, data); // nothing is lost in one process
  }

  async followStored(subject: string, handler: MsgHandler): Promise<Subscription> {
    return this.subscribe(subject, handler);
  }

  async flush(): Promise<void> {
    if (this.state === 'closed') throw new BusError('closed', 'bus is closed');
    // Deliveries are microtasks queued by route(); a macrotask runs after all of them.
    await macrotask();
  }

  async drain(): Promise<void> {
    if (this.state !== 'open') {
      if (this.state === 'closed') return;
      throw new BusError('closed', 'bus is already draining');
    }
    this.state = 'draining';
    // Take no new messages, but deliver the ones already routed to us.
    for (const sub of this.subs) sub.detach();
    await macrotask();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await macrotask(); // let the replies sent by those handlers be delivered
    await this.close();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const sub of [...this.subs]) sub.unsubscribe();
    for (const p of [...this.pending]) p.reject(new BusError('closed', 'bus closed while the request was pending'));
  }

  private checkOpen(subject: string, publishing: boolean): void {
    if (this.state === 'closed') throw new BusError('closed', 'bus is closed', { subject });
    // Like NATS: a draining connection may still publish, but takes no new subscriptions or requests.
    if (this.state === 'draining' && !publishing) throw new BusError('closed', 'bus is draining', { subject });
  }

  private addSub(pattern: string, queue: string | undefined, deliver: (env: Envelope) => void): InProcessSubscription {
    const sub = new InProcessSubscription(pattern, queue, this.broker, deliver, () => this.subs.delete(sub));
    this.subs.add(sub);
    this.broker.add(sub);
    return sub;
  }

  /** Runs a subscribe handler, reporting its error; async handlers are tracked for drain(). */
  private track(subject: string, run: () => void | Promise<void>): void {
    try {
      const r = run();
      if (r && typeof (r as Promise<void>).then === 'function') {
        const p = Promise.resolve(r).catch((err: unknown) => this.onError(err, subject));
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      }
    } catch (err) {
      this.onError(err, subject);
    }
  }
}

class InProcessSubscription implements Subscription, BrokerSub {
  private closed = false;

  constructor(
    readonly pattern: string,
    readonly queue: string | undefined,
    private readonly broker: InProcessBroker,
    private readonly handle: (env: Envelope) => void,
    private readonly onClose: () => void,
  ) {}

  get subject(): string {
    return this.pattern;
  }

  deliver(env: Envelope): void {
    if (!this.closed) this.handle(env);
  }

  /** Stops routing new messages here; already routed ones are still delivered. */
  detach(): void {
    this.broker.remove(this);
  }

  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.broker.remove(this);
    this.onClose();
  }
}

export function checkTimeout(timeoutMs: number): void {
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${timeoutMs}`);
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
