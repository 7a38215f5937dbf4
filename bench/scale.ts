// The scale bench (issue 12): how vsim's cost grows with the cluster. `npm run bench:scale [-- --json FILE]
// [--quick] [--sizes 10,100]` (or `npm run bench scale -- ...`).
// Scenarios of N hosts x 4 pCPUs with 10 VMs per host (4 CPU-bound sbi-compute, 3 sbi-sleeper, 3 sbi-ticker,
// 1 MiB each), Credit, 100 ms of virtual time at 10 MHz. For each N (10, 100 and 1,000; --quick: 10 and 100):
//   embedded: `vsim run`'s code path, each size in a child process of its own (so that its peak resident
//   memory is its own: process.resourceUsage().maxRSS);
//   over NATS (the smallest size only): `vsim up --cpu-nodes 1` and `--cpu-nodes 2` (and with --schedulers N:
//   `--cpu-nodes 2 --schedulers N`, the hosts split over N scheduler instances), peak memory summed over
//   vsim up's process tree (VmHWM of each, from /proc).
// Prints wall time, peak RSS, events/s and aggregate guest MIPS, with ratios vs the smallest embedded size.
// Wall-clock figures: they vary with the machine's load (printed beside them).

import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import { join, resolve } from 'path';
import { runEmbedded, simSpecFromScenario } from '@vsim/control';
import { loadScenario } from '@vsim/scenario';
import { GUEST_BIN, startVsimUp } from '@vsim/testkit';
import { runRemote } from '../apps/cli/src/run/remote';

const ROOT = resolve(__dirname, '..');
const VMS_PER_HOST = 10;
const PCPUS = 4;
/** The guest mix of every host, in VM order. */
const MIX: readonly string[] = ['compute', 'sleeper', 'ticker', 'compute', 'sleeper', 'ticker', 'compute', 'sleeper', 'ticker', 'compute'];

/** One scenario: `hosts` hosts x 4 pCPUs, 10 VMs each, as a YAML file (what `vsim run` and the gateway take). */
export function scaleScenario(hosts: number): string {
  const lines = [`name: scale-${hosts}`, 'seed: 1', 'duration: 100ms', 'clock: 10MHz', 'scheduler: { policy: credit }', 'hosts:'];
  for (let h = 0; h < hosts; h++) lines.push(`  - { id: h${h}, pcpus: ${PCPUS} }`);
  lines.push('vms:');
  for (let h = 0; h < hosts; h++)
    for (let v = 0; v < VMS_PER_HOST; v++)
      lines.push(`  - { id: h${h}v${v}, host: h${h}, memory: 1MiB, image: ${GUEST_BIN}/sbi-${MIX[v % MIX.length]}.elf }`);
  return lines.join('\n') + '\n';
}

export interface Figures {
  readonly hosts: number;
  readonly vms: number;
  readonly mode: string;
  readonly wallSeconds: number;
  readonly peakRssBytes: number;
  readonly events: number;
  readonly instructions: number;
  readonly eventsPerSecond: number;
  readonly mips: number;
  readonly hash: string;
}

function figures(
  hosts: number,
  mode: string,
  wallSeconds: number,
  peakRssBytes: number,
  r: { events: number; vms: readonly { instructions: number }[]; eventLogHash: string },
): Figures {
  const instructions = r.vms.reduce((a, v) => a + v.instructions, 0);
  return {
    hosts,
    vms: r.vms.length,
    mode,
    wallSeconds,
    peakRssBytes,
    events: r.events,
    instructions,
    eventsPerSecond: r.events / wallSeconds,
    mips: instructions / wallSeconds / 1e6,
    hash: r.eventLogHash,
  };
}

/** In a child process (`--child N FILE`): one embedded run, its figures as JSON on stdout. */
async function child(hosts: number, file: string): Promise<number> {
  const spec = simSpecFromScenario(loadScenario(file));
  const t = performance.now();
  const { result } = await runEmbedded(spec);
  const wall = (performance.now() - t) / 1000;
  process.stdout.write(JSON.stringify(figures(hosts, 'embedded', wall, process.resourceUsage().maxRSS * 1024, result)) + '\n');
  return 0;
}

/** Runs this file as a child for one embedded size; extra node flags (e.g. --cpu-prof) from VSIM_BENCH_NODE_FLAGS. */
function embedded(hosts: number, file: string): Promise<Figures> {
  const flags = (process.env.VSIM_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...flags, '--import', 'tsx', __filename, '--child', String(hosts), file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((res, rej) =>
    proc.once('exit', (code) =>
      code === 0
        ? res(JSON.parse(out.trim().split('\n').pop()!) as Figures)
        : rej(new Error(`embedded ${hosts} hosts: exit ${code}: ${err.slice(-2000)}`)),
    ),
  );
}

/** The process ids of `root` and all its descendants (from /proc/<pid>/stat's ppid). */
function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of parent) if (pp === out[i]) out.push(p);
  return out;
}

/** Peak resident memory of a process tree: the sum of each process's VmHWM. */
function peakRss(pids: readonly number[]): number {
  let total = 0;
  for (const p of pids) {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

async function overNats(hosts: number, file: string, cpuNodes: number, schedulers = 1): Promise<Figures> {
  const up = await startVsimUp(['--cpu-nodes', String(cpuNodes), '--schedulers', String(schedulers)]);
  try {
    const pids = processTree(up.pid);
    const t = performance.now();
    const r = await runRemote({ natsUrl: up.natsUrl, credentials: up.credentials, file, pollMs: 20 });
    const wall = (performance.now() - t) / 1000;
    const mode = `NATS, ${cpuNodes} cpu-node${cpuNodes > 1 ? 's' : ''}${schedulers > 1 ? `, ${schedulers} schedulers` : ''}`;
    return figures(hosts, mode, wall, peakRss(pids), r);
  } finally {
    await up.stop();
  }
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('   ')).join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === '--child') return child(Number(argv[1]), argv[2]);
  let jsonFile: string | undefined;
  let sizes: number[] | undefined;
  let quick = false;
  let nats = true;
  /** --schedulers N (N > 1): one more run over NATS, 2 cpu-nodes and N scheduler instances. */
  let schedulers = 1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json' && argv[i + 1]) jsonFile = argv[++i];
    else if (argv[i] === '--quick') quick = true;
    else if (argv[i] === '--embedded-only') nats = false;
    else if (argv[i] === '--schedulers' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) schedulers = Number(argv[++i]);
    else if (argv[i] === '--sizes' && /^\d+(,\d+)*$/.test(argv[i + 1] ?? '')) sizes = argv[++i].split(',').map(Number);
    else {
      process.stderr.write(`usage: npm run bench:scale [-- --json FILE] [--quick] [--sizes N,N...] [--embedded-only] [--schedulers N]\n`);
      return 2;
    }
  }
  sizes ??= quick ? [10, 100] : [10, 100, 1000];
  const dir = mkdtempSync(join(tmpdir(), 'vsim-bench-scale-'));
  const t0 = Date.now();
  const load0 = loadavg()[0];
  const runs: Figures[] = [];
  try {
    const file = (n: number) => {
      const f = join(dir, `scale-${n}.yaml`);
      writeFileSync(f, scaleScenario(n));
      return f;
    };
    for (const n of sizes) {
      process.stderr.write(`bench: embedded, ${n} hosts...\n`);
      runs.push(await embedded(n, file(n)));
    }
    if (nats)
      for (const [nodes, scheds] of [[1, 1], [2, 1], ...(schedulers > 1 ? [[2, schedulers]] : [])]) {
        process.stderr.write(`bench: over NATS, ${nodes} cpu-node(s), ${scheds} scheduler(s), ${sizes[0]} hosts...\n`);
        const f = await overNats(sizes[0], file(sizes[0]), nodes, scheds);
        if (f.hash !== runs[0].hash) throw new Error(`${sizes[0]} hosts: hashes differ (embedded ${runs[0].hash}, ${f.mode} ${f.hash})`);
        runs.push(f);
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = runs[0];
  const r = (x: number) => `${x.toFixed(2)}×`;
  const rows = [
    ['hosts (VMs)', 'mode', 'wall s', 'peak RSS MiB', 'events/s', 'MIPS', 'wall ×', 'RSS ×', 'events/s ×', 'MIPS ×'],
    ...runs.map((f) => [
      `${f.hosts} (${f.vms})`,
      f.mode,
      f.wallSeconds.toFixed(2),
      (f.peakRssBytes / 2 ** 20).toFixed(0),
      Math.round(f.eventsPerSecond).toString(),
      f.mips.toFixed(2),
      r(f.wallSeconds / base.wallSeconds),
      r(f.peakRssBytes / base.peakRssBytes),
      r(f.eventsPerSecond / base.eventsPerSecond),
      r(f.mips / base.mips),
    ]),
  ];
  const load1 = loadavg()[0];
  process.stdout.write(
    `scale bench (${PCPUS} pCPUs and ${VMS_PER_HOST} VMs per host, Credit, 100 ms at 10 MHz; ratios vs ${base.hosts} hosts embedded; ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s; load ${load0.toFixed(1)} → ${load1.toFixed(1)} on ${cpus().length} cores)\n${table(rows)}\n`,
  );
  if (jsonFile) {
    const doc = {
      bench: 'scale',
      machine: { cpu: cpus()[0]?.model ?? '', cores: cpus().length, node: process.version, date: new Date().toISOString(), load: [load0, load1] },
      settings: { sizes, pcpus: PCPUS, vmsPerHost: VMS_PER_HOST, mix: MIX, durationNs: 100e6, clockHz: 10e6 },
      runs,
    };
    writeFileSync(jsonFile, JSON.stringify(doc, null, 2) + '\n');
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
