// Live migration across processes (issue 12 item 3): `vsim up --cpu-nodes 2` (separate service
// processes, credentials and nats-server subject permissions as deployed) runs
// examples/migration.yaml, whose hosts land on different cpu-nodes, so every page crosses from one
// cpu-node process to the other on the permitted subjects; the event-log hash is the embedded run's.

import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { UpCluster, runVsim, startVsimUp } from '@vsim/testkit';

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`examples/migration.yaml on vsim up --cpu-nodes 2${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let cluster: UpCluster;

  beforeAll(async () => {
    cluster = await startVsimUp(['--cpu-nodes', '2']);
  }, 90_000);

  afterAll(async () => {
    expect(await cluster?.stop()).toBe(0);
  }, 30_000);

  it('gives the embedded hash, with both migrations done', async () => {
    const hash = (out: string) => /event-log hash: ([0-9a-f]{64})/.exec(out)?.[1];
    const embedded = await runVsim(['run', 'examples/migration.yaml'], 90_000);
    expect(embedded.status).toBe(0);
    const run = await runVsim(['run', '--nats', cluster.natsUrl, 'examples/migration.yaml'], 90_000, { VSIM_CREDENTIALS: cluster.credentials });
    expect(run.status).toBe(0);
    const all = run.stdout + run.stderr;
    expect(all).toMatch(/sum h0->h1 +5\.000 +2 /);
    expect(all).toMatch(/sieve h0->h1 +8\.000 +5 .*round-limit/);
    expect(hash(all)).toBe(hash(embedded.stdout + embedded.stderr));
    expect(hash(all)).toBeDefined();
  }, 120_000);
});
