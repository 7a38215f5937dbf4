// `vsim run` as a user runs it: a real child process on the quickstart scenario and on broken ones.

import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

function vsim(...args: string[]) {
  const r = spawnSync(process.execPath, [VSIM, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vsim run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-run-'));

  it('runs the quickstart: a summary per VM and the event-log hash, the same every time', () => {
    const json = join(dir, 'a.json');
    const a = vsim('run', '--json', json, 'examples/quickstart.yaml');
    expect(a.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/^vm\s+host\s+state/m);
    for (const vm of ['hello', 'compute', 'sleeper']) expect(a.stdout).toMatch(new RegExp(`^${vm}\\s+h0\\s+halted\\(0\\)`, 'm'));
    expect(a.stdout).toContain('pi(2621440) = 191308');
    const hash = /event-log hash: ([0-9a-f]{64})/.exec(a.stdout)![1];
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.eventLogHash).toBe(hash);
    expect(result.vms.map((v: { id: string }) => v.id)).toEqual(['hello', 'compute', 'sleeper']);
    const b = vsim('run', 'examples/quickstart.yaml');
    expect(/event-log hash: ([0-9a-f]{64})/.exec(b.stdout)![1]).toBe(hash);
  });

  it('rejects a malformed scenario with path-named errors and starts nothing', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'duration: 10ms',
        'hosts: [{ id: h0, pcpus: 2 }]',
        'vms:',
        '  - { id: a, host: h0, memory: 4MiB, image: /nonexistent.elf }',
        '  - { id: b, host: h0, vcpus: -1, memory: 4MiB, image: /nonexistent.elf }',
      ].join('\n'),
    );
    const r = vsim('run', bad);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('vms[1].vcpus: expected a positive integer');
    expect(r.stderr).toContain('vms[0].image: file not found');
    for (const line of r.stderr.trim().split('\n')) expect(line).toMatch(/^vsim: /);
  });

  it('rejects an image that is not an rv32 executable, naming the VM', () => {
    const notElf = join(dir, 'not.elf');
    writeFileSync(notElf, 'hello');
    const sc = join(dir, 'notelf.yaml');
    writeFileSync(sc, `duration: 1ms\nhosts: [{ id: h0, pcpus: 1 }]\nvms: [{ id: x, host: h0, memory: 4MiB, image: ${notElf} }]\n`);
    const r = vsim('run', sc);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/vms\[0\]\.image: .*(too short|magic)/);
  });
});
