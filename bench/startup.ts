// Start-up time of vsim's processes, compiled bundles (apps/*/dist/main.js, `npm run build`)
// against the TypeScript sources through tsx (VSIM_FROM_SOURCE=1), in the same invocation and
// interleaved so both see the same machine load:
//   (a) `vsim --version`: the CLI's own start;
//   (b) one service (vsim-hypervisor) from spawn to its `ready` line, printed once it has registered
//       on NATS (a nats-server of its own, on a free port);
//   (c) `vsim up --cpu-nodes 2`: spawn to "vsim up: ready" (every service registered).
//
//   npm run bench:startup [-- --runs N] [-- --json FILE]
// Prints the median of each, and the ratio source / compiled.

import { spawn, spawnSync } from 'child_process';
import { writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { startNatsServer } from '@vsim/bus';

const ROOT = resolve(__dirname, '..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');
type Mode = 'compiled' | 'source';
const env = (mode: Mode) => ({ ...process.env, VSIM_FROM_SOURCE: mode === 'source' ? '1' : '0' });

/** Milliseconds from spawn until a line of stdout matches `ready`; the process is then stopped. */
function timeUntil(args: string[], mode: Mode, ready: RegExp, timeoutMs = 60_000): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: env(mode), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`not ready after ${timeoutMs} ms: ${args.join(' ')}\n${out}${err}`));
    }, timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (!ready.test(out)) return;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      child.once('exit', () => res(ms));
      child.kill('SIGINT');
    });
    child.once('exit', (code) => {
      if (!ready.test(out)) {
        clearTimeout(timer);
        rej(new Error(`exited ${code} before ready: ${args.join(' ')}\n${out}${err}`));
      }
    });
  });
}

function cliVersionMs(mode: Mode): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [VSIM, '--version'], { cwd: ROOT, env: env(mode), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vsim --version: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function main(argv: readonly string[]): Promise<number> {
  const runs = Number(argv[argv.indexOf('--runs') + 1] ?? 3) || 3;
  const json = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}`);
  const nats = await startNatsServer();
  const figures: Record<string, Record<Mode, number[]>> = {
    'vsim --version': { compiled: [], source: [] },
    'one service to registered (vsim-hypervisor)': { compiled: [], source: [] },
    'vsim up --cpu-nodes 2 to ready': { compiled: [], source: [] },
  };
  try {
    for (let i = 0; i < runs; i++) {
      for (const mode of ['source', 'compiled'] as const) {
        figures['vsim --version'][mode].push(cliVersionMs(mode));
        const hv = join(ROOT, 'apps/hypervisor/bin/vsim-hypervisor.js');
        figures['one service to registered (vsim-hypervisor)'][mode].push(
          await timeUntil([hv, '--nats', nats.url, '--instance', `bench-${mode}-${i}`, '--log-level', 'info'], mode, /"msg":"ready"/),
        );
        figures['vsim up --cpu-nodes 2 to ready'][mode].push(await timeUntil([VSIM, 'up', '--cpu-nodes', '2'], mode, /^vsim up: ready/m));
      }
    }
  } finally {
    await nats.stop();
  }
  const rows = Object.entries(figures).map(([what, f]) => {
    const s = median(f.source);
    const c = median(f.compiled);
    return { what, sourceMs: s, compiledMs: c, ratio: s / c };
  });
  const width = Math.max(...rows.map((r) => r.what.length));
  process.stdout.write(`start-up, median of ${runs} (ms): tsx from source vs compiled bundle\n`);
  for (const r of rows)
    process.stdout.write(
      `  ${r.what.padEnd(width)}  source ${r.sourceMs.toFixed(0).padStart(6)}  compiled ${r.compiledMs.toFixed(0).padStart(6)}  ${r.ratio.toFixed(2)}×\n`,
    );
  if (json) writeFileSync(json, JSON.stringify({ runs, rows, figures }, null, 2) + '\n');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`bench:startup: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
