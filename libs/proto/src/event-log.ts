// The canonical event log of a run. Events come from several places (each host's cpu-node and its
// scheduler loop) in whatever order the processes run; the log puts them in one total order —
// (time, host, source, seq) — and hashes that, so the hash is the same whether a simulation ran in
// one process or across many over NATS.

import { createHash } from 'crypto';
import type { EventKindName } from '@vsim/vocabulary';
import { Event } from './event';

/** Total order of events: virtual time, then host id, then source ("node" < "sched"), then sequence. */
export function compareEvents(a: Event, b: Event): number {
  return a.timeNs - b.timeNs || cmp(a.host, b.host) || cmp(a.source, b.source) || a.seq - b.seq;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One event as a canonical line: fixed field order, no wall-clock data. */
export function eventLine(e: Event): string {
  return JSON.stringify([e.timeNs, e.host, e.source, e.seq, e.pcpu, e.vm, e.vcpu, e.kind, e.route, e.path, e.cause, e.detail, e.value]);
}

/**
 * One event as a JSON object with every field, in the fixed order of docs/events.md, zeros and
 * empty strings included (protobuf's JSON mapping drops them, so an absent `pcpu` would mean pCPU 0).
 */
export function eventJson(e: Event): string {
  return JSON.stringify({
    timeNs: e.timeNs,
    host: e.host,
    source: e.source,
    seq: e.seq,
    pcpu: e.pcpu,
    vm: e.vm,
    vcpu: e.vcpu,
    kind: e.kind,
    route: e.route,
    path: e.path,
    cause: e.cause,
    detail: e.detail,
    value: e.value,
  });
}

export class EventLog {
  private readonly events: Event[] = [];
  private sorted = true;

  add(events: readonly Event[]): void {
    for (const e of events) {
      const last = this.events[this.events.length - 1];
      if (last && compareEvents(last, e) > 0) this.sorted = false;
      this.events.push(e);
    }
  }

  get size(): number {
    return this.events.length;
  }

  /** The events in canonical order. */
  all(): readonly Event[] {
    if (!this.sorted) {
      this.events.sort(compareEvents);
      this.sorted = true;
    }
    return this.events;
  }

  /**
   * sha256 over the canonical lines. The path a trap took (local or remote) is left out: it is the
   * one thing allowed to differ between trap paths, and recording it must not change the hash.
   */
  hash(): string {
    const h = createHash('sha256');
    for (const e of this.all()) h.update(eventLine({ ...e, path: '' }) + '\n');
    return h.digest('hex');
  }

  /** JSON lines, canonical order, for `--events FILE` (docs/events.md). */
  toJsonLines(): string {
    return this.all().map(eventJson).join('\n') + '\n';
  }
}

/** Stamps events for one (host, source) with consecutive sequence numbers. */
export class EventStamper {
  private seq = 0;
  constructor(
    private readonly host: string,
    private readonly source: 'node' | 'sched',
  ) {}

  make(fields: Partial<Event> & { timeNs: number; kind: EventKindName }): Event {
    return Event.fromPartial({ pcpu: -1, vcpu: -1, ...fields, host: this.host, source: this.source, seq: ++this.seq });
  }

  /** The seq of the last event made (0: none yet). */
  get last(): number {
    return this.seq;
  }

  /** Continues a numbering another stamper began (a host handed over between scheduler services). */
  continueFrom(seq: number): void {
    this.seq = seq;
  }
}
