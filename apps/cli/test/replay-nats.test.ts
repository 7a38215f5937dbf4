// Trace-driven VMs over NATS (docs/replay.md): a run recorded embedded, its demand extracted, and
// every VM replayed (`kind: replay`) on a real `vsim up` cluster of two cpu-nodes — the trace
// travels to the cpu-nodes as a VM image does — gives the recording's event-log hash.

import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { extractTraces, runEmbedded, simSpecFromScenario } from '@vsim/control';
import { parseScenario } from '@vsim/scenario';
import { GUEST_BIN, UpCluster, startVsimUp } from '@vsim/testkit';
import { runRemote } from '../src/run/remote';

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

const scenario = (vm: (id: string, image: string) => string) => `
name: replay-nats
seed: 5
duration: 40ms
clock: 100MHz
scheduler: { policy: credit }
hosts:
  - { id: h0, pcpus: 1 }
  - { id: h1, pcpus: 1 }
vms:
  - { id: a, host: h0, memory: 1MiB, ${vm('a', 'sbi-compute.elf')} }
  - { id: b, host: h0, memory: 1MiB, ${vm('b', 'sbi-sleeper.elf')} }
  - { id: c, host: h1, memory: 1MiB, ${vm('c', 'sbi-ticker.elf')} }
  - { id: d, host: h1, memory: 1MiB, ${vm('d', 'sbi-hello.elf')} }
`;

(skip ? describe.skip : describe)(`replayed VMs over NATS${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let cluster: UpCluster | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vsim-replay-nats-'));

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('reproduce the recorded event log on two cpu-nodes', async () => {
    const recording = await runEmbedded(simSpecFromScenario(parseScenario(scenario((_, image) => `image: ${GUEST_BIN}/${image}`))));
    const trace = join(dir, 'run.trace.json');
    writeFileSync(trace, JSON.stringify(extractTraces(recording.log.all())));
    const file = join(dir, 'replay.yaml');
    writeFileSync(
      file,
      scenario((id) => `kind: replay, image: ${trace}, args: [${id}]`),
    );
    cluster = await startVsimUp(['--cpu-nodes', '2']);
    const replayed = await runRemote({ natsUrl: cluster.natsUrl, credentials: cluster.credentials, file, pollMs: 20 });
    expect(replayed.vms.map((v) => [v.id, v.state, v.cpuNs, v.instructions])).toEqual(recording.result.vms.map((v) => [v.id, v.state, v.cpuNs, 0]));
    expect(replayed.eventLogHash).toBe(recording.result.eventLogHash);
  }, 180_000);
});
