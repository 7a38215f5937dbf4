// The report's data and inputs: bars are the `run` events and add up to each VM's CPU time; the
// entitlement model's water-filling; bad input files are refused naming the line or field; the
// page script parses.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { Script } from 'vm';
import { buildReportData, checkResults, parseEventLines, renderHtml, ReportInputError } from '@vsim/report';
import { waterFill } from '../src/share';
import { xentraceFileFor } from '../src/outputs';
import { runExample } from './kit';

describe('report data', () => {
  it("quickstart: one bar per run event, each VM's bars sum to its CPU time, entitlement follows pause and halt", async () => {
    const { result, events } = await runExample('quickstart');
    const data = buildReportData(result, events);
    const runs = events.filter((e) => e.kind === 'run');
    expect(data.hosts[0].segments).toHaveLength(runs.length);
    for (const vm of result.vms) {
      const bars = data.hosts[0].segments.filter((r) => data.strings[r[3]] === vm.id);
      expect(bars.reduce((a, r) => a + r[2], 0)).toBe(vm.cpuNs);
    }
    expect(data.sums.every((s) => s.ok)).toBe(true);
    // compute is paused from 10 to 30 ms: entitled to nothing then, to a whole pCPU (its one vCPU) around it.
    const compute = data.vms.find((v) => v.id === 'compute')!;
    const at = (t: number) => [...compute.entitlement].reverse().find(([x]) => x <= t)![1];
    expect([at(5e6), at(20e6), at(40e6)]).toEqual([1, 0, 1]);
    expect(data.techniques).toEqual([]);
  });

  it('techniques: each VM against the native one', async () => {
    const { result, events } = await runExample('techniques');
    const data = buildReportData(result, events);
    const native = result.vms.find((v) => v.technique === 'native')!;
    expect(data.techniques.map((t) => t.technique)).toEqual(['native', 'paravirt', 'trap-and-emulate', 'binary-translation', 'emulation']);
    for (const t of data.techniques) expect(t.overhead).toBe(result.vms.find((v) => v.id === t.vm)!.cpuNs / native.cpuNs);
  });

  it('water-fills capacity by weight, each share held to its limit', () => {
    const f = waterFill(2, [
      { id: 'a', weight: 256, limit: 1 },
      { id: 'b', weight: 256, limit: 2 },
      { id: 'c', weight: 512, limit: 0.3 },
    ]);
    expect(f.get('c')).toBeCloseTo(0.3, 12);
    expect(f.get('a')).toBeCloseTo(0.85, 12);
    expect(f.get('b')).toBeCloseTo(0.85, 12);
    const g = waterFill(1, [
      { id: 'a', weight: 1, limit: 1 },
      { id: 'b', weight: 3, limit: 1 },
    ]);
    expect([g.get('a'), g.get('b')]).toEqual([0.25, 0.75]);
  });

  it('refuses bad inputs naming the line or the field', () => {
    expect(() => parseEventLines('{"kind":"run"}\nnot json\n', 'e.jsonl')).toThrow(
      new ReportInputError('e.jsonl:2: not JSON (Unexpected token \'o\', "not json" is not valid JSON)'),
    );
    expect(() => parseEventLines('{"timeNs":1}\n', 'e.jsonl')).toThrow(/e\.jsonl:1: not an event/);
    expect(() => parseEventLines('{"kind":"run"}\n{"kind":"teleport"}\n', 'e.jsonl')).toThrow(/^e\.jsonl:2: Event\.kind: unknown value "teleport"/);
    expect(() => parseEventLines('{"kind":"trap","path":"sideways"}\n', 'e.jsonl')).toThrow(/^e\.jsonl:1: Event\.path: unknown value "sideways"/);
    expect(() => checkResults({ name: 'x', hosts: [{ id: 'h0', pcpus: 2 }], vms: [] }, 'r.json')).toThrow(/r\.json: hosts\[0\]\.endNs: missing/);
    expect(() => checkResults([], 'r.json')).toThrow(/r\.json: \(top\): not a JSON object/);
  });

  it('names one xentrace file per host when there are several', () => {
    expect(xentraceFileFor('run.xt', 'h0', 1)).toBe('run.xt');
    expect(xentraceFileFor('out/run.xt', 'h1', 2)).toBe('out/run.h1.xt');
    expect(xentraceFileFor('out.d/run', 'h1', 2)).toBe('out.d/run.h1');
  });

  it('writes one self-contained page: no external reference, a script that parses', async () => {
    const { result, events } = await runExample('quickstart');
    const html = renderHtml(buildReportData(result, events));
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/[^"'\s]*\.(js|css)\b/);
    const page = readFileSync(resolve(__dirname, '../assets/report.js'), 'utf8');
    expect(() => new Script(page)).not.toThrow();
  });
});
