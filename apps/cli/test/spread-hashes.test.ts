// Determinism across deployments (issue 12, "spread the work"): every examples/*.yaml gives the same
// event-log hash embedded (`vsim run`) and over NATS on a real `vsim up` with 1, 2 and 3 cpu-nodes
// — where a host runs, and which process drives it, never changes results — and each embedded
// hash is the one docs/performance.md and the CHANGELOG record for it (a changed hash is a change
// of simulated behaviour, which a branch must make on purpose). One cluster per node count, every
// example run on it in turn: a cluster's start-up is the dominant cost, not the runs.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { REPO_ROOT, UpCluster, runVsim, startVsimUp } from '@vsim/testkit';

/** The recorded hashes (the first 12 hex digits `vsim run` prints) of the examples. */
const RECORDED: Readonly<Record<string, string>> = {
  quickstart: 'e22d392018c5',
  techniques: 'f78259eeb0bd',
  'two-hosts': 'dd5459784de1',
  'cross-isa': 'c7b501b51064',
  'smp-kernel': '45eadfd6cd80',
  cpupools: '5b6fbb8ab0a3',
  migration: '4e2383f8f033',
};

const EXAMPLES = readdirSync(join(REPO_ROOT, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`every example's hash, embedded and over NATS${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-spread-test-'));
  /** Example -> its embedded eventLogHash (64 hex digits). */
  const embedded = new Map<string, string>();

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `vsim run [--nats URL] --json FILE examples/NAME.yaml`; its result's eventLogHash. */
  async function hashOf(name: string, cluster?: UpCluster): Promise<string> {
    const out = join(dir, `${name}-${cluster ? cluster.pid : 'embedded'}.json`);
    const nats = cluster ? ['--nats', cluster.natsUrl] : [];
    const env = cluster ? { VSIM_CREDENTIALS: cluster.credentials } : undefined;
    const r = await runVsim(['run', ...nats, '--json', out, `examples/${name}.yaml`], 120_000, env);
    if (r.status !== 0) throw new Error(`vsim run ${nats.join(' ')} examples/${name}.yaml exited ${r.status}: ${r.stderr}`);
    const hash = (JSON.parse(readFileSync(out, 'utf8')) as { eventLogHash: string }).eventLogHash;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    return hash;
  }

  it('lists the examples it knows the hashes of', () => {
    expect(EXAMPLES).toEqual(Object.keys(RECORDED).sort());
  });

  it('runs every example embedded with its recorded hash', async () => {
    for (const name of EXAMPLES) {
      const hash = await hashOf(name);
      embedded.set(name, hash);
      expect({ name, hash: hash.slice(0, 12) }).toEqual({ name, hash: RECORDED[name] });
    }
  }, 300_000);

  // Several scheduler and hypervisor instances (--schedulers/--hypervisors) each serve a share
  // of the simulation; the hashes must not depend on how many.
  const CLUSTERS: { name: string; args: string[] }[] = [
    { name: '1 cpu-node', args: ['--cpu-nodes', '1'] },
    { name: '2 cpu-nodes', args: ['--cpu-nodes', '2'] },
    { name: '3 cpu-nodes', args: ['--cpu-nodes', '3'] },
    // Hosts split over the schedulers, nodes over the hypervisors (node n2 on hypervisor-2).
    { name: '3 cpu-nodes, 2 schedulers and 2 hypervisors', args: ['--cpu-nodes', '3', '--schedulers', '2', '--hypervisors', '2'] },
  ];

  for (const c of CLUSTERS) {
    it(`gives every example its embedded hash over NATS with ${c.name}`, async () => {
      expect(embedded.size).toBe(EXAMPLES.length); // the embedded runs came first
      const cluster = await startVsimUp(c.args);
      try {
        // Two at a time: concurrent simulations share the cluster (placement spreads them by load),
        // and the CLI's start-up overlaps a run.
        const got: Record<string, string> = {};
        for (let i = 0; i < EXAMPLES.length; i += 2) {
          const pair = EXAMPLES.slice(i, i + 2);
          const hashes = await Promise.all(pair.map((name) => hashOf(name, cluster)));
          pair.forEach((name, k) => (got[name] = hashes[k]));
        }
        expect(got).toEqual(Object.fromEntries(embedded));
      } finally {
        expect(await cluster.stop()).toBe(0);
      }
    }, 600_000);
  }
});
