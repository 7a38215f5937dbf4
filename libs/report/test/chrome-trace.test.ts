// The Chrome trace (chrome-trace.ts) against the Trace Event Format's rules and the event log:
// every event of examples/two-hosts.yaml appears once, at its virtual time; run segments are
// slices on their pCPU's track; exits are instants named by cause; one process per host; on a
// Credit run, a credit counter per vCPU after each of its slices.

import { Event } from '@vsim/proto';
import { chromeTrace, TraceEvent, writeChromeTrace } from '@vsim/report';
import { runExample } from './kit';

const PHASES = new Set(['X', 'i', 'C', 'M']);
const METADATA = new Set(['process_name', 'process_sort_index', 'thread_name', 'thread_sort_index']);

/** The format's requirements for each event (JSON Object Format; ts and dur in µs). */
function checkFormat(file: { traceEvents: TraceEvent[] }): void {
  expect(Array.isArray(file.traceEvents)).toBe(true);
  for (const e of file.traceEvents) {
    expect(typeof e.name).toBe('string');
    expect(PHASES.has(e.ph)).toBe(true);
    expect(Number.isInteger(e.pid)).toBe(true);
    if (e.ph === 'M') {
      expect(METADATA.has(e.name)).toBe(true);
      expect(typeof e.args).toBe('object');
      continue;
    }
    expect(typeof e.ts).toBe('number');
    expect(e.ts).toBeGreaterThanOrEqual(0);
    if (e.ph === 'X') expect(e.dur).toBeGreaterThanOrEqual(0);
    if (e.ph === 'i') expect(['t', 'p', 'g']).toContain(e.s);
    if (e.ph !== 'C') expect(Number.isInteger(e.tid)).toBe(true);
    if (e.ph === 'C') for (const v of Object.values(e.args ?? {})) expect(typeof v).toBe('number');
  }
}

describe('Chrome trace', () => {
  it('examples/two-hosts.yaml: every event once, at its time, on its track; parses as the format requires', async () => {
    const { result, events } = await runExample('two-hosts');
    const file = JSON.parse(JSON.stringify(chromeTrace(result, events))) as { traceEvents: TraceEvent[]; displayTimeUnit: string };
    checkFormat(file);
    const hostOf = new Map<number, string>();
    for (const e of file.traceEvents)
      if (e.ph === 'M' && e.name === 'process_name') hostOf.set(e.pid, String((e.args as { name: string }).name).replace(/^host /, ''));
    expect([...hostOf.values()].sort()).toEqual(result.hosts.map((h) => h.id).sort());
    for (const h of result.hosts) {
      const pid = [...hostOf].find(([, id]) => id === h.id)![0];
      const threads = file.traceEvents
        .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid)
        .map((e) => [e.tid, (e.args as { name: string }).name]);
      expect(threads).toEqual([[0, 'host events'], ...Array.from({ length: h.pcpus }, (_, p) => [p + 1, `pCPU ${p}`])]);
    }
    const byKey = new Map<string, TraceEvent>();
    for (const e of file.traceEvents) {
      if (e.ph !== 'X' && e.ph !== 'i') continue;
      const a = e.args as { source: string; seq: number };
      const key = `${hostOf.get(e.pid)}/${a.source}/${a.seq}`;
      expect(byKey.has(key)).toBe(false);
      byKey.set(key, e);
    }
    expect(byKey.size).toBe(events.length);
    for (const ev of events) {
      const t = byKey.get(`${ev.host}/${ev.source}/${ev.seq}`)!;
      expect(t).toBeDefined();
      expect(Math.round(t.ts! * 1000)).toBe(ev.timeNs);
      expect((t.args as { timeNs: number }).timeNs).toBe(ev.timeNs);
      expect(t.tid).toBe(ev.pcpu >= 0 ? ev.pcpu + 1 : 0);
      if (ev.kind === 'run') {
        expect([t.ph, t.cat, t.name]).toEqual(['X', 'run', `${ev.vm}/${ev.vcpu}`]);
        expect(Math.round(t.dur! * 1000)).toBe(ev.value);
      } else if (ev.kind === 'trap' || ev.kind === 'hypercall') {
        expect([t.ph, t.cat, t.name, (t.args as { route: string }).route]).toEqual(['i', ev.kind, ev.cause, ev.route]);
      } else {
        expect([t.ph, t.name]).toEqual(['i', ev.kind]);
      }
    }
    // Slices never overlap on a track.
    const tracks = new Map<string, TraceEvent[]>();
    for (const e of file.traceEvents)
      if (e.ph === 'X') (tracks.get(`${e.pid}/${e.tid}`) ?? tracks.set(`${e.pid}/${e.tid}`, []).get(`${e.pid}/${e.tid}`)!).push(e);
    for (const list of tracks.values()) {
      list.sort((a, b) => a.ts! - b.ts!);
      for (let i = 1; i < list.length; i++)
        expect(Math.round(list[i].ts! * 1000)).toBeGreaterThanOrEqual(Math.round((list[i - 1].ts! + list[i - 1].dur!) * 1000));
    }
  });

  it('examples/smp-kernel.yaml (Credit): a credit counter per vCPU after each of its slices', async () => {
    const { result, events } = await runExample('smp-kernel');
    const file = chromeTrace(result, events);
    checkFormat(file);
    // A segment that ends with its VM's shutdown has no credit left to show: the policy dropped the vCPU.
    const runs = events.filter((e) => e.kind === 'run' && e.detail.includes('credit'));
    expect(runs.length).toBeGreaterThanOrEqual(events.filter((e) => e.kind === 'run').length - result.vms.length * 2);
    const counters = file.traceEvents.filter((e) => e.ph === 'C');
    expect(counters).toHaveLength(runs.length);
    for (const r of runs) {
      const credit = (JSON.parse(r.detail) as { credit: number }).credit;
      expect(
        counters.some(
          (c) =>
            c.name === `credit ${r.vm}/${r.vcpu}` &&
            Math.round(c.ts! * 1000) === r.timeNs + r.value &&
            (c.args as { credit: number }).credit === credit,
        ),
      ).toBe(true);
    }
  });

  // writeChromeTrace streams the text without the object; chromeTrace builds the object: two
  // implementations of one format, which must agree to the byte.
  const streamed = (result: Parameters<typeof writeChromeTrace>[0], events: readonly Event[]): string => {
    const chunks: string[] = [];
    writeChromeTrace(result, events, (c) => chunks.push(c));
    return chunks.join('');
  };

  it.each(['two-hosts', 'smp-kernel', 'techniques', 'cpupools'])(
    'examples/%s.yaml: the streamed trace is JSON.stringify(chromeTrace) byte for byte',
    async (name) => {
      const { result, events } = await runExample(name);
      expect(streamed(result, events)).toBe(JSON.stringify(chromeTrace(result, events)));
    },
  );

  it('the streamed trace matches on events out of time order and on details with keys the args already hold', async () => {
    const { result, events } = await runExample('two-hosts');
    const runs = events.filter((e) => e.kind === 'run').slice(0, 6);
    const odd: Event[] = [
      { ...runs[0], detail: '{"credit":-3,"seq":"x","2":1,"__proto__":4,"quote\\"d":"a\\nb"}' },
      { ...runs[1], detail: 'not json' },
      { ...runs[2], value: 1.5, timeNs: runs[2].timeNs + 0.25 },
      { ...events.find((e) => e.kind === 'trap')!, cause: 'a "quoted" \u2028 cause', detail: '\u0001' },
    ];
    const shuffled = [...odd, ...events.slice(0, 200).reverse(), ...runs];
    expect(streamed(result, shuffled)).toBe(JSON.stringify(chromeTrace(result, shuffled)));
  });
});
