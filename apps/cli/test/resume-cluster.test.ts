// Checkpoints on a cluster (issue 11 items 1 and 5), real processes over a real nats-server: a run
// of examples/two-hosts.yaml (with checkpoint.interval) on `vsim up --cpu-nodes 2 --checkpoint-dir
// D` has the hash of the run in one process; clusters of 1 and then 3 cpu-nodes sharing D resume it
// (`vsim run --nats --resume-sim SIM`) from its newest and from an earlier checkpoint, and end with
// that same hash. The scheduler asks the cpu-nodes for the snapshots over NATS, under the
// permissions `vsim up` generates (only the scheduler may).

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { findNatsServer, NATS_SERVER_MISSING } from '@vsim/bus';
import { REPO_ROOT, UpCluster, runVsim, startVsimUp } from '@vsim/testkit';

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

/** examples/two-hosts.yaml with checkpoints every 20 ms, its images by absolute path (the file lives in a temporary directory). */
function scenario(dir: string): string {
  const text = readFileSync(resolve(REPO_ROOT, 'examples/two-hosts.yaml'), 'utf8').replaceAll('../guests/', `${resolve(REPO_ROOT, 'guests')}/`);
  const file = join(dir, 'two-hosts-ckpt.yaml');
  writeFileSync(file, `${text}\ncheckpoint:\n  interval: 20ms\n`);
  return file;
}

const hashOf = (out: string) => /^event-log hash: ([0-9a-f]{64})$/m.exec(out)?.[1];

(skip ? describe.skip : describe)(`resume on a cluster${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let dir: string;
  let file: string;
  let embeddedHash: string | undefined;
  let sim: string | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsim-resume-'));
    file = scenario(dir);
    const local = await runVsim(['run', file], 120_000);
    expect(local.status).toBe(0);
    embeddedHash = hashOf(local.stdout);
  }, 180_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function onCluster(cpuNodes: number, args: string[]): Promise<{ hash?: string; sim?: string; stderr: string }> {
    let up: UpCluster | undefined;
    try {
      up = await startVsimUp(['--cpu-nodes', String(cpuNodes), '--checkpoint-dir', join(dir, 'store')]);
      const r = await runVsim(['run', '--nats', up.natsUrl, ...args, file], 180_000, { VSIM_CREDENTIALS: up.credentials });
      if (r.status !== 0) throw new Error(`vsim run exited ${r.status}: ${r.stderr}`);
      return { hash: hashOf(r.stdout), sim: /simulation (\S+) \(for vsim/.exec(r.stderr)?.[1], stderr: r.stderr };
    } finally {
      await up?.stop();
    }
  }

  it('a run on 2 cpu-nodes with checkpoints has the hash of the run in one process', async () => {
    const r = await onCluster(2, []);
    expect(r.hash).toBe(embeddedHash);
    sim = r.sim;
    expect(sim).toMatch(/^[A-Za-z0-9_-]+$/);
  }, 240_000);

  /** The checkpoint indexes of host `host` of simulation `id` in the shared store (blobs/<sim>/<host>/<index>/manifest). */
  function indexes(id: string, host: string): number[] {
    const d = join(dir, 'store', 'blobs', id, host);
    return existsSync(d)
      ? readdirSync(d)
          .filter((n) => existsSync(join(d, n, 'manifest')))
          .map(Number)
          .sort((a, b) => a - b)
      : [];
  }

  // It did resume (a run from the start would have the same hash): the resumed simulation's own
  // checkpoints of h1 (which runs to the end) continue the numbering after the one it resumed from.
  it('resumed onto 1 cpu-node from its newest checkpoints: the same hash', async () => {
    const newest = indexes(sim!, 'h1').at(-1)!;
    expect(newest).toBeGreaterThan(2);
    const r = await onCluster(1, ['--resume-sim', sim!]);
    expect(r.hash).toBe(embeddedHash);
    expect(indexes(r.sim!, 'h1').filter((i) => i <= newest)).toEqual([]);
  }, 240_000);

  it('resumed onto 3 cpu-nodes from its second checkpoints: the same hash', async () => {
    const r = await onCluster(3, ['--resume-sim', sim!, '--resume-index', '2']);
    expect(r.hash).toBe(embeddedHash);
    const own = indexes(r.sim!, 'h1');
    expect(own.length).toBeGreaterThan(0);
    expect(own[0]).toBe(3);
  }, 240_000);
});
