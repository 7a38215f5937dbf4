// The event's kind, route and path travel as enums and come back as the same vocabulary strings;
// a value this build does not know is refused by field; the canonical line (and so the hash) still
// carries the strings.

import { EVENT_KINDS, EVENT_PATHS, TRAP_ROUTES } from '@vsim/vocabulary';
import {
  Event,
  EventBatch,
  EventDecodeError,
  EventKind,
  EventLog,
  EventMessage,
  EventPath,
  RunReport,
  TrapRoute,
  encode,
  eventLine,
  trapRouteEnum,
  trapRouteName,
} from '../src';

const base = { timeNs: 742, host: 'h0', source: 'node', seq: 1, pcpu: 0, vm: 'hello', vcpu: 0, cause: 'sbi.dbcn.console_write', value: 1470 };

/** Through the wire: domain → message → bytes → message → domain. */
function viaWire(e: Event): Event {
  const bytes = encode(EventBatch, { sim: 's', host: 'h0', events: [Event.toMessage(e)], firstIndex: 0 });
  return Event.fromMessage(EventBatch.decode(bytes).events[0]);
}

function refusal(f: () => unknown): EventDecodeError {
  try {
    f();
  } catch (err) {
    if (err instanceof EventDecodeError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('Event kinds, routes and paths', () => {
  it.each(EVENT_KINDS)('kind %s round-trips through the wire as an enum', (kind) => {
    const e = Event.fromPartial({ ...base, kind });
    expect(Event.toMessage(e).kind).toBeGreaterThan(0);
    expect(viaWire(e)).toEqual(e);
  });

  it.each(TRAP_ROUTES.flatMap((route) => EVENT_PATHS.map((path) => [route, path] as const)))('route %s, path %s round-trip', (route, path) => {
    const e = Event.fromPartial({ ...base, kind: 'trap', route, path });
    expect(viaWire(e)).toEqual(e);
  });

  it('no route and no path stay empty strings (the enums unspecified)', () => {
    const e = Event.fromPartial({ ...base, kind: 'console', detail: 'hi' });
    const m = Event.toMessage(e);
    expect([m.route, m.path]).toEqual([TrapRoute.TRAP_ROUTE_UNSPECIFIED, EventPath.EVENT_PATH_UNSPECIFIED]);
    expect(viaWire(e)).toEqual(e);
  });

  it('every enum value but UNSPECIFIED has a vocabulary string (no value the runtime cannot name)', () => {
    const named = (en: Record<string, string | number>) => Object.values(en).filter((v): v is number => typeof v === 'number' && v > 0);
    const names = (en: Record<string, string | number>, wire: (v: number) => EventMessage) =>
      named(en).map((v) => {
        const e = Event.fromMessage(wire(v));
        return [e.kind, e.route, e.path];
      });
    const msg = (p: Partial<EventMessage>) => EventMessage.fromPartial({ kind: EventKind.EVENT_KIND_TRAP, ...p });
    expect(names(EventKind, (kind) => msg({ kind })).map((n) => n[0])).toEqual([...EVENT_KINDS]);
    expect(names(TrapRoute, (route) => msg({ route })).map((n) => n[1])).toEqual([...TRAP_ROUTES]);
    expect(names(EventPath, (path) => msg({ path })).map((n) => n[2])).toEqual([...EVENT_PATHS]);
  });

  it('the canonical line and the JSON line carry the strings, as before the enums', () => {
    const e = Event.fromPartial({ ...base, kind: 'hypercall', route: 'interpreter', path: 'local' });
    expect(eventLine(e)).toBe('[742,"h0","node",1,0,"hello",0,"hypercall","interpreter","local","sbi.dbcn.console_write","",1470]');
    const log = new EventLog();
    log.add([e]);
    expect(log.toJsonLines()).toBe(
      '{"timeNs":742,"host":"h0","source":"node","seq":1,"pcpu":0,"vm":"hello","vcpu":0,"kind":"hypercall","route":"interpreter","path":"local","cause":"sbi.dbcn.console_write","detail":"","value":1470}\n',
    );
  });
});

describe('Unknown values from the wire are refused by field', () => {
  const good = Event.toMessage(Event.fromPartial({ ...base, kind: 'trap', route: 'allocator', path: 'remote' }));
  /** A newer or forged sender's bytes: a RunReport whose one event has `patch` applied. */
  const decoded = (patch: Partial<Record<'kind' | 'route' | 'path', number>>) =>
    RunReport.decode(encode(RunReport, RunReport.fromPartial({ host: 'h0', events: [{ ...good, ...patch }] }))).events[0];

  it.each([
    ['kind', { kind: 99 }, 'Event.kind: unknown value 99'],
    ['kind', { kind: 0 }, 'Event.kind: unspecified'],
    ['route', { route: 7 }, 'Event.route: unknown value 7'],
    ['path', { path: 4 }, 'Event.path: unknown value 4'],
  ] as const)('%s %j', (field, patch, message) => {
    const err = refusal(() => Event.fromMessage(decoded(patch)));
    expect(err.field).toBe(`Event.${field}`);
    expect(err.message).toBe(message);
  });

  it("a TrapResolution's route: every vocabulary route round-trips; an unknown or unspecified one is refused", () => {
    for (const r of TRAP_ROUTES) expect(trapRouteName(trapRouteEnum(r))).toBe(r);
    expect(refusal(() => trapRouteName(5 as TrapRoute)).message).toBe('TrapResolution.route: unknown value 5');
    expect(refusal(() => trapRouteName(TrapRoute.TRAP_ROUTE_UNSPECIFIED)).message).toBe('TrapResolution.route: unspecified');
  });

  it('an events file line with an unknown kind, route or path is refused by field', () => {
    const line = JSON.parse(eventLineJson());
    expect(Event.fromJSON(line).kind).toBe('trap');
    expect(refusal(() => Event.fromJSON({ ...line, kind: 'teleport' })).message).toMatch(/^Event\.kind: unknown value "teleport"/);
    expect(refusal(() => Event.fromJSON({ ...line, route: 'router' })).field).toBe('Event.route');
    expect(refusal(() => Event.fromJSON({ ...line, path: 3 })).field).toBe('Event.path');
    expect(refusal(() => Event.fromJSON({ ...line, value: 'x' })).field).toBe('Event.value');
  });

  function eventLineJson(): string {
    const log = new EventLog();
    log.add([Event.fromPartial({ ...base, kind: 'trap', route: 'allocator', path: 'remote' })]);
    return log.toJsonLines().trim();
  }
});
