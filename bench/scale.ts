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
// `--replay N` (docs/replay.md) adds N trace-driven VMs per host (kind replay: each replays one VM of the
// mix, recorded once from a 1-host run of it) and runs each size embedded twice more: the mix plus N replayed
// VMs per host, and the whole mix replayed (10 replayed VMs per host, no executed one), whose wall time per VM
// against the plain mix's is the cost of a replayed VM against an executed one. Without --replay the figures
// are the plain mix's only.
// Wall-clock figures: they vary with the machine's load (printed beside them).

import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import { join, resolve } from 'path';
import { extractTraces, runEmbedded, simSpecFromScenario } from '@vsim/control';
import { loadScenario } from '@vsim/scenario';
import { GUEST_BIN, startVsimUp } from '@vsim/testkit';
import { runRemote } from '../apps/cli/src/run/remote';

const ROOT = resolve(__dirname, '..');
const VMS_PER_HOST = 10;
const PCPUS = 4;
/** The guest mix of every host, in VM order. */
const MIX: readonly string[] = ['compute', 'sleeper', 'ticker', 'compute', 'sleeper', 'ticker', 'compute', 'sleeper', 'ticker', 'compute'];

/** One scenario: `hosts` hosts x 4 pCPUs, 10 VMs each, as a YAML file (what `vsim run` and the gateway take). */
export function scaleScenario(hosts: number, replay?: { readonly perHost: number; readonly trace: string; readonly only?: boolean }): string {
  const lines = [`name: scale-${hosts}`, 'seed: 1', 'duration: 100ms', 'clock: 10MHz', 'scheduler: { policy: credit }', 'hosts:'];
  for (let h = 0; h < hosts; h++) lines.push(`  - { id: h${h}, pcpus: ${PCPUS} }`);
  lines.push('vms:');
  for (let h = 0; h < hosts && !replay?.only; h++)
    for (let v = 0; v < VMS_PER_HOST; v++)
      lines.push(`  - { id: h${h}v${v}, host: h${h}, memory: 1MiB, image: ${GUEST_BIN}/sbi-${MIX[v % MIX.length]}.elf }`);
  // Trace-driven VMs: each replays the recorded demand of one VM of the mix (h0v0.., round robin).
  for (let h = 0; h < hosts && replay; h++)
    for (let v = 0; v < replay.perHost; v++)
      lines.push(`  - { id: h${h}r${v}, host: h${h}, memory: 1MiB, kind: replay, image: ${replay.trace}, args: [h0v${v % VMS_PER_HOST}] }`);
  return lines.join('\n') + '\n';
}

export interface Figures {
  readonly hosts: number;
  readonly vms: number;
  readonly mode: string;
  readonly wallSeconds: number;
  /**
   * CPU time of the run (user + system, embedded only): on a shared machine the wall time is the CPU
   * time stretched by the load, the CPU time much less so.
   */
  readonly cpuSeconds?: number;
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
  const cpu0 = process.cpuUsage();
  const { result } = await runEmbedded(spec);
  const wall = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const f = figures(hosts, 'embedded', wall, process.resourceUsage().maxRSS * 1024, result);
  process.stdout.write(JSON.stringify({ ...f, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');
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
  let replay = 0;
  /** --schedulers N (N > 1): one more run over NATS, 2 cpu-nodes and N scheduler instances. */
  let schedulers = 1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json' && argv[i + 1]) jsonFile = argv[++i];
    else if (argv[i] === '--quick') quick = true;
    else if (argv[i] === '--embedded-only') nats = false;
    else if (argv[i] === '--replay' && /^\d+$/.test(argv[i + 1] ?? '')) replay = Number(argv[++i]);
    else if (argv[i] === '--schedulers' && /^[1-9]\d*$/.test(argv[i + 1] ?? '')) schedulers = Number(argv[++i]);
    else if (argv[i] === '--sizes' && /^\d+(,\d+)*$/.test(argv[i + 1] ?? '')) sizes = argv[++i].split(',').map(Number);
    else {
      process.stderr.write(
        `usage: npm run bench:scale [-- --json FILE] [--quick] [--sizes N,N...] [--embedded-only] [--replay N] [--schedulers N]\n`,
      );
      return 2;
    }
  }
  sizes ??= quick ? [10, 100] : [10, 100, 1000];
  const dir = mkdtempSync(join(tmpdir(), 'vsim-bench-scale-'));
  const t0 = Date.now();
  const load0 = loadavg()[0];
  const runs: Figures[] = [];
  /** With --replay: per size, the plain mix's run and the run with the replayed VMs added. */
  const pairs: { base: Figures; withReplay: Figures; replayedOnly: Figures }[] = [];
  try {
    let trace = '';
    if (replay > 0) {
      // Record the mix once (one host), and extract every VM's demand.
      process.stderr.write('bench: recording the mix for --replay...\n');
      const rec = join(dir, 'record.yaml');
      writeFileSync(rec, scaleScenario(1));
      const { log } = await runEmbedded(simSpecFromScenario(loadScenario(rec)));
      trace = join(dir, 'mix.trace.json');
      writeFileSync(trace, JSON.stringify(extractTraces(log.all())));
    }
    const file = (n: number) => {
      const f = join(dir, `scale-${n}.yaml`);
      writeFileSync(f, scaleScenario(n));
      return f;
    };
    for (const n of sizes) {
      process.stderr.write(`bench: embedded, ${n} hosts...\n`);
      runs.push(await embedded(n, file(n)));
      if (replay > 0) {
        process.stderr.write(`bench: embedded, ${n} hosts + ${replay} replayed VMs per host...\n`);
        const f = join(dir, `scale-${n}-replay.yaml`);
        writeFileSync(f, scaleScenario(n, { perHost: replay, trace }));
        const withReplay = { ...(await embedded(n, f)), mode: `embedded + ${replay} replayed/host` };
        process.stderr.write(`bench: embedded, ${n} hosts, the mix replayed (${VMS_PER_HOST} replayed VMs per host)...\n`);
        const g = join(dir, `scale-${n}-replayed.yaml`);
        writeFileSync(g, scaleScenario(n, { perHost: VMS_PER_HOST, trace, only: true }));
        const replayedOnly = { ...(await embedded(n, g)), mode: 'embedded, mix replayed' };
        pairs.push({ base: runs[runs.length - 1], withReplay, replayedOnly });
      }
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
  const row = (f: Figures): string[] => [
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
  ];
  const rows = [
    ['hosts (VMs)', 'mode', 'wall s', 'CPU s', 'peak RSS MiB', 'events/s', 'MIPS', 'wall ×', 'RSS ×', 'events/s ×', 'MIPS ×'],
    ...runs.map((f) => [
      `${f.hosts} (${f.vms})`,
      f.mode,
      f.wallSeconds.toFixed(2),
      f.cpuSeconds === undefined ? '-' : f.cpuSeconds.toFixed(2),
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
  // What a VM costs in wall time: the plain mix's run over its VMs, against the same mix replayed.
  const perVm = pairs.map(({ base: b, replayedOnly: o }) => {
    const executed = b.wallSeconds / b.vms;
    const replayed = o.wallSeconds / o.vms;
    const ms = (x: number) => `${(x * 1e3).toFixed(3)} ms`;
    return `${b.hosts} hosts: wall per executed VM ${ms(executed)}, per replayed VM ${ms(replayed)} (replayed/executed ${(replayed / executed).toFixed(3)})`;
  });
  for (const p of pairs) rows.push(row(p.withReplay), row(p.replayedOnly));
  process.stdout.write(
    `scale bench (${PCPUS} pCPUs and ${VMS_PER_HOST} VMs per host, Credit, 100 ms at 10 MHz; ratios vs ${base.hosts} hosts embedded; ` +
      `${((Date.now() - t0) / 1000).toFixed(1)} s; load ${load0.toFixed(1)} → ${load1.toFixed(1)} on ${cpus().length} cores)\n${table(rows)}\n` +
      perVm.map((l) => `${l}\n`).join(''),
  );
  if (jsonFile) {
    const doc = {
      bench: 'scale',
      machine: { cpu: cpus()[0]?.model ?? '', cores: cpus().length, node: process.version, date: new Date().toISOString(), load: [load0, load1] },
      settings: { sizes, pcpus: PCPUS, vmsPerHost: VMS_PER_HOST, mix: MIX, durationNs: 100e6, clockHz: 10e6 },
      runs,
      ...(pairs.length > 0 ? { replay: { perHost: replay, runs: pairs.flatMap((p) => [p.withReplay, p.replayedOnly]) } } : {}),
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
