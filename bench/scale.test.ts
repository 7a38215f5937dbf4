// Smoke test of the scale bench, as `npm run bench:scale -- --quick --json FILE` runs it but on the
// smallest sizes (1 and 2 hosts, so that it fits a test's time): every figure present and positive,
// embedded and over NATS with 1 and 2 cpu-nodes, the table printed with its ratios.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';

const ROOT = path.resolve(__dirname, '..');

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`bench:scale${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  it('measures wall time, peak memory, events/s and MIPS per cluster size, embedded and over NATS, with ratios', () => {
    const json = path.join(mkdtempSync(path.join(tmpdir(), 'vsim-bench-scale-')), 'r.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'scale', '--quick', '--sizes', '1,2', '--json', json], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect({ status: r.status, signal: r.signal, stderr: r.status === 0 ? '' : r.stderr.slice(-3000) }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });
    for (const m of ['1 (10)', '2 (20)', 'embedded', 'NATS, 1 cpu-node', 'NATS, 2 cpu-nodes']) expect(r.stdout).toContain(m);
    expect(r.stdout.match(/\d+\.\d\d×/g)).toHaveLength(4 * 4);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc.runs.map((f: { hosts: number; mode: string }) => `${f.hosts} ${f.mode}`)).toEqual([
      '1 embedded',
      '2 embedded',
      '1 NATS, 1 cpu-node',
      '1 NATS, 2 cpu-nodes',
    ]);
    for (const f of doc.runs) {
      expect(f.vms).toBe(f.hosts * 10);
      for (const x of [f.wallSeconds, f.peakRssBytes, f.events, f.instructions, f.eventsPerSecond, f.mips]) expect(x).toBeGreaterThan(0);
    }
  }, 180_000);
});
