// `vsim run` fails before the run, not after it (issue 14 item 7): an output file that cannot be
// written, a Linux program in a guest-kernel VM; `--json -` writes the JSON to stdout. A real child
// process each time.

import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');
const BIN = join(ROOT, 'guests/rv32/bin');

function vsim(...args: string[]) {
  const r = spawnSync(process.execPath, [VSIM, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vsim run: errors before the run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-run-errors-'));

  it('a --json path that cannot be written is one line and exit 73, before any progress', () => {
    const r = vsim('run', '--progress', '--json', join(dir, 'no/such/dir/out.json'), 'examples/quickstart.yaml');
    expect(r.status).toBe(73);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`vsim: run: --json ${join(dir, 'no/such/dir/out.json')}: cannot write (no such directory)\n`);
    const e = vsim('run', '--progress', '--events', dir, 'examples/quickstart.yaml');
    expect(e.status).toBe(73);
    expect(e.stderr).toBe(`vsim: run: --events ${dir}: cannot write (is a directory)\n`);
  });

  it('--json - writes the JSON document alone on stdout, the summary on stderr', () => {
    const r = vsim('run', '--json', '-', 'examples/quickstart.yaml');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { eventLogHash: string; vms: { id: string }[] };
    expect(doc.vms.map((v) => v.id)).toEqual(['hello', 'compute', 'sleeper']);
    expect(r.stderr).toContain(`event-log hash: ${doc.eventLogHash}\n`);
    expect(vsim('run', '--json', '-', '--events', '-', 'examples/quickstart.yaml')).toMatchObject({
      status: 2,
      stderr: 'vsim: run: --json - and --events - cannot both write to standard output\n',
    });
  });

  it('a Linux program in a VM of the kernel kind is caught by validation, with the kind to use', () => {
    const sc = join(dir, 'linux-in-kernel.yaml');
    writeFileSync(sc, `duration: 1ms\nhosts: [{ id: h0, pcpus: 1 }]\nvms: [{ id: app, memory: 4MiB, image: ${join(BIN, 'hello.elf')} }]\n`);
    const r = vsim('run', '--json', join(dir, 'never.json'), sc);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `vsim: ${sc}: vms[0].image: a Linux user program (loaded at 0x10000), but the VM is a guest kernel (kind: kernel, RAM from 0x80000000): give it kind: linux\n`,
    );
    expect(existsSync(join(dir, 'never.json'))).toBe(false);
    const back = join(dir, 'kernel-as-linux.yaml');
    writeFileSync(
      back,
      `duration: 1ms\nhosts: [{ id: h0, pcpus: 1 }]\nvms: [{ id: k, kind: linux, memory: 4MiB, image: ${join(BIN, 'sbi-hello.elf')} }]\n`,
    );
    expect(vsim('run', back).stderr).toMatch(
      /vms\[0\]\.image: a guest kernel image \(loaded at 0x80000000\), but the VM is kind: linux .*remove kind: linux/,
    );
  });

  it('a scenario value without effect is a warning line on stderr, and the run goes on; a bare time is an error', () => {
    const sc = join(dir, 'cap-under-rr.yaml');
    writeFileSync(
      sc,
      `duration: 5ms\nhosts: [{ id: h0, pcpus: 1 }]\nvms: [{ id: web, memory: 4MiB, image: ${join(BIN, 'sbi-hello.elf')}, sched: { cap: 10 } }]\n`,
    );
    const r = vsim('run', sc);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      `vsim: ${sc}: vms[0].sched.cap: warning: has no effect: web runs under round-robin, and only credit and credit2 read cap\n`,
    );
    expect(r.stdout).toMatch(/event-log hash: [0-9a-f]{64}/);
    writeFileSync(sc, `duration: 200\nhosts: [{ id: h0, pcpus: 1 }]\nvms: [{ id: web, memory: 4MiB, image: ${join(BIN, 'sbi-hello.elf')} }]\n`);
    expect(vsim('run', sc)).toMatchObject({
      status: 2,
      stdout: '',
      stderr: `vsim: ${sc}: duration: 200 has no unit: write 200ms (or 200ns, 200us, 200s); a time needs one\n`,
    });
  });
});

describe('vsim exec on a guest kernel image', () => {
  it('says to run it in a VM with vsim run (issue 14 item 12)', () => {
    const r = vsim('exec', 'guests/rv32/bin/sbi-hello.elf');
    expect(r.status).toBe(126);
    expect(r.stderr).toBe(
      'vsim: guests/rv32/bin/sbi-hello.elf: cannot load: segment 0 at 0x80000000..0x80001de0 is outside guest RAM 0x10000..0x4010000; it is a guest kernel image: run it in a VM with vsim run SCENARIO.yaml (its vms[].image; see examples/quickstart.yaml)\n',
    );
  });
});
