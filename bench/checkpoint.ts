// The checkpoint benchmark (issue 11): what checkpoints cost, measured in one invocation against a
// baseline without them.
//   1. Per VM memory size: the size of a host checkpoint's VM snapshots, full (the first) and
//      incremental (the others), the wall time to take one (snapshot, allocator records, events,
//      manifest, all stored in a local directory), and the time to restore the VM from its chain.
//   2. Wall-time overhead of `vsim run` with checkpoints every 1, 10 and 100 ms of virtual time on
//      examples/two-hosts.yaml and on a longer run (the same scenario, three times as long), as
//      ratios to runs without checkpoints (interleaved rounds, medians). Goal: <= 1.10 at 10 ms.
//
//   npm run bench:checkpoint [-- --quick] [-- --rounds N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DirectoryCheckpointStore } from '@vsim/bus';
import { SimSpec, runEmbedded, simSpecFromScenario } from '@vsim/control';
import { HostExecutor, restoreVm } from '@vsim/executor';
import { HostCheckpoint, VmSnapshot } from '@vsim/proto';
import { loadScenario } from '@vsim/scenario';
import { CheckpointTaken, checkpointKeys } from '@vsim/scheduler';
import { driverHostConfig, localTrapHandlers } from '@vsim/testkit';

const ROOT = path.resolve(__dirname, '..');
const MiB = 1 << 20;
const MS = 1e6;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function tmpStore(): { store: DirectoryCheckpointStore; done: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vsim-bench-ckpt-'));
  return { store: new DirectoryCheckpointStore(dir), done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One host, one pCPU, one Linux checksum VM of `memoryBytes` (computing for longer than the run). */
function oneVm(memoryBytes: number, durationNs: number): SimSpec {
  return {
    name: 'bench-checkpoint',
    seed: 1,
    durationNs,
    trapPath: 'split',
    scheduler: { policy: 'credit', params: {} },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 }],
    vms: [
      {
        id: 'vm',
        host: 'h0',
        vcpus: 1,
        memoryBytes,
        image: path.join(ROOT, 'guests/rv32/bin/checksum.elf'),
        args: ['1000'],
        kind: 'linux',
        engine: 'bt',
        sched: {},
      },
    ],
  };
}

async function perVmSize(memoryBytes: number, durationNs: number, intervalNs: number): Promise<string[]> {
  const { store, done } = tmpStore();
  try {
    const taken: CheckpointTaken[] = [];
    await runEmbedded(oneVm(memoryBytes, durationNs), 'embedded', { checkpoint: { store, intervalNs, onTaken: (t) => taken.push(t) } });
    const full = taken.filter((t) => t.fullVms > 0);
    const inc = taken.filter((t) => t.fullVms === 0);
    // Restore: the newest checkpoint's chain (full + every increment) into a fresh executor.
    const last = taken[taken.length - 1];
    const m = HostCheckpoint.decode((await store.getBlob(checkpointKeys.manifest('embedded', 'h0', last.index)))!);
    const chain = await Promise.all(m.vms[0].chain.map(async (k) => (await store.getBlob(k))!));
    const restoreMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const [f, ...incs] = chain.map((c) => VmSnapshot.decode(c));
      restoreVm(new HostExecutor(driverHostConfig(1), localTrapHandlers(new Map())), f, ...incs);
      restoreMs.push(performance.now() - t0);
    }
    return [
      `  ${memoryBytes / MiB} MiB: ${taken.length} checkpoints every ${intervalNs / MS} ms; ` +
        `full ${kib(median(full.map((t) => t.vmBytes)))} in ${median(full.map((t) => t.wallMs)).toFixed(1)} ms, ` +
        `incremental ${kib(median(inc.map((t) => t.vmBytes)))} in ${median(inc.map((t) => t.wallMs)).toFixed(1)} ms (medians); ` +
        `restore full + ${chain.length - 1} increments: ${median(restoreMs).toFixed(1)} ms`,
    ];
  } finally {
    done();
  }
}

/** Wall ms of one run, with checkpoints every `intervalNs` (0: none). */
async function wall(spec: SimSpec, intervalNs: number): Promise<{ ms: number; hash: string; checkpoints: number }> {
  const { store, done } = tmpStore();
  try {
    let checkpoints = 0;
    const t0 = performance.now();
    const { result } = await runEmbedded(
      spec,
      'embedded',
      intervalNs > 0 ? { checkpoint: { store, intervalNs, onTaken: () => void checkpoints++ } } : {},
    );
    return { ms: performance.now() - t0, hash: result.eventLogHash, checkpoints };
  } finally {
    done();
  }
}

async function overhead(label: string, spec: SimSpec, intervals: readonly number[], rounds: number, out: (s: string) => void): Promise<void> {
  const modes = [0, ...intervals];
  const times = new Map<number, number[]>(modes.map((m) => [m, []]));
  const counts = new Map<number, number>();
  const hashes = new Set<string>();
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round: a later run reuses code V8 optimized for an earlier one.
    const order = modes.map((_, i) => modes[(i + r) % modes.length]);
    for (const m of order) {
      const w = await wall(spec, m);
      times.get(m)!.push(w.ms);
      counts.set(m, w.checkpoints);
      hashes.add(w.hash);
    }
  }
  const base = median(times.get(0)!);
  out(`\n${label}: ${spec.durationNs / MS} ms of virtual time, ${rounds} round(s), median wall ms`);
  out(`  no checkpoints: ${base.toFixed(0)} ms (ratio 1.000)`);
  for (const m of intervals) {
    const t = median(times.get(m)!);
    out(`  every ${m / MS} ms: ${t.toFixed(0)} ms, ${counts.get(m)} checkpoints: ratio ${(t / base).toFixed(3)}`);
  }
  out(`  event-log hash ${hashes.size === 1 ? 'identical in every run' : `DIFFERS between runs: ${[...hashes].join(', ')}`}`);
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' } } });
  const quick = values.quick === true;
  const rounds = values.rounds !== undefined ? Number(values.rounds) : quick ? 1 : 3;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('bench:checkpoint — checkpoints of a running simulation (embedded runner, local directory store)');
  out('\ncheckpoint size and time per VM memory size (one Linux checksum VM, 50 ms, every 10 ms):');
  for (const mem of quick ? [4 * MiB, 16 * MiB] : [4 * MiB, 16 * MiB, 64 * MiB]) for (const row of await perVmSize(mem, 50 * MS, 10 * MS)) out(row);
  const twoHosts = simSpecFromScenario(loadScenario(path.join(ROOT, 'examples/two-hosts.yaml')));
  const intervals = quick ? [10 * MS] : [1 * MS, 10 * MS, 100 * MS];
  await overhead('examples/two-hosts.yaml', twoHosts, intervals, rounds, out);
  if (!quick)
    await overhead('longer run (two-hosts.yaml, 3x the duration)', { ...twoHosts, durationNs: 3 * twoHosts.durationNs }, intervals, rounds, out);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`bench:checkpoint: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
