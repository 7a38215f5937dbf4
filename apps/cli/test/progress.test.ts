// The progress display of `vsim run`: a bar redrawn in place on a TTY, plain lines with --progress
// off a TTY, nothing otherwise.

import { spawnSync } from 'child_process';
import { join, resolve } from 'path';
import { LINE_EVERY_MS, Progress, progressMode } from '../src/run/progress';

const ROOT = resolve(__dirname, '../../..');

function sink() {
  const chunks: string[] = [];
  return { chunks, out: { write: (d: Uint8Array | string) => void chunks.push(String(d)) } };
}

describe('progress', () => {
  it('picks a bar on a TTY, lines only when asked, else nothing', () => {
    expect(progressMode(true, false)).toBe('bar');
    expect(progressMode(false, true)).toBe('lines');
    expect(progressMode(false, false)).toBe('off');
  });

  it('prints a line at each tenth of the slowest host, then 100%', () => {
    const { chunks, out } = sink();
    const p = new Progress(out, 'lines', 300e6, ['h0', 'h1']);
    p.update('h0', 75e6);
    p.update('h1', 80e6);
    p.update('h1', 81e6);
    p.update('h0', 300e6);
    p.update('h1', 300e6);
    p.finish();
    expect(chunks.join('')).toBe('vsim: 0% (0 ms of 300 ms)\nvsim: 25% (75 ms of 300 ms)\nvsim: 100% (300 ms of 300 ms)\n');
  });

  it('a host whose VMs have all ended no longer holds the run back; all ended early is the real end (issue 14 item 9)', () => {
    const { chunks, out } = sink();
    const p = new Progress(out, 'lines', 500e6, ['h0', 'h1']);
    p.update('h0', 22e6, true); // h0's VMs halted at 22 ms: its loop stopped there
    p.update('h1', 100e6);
    p.update('h1', 260e6);
    p.update('h1', 300e6, true);
    p.finish();
    expect(chunks.join('')).toBe(
      'vsim: 0% (0 ms of 500 ms)\nvsim: 20% (100 ms of 500 ms)\nvsim: 52% (260 ms of 500 ms)\nvsim: 100% (300 ms of 500 ms, every VM ended)\n',
    );
  });

  it('without a terminal, a line at least every LINE_EVERY_MS of wall time while the run creeps', () => {
    const { chunks, out } = sink();
    let wall = 0;
    const p = new Progress(out, 'lines', 1000e6, ['h0'], () => wall);
    p.update('h0', 1e6);
    wall += LINE_EVERY_MS - 1;
    p.update('h0', 2e6); // same tenth, not yet due
    wall += 1;
    p.update('h0', 3e6); // same tenth, due
    p.update('h0', 3e6, true);
    p.finish();
    expect(chunks.join('')).toBe('vsim: 0% (1 ms of 1000 ms)\nvsim: 0% (3 ms of 1000 ms)\nvsim: 100% (3 ms of 1000 ms, every VM ended)\n');
  });

  it('redraws a bar in place with each host, and clears it at the end', () => {
    const { chunks, out } = sink();
    let t = 0;
    const p = new Progress(out, 'bar', 100e6, ['h0', 'h1'], () => (t += 200));
    p.update('h0', 50e6);
    p.update('h1', 50e6);
    p.finish();
    expect(chunks[1]).toBe('\r\x1b[K[############............] 50% 50 ms of 100 ms  h0 50 ms  h1 50 ms');
    expect(chunks[chunks.length - 1]).toBe('\r\x1b[K');
  });

  it('vsim run --progress writes lines to stderr when it is not a TTY', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'apps/cli/bin/vsim.js'), 'run', '--progress', 'examples/quickstart.yaml'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('vsim: 0% (0 ms of 300 ms)');
    // Every VM halts at 61.77 ms of virtual time: the run's real end, reported as such.
    expect(lines[lines.length - 1]).toBe('vsim: 100% (62 ms of 300 ms, every VM ended)');
    for (const l of lines) expect(l).toMatch(/^vsim: \d+% \(\d+ ms of 300 ms(, every VM ended)?\)$/);
  }, 60_000);
});
