// Smoke test of the runtime bench, as `npm run bench:runtime -- --quick --json FILE` runs it: every
// figure present and positive, the table printed with its ratios.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';

const ROOT = path.resolve(__dirname, '..');

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`bench:runtime${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  it('measures trap round trips, host-loop rates and quickstart wall time, with ratios', () => {
    const json = path.join(mkdtempSync(path.join(tmpdir(), 'vsim-bench-runtime-')), 'r.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'runtime', '--quick', '--json', json], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 110_000,
    });
    // On failure, show the bench's own last words (jest would otherwise print only the exit code).
    expect({ status: r.status, signal: r.signal, stderr: r.status === 0 ? '' : r.stderr.slice(-3000) }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });
    for (const m of ['(a) trap round trip p50', '(a) trap round trip p99', '(b) host-loop iterations/s', '(c) quickstart wall time'])
      expect(r.stdout).toContain(m);
    expect(r.stdout.match(/\d+\.\d\d×/g)).toHaveLength(4);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    for (const x of [
      doc.trap.trap.p50,
      doc.trap.trap.p99,
      doc.trap.bare.p50,
      doc.hostLoop.embedded,
      doc.hostLoop.nats,
      doc.quickstart.embeddedMs,
      doc.quickstart.clusterMs,
    ])
      expect(x).toBeGreaterThan(0);
    expect(doc.trap.requestBytes).toBeGreaterThan(0);
  }, 120_000);
});
