// `vsim run --report/--trace/--xentrace` and `vsim report` as a user runs them: real child
// processes on the quickstart and two-hosts scenarios; the report written afterwards from the
// files is byte for byte the one the run wrote; bad input is refused naming the file and line.

import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

function vsim(...args: string[]) {
  const r = spawnSync(process.execPath, [VSIM, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vsim report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-report-'));
  const f = (name: string) => join(dir, name);

  it('vsim run writes the report and traces; vsim report writes the same report from the files', () => {
    const run = vsim(
      'run',
      '--json',
      f('r.json'),
      '--events',
      f('e.jsonl'),
      '--report',
      f('run.html'),
      '--trace',
      f('t.json'),
      '--xentrace',
      f('x.xt'),
      'examples/quickstart.yaml',
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`wrote ${f('run.html')}, ${f('t.json')}, ${f('x.xt')}`);
    expect(JSON.parse(readFileSync(f('t.json'), 'utf8')).traceEvents.length).toBeGreaterThan(0);
    const later = vsim('report', f('r.json'), f('e.jsonl'), '-o', f('later.html'));
    expect([later.status, later.stderr]).toEqual([0, '']);
    expect(readFileSync(f('later.html'), 'utf8')).toBe(readFileSync(f('run.html'), 'utf8'));
  });

  it('one xentrace file per host on a two-host run', () => {
    const run = vsim('run', '--xentrace', f('two.xt'), 'examples/two-hosts.yaml');
    expect(run.status).toBe(0);
    expect([existsSync(f('two.h0.xt')), existsSync(f('two.h1.xt')), existsSync(f('two.xt'))]).toEqual([true, true, false]);
  });

  it('refuses bad input before writing anything', () => {
    writeFileSync(f('bad.jsonl'), '{"kind":"run"}\n{oops\n');
    const bad = vsim('report', f('r.json'), f('bad.jsonl'), '-o', f('bad.html'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^vsim: report: ${f('bad.jsonl').replace(/[.]/g, '\\.')}:2: not JSON`));
    expect(existsSync(f('bad.html'))).toBe(false);
    expect(vsim('report', f('r.json')).stderr).toMatch(/nothing to write: give -o FILE\.html/);
    expect(vsim('report', f('r.json'), '--trace', f('t2.json')).stderr).toMatch(/--trace and --xentrace need the EVENTS\.jsonl file/);
    expect(vsim('run', '--nats', 'nats://127.0.0.1:1', '--report', f('x.html'), 'examples/quickstart.yaml').stderr).toMatch(
      /--report is not available with --nats/,
    );
  });
});
