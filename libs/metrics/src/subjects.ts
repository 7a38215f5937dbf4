// What a metric may say about a NATS subject: its kind and the route tokens of a vsim subject
// (libs/proto/src/subjects.ts), never the simulation id — simulations come and go, and a label
// per simulation would grow a scraper's series without bound.

/** The kind of a subject: run orders, trap requests, event batches, or anything else. */
export type SubjectKind = 'run' | 'trap' | 'events' | 'other';

export interface SubjectRoute {
  readonly kind: SubjectKind;
  /** The cpu-node of a run order or trap request. */
  readonly node?: string;
  /** The host of a run order or event batch. */
  readonly host?: string;
}

/** vsim.<sim>.run.<node>.<host>, vsim.<sim>.trap.<node>, vsim.<sim>.events.<host>, else 'other'. */
export function routeOf(subject: string): SubjectRoute {
  const t = subject.split('.');
  if (t[0] !== 'vsim' || t.length < 4) return { kind: 'other' };
  if (t[2] === 'run' && t.length === 5) return { kind: 'run', node: t[3], host: t[4] };
  if (t[2] === 'trap' && t.length === 4) return { kind: 'trap', node: t[3] };
  if (t[2] === 'events' && t.length === 4) return { kind: 'events', host: t[3] };
  return { kind: 'other' };
}
