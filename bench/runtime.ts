// The runtime bench: what NATS costs the simulation. `npm run bench:runtime [-- --json FILE]`
// (or `npm run bench runtime -- ...`).
//   (a) trap round trip: a TrapRequest (an SBI base probe) to a HypervisorService over NatsBus, on
//       a fresh nats-server, p50/p99 over 2000 requests, beside a bare nats.js request/reply of the
//       same payload size in the same run;
//   (b) host-loop iterations per second: a 1-pCPU host with several sleeper VMs and a 10 µs
//       quantum and time slice (short iterations), embedded vs over NATS + gRPC (every service in this process);
//   (c) wall time of examples/quickstart.yaml: embedded vs through `vsim up`'s services.
// Prints one table with the ratios. Wall-clock figures: they vary from run to run.

import { ChildProcess, spawn } from 'child_process';
import { writeFileSync } from 'fs';
import { cpus } from 'os';
import { join, resolve } from 'path';
import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { CpuNodeControlService, HypervisorControlService, SchedulerControlService, TrapRequest, TrapResolution, encode, subjects } from '@vsim/proto';
import {
  Coordinator,
  CpuNodeControlImpl,
  HypervisorControlImpl,
  SchedulerControlImpl,
  SimSpec,
  cpuNodeControlServer,
  grpcControlPlane,
  hypervisorControlServer,
  runEmbedded,
  schedulerControlServer,
  simSpecFromScenario,
} from '@vsim/control';
import { GUEST_BIN } from '@vsim/testkit';
import { HypervisorService } from '@vsim/hypervisor';
import { loadScenario } from '@vsim/scenario';
import { runRemote } from '../apps/cli/src/run/remote';

const ROOT = resolve(__dirname, '..');
const TRAPS = 2000;
const WARMUP = 200;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs: number[]) => quantile(xs, 0.5);
const now = () => Number(process.hrtime.bigint()) / 1e3; // µs

/** An SBI base-extension probe from VM `vm` (ecall from S-mode, a7 = 0x10, a6 = 0). */
/** A console-write trap, numbered `seq` (the hypervisor takes each host's numbers in increasing order). */
function trapRequest(sim: string, vm: string, seq: number): Uint8Array {
  const x = new Array(32).fill(0);
  x[17] = 0x10;
  return encode(
    TrapRequest,
    TrapRequest.fromPartial({ sim, host: 'h0', vm, vcpu: 0, nowNs: 1000, cause: 9, pc: 0x80000000, priv: 1, x, kind: 'kernel', seq }),
  );
}

async function timeRequests(n: number, f: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await f();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await f();
    out.push(now() - t);
  }
  return out;
}

async function trapRoundTrip(nats: NatsServer) {
  const server = await NatsBus.connect({ servers: nats.url });
  const client = await NatsBus.connect({ servers: nats.url });
  try {
    const hv = new HypervisorService(server, 'bench');
    hv.registerVm({ id: 'vm0', kind: 'kernel', brkStart: 0, brk: 0, brkMax: 0 });
    hv.start();
    // The server has the subscription once the PONG to this flush comes back (else: no responders).
    await server.flush();
    // Encoded beforehand, so the timing is the round trip's alone.
    const reqs = Array.from({ length: TRAPS + WARMUP + 2 }, (_, i) => trapRequest('bench', 'vm0', i + 1));
    let next = 0;
    const subject = subjects.hvTrap('bench', 'n0');
    const reply = TrapResolution.decode(await client.request(subject, reqs[next++], { timeoutMs: 5000 }));
    if (!reply) throw new Error('no TrapResolution');
    const replySize = (await client.request(subject, reqs[next++], { timeoutMs: 5000 })).length;
    await client.flush();
    const req = reqs[0];
    const trap = await timeRequests(TRAPS, () => client.request(subject, reqs[next++], { timeoutMs: 5000 }));
    hv.stop();
    // The bare nats.js request/reply: same request size, a reply of the trap reply's size.
    const echo = new Uint8Array(replySize);
    const sub = server.nc.subscribe('bench.echo', {
      callback: (_e, m) => {
        m.respond(echo);
      },
    });
    await server.nc.flush();
    const bare = await timeRequests(TRAPS, () => client.nc.request('bench.echo', req, { timeout: 5000 }));
    sub.unsubscribe();
    return {
      requestBytes: req.length,
      replyBytes: replySize,
      trap: { p50: quantile(trap, 0.5), p99: quantile(trap, 0.99) },
      bare: { p50: quantile(bare, 0.5), p99: quantile(bare, 0.99) },
    };
  } finally {
    await server.close();
    await client.close();
  }
}

/** 1 pCPU, 10 µs quantum and time slice, four sleepers (each 20 rounds of a little work and a 1 ms wfi) and hello. */
function shortIterationsSpec(): SimSpec {
  const vm = (id: string, image: string) => ({
    id,
    host: 'h0',
    vcpus: 1,
    memoryBytes: 4 << 20,
    image: `${GUEST_BIN}/${image}`,
    args: [],
    kind: 'kernel' as const,
    engine: 'bt' as const,
    sched: {},
  });
  return {
    name: 'short-iterations',
    seed: 1,
    durationNs: 50e6,
    trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10_000 } },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 }],
    vms: [
      vm('s1', 'sbi-sleeper.elf'),
      vm('s2', 'sbi-sleeper.elf'),
      vm('s3', 'sbi-sleeper.elf'),
      vm('s4', 'sbi-sleeper.elf'),
      vm('hello', 'sbi-hello.elf'),
    ],
  };
}

async function serve(definition: ServiceDefinition, implementation: UntypedServiceImplementation): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

async function loopRate(nats: NatsServer, runs: number) {
  const spec = shortIterationsSpec();
  const rate = (iterations: number, ms: number) => iterations / (ms / 1000);
  const embedded: number[] = [];
  let iterations = 0;
  let hashEmbedded = '';
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const { result } = await runEmbedded(spec);
    iterations = result.hosts[0].iterations;
    hashEmbedded = result.eventLogHash;
    embedded.push(rate(iterations, performance.now() - t));
  }
  const buses: NatsBus[] = [];
  const connect = async () => {
    const b = await NatsBus.connect({ servers: nats.url });
    buses.push(b);
    return b;
  };
  const hv = new HypervisorControlImpl(await connect(), { instance: 'hv-bench' });
  const node = new CpuNodeControlImpl(await connect(), { nodeId: 'n1' });
  const sched = new SchedulerControlImpl(await connect());
  const hvS = await serve(HypervisorControlService, hypervisorControlServer(hv));
  const nodeS = await serve(CpuNodeControlService, cpuNodeControlServer(node));
  const schedS = await serve(SchedulerControlService, schedulerControlServer(sched));
  const control = grpcControlPlane({ hypervisor: hvS.address, scheduler: schedS.address, nodes: new Map([['n1', nodeS.address]]) });
  const coordBus = await connect();
  const overNats: number[] = [];
  let hashNats = '';
  try {
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const { result } = await new Coordinator(control, coordBus).run(spec, `loop-${i}`);
      overNats.push(rate(result.hosts[0].iterations, performance.now() - t));
      hashNats = result.eventLogHash;
      await hv.closeSimulation({ sim: `loop-${i}` }).catch(() => undefined);
      await node.closeSimulation({ sim: `loop-${i}` }).catch(() => undefined);
    }
  } finally {
    control.close();
    for (const s of [hvS, nodeS, schedS]) s.server.forceShutdown();
    await Promise.all(buses.map((b) => b.close()));
  }
  if (hashNats !== hashEmbedded) throw new Error(`host-loop bench: hashes differ (embedded ${hashEmbedded}, NATS ${hashNats})`);
  return { iterations, embedded: median(embedded), nats: median(overNats), hash: hashEmbedded };
}

async function startUp(): Promise<{ proc: ChildProcess; natsUrl: string; credentials: string; stop: () => Promise<number | null> }> {
  const proc = spawn(process.execPath, [join(ROOT, 'apps/cli/bin/vsim.js'), 'up', '--cpu-nodes', '2'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  const deadline = Date.now() + 60_000;
  while (!/^vsim up: ready/m.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`vsim up did not come up: ${out}${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // The cluster runs with credentials: the client's identity file, as vsim up printed it.
  return {
    proc,
    natsUrl: /^NATS: (\S+)/m.exec(out)![1],
    credentials: /^credentials: (\S+)$/m.exec(out)![1],
    stop: () => (proc.kill('SIGINT'), exited),
  };
}

async function quickstartWall(runs: number) {
  const file = join(ROOT, 'examples/quickstart.yaml');
  const spec = simSpecFromScenario(loadScenario(file));
  const embedded: number[] = [];
  let hashEmbedded = '';
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    hashEmbedded = (await runEmbedded(spec)).result.eventLogHash;
    embedded.push(performance.now() - t);
  }
  const up = await startUp();
  const cluster: number[] = [];
  let hashCluster = '';
  try {
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      hashCluster = (await runRemote({ natsUrl: up.natsUrl, credentials: up.credentials, file, pollMs: 10 })).eventLogHash;
      cluster.push(performance.now() - t);
    }
  } finally {
    const code = await up.stop();
    if (code !== 0) process.stderr.write(`bench: vsim up exited ${code}\n`);
  }
  if (hashCluster !== hashEmbedded) throw new Error(`quickstart: hashes differ (embedded ${hashEmbedded}, cluster ${hashCluster})`);
  return { embeddedMs: median(embedded), clusterMs: median(cluster), hash: hashEmbedded };
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('   ')).join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  let jsonFile: string | undefined;
  let runs = 3;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json' && argv[i + 1]) jsonFile = argv[++i];
    else if (argv[i] === '--quick') runs = 1;
    else {
      process.stderr.write(`usage: npm run bench:runtime [-- --json FILE] [--quick]\n`);
      return 2;
    }
  }
  if (!findNatsServer()) {
    process.stderr.write(`bench: ${NATS_SERVER_MISSING}\n`);
    return 127;
  }
  const t0 = Date.now();
  const nats = await startNatsServer();
  let trap;
  let loop;
  try {
    process.stderr.write('bench: (a) trap round trip...\n');
    trap = await trapRoundTrip(nats);
    process.stderr.write('bench: (b) host-loop iterations...\n');
    loop = await loopRate(nats, runs);
  } finally {
    await nats.stop();
  }
  process.stderr.write('bench: (c) quickstart embedded vs vsim up...\n');
  const qs = await quickstartWall(runs);
  const f1 = (x: number) => x.toFixed(1);
  const r = (x: number) => `${x.toFixed(2)}×`;
  const rows = [
    ['measure', 'baseline', 'vsim over NATS', 'ratio'],
    [
      `(a) trap round trip p50 (µs; ${trap.requestBytes} B req, ${trap.replyBytes} B reply)`,
      `${f1(trap.bare.p50)} bare nats.js`,
      f1(trap.trap.p50),
      r(trap.trap.p50 / trap.bare.p50),
    ],
    ['(a) trap round trip p99 (µs)', `${f1(trap.bare.p99)} bare nats.js`, f1(trap.trap.p99), r(trap.trap.p99 / trap.bare.p99)],
    [
      `(b) host-loop iterations/s (${loop.iterations} iterations)`,
      `${Math.round(loop.embedded)} embedded`,
      String(Math.round(loop.nats)),
      r(loop.embedded / loop.nats) + ' slower',
    ],
    [
      '(c) quickstart wall time (ms)',
      `${Math.round(qs.embeddedMs)} embedded`,
      `${Math.round(qs.clusterMs)} vsim up`,
      r(qs.clusterMs / qs.embeddedMs),
    ],
  ];
  process.stdout.write(
    `runtime bench (${TRAPS} traps; median of ${runs} run(s) for (b) and (c); ${((Date.now() - t0) / 1000).toFixed(1)} s)\n${table(rows)}\n`,
  );
  if (jsonFile) {
    const doc = {
      bench: 'runtime',
      machine: { cpu: cpus()[0]?.model ?? '', cores: cpus().length, node: process.version, date: new Date().toISOString() },
      settings: { traps: TRAPS, warmup: WARMUP, runs },
      trap,
      hostLoop: loop,
      quickstart: qs,
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
