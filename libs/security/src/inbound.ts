// THE checks every data-plane message passes before it is applied (architecture §11, §12), in one
// place so that retries, checkpoints and recovery can extend them:
//   - sender: the subject says who sent it (nats-server lets only that identity publish there,
//     permissions.ts) and the message's own fields (simulation, host, VM) must agree with what that
//     sender is entitled to — e.g. a trap must come from the node that runs the VM's host;
//   - sequence: per (simulation, stream) numbers (run orders per host, trap requests per host,
//     event batches per host) must be the next one expected. A request resent after a NATS outage
//     carries the number it had: ReplyCache answers it with the reply already given (never
//     applying it twice); a stale or skipped number is refused.
// A refused message is never applied: it is counted and reported with its context (the service
// logs it with `host`, `vm`, `vcpu` bindings) and the sender gets an error reply if it asked.

/** What went wrong with an inbound message. */
export type RefusalKind = 'sender' | 'sequence' | 'malformed';

export interface Refusal {
  readonly kind: RefusalKind;
  /** The subject it arrived on. */
  readonly subject: string;
  /** One line: what did not fit. */
  readonly reason: string;
  readonly host?: string;
  readonly vm?: string;
  readonly vcpu?: number;
  readonly seq?: number;
}

/** Raised by a check; the service shell counts and logs it (see RefusalCounter). */
export class RefusedMessage extends Error {
  override readonly name = 'RefusedMessage';
  constructor(readonly refusal: Refusal) {
    super(`refused (${refusal.kind}): ${refusal.reason}`);
  }
}

export function refuse(r: Refusal): never {
  throw new RefusedMessage(r);
}

export function isRefusedMessage(err: unknown): err is RefusedMessage {
  return err instanceof RefusedMessage;
}

/**
 * For a handler's catch: a RefusedMessage is counted (`stats.refused`) and reported; then, whatever
 * it was, the error is rethrown, so that the requester gets an error reply.
 */
export function countRefusal(err: unknown, stats: { refused: number }, onRefused?: (r: Refusal) => void): never {
  if (isRefusedMessage(err)) {
    stats.refused++;
    onRefused?.(err.refusal);
  }
  throw err;
}

/** How a sequence number relates to the ones seen before on its stream. */
export type SequenceVerdict = 'next' | 'duplicate' | 'stale' | 'gap';

/**
 * The sequence numbers of several streams (e.g. one per host). `strict`: every number must be the
 * last + 1; otherwise any number above the last is accepted (streams whose sender may skip, e.g.
 * after a request that timed out).
 */
export class SequenceWindow {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly strict: boolean,
    private readonly first = 1,
  ) {}

  /** What `seq` would be on `stream`, without accepting it. */
  judge(stream: string, seq: number): SequenceVerdict {
    const last = this.last.get(stream);
    if (last === undefined) return seq === this.first || (!this.strict && seq > this.first) ? 'next' : seq < this.first ? 'stale' : 'gap';
    if (seq === last) return 'duplicate';
    if (seq < last) return 'stale';
    return seq === last + 1 || !this.strict ? 'next' : 'gap';
  }

  /** Accepts `seq` if it is the next on `stream`; otherwise refuses (throws RefusedMessage with `context`). */
  accept(stream: string, seq: number, context: Omit<Refusal, 'kind' | 'reason' | 'seq'>): void {
    const verdict = this.judge(stream, seq);
    if (verdict !== 'next') {
      const last = this.last.get(stream);
      refuse({ ...context, kind: 'sequence', seq, reason: `${verdict} sequence number ${seq} on ${stream} (last accepted: ${last ?? 'none'})` });
    }
    this.last.set(stream, seq);
  }

  /** Sets where a stream stands (a host adopted mid-run continues its numbering). */
  resume(stream: string, last: number): void {
    this.last.set(stream, last);
  }

  lastOf(stream: string): number | undefined {
    return this.last.get(stream);
  }
}

/**
 * Idempotent answers to numbered requests (run orders, trap requests), on top of a SequenceWindow:
 * the next number is applied once and its reply kept; the same number again (a requester's resend
 * after a lost reply) gets that reply — the same bytes, or the same pending promise while the first
 * is still being worked on — and is counted in `duplicates`; any other number is refused like the
 * window refuses it. The last `keep` replies per stream are kept, for streams whose requests may
 * overlap (several vCPUs' traps of one host).
 */
export class ReplyCache<T> {
  private readonly replies = new Map<string, Map<number, Promise<T>>>();
  /** Resends answered from the cache. */
  duplicates = 0;

  constructor(
    readonly window: SequenceWindow,
    private readonly keep = 1,
    private readonly onDuplicate?: () => void,
  ) {}

  /**
   * Answers request `seq` on `stream`: from the cache if it was seen, else by `apply()` once the
   * window accepted it (throws RefusedMessage otherwise). `apply` runs synchronously up to its first
   * await, so two requests cannot interleave their acceptance.
   */
  answer(stream: string, seq: number, context: Omit<Refusal, 'kind' | 'reason' | 'seq'>, apply: () => Promise<T> | T): Promise<T> {
    const cached = this.replies.get(stream)?.get(seq);
    if (cached) {
      this.duplicates++;
      this.onDuplicate?.();
      return cached;
    }
    this.window.accept(stream, seq, context);
    let perStream = this.replies.get(stream);
    if (!perStream) this.replies.set(stream, (perStream = new Map()));
    const reply = (async () => apply())(); // runs apply at once, up to its first await
    perStream.set(seq, reply);
    for (const old of perStream.keys()) {
      if (perStream.size <= this.keep) break;
      perStream.delete(old);
    }
    return reply;
  }
}

/** A logger shaped like pino's (child bindings, object-first calls). */
export interface RefusalLogger {
  warn(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): RefusalLogger;
}

/** Counts refusals by kind and logs each with `host`, `vm`, `vcpu` bindings. */
export class RefusalCounter {
  readonly counts: Record<RefusalKind, number> = { sender: 0, sequence: 0, malformed: 0 };

  constructor(private readonly log?: RefusalLogger) {}

  get total(): number {
    return this.counts.sender + this.counts.sequence + this.counts.malformed;
  }

  /** Counts `r` and logs it, on `log` if given (e.g. a child bound to the simulation). */
  record(r: Refusal, log: RefusalLogger | undefined = this.log): void {
    this.counts[r.kind]++;
    const bindings: Record<string, unknown> = {};
    if (r.host !== undefined) bindings.host = r.host;
    if (r.vm !== undefined) bindings.vm = r.vm;
    if (r.vcpu !== undefined) bindings.vcpu = r.vcpu;
    const to = log && (Object.keys(bindings).length > 0 ? log.child(bindings) : log);
    to?.warn({ refused: r.kind, subject: r.subject, reason: r.reason, ...(r.seq !== undefined ? { seq: r.seq } : {}) }, 'data-plane message refused');
  }

  /** Counters for a Status reply: refusedSender, refusedSequence, refusedMalformed. */
  asCounters(): Record<string, number> {
    return { refusedSender: this.counts.sender, refusedSequence: this.counts.sequence, refusedMalformed: this.counts.malformed };
  }
}
