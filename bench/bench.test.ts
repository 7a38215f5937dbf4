// Smoke test of the ISA bench: a quick run on one small workload, as a child process exactly as
// `npm run bench:isa` runs it, checking that every engine and BT variant produced a positive MIPS
// figure, that the technique table is complete, and that every section of the report is printed.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const ENGINES = ['dispatch', 'indirect', 'direct', 'bt'];
const VARIANTS = ['bt', 'bt-noexitcache', 'bt-nolooptraces', 'bt-nosuper', 'bt-seed', 'bt-noloops'];

interface EngineFigures {
  medianMips: number;
  runs: { mips: number; status: number; instructions: number }[];
}
interface TechniqueFigures {
  startupSeconds: number;
  steadyMips: number;
  rank: Record<string, string>;
  seed: Record<string, string>;
}
interface BenchJson {
  bench: string;
  machine: { cpu: string; cores: number; node: string; date: string };
  settings: { runs: number; quick: boolean; workloads: string[] };
  workloads: Record<string, { instructions: number; engines: Record<string, EngineFigures> }>;
  medians: Record<string, Record<string, number>>;
  ablation: { workloads: Record<string, Record<string, { medianMips: number }>> };
  technique: { engines: Record<string, TechniqueFigures> };
  qemu: { found: boolean };
  failures: unknown[];
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/isa.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench:isa', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vsim-bench-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('--quick --runs 1 --workloads checksum reports every engine, the ablation and the technique table', async () => {
    const file = path.join(dir, 'isa.json');
    const r = await run(['--quick', '--runs', '1', '--workloads', 'checksum', '--json', file]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });

    for (const heading of [
      'machine: ',
      '1. Engine speed',
      'Ratio to decode-and-dispatch',
      '2. What each step of the binary translator buys',
      '3. Emulation techniques',
      'Qualitative columns',
      'bench:isa finished in',
    ]) {
      expect(r.stdout).toContain(heading);
    }
    // Either qemu's figures or the one line saying why they are missing.
    expect(r.stdout).toMatch(/Ratio to qemu-riscv32|qemu-riscv32 not found \(apt-get install -y qemu-user\): ratios to QEMU omitted/);

    const j = JSON.parse(readFileSync(file, 'utf8')) as BenchJson;
    expect(j.bench).toBe('isa');
    expect(j.machine.cores).toBeGreaterThan(0);
    expect(j.settings).toMatchObject({ runs: 1, quick: true, workloads: ['checksum'] });
    expect(j.failures).toEqual([]);
    const w = j.workloads.checksum;
    expect(w.instructions).toBeGreaterThan(1e6);
    for (const e of ENGINES) {
      expect(j.medians.checksum[e]).toBeGreaterThan(0);
      expect(w.engines[e].runs).toHaveLength(1);
      expect(w.engines[e].runs[0]).toMatchObject({ status: 0, instructions: w.instructions });
      const t = j.technique.engines[e];
      expect(t.startupSeconds).toBeGreaterThan(0);
      expect(t.steadyMips).toBeGreaterThan(0);
      expect(Object.keys(t.rank).sort()).toEqual(['memory', 'portability', 'startup', 'steady']);
    }
    for (const v of VARIANTS) expect(j.ablation.workloads.checksum[v].medianMips).toBeGreaterThan(0);
  }, 60_000);

  test('rejects an unknown workload with a usage line', async () => {
    const r = await run(['--workloads', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown workload 'nope'");
    expect(r.stderr).toContain('usage: npm run bench:isa');
  }, 30_000);
});
