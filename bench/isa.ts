// The ISA benchmark: how fast each emulation engine runs the rv32 guest workloads, against
// decode-and-dispatch and against qemu-riscv32 measured in the same run; what each step of the
// binary translator buys (ablation); and the seed's table of emulation techniques with measured
// numbers.
//
//   npm run bench:isa [-- --runs N] [--json FILE] [--workloads a,b] [--quick]
//
// Every measurement is a fresh child process (bench/isa-worker.ts), so each starts with a cold JIT
// and empty caches, and one engine's garbage never lands in another's timing. Runs are interleaved
// (round 1 of every cell, then round 2, ...) so that load from other processes on the machine
// spreads over all cells instead of skewing one. Figures are medians over the rounds.

import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkerResult } from './isa-worker';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'guests/rv32/bin');
const WORKER = path.join(ROOT, 'bench/isa-worker.ts');

export const WORKLOADS = ['checksum', 'matmul', 'sort', 'recursion'] as const;
type Workload = (typeof WORKLOADS)[number];
/** argv[1] of each workload under --quick: one round/iteration, ~1.7-7.9 M instructions. */
const QUICK_ARGS: Record<Workload, string[]> = { checksum: ['1'], matmul: ['1'], sort: ['1'], recursion: ['1'] };

const ENGINES = ['dispatch', 'indirect', 'direct', 'bt'] as const;
type EngineId = (typeof ENGINES)[number];
const ENGINE_TITLES: Record<EngineId, string> = {
  dispatch: 'decode-and-dispatch',
  indirect: 'indirect threaded',
  direct: 'direct threaded (pre-decoded)',
  bt: 'binary translation',
};

/**
 * BT ablation: bt with its defaults (chain, loops, superblocks with loop traces, exit cache) and one
 * step taken away at a time, down to the translator of issue 15's baseline (chain + loops only).
 */
const BT_VARIANTS = [
  { id: 'bt', label: 'bt (all)', options: null },
  { id: 'bt-noexitcache', label: 'no exit cache', options: { exitCache: false } },
  { id: 'bt-nolooptraces', label: 'no loop traces', options: { loopTraces: false } },
  { id: 'bt-nosuper', label: 'no superblocks', options: { superblocks: false } },
  { id: 'bt-seed', label: 'chain+loops only', options: { superblocks: false, exitCache: false } },
  { id: 'bt-noloops', label: 'chain only', options: { superblocks: false, exitCache: false, loops: false } },
] as const;
type VariantId = (typeof BT_VARIANTS)[number]['id'];

interface Config {
  readonly id: EngineId | VariantId;
  readonly engine: EngineId;
  readonly bt: object | null;
}
const CONFIGS: readonly Config[] = [
  ...ENGINES.map((e) => ({ id: e, engine: e, bt: null })),
  ...BT_VARIANTS.filter((v) => v.options !== null).map((v) => ({ id: v.id, engine: 'bt' as const, bt: v.options })),
];

// ---------------------------------------------------------------------------------------------
// Options

class UsageError extends Error {}

interface Options {
  runs: number;
  json: string | null;
  workloads: Workload[];
  quick: boolean;
}

const USAGE = 'usage: npm run bench:isa [-- --runs N] [--json FILE] [--workloads checksum,matmul,sort,recursion] [--quick]';

export function parseOptions(argv: readonly string[]): Options {
  // `npm run bench:isa -- --runs 3 -- --json f` hands over the second `--` verbatim: ignore them.
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      runs: { type: 'string' },
      json: { type: 'string' },
      workloads: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const runs = values.runs === undefined ? (quick ? 1 : 5) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs: expected a positive integer, got '${values.runs}'`);
  const workloads = (values.workloads ?? WORKLOADS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const w of workloads) {
    if (!(WORKLOADS as readonly string[]).includes(w))
      throw new UsageError(`--workloads: unknown workload '${w}' (expected ${WORKLOADS.join(', ')})`);
  }
  if (workloads.length === 0) throw new UsageError('--workloads: empty list');
  return { runs, json: values.json ?? null, workloads: workloads as Workload[], quick };
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface Failure {
  readonly what: string;
  readonly error: string;
}

function runChild(
  cmd: string,
  args: readonly string[],
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
    });
  });
}

async function worker(w: Workload, args: readonly string[], cfg: Config, mode: 'run' | 'profile' | 'startup'): Promise<WorkerResult> {
  const node = mode === 'run' ? [] : ['--expose-gc'];
  const wargs = [
    ...node,
    '--import',
    'tsx',
    WORKER,
    '--elf',
    path.join(BIN, `${w}.elf`),
    ...args.flatMap((a) => ['--arg', a]),
    '--engine',
    cfg.engine,
    ...(cfg.bt ? ['--bt', JSON.stringify(cfg.bt)] : []),
    '--mode',
    mode === 'run' ? 'run' : 'profile',
    ...(mode === 'startup' ? ['--startup-only'] : []),
  ];
  const r = await runChild(process.execPath, wargs);
  if (r.code !== 0) throw new Error(r.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${r.code ?? r.signal}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as WorkerResult;
}

/** Wall time of `qemu-riscv32 elf args` from spawn to exit (start-up included). */
async function qemuRun(elf: string, args: readonly string[]): Promise<number> {
  const r = await runChild('qemu-riscv32', [path.join(BIN, `${elf}.elf`), ...args]);
  if (r.code !== 0) throw new Error(`qemu-riscv32 ${elf}: exit ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  return r.seconds;
}

function qemuVersion(): string | null {
  const r = spawnSync('qemu-riscv32', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0].trim();
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function geomean(xs: readonly number[]): number {
  const ok = xs.filter((x) => Number.isFinite(x) && x > 0);
  return ok.length === 0 ? NaN : Math.exp(ok.reduce((a, x) => a + Math.log(x), 0) / ok.length);
}

/** Half the range as a fraction of the median: a plain, outlier-honest measure of spread. */
function spread(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  return (Math.max(...xs) - Math.min(...xs)) / 2 / median(xs);
}

const fin = (x: number | null | undefined): x is number => x !== null && x !== undefined && Number.isFinite(x);
const fmt = (x: number | null | undefined, d = 1) => (fin(x) ? x.toFixed(d) : '-');
const fmtRatio = (x: number | null | undefined) => (fin(x) ? `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}x` : '-');
const fmtMips = (xs: readonly number[]) => {
  if (xs.length === 0) return 'FAILED';
  const s = spread(xs);
  return fin(s) ? `${median(xs).toFixed(1)} ±${Math.round(s * 100)}%` : median(xs).toFixed(1);
};
const fmtMs = (s: number | null | undefined) => (fin(s) ? (s * 1000).toFixed(1) : '-');
const fmtCount = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K` : String(n));
const fmtBytes = (b: number | null | undefined) => {
  if (!fin(b)) return '-';
  const a = Math.abs(b);
  return a >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : a >= 1 << 10 ? `${(b / 1024).toFixed(1)} KiB` : `${Math.round(b)} B`;
};

/** Aligned plain-text table: first column left, the rest right, a rule under the header. */
function table(header: readonly string[], rows: readonly (readonly string[])[], leftCols = 1): string {
  const all = [header, ...rows];
  const width = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c < leftCols ? cell.padEnd(width[c]) : cell.padStart(width[c])))
      .join('  ')
      .trimEnd();
  return [line(header), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The technique table: measured figures, and ranks derived from them

type Rank = string;

/** Memory per cached guest instruction, in bytes: nothing cached is low; a few words is medium. */
function rankMemory(bytesPerInstr: number | null): Rank {
  if (bytesPerInstr === null) return 'low';
  if (!fin(bytesPerInstr)) return '-';
  return bytesPerInstr <= 64 ? 'medium' : 'high';
}

/** Start-up: time to the first 1 M instructions relative to the fastest engine. */
function rankStartup(rel: number): Rank {
  if (!fin(rel)) return '-';
  return rel <= 1.25 ? 'fast' : rel <= 2.5 ? 'medium' : rel <= 5 ? 'slow' : 'very slow';
}

/**
 * Steady state: MIPS relative to decode-and-dispatch, the baseline every technique improves on.
 * Wide bands, so that engines within run-to-run noise of each other get the same rank.
 */
function rankSteady(rel: number): Rank {
  if (!fin(rel)) return '-';
  return rel >= 4 ? 'fast' : rel >= 1.5 ? 'medium' : 'slow';
}

/** The seed's qualitative table (Smith & Nair's summary of emulation methods). */
const SEED: Record<EngineId, { memory: Rank; startup: Rank; steady: Rank; portability: Rank }> = {
  dispatch: { memory: 'low', startup: 'fast', steady: 'slow', portability: 'good' },
  indirect: { memory: 'low', startup: 'fast', steady: 'slow', portability: 'good' },
  direct: { memory: 'high', startup: 'slow', steady: 'medium', portability: 'medium' },
  bt: { memory: 'high', startup: 'very slow', steady: 'fast', portability: 'poor' },
};

/**
 * Code portability cannot be measured; it follows from what each engine caches. Here every engine
 * is JavaScript: the pre-decoded form holds a routine's index (not a host address), and translated
 * blocks are JavaScript source that V8 compiles for whatever host it runs on.
 */
const PORTABILITY: Record<EngineId, { rank: Rank; why: string }> = {
  dispatch: { rank: 'good', why: 'one JS interpreter loop, nothing host-specific cached' },
  indirect: { rank: 'good', why: 'JS routines; the routine table is built at start-up' },
  direct: { rank: 'good', why: 'pre-decoded form stores a routine index, not a host address' },
  bt: { rank: 'good', why: 'translates to JS source; V8 emits the host code' },
};

// ---------------------------------------------------------------------------------------------
// The bench

interface CellRuns {
  runs: WorkerResult[];
  startups: WorkerResult[];
  profile: WorkerResult | null;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let opt: Options;
  try {
    opt = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const t0 = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const bold = process.stdout.isTTY && !process.env.NO_COLOR ? (s: string) => `\x1b[1m${s}\x1b[0m` : (s: string) => s;
  const out = (s = '') => process.stdout.write(s + '\n');
  const progress = process.stderr.isTTY ? (s: string) => process.stderr.write(`\r\x1b[K${s}`) : () => undefined;

  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
  const qemu = qemuVersion();
  const argsOf = (w: Workload) => (opt.quick ? QUICK_ARGS[w] : []);

  out(bold('vsim ISA benchmark'));
  out(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.platform}, ${machine.date}`);
  out(
    `settings: ${opt.runs} run${opt.runs > 1 ? 's' : ''} per cell, each in a fresh process; workloads ${opt.workloads.map((w) => `${w}${argsOf(w).length ? ' ' + argsOf(w).join(' ') : ''}`).join(', ')}${opt.quick ? ' (--quick)' : ''}`,
  );
  if (qemu) out(`qemu: ${qemu}`);
  else out('qemu-riscv32 not found (apt-get install -y qemu-user): ratios to QEMU omitted');
  out();

  const cells = new Map<string, CellRuns>();
  const cell = (w: Workload, id: string) => {
    const k = `${w}/${id}`;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = { runs: [], startups: [], profile: null }));
    return c;
  };
  const qemuWall = new Map<string, number[]>();
  const failures: Failure[] = [];
  const attempt = async <T>(what: string, f: () => Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      failures.push({ what, error: (e as Error).message });
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}bench:isa: ${what} FAILED: ${(e as Error).message}\n`);
      return null;
    }
  };

  // The first qemu-riscv32 of a session pays for loading its binary and libraries from disk.
  if (qemu) await attempt('qemu warm-up', () => qemuRun('hello', []));

  const perRound = opt.workloads.length * (CONFIGS.length + ENGINES.length) + (qemu ? opt.workloads.length + 1 : 0);
  let done = 0;
  for (let round = 1; round <= opt.runs; round++) {
    if (qemu) {
      const s = await attempt(`qemu hello round ${round}`, () => qemuRun('hello', []));
      if (s !== null) (qemuWall.get('hello') ?? qemuWall.set('hello', []).get('hello')!).push(s);
      done++;
    }
    for (const w of opt.workloads) {
      const args = argsOf(w);
      for (const cfg of CONFIGS) {
        progress(`bench:isa round ${round}/${opt.runs}: ${w} ${cfg.id} (${done}/${perRound * opt.runs}, ${elapsed().toFixed(0)} s)`);
        const r = await attempt(`${w} ${cfg.id} run ${round}`, () => worker(w, args, cfg, 'run'));
        if (r) cell(w, cfg.id).runs.push(r);
        done++;
      }
      // Start-up and memory: one full profile in round 1, a start-up-only sample in later rounds.
      for (const e of ENGINES) {
        const cfg = CONFIGS.find((c) => c.id === e)!;
        progress(`bench:isa round ${round}/${opt.runs}: ${w} ${e} start-up (${done}/${perRound * opt.runs}, ${elapsed().toFixed(0)} s)`);
        const mode = round === 1 ? 'profile' : 'startup';
        const r = await attempt(`${w} ${e} ${mode} ${round}`, () => worker(w, args, cfg, mode));
        if (r) {
          cell(w, e).startups.push(r);
          if (mode === 'profile') cell(w, e).profile = r;
        }
        done++;
      }
      if (qemu) {
        const s = await attempt(`qemu ${w} round ${round}`, () => qemuRun(w, args));
        if (s !== null) (qemuWall.get(w) ?? qemuWall.set(w, []).get(w)!).push(s);
        done++;
      }
    }
    if (!process.stderr.isTTY) process.stderr.write(`bench:isa: round ${round}/${opt.runs} done (${elapsed().toFixed(0)} s)\n`);
  }
  progress('');

  // ---- Figures ------------------------------------------------------------------------------
  const mipsOf = (w: Workload, id: string) => cell(w, id).runs.map((r) => r.mips);
  const med = (w: Workload, id: string) => median(mipsOf(w, id));
  // Every engine retires exactly the same instructions (they differ only in how, never in what).
  const instructionCounts = new Map<Workload, number | null>();
  for (const w of opt.workloads) {
    const counts = new Set(CONFIGS.flatMap((c) => cell(w, c.id).runs.map((r) => r.instructions)));
    if (counts.size > 1) failures.push({ what: `${w} instruction count`, error: `engines disagree: ${[...counts].join(', ')}` });
    instructionCounts.set(w, counts.size ? Math.min(...counts) : null);
  }
  const instructionsOf = (w: Workload) => instructionCounts.get(w) ?? null;
  const qemuStartup = median(qemuWall.get('hello') ?? []);
  const qemuFig = (w: Workload) => {
    const wall = median(qemuWall.get(w) ?? []);
    const net = wall - qemuStartup;
    const n = instructionsOf(w);
    return { wall, net, mips: fin(n) && net > 0 ? n / net / 1e6 : NaN };
  };

  // ---- 1. Engines x workloads --------------------------------------------------------------
  out(bold(`1. Engine speed: median MIPS of ${opt.runs} run${opt.runs > 1 ? 's' : ''} (±: half the range), run() only`));
  const speedRows = opt.workloads.map((w) => [
    w,
    fmtCount(instructionsOf(w) ?? NaN),
    ...ENGINES.map((e) => fmtMips(mipsOf(w, e))),
    ...(qemu ? [fmt(qemuFig(w).mips)] : []),
  ]);
  speedRows.push([
    'geomean',
    '',
    ...ENGINES.map((e) => fmt(geomean(opt.workloads.map((w) => med(w, e))))),
    ...(qemu ? [fmt(geomean(opt.workloads.map((w) => qemuFig(w).mips)))] : []),
  ]);
  out(table(['workload', 'instructions', ...ENGINES, ...(qemu ? ['qemu-riscv32'] : [])], speedRows));
  out();
  out(bold('   Ratio to decode-and-dispatch (median MIPS / dispatch median MIPS)'));
  const ratioRows = opt.workloads.map((w) => [w, ...ENGINES.map((e) => fmtRatio(med(w, e) / med(w, 'dispatch')))]);
  ratioRows.push(['geomean', ...ENGINES.map((e) => fmtRatio(geomean(opt.workloads.map((w) => med(w, e) / med(w, 'dispatch')))))]);
  out(table(['workload', ...ENGINES], ratioRows));
  out();
  if (qemu) {
    out(bold('   Ratio to qemu-riscv32 (median MIPS / qemu MIPS; 1.00x = as fast as QEMU)'));
    const qRows = opt.workloads.map((w) => [w, ...ENGINES.map((e) => fmtRatio(med(w, e) / qemuFig(w).mips))]);
    qRows.push(['geomean', ...ENGINES.map((e) => fmtRatio(geomean(opt.workloads.map((w) => med(w, e) / qemuFig(w).mips))))]);
    out(table(['workload', ...ENGINES], qRows));
    out();
    out(bold(`   qemu-riscv32: median wall time of ${opt.runs} run${opt.runs > 1 ? 's' : ''} minus start-up (hello.elf: ${fmtMs(qemuStartup)} ms)`));
    out(
      table(
        ['workload', 'wall ms', 'net ms', 'MIPS'],
        opt.workloads.map((w) => {
          const q = qemuFig(w);
          const noisy = fin(q.mips) && q.net < qemuStartup / 2 ? ' *' : '';
          return [w, fmtMs(q.wall), fmtMs(q.net), fin(q.mips) ? fmt(q.mips) + noisy : 'n/a (net time not above start-up)'];
        }),
      ),
    );
    out('   (MIPS = our instruction count for the workload / net time; QEMU retires the same guest instructions)');
    if (opt.workloads.some((w) => fin(qemuFig(w).mips) && qemuFig(w).net < qemuStartup / 2)) {
      out("   * net time under half of qemu's start-up: dominated by timing noise (use full-size inputs)");
    }
    out();
  }

  // ---- 2. BT ablation ---------------------------------------------------------------------
  out(bold('2. What each step of the binary translator buys: median MIPS (ratio to plain bt)'));
  const abl = opt.workloads.map((w) => [
    w,
    ...BT_VARIANTS.map((v) => {
      const m = med(w, v.id);
      return v.id === 'bt' ? fmtMips(mipsOf(w, v.id)) : `${fmtMips(mipsOf(w, v.id))} (${fmtRatio(m / med(w, 'bt'))})`;
    }),
  ]);
  abl.push([
    'geomean',
    ...BT_VARIANTS.map((v) => {
      const g = geomean(opt.workloads.map((w) => med(w, v.id)));
      return v.id === 'bt' ? fmt(g) : `${fmt(g)} (${fmtRatio(geomean(opt.workloads.map((w) => med(w, v.id) / med(w, 'bt'))))})`;
    }),
  ]);
  out(table(['workload', ...BT_VARIANTS.map((v) => v.label)], abl));
  out();
  out(bold('   Dispatcher block lookups per million guest instructions (what chaining and looping avoid)'));
  const lookupsPerM = (r: WorkerResult | undefined) => (r && fin(r.stats.lookups) ? (r.stats.lookups / r.instructions) * 1e6 : NaN);
  out(
    table(
      ['workload', ...BT_VARIANTS.map((v) => v.label)],
      opt.workloads.map((w) => [
        w,
        ...BT_VARIANTS.map((v) => {
          const r = cell(w, v.id).runs[0];
          return fmt(lookupsPerM(r), 0);
        }),
      ]),
    ),
  );
  out('   variants: chain = blocks link to their successors; loops = a block branching to its own start loops inside');
  out('   its function; superblocks = a block goes on through jal (calls, jumps) in its page; loop traces = and past');
  out('   forward branches of a loop body, leaving by a chained side exit; exit cache = an inline cache per block for');
  out('   its other exits (returns, indirect jumps). (regions, hot pages in one function, stay off by default.)');
  out();

  // ---- 3. Technique table -----------------------------------------------------------------
  const prof = (w: Workload, e: EngineId) => cell(w, e).profile;
  /**
   * Memory of the engine's cache per cached guest instruction. Direct threading keeps its
   * pre-decoded pages in typed arrays (outside the V8 heap: the arrayBuffers figure, allocated a
   * page at a time); the translator keeps functions, their source and block records on the heap.
   * The heap delta of every engine also holds V8's code and feedback for the engine itself.
   */
  const memFig = (w: Workload, e: EngineId) => {
    const p = prof(w, e);
    const none = { heapDelta: NaN, abDelta: NaN, cached: NaN, perInstr: NaN, nominal: NaN, heapPerInstr: NaN };
    if (!p) return none;
    const heapDelta = p.heapAfter.heapUsed - p.heapBefore.heapUsed;
    const abDelta = p.heapAfter.arrayBuffers - p.heapBefore.arrayBuffers;
    if (e === 'direct') {
      const cached = p.stats.cachedOps;
      return { heapDelta, abDelta, cached, perInstr: abDelta / cached, nominal: p.stats.bytesPerCachedOp, heapPerInstr: heapDelta / cached };
    }
    if (e === 'bt') {
      const cached = p.stats.instructionsTranslated;
      return { heapDelta, abDelta, cached, perInstr: heapDelta / cached, nominal: p.stats.sourceBytes / cached, heapPerInstr: heapDelta / cached };
    }
    return { ...none, heapDelta, abDelta, cached: 0 };
  };
  const startupOf = (w: Workload, e: EngineId) =>
    median(
      cell(w, e)
        .startups.map((r) => r.startupSeconds ?? NaN)
        .filter(fin),
    );

  out(bold('3. Emulation techniques, measured (seed table; one fresh process per figure)'));
  out(bold('   Per workload: start-up = wall ms to retire the first 1,000,000 guest instructions from a cold engine'));
  out(bold('   (median of the runs); memory = after a full GC, after the run minus before the first instruction'));
  const detail: string[][] = [];
  for (const e of ENGINES) {
    for (const w of opt.workloads) {
      const m = memFig(w, e);
      const p = prof(w, e);
      const caches = e === 'direct' || e === 'bt';
      const perCached =
        e === 'direct'
          ? `${fmt(m.perInstr, 0)} pages, ${fmt(m.nominal, 0)} stats`
          : e === 'bt'
            ? `${fmt(m.perInstr, 0)} heap, ${fmt(m.nominal, 0)} source`
            : '0';
      detail.push([
        e,
        w,
        fmtMs(startupOf(w, e)),
        String(cell(w, e).startups.length),
        fmt(p?.secondHalfMips),
        fmtBytes(m.heapDelta),
        fmtBytes(m.abDelta),
        caches ? (fin(m.cached) ? String(m.cached) : '-') : '0',
        perCached,
        e === 'direct' ? fmt(m.heapPerInstr, 0) : '',
      ]);
    }
  }
  out(
    table(
      ['engine', 'workload', 'start-up ms', 'n', '2nd-half MIPS', 'heap delta', 'arrays delta', 'cached instrs', 'B / cached instr', 'heap B / op'],
      detail,
      2,
    ),
  );
  out('   cached instrs: direct = pre-decoded ops (stats.cachedOps), bt = instructions translated. B / cached instr:');
  out('   direct = typed-array pages / ops and stats.bytesPerCachedOp; bt = heap delta / instructions and source bytes /');
  out("   instructions. dispatch and indirect cache nothing: their heap delta is V8's code and feedback for the");
  out("   interpreter itself, which every engine pays (direct's heap B / op is mostly that, not its cache).");
  out();

  const summary = ENGINES.map((e) => {
    const perInstr = e === 'dispatch' || e === 'indirect' ? null : median(opt.workloads.map((w) => memFig(w, e).perInstr).filter(fin));
    const nominal = e === 'direct' || e === 'bt' ? median(opt.workloads.map((w) => memFig(w, e).nominal).filter(fin)) : null;
    const startup = median(opt.workloads.map((w) => startupOf(w, e)).filter(fin));
    const steady = geomean(opt.workloads.map((w) => med(w, e)));
    const secondHalf = geomean(opt.workloads.map((w) => prof(w, e)?.secondHalfMips ?? NaN));
    return { engine: e, perInstr, nominal, startup, steady, secondHalf };
  });
  const fastestStartup = Math.min(...summary.map((s) => s.startup).filter(fin));
  const dispatchSteady = summary.find((s) => s.engine === 'dispatch')?.steady ?? NaN;
  const technique = summary.map((s) => {
    const seed = SEED[s.engine];
    const rank = {
      memory: rankMemory(s.perInstr),
      startup: rankStartup(s.startup / fastestStartup),
      steady: rankSteady(s.steady / dispatchSteady),
      portability: PORTABILITY[s.engine].rank,
    };
    return { ...s, title: ENGINE_TITLES[s.engine], rank, seed, portabilityWhy: PORTABILITY[s.engine].why };
  });
  out(bold('   Summary (memory and start-up: median over workloads; steady state: geomean of section 1 medians)'));
  const memCell = (t: (typeof technique)[number]) =>
    t.perInstr === null
      ? '0 (none cached)'
      : t.engine === 'direct'
        ? `${fmt(t.perInstr, 0)} B pages (stats ${fmt(t.nominal, 0)} B)`
        : `${fmt(t.perInstr, 0)} B (source ${fmt(t.nominal, 0)} B)`;
  out(
    table(
      ['technique', 'memory / cached instr', 'start-up 1M instr', 'steady MIPS', '2nd-half MIPS'],
      technique.map((t) => [t.title, memCell(t), `${fmtMs(t.startup)} ms`, fmt(t.steady), fmt(t.secondHalf)]),
    ),
  );
  out('   steady MIPS: one LinuxUserProcess.run() call to the end (section 1). 2nd-half MIPS: the second half of a');
  out('   run driven as run(1M cycles) slices (one profile run per workload, JIT warm-up excluded); the two differ');
  out('   when V8 keeps a long call in on-stack-replacement code that re-entering the engine would replace.');
  out();
  out(bold("   Qualitative columns: derived from the figures above (seed's value in brackets)"));
  const q = (mine: Rank, seed: Rank) => `${mine} [${seed}]`;
  out(
    table(
      ['technique', 'memory requirements', 'start-up performance', 'steady-state performance', 'code portability'],
      technique.map((t) => [
        t.title,
        q(t.rank.memory, t.seed.memory),
        q(t.rank.startup, t.seed.startup),
        q(t.rank.steady, t.seed.steady),
        q(t.rank.portability, t.seed.portability),
      ]),
    ),
  );
  out('   memory: nothing cached = low, <= 64 B per cached guest instruction = medium, more = high;');
  out(
    `   start-up: time to 1M instructions vs the fastest engine (${fmtMs(fastestStartup)} ms): <= 1.25x fast, <= 2.5x medium, <= 5x slow, more very slow;`,
  );
  out(`   steady state: MIPS vs decode-and-dispatch (${fmt(dispatchSteady)}): >= 4x fast, >= 1.5x medium, less slow;`);
  const directRel = (technique.find((t) => t.engine === 'direct')?.steady ?? NaN) / dispatchSteady;
  if (fin(directRel) && directRel < 1.5) {
    // The seed ranks direct threading above decode-and-dispatch; say plainly when this run did not.
    out(`   direct threading ran ${fmtRatio(directRel)} decode-and-dispatch here, not the seed's "medium" (>= 1.5x): JavaScript`);
    out('   has no labels-as-values, so a pre-decoded op still dispatches through a switch (one indirect jump, as');
    out("   dispatch's decode switch does), and pre-decoding saves only the decode; a closure per instruction was");
    out('   measured slower still (a megamorphic call per instruction, see libs/isa/src/engines/direct.ts).');
  }
  out('   portability is by design, not measured:');
  for (const t of technique) out(`     ${t.engine}: ${t.portabilityWhy}`);
  out();

  const total = elapsed();
  if (failures.length) {
    out(bold(`FAILURES (${failures.length})`));
    for (const f of failures) out(`  ${f.what}: ${f.error}`);
    out();
  }
  out(`bench:isa finished in ${total.toFixed(1)} s`);

  // ---- JSON ---------------------------------------------------------------------------------
  if (opt.json) {
    const num = (x: number | null) => (x === null || !Number.isFinite(x) ? null : x);
    const doc = {
      bench: 'isa',
      machine,
      settings: { runs: opt.runs, quick: opt.quick, workloads: opt.workloads, args: Object.fromEntries(opt.workloads.map((w) => [w, argsOf(w)])) },
      workloads: Object.fromEntries(
        opt.workloads.map((w) => [
          w,
          {
            args: argsOf(w),
            instructions: instructionsOf(w),
            engines: Object.fromEntries(
              ENGINES.map((e) => [
                e,
                {
                  medianMips: num(med(w, e)),
                  spread: num(spread(mipsOf(w, e))),
                  ratioToDispatch: num(med(w, e) / med(w, 'dispatch')),
                  ratioToQemu: qemu ? num(med(w, e) / qemuFig(w).mips) : null,
                  runs: cell(w, e).runs,
                },
              ]),
            ),
          },
        ]),
      ),
      medians: Object.fromEntries(opt.workloads.map((w) => [w, Object.fromEntries(ENGINES.map((e) => [e, num(med(w, e))]))])),
      geomean: Object.fromEntries(
        ENGINES.map((e) => [
          e,
          {
            mips: num(geomean(opt.workloads.map((w) => med(w, e)))),
            ratioToDispatch: num(geomean(opt.workloads.map((w) => med(w, e) / med(w, 'dispatch')))),
            ratioToQemu: qemu ? num(geomean(opt.workloads.map((w) => med(w, e) / qemuFig(w).mips))) : null,
          },
        ]),
      ),
      ablation: {
        variants: BT_VARIANTS.map((v) => ({ id: v.id, label: v.label, options: v.options ?? {} })),
        workloads: Object.fromEntries(
          opt.workloads.map((w) => [
            w,
            Object.fromEntries(
              BT_VARIANTS.map((v) => [
                v.id,
                {
                  medianMips: num(med(w, v.id)),
                  ratioToBt: num(med(w, v.id) / med(w, 'bt')),
                  lookupsPerMillion: num(lookupsPerM(cell(w, v.id).runs[0])),
                  runs: cell(w, v.id).runs,
                },
              ]),
            ),
          ]),
        ),
      },
      technique: {
        engines: Object.fromEntries(
          technique.map((t) => [
            t.engine,
            {
              title: t.title,
              memoryBytesPerCachedInstruction: t.perInstr === null ? 0 : num(t.perInstr),
              memoryNominalBytesPerCachedInstruction: t.nominal === null ? 0 : num(t.nominal),
              startupSeconds: num(t.startup),
              steadyMips: num(t.steady),
              secondHalfMips: num(t.secondHalf),
              rank: t.rank,
              seed: t.seed,
              portability: t.portabilityWhy,
            },
          ]),
        ),
        workloads: Object.fromEntries(
          opt.workloads.map((w) => [
            w,
            Object.fromEntries(
              ENGINES.map((e) => {
                const m = memFig(w, e);
                return [
                  e,
                  {
                    startupSeconds: num(startupOf(w, e)),
                    startupRuns: cell(w, e).startups.map((r) => r.startupSeconds),
                    heapDelta: num(m.heapDelta),
                    arrayBuffersDelta: num(m.abDelta),
                    cachedInstructions: e === 'dispatch' || e === 'indirect' ? 0 : num(m.cached),
                    bytesPerCachedInstruction: e === 'dispatch' || e === 'indirect' ? 0 : num(m.perInstr),
                    nominalBytesPerCachedInstruction: num(m.nominal),
                    profile: prof(w, e),
                  },
                ];
              }),
            ),
          ]),
        ),
        startupInstructions: 1_000_000,
      },
      qemu:
        qemu === null
          ? { found: false }
          : {
              found: true,
              version: qemu,
              startupSeconds: num(qemuStartup),
              startupRuns: qemuWall.get('hello') ?? [],
              workloads: Object.fromEntries(
                opt.workloads.map((w) => {
                  const f = qemuFig(w);
                  return [w, { wallSeconds: num(f.wall), netSeconds: num(f.net), mips: num(f.mips), runs: qemuWall.get(w) ?? [] }];
                }),
              ),
            },
      failures,
      totalSeconds: total,
    };
    writeFileSync(opt.json, JSON.stringify(doc, null, 2) + '\n');
    out(`wrote ${opt.json}`);
  }
  return failures.length ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`bench:isa: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
