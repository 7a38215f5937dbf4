// One measurement of one engine on one guest workload, in a fresh process so that no JIT state,
// inline cache or heap from an earlier measurement colours it. Spawned by bench/isa.ts as
//
//   node [--expose-gc] --import tsx bench/isa-worker.ts --elf FILE [--arg A]... --engine NAME
//        [--bt '{"chain":false}'] [--mode run|profile] [--startup-only]
//
// and prints exactly one JSON line (a WorkerResult) on stdout. Exits 1 with a message on stderr if
// the guest does not exit with status 0.
//
//   run      times LinuxUserProcess.run() alone (process.hrtime.bigint), with V8 heap use before
//            and after it (no forced GC: the heap as the run left it).
//   profile  needs --expose-gc. Start-up: wall time from a cold engine (just constructed, nothing
//            decoded or translated, JIT cold) until the hart has retired STARTUP_INSTRUCTIONS; then
//            runs to the end in slices, sampling (time, instret), for the MIPS of the second half;
//            heap (after a full GC) before the first instruction and after the last one, for the
//            memory the engine's caches hold. With --startup-only it stops after start-up (a cheap
//            extra start-up sample; the guest has not exited, so only a fault counts as failure).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BinaryTranslationEngine, ENGINE_NAMES, isEngineName, LinuxUserProcess, rv32 } from '@vsim/isa';
import type { BtOptions, EngineName, Hart, ProcessResult } from '@vsim/isa';

/** Instructions a cold engine must retire for the start-up figure. */
const STARTUP_INSTRUCTIONS = 1_000_000;
/** Cycles per slice after start-up in profile mode: small enough to sample, big enough not to matter. */
const PROFILE_SLICE_CYCLES = 1_000_000;

export interface HeapSample {
  /** V8 heap in use (all spaces, code included). */
  readonly heapUsed: number;
  /** Memory behind ArrayBuffers and typed arrays (outside the V8 heap: direct threading's pages). */
  readonly arrayBuffers: number;
}

export interface WorkerResult {
  readonly mode: 'run' | 'profile' | 'startup';
  readonly engine: EngineName;
  readonly btOptions: Partial<BtOptions> | null;
  readonly status: number;
  readonly instructions: number;
  readonly cycles: number;
  /** Wall time of the whole run (profile mode: start-up and slices included). */
  readonly seconds: number;
  readonly mips: number;
  readonly stats: Record<string, number>;
  readonly heapBefore: HeapSample;
  readonly heapAfter: HeapSample;
  /** profile mode only */
  readonly constructSeconds?: number;
  readonly startupInstructions?: number;
  readonly startupSeconds?: number;
  readonly secondHalfMips?: number;
}

function heap(): HeapSample {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('profile mode needs node --expose-gc');
  gc();
  gc();
}

const seconds = (t0: bigint, t1: bigint) => Number(t1 - t0) / 1e9;

function makeProcess(elf: Uint8Array, argv: string[], engine: EngineName, bt: Partial<BtOptions> | null): LinuxUserProcess {
  const sink = () => undefined;
  // A translator with non-default options comes from an engine factory.
  const chosen = bt === null ? engine : (hart: Hart) => new BinaryTranslationEngine(hart, rv32, bt);
  return new LinuxUserProcess(elf, { engine: chosen, argv, stdout: sink, stderr: sink });
}

function check(r: ProcessResult, what: string): void {
  if (r.exited && r.status === 0) return;
  const why = r.fault
    ? `fault ${r.fault.causeName} at 0x${r.fault.pc.toString(16)} (${r.fault.disassembly ?? '?'})`
    : r.exited
      ? `exit status ${r.status}`
      : 'did not exit';
  process.stderr.write(`isa-worker: ${what}: ${why}\n`);
  process.exit(1);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      elf: { type: 'string' },
      arg: { type: 'string', multiple: true, default: [] },
      engine: { type: 'string', default: 'bt' },
      bt: { type: 'string' },
      mode: { type: 'string', default: 'run' },
      'startup-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const engine = values.engine ?? 'bt';
  if (!isEngineName(engine)) throw new Error(`--engine: expected one of ${ENGINE_NAMES.join(', ')}, got '${engine}'`);
  if (!values.elf) throw new Error('--elf FILE is required');
  const mode = values.mode;
  if (values['startup-only'] && mode !== 'profile') throw new Error('--startup-only needs --mode profile');
  if (mode !== 'run' && mode !== 'profile') throw new Error(`--mode: expected run or profile, got '${mode}'`);
  const bt = values.bt === undefined ? null : (JSON.parse(values.bt) as Partial<BtOptions>);
  if (bt !== null && engine !== 'bt') throw new Error('--bt applies to --engine bt only');
  const elf = readFileSync(values.elf);
  const name = values.elf.replace(/^.*\//, '').replace(/\.elf$/, '');
  const argv = [name, ...(values.arg ?? [])];
  const what = `${name} ${argv.slice(1).join(' ')} on ${engine}${bt ? ' ' + JSON.stringify(bt) : ''}`;

  let result: WorkerResult;
  if (mode === 'run') {
    const proc = makeProcess(elf, argv, engine, bt);
    const heapBefore = heap();
    const t0 = process.hrtime.bigint();
    const r = proc.run();
    const t1 = process.hrtime.bigint();
    const heapAfter = heap();
    check(r, what);
    const s = seconds(t0, t1);
    result = {
      mode,
      engine,
      btOptions: bt,
      status: r.status,
      instructions: r.instructions,
      cycles: r.cycles,
      seconds: s,
      mips: r.instructions / s / 1e6,
      stats: proc.engine.stats(),
      heapBefore,
      heapAfter,
    };
  } else {
    fullGc();
    const c0 = process.hrtime.bigint();
    const proc = makeProcess(elf, argv, engine, bt);
    const c1 = process.hrtime.bigint();
    fullGc();
    const heapBefore = heap();
    const h = proc.hart;
    const t0 = process.hrtime.bigint();
    // cycles >= instret (every instruction costs at least one cycle), so a budget of the missing
    // instructions never overshoots by more than the last instruction.
    let r = proc.run(STARTUP_INSTRUCTIONS);
    while (!r.exited && !r.fault && h.instret < STARTUP_INSTRUCTIONS) r = proc.run(STARTUP_INSTRUCTIONS - h.instret);
    const t1 = process.hrtime.bigint();
    const startupInstructions = h.instret;
    if (r.fault || (r.exited && r.status !== 0)) check(r, what);
    if (values['startup-only']) {
      const startupSeconds = seconds(t0, t1);
      const out: WorkerResult = {
        mode: 'startup',
        engine,
        btOptions: bt,
        status: r.status,
        instructions: h.instret,
        cycles: h.cycles,
        seconds: startupSeconds,
        mips: h.instret / startupSeconds / 1e6,
        stats: proc.engine.stats(),
        heapBefore,
        heapAfter: heap(),
        constructSeconds: seconds(c0, c1),
        startupInstructions,
        startupSeconds,
      };
      process.stdout.write(JSON.stringify(out) + '\n');
      return;
    }
    const samples: [bigint, number][] = [[t1, h.instret]];
    while (!r.exited && !r.fault) {
      r = proc.run(PROFILE_SLICE_CYCLES);
      samples.push([process.hrtime.bigint(), h.instret]);
    }
    const t2 = process.hrtime.bigint();
    check(r, what);
    fullGc();
    const heapAfter = heap();
    // The first sample at or past half way; none (or the last one) when the run was too short to tell.
    const k = samples.findIndex(([, n]) => n >= r.instructions / 2);
    const tail = k >= 0 && k < samples.length - 1 ? seconds(samples[k][0], t2) : 0;
    result = {
      mode,
      engine,
      btOptions: bt,
      status: r.status,
      instructions: r.instructions,
      cycles: r.cycles,
      seconds: seconds(t0, t2),
      mips: r.instructions / seconds(t0, t2) / 1e6,
      stats: proc.engine.stats(),
      heapBefore,
      heapAfter,
      constructSeconds: seconds(c0, c1),
      startupInstructions,
      startupSeconds: seconds(t0, t1),
      secondHalfMips: tail > 0 ? (r.instructions - samples[k][1]) / tail / 1e6 : undefined,
    };
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main();
