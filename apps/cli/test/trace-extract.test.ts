// `vsim trace extract` (docs/replay.md): a run's event log → a demand trace that `kind: replay`
// VMs replay; `vsim run` of every VM replayed gives the recorded event-log hash. A file that is not
// an event log is refused with status 2 and a line naming the file and line.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { GUEST_BIN, runVsim } from '@vsim/testkit';

const scenario = (vm: (id: string, image: string) => string) => `
name: trace-cli
seed: 2
duration: 20ms
clock: 100MHz
scheduler: { policy: credit }
hosts:
  - { id: h0, pcpus: 1 }
vms:
  - { id: a, host: h0, memory: 1MiB, ${vm('a', 'sbi-compute.elf')} }
  - { id: b, host: h0, memory: 1MiB, ${vm('b', 'sbi-sleeper.elf')} }
`;

describe('vsim trace extract', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-trace-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a trace whose replay gives the recorded hash', async () => {
    const rec = join(dir, 'rec.yaml');
    writeFileSync(
      rec,
      scenario((_, image) => `image: ${GUEST_BIN}/${image}`),
    );
    const events = join(dir, 'ev.jsonl');
    const run = await runVsim(['run', '--events', events, rec], 120_000);
    expect(run.status).toBe(0);
    const hash = /event-log hash: ([0-9a-f]{64})/.exec(run.stdout)![1];
    const trace = join(dir, 'ev.trace.json');
    const ex = await runVsim(['trace', 'extract', events, '-o', trace]);
    expect([ex.status, ex.stdout]).toEqual([0, `wrote ${trace}\n`]);
    const doc = JSON.parse(readFileSync(trace, 'utf8'));
    expect([doc.format, doc.version, doc.recordedHash, doc.vms.map((v: { vm: string }) => v.vm)]).toEqual(['vsim-demand-trace', 1, hash, ['a', 'b']]);
    const rep = join(dir, 'rep.yaml');
    writeFileSync(
      rep,
      scenario((id) => `kind: replay, image: ${trace}, args: [${id}]`),
    );
    const replay = await runVsim(['run', rep], 120_000);
    expect([replay.status, /event-log hash: ([0-9a-f]{64})/.exec(replay.stdout)?.[1]]).toEqual([0, hash]);
  }, 240_000);

  it('refuses a file that is not an event log, naming it', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"timeNs":0}\nnot json\n');
    const r = await runVsim(['trace', 'extract', bad, '-o', join(dir, 'x.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^vsim: trace extract: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: not an event`));
  });
});
