// The event as the runtime holds it, and its conversion to and from the wire message.
//
// vsim.v1.Event carries an event's kind, route and path as enums (EventKind, TrapRoute, EventPath);
// everything inside a process — the producers, the event log and its hash, the reports, the metrics,
// the JSON outputs — speaks the strings of @vsim/vocabulary (EVENT_KINDS, TRAP_ROUTES, EVENT_PATHS).
// This module is the one place the two meet: `Event.toMessage` where events go onto the wire
// (RunReport, EventBatch, the gateway's stream), `Event.fromMessage` where they come off it, which
// refuses an enum value it does not know (a newer or forged sender) with an error naming the field
// rather than letting it become a made-up string.

import { EVENT_KINDS, EVENT_PATHS, TRAP_ROUTES } from '@vsim/vocabulary';
import type { EventKindName, EventPathName, TrapRouteName } from '@vsim/vocabulary';
import { EventKind, EventPath, Event as EventMessage, TrapRoute } from './gen/vsim/v1/runtime';

/** One event of the log (docs/events.md), with its kind, route and path as vocabulary strings. */
export interface Event extends Omit<EventMessage, 'kind' | 'route' | 'path'> {
  kind: EventKindName;
  /** Traps and hypercalls; '' otherwise. */
  route: TrapRouteName | '';
  /** Traps and hypercalls; '' otherwise. */
  path: EventPathName | '';
}

/** A wire event refused: `field` names what is wrong (e.g. `Event.kind`). */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  constructor(
    readonly field: string,
    what: string,
  ) {
    super(`${field}: ${what}`);
  }
}

/**
 * Both directions between a vocabulary's strings and an enum. The enum value of a string is its
 * name in upper case after the prefix, `-` and `.` as `_` (`hart-start` → EVENT_KIND_HART_START,
 * `sched.boost_start` → EVENT_KIND_SCHED_BOOST_START); a string without one fails at load, and the
 * round-trip test fails for an enum value without a string.
 */
function mapping<N extends string>(names: readonly N[], prefix: string, en: Record<string, string | number>) {
  const toEnum = new Map<string, number>();
  const toName = new Map<number, N>();
  for (const name of names) {
    const key = prefix + name.toUpperCase().replace(/[-.]/g, '_');
    const value = en[key];
    if (typeof value !== 'number') throw new Error(`vsim.v1 enum ${key} missing for '${name}' (libs/proto/proto/vsim/v1/runtime.proto)`);
    toEnum.set(name, value);
    toName.set(value, name);
  }
  return { toEnum, toName };
}

const KINDS = mapping(EVENT_KINDS, 'EVENT_KIND_', EventKind);
const ROUTES = mapping(TRAP_ROUTES, 'TRAP_ROUTE_', TrapRoute);
const PATHS = mapping(EVENT_PATHS, 'EVENT_PATH_', EventPath);

function known<N extends string>(m: ReadonlyMap<number, N>, value: number, field: string, optional: true): N | '';
function known<N extends string>(m: ReadonlyMap<number, N>, value: number, field: string, optional: false): N;
function known<N extends string>(m: ReadonlyMap<number, N>, value: number, field: string, optional: boolean): N | '' {
  if (optional && value === 0) return '';
  const name = m.get(value);
  if (name === undefined) throw new EventDecodeError(field, value === 0 ? 'unspecified' : `unknown value ${value}`);
  return name;
}

function oneOf<N extends string>(names: readonly N[], value: unknown, field: string, optional: boolean): N | '' {
  if (optional && (value === undefined || value === '')) return '';
  if (typeof value === 'string' && (names as readonly string[]).includes(value)) return value as N;
  throw new EventDecodeError(field, `unknown value ${JSON.stringify(value)} (one of ${names.join(', ')})`);
}

function num(o: Record<string, unknown>, k: string, dflt: number): number {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new EventDecodeError(`Event.${k}`, 'not a number');
  return v;
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new EventDecodeError(`Event.${k}`, 'not a string');
  return v;
}

export const Event = {
  /** An event with every field not given at its default (like a generated message's fromPartial). */
  fromPartial(p: Partial<Event> & { kind: EventKindName }): Event {
    return {
      timeNs: p.timeNs ?? 0,
      host: p.host ?? '',
      source: p.source ?? '',
      seq: p.seq ?? 0,
      pcpu: p.pcpu ?? 0,
      vm: p.vm ?? '',
      vcpu: p.vcpu ?? 0,
      kind: p.kind,
      route: p.route ?? '',
      path: p.path ?? '',
      cause: p.cause ?? '',
      detail: p.detail ?? '',
      value: p.value ?? 0,
    };
  },

  /** The wire message of an event. */
  toMessage(e: Event): EventMessage {
    return {
      ...e,
      kind: KINDS.toEnum.get(e.kind)!,
      route: e.route === '' ? TrapRoute.TRAP_ROUTE_UNSPECIFIED : ROUTES.toEnum.get(e.route)!,
      path: e.path === '' ? EventPath.EVENT_PATH_UNSPECIFIED : PATHS.toEnum.get(e.path)!,
    };
  },

  /** The event of a wire message; throws EventDecodeError for a kind, route or path it does not know. */
  fromMessage(m: EventMessage): Event {
    return {
      ...m,
      kind: known(KINDS.toName, m.kind, 'Event.kind', false),
      route: known(ROUTES.toName, m.route, 'Event.route', true),
      path: known(PATHS.toName, m.path, 'Event.path', true),
    };
  },

  /** An event of a JSON line (docs/events.md, as `eventJson` writes it); throws EventDecodeError naming the field at fault. */
  fromJSON(raw: unknown): Event {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EventDecodeError('Event', 'not a JSON object');
    const o = raw as Record<string, unknown>;
    return {
      timeNs: num(o, 'timeNs', 0),
      host: str(o, 'host'),
      source: str(o, 'source'),
      seq: num(o, 'seq', 0),
      pcpu: num(o, 'pcpu', 0),
      vm: str(o, 'vm'),
      vcpu: num(o, 'vcpu', 0),
      kind: oneOf(EVENT_KINDS, o.kind, 'Event.kind', false) as EventKindName,
      route: oneOf(TRAP_ROUTES, o.route, 'Event.route', true),
      path: oneOf(EVENT_PATHS, o.path, 'Event.path', true),
      cause: str(o, 'cause'),
      detail: str(o, 'detail'),
      value: num(o, 'value', 0),
    };
  },
};

/** The wire enum of a trap route (a TrapResolution's or an Event's). */
export function trapRouteEnum(name: TrapRouteName): TrapRoute {
  return ROUTES.toEnum.get(name)!;
}

/** The vocabulary string of a received trap route; a value this build does not know is refused, naming `field`. */
export function trapRouteName(route: TrapRoute, field = 'TrapResolution.route'): TrapRouteName {
  return known(ROUTES.toName, route, field, false);
}
