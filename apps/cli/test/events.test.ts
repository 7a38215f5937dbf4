// `vsim run --events` (issue 14 item 11): every line carries every field, zeros included (an absent
// pcpu no longer means pCPU 0), in the order docs/events.md gives, and every kind a run writes is
// described there. The real binary on the examples.

import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');
const DOC = readFileSync(join(ROOT, 'docs/events.md'), 'utf8');

function events(example: string): Record<string, unknown>[] {
  const r = spawnSync(process.execPath, [VSIM, 'run', '--events', '-', `examples/${example}`], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/event-log hash: [0-9a-f]{64}\n$/); // the summary went to stderr
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The fields of the doc's field table, in order. */
const FIELDS = [...DOC.matchAll(/^\| `([a-zA-Z]+)` \| (?:integer|string|`node`)/gm)].map((m) => m[1]);
/** Every kind named in the doc's kinds table (`sched.<point>` names its points in the last row). */
const KINDS = new Set([...DOC.slice(DOC.indexOf('## Kinds')).matchAll(/`([a-z][a-z0-9._-]*)`/g)].map((m) => m[1]));

describe('vsim run --events', () => {
  it('the doc lists the thirteen fields of vsim.v1.Event', () => {
    expect(FIELDS).toEqual(['timeNs', 'host', 'source', 'seq', 'pcpu', 'vm', 'vcpu', 'kind', 'route', 'path', 'cause', 'detail', 'value']);
  });

  it.each(['quickstart.yaml', 'cpupools.yaml'])('%s: every line has every field in order, zeros included; every kind is documented', (example) => {
    const lines = events(example);
    expect(lines.length).toBeGreaterThan(100);
    const undocumented = new Set<string>();
    for (const e of lines) {
      expect(Object.keys(e)).toEqual(FIELDS);
      if (!KINDS.has(e.kind as string)) undocumented.add(e.kind as string);
    }
    expect([...undocumented]).toEqual([]);
    // A decision at time 0 for pCPU 0 and a vCPU 0, each zero written out.
    expect(lines.some((e) => e.kind === 'schedule' && e.timeNs === 0 && e.pcpu === 0 && e.vcpu === 0)).toBe(true);
    expect(lines.some((e) => e.kind === 'hypercall' && e.pcpu === 0 && e.vcpu === 0 && e.detail === '')).toBe(true);
  });
});
