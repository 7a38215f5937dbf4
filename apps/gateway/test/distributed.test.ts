// The whole cluster as separate processes on a throwaway nats-server: the hypervisor, the
// scheduler, two cpu-nodes and the gateway, each `node --import tsx apps/<svc>/src/main.ts`. A
// two-host simulation submitted to the gateway (found through NATS) gives the embedded run's
// per-VM results and event-log hash; garbled data-plane messages get error replies and the
// services keep serving; SIGTERM stops every process with exit code 0.

import { ChildProcess, spawn } from 'child_process';
import { readFileSync } from 'fs';
import { resolve } from 'path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { BusError, NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { Event, GatewayClient, SimulationStatus, TrapRequest, encode, subjects } from '@vsim/proto';
import { SimResult, SimSpec, cpuNodeControlClient, hypervisorControlClient, runEmbedded, simResultOf } from '@vsim/control';
import { twoHostSpec } from '@vsim/testkit';
import { discover } from '@vsim/service';

/** Measured figures are printed only on request (VSIM_TEST_VERBOSE=1); the assertions check them. */
const VERBOSE = process.env.VSIM_TEST_VERBOSE === '1';

const ROOT = resolve(__dirname, '../../..');

interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

function startService(app: string, args: string[], natsUrl: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`, '--nats', natsUrl, ...args], {
    cwd: ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: resolve(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)));
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      if (code !== 0 && err) process.stderr.write(`${app} stderr:\n${err}\n`);
      r(code);
    }),
  );
  return { name: app, proc, lines, exited };
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The SimSpec as JSON with its images, as a client submits it. */
function submission(spec: SimSpec): { text: string; images: Record<string, Buffer> } {
  const images: Record<string, Buffer> = {};
  for (const vm of spec.vms) images[vm.image] = readFileSync(vm.image);
  return { text: JSON.stringify(spec), images };
}

function call<Req, Res>(
  f: (req: Req, md: Metadata, opts: { deadline: number }, cb: (e: Error | null, r: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => f(req, new Metadata(), { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r))));
}

/** The JSON form both sides compare: what Results carries, without the wall time. */
function comparable(r: SimResult): unknown {
  return JSON.parse(JSON.stringify(r));
}

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`distributed: every service its own process${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  let bus: NatsBus;
  const children: Child[] = [];
  let gateway: GatewayClient;
  let http = '';
  const embedded = new Map<string, SimResult>();

  beforeAll(async () => {
    nats = await startNatsServer();
    const url = nats.url;
    children.push(
      startService('hypervisor', ['--instance', 'hv-1'], url),
      startService('scheduler', ['--instance', 'sched-1'], url),
      startService('cpu-node', ['--instance', 'node-a', '--node-id', 'n1'], url),
      startService('cpu-node', ['--instance', 'node-b', '--node-id', 'n2'], url),
      startService('gateway', ['--instance', 'gw-1'], url),
    );
    bus = await NatsBus.connect({ servers: url });
    // Embedded references while the children start.
    for (const tp of ['split', 'remote'] as const) embedded.set(tp, (await runEmbedded(twoHostSpec(tp))).result);
    for (const c of children) await until(`${c.name} ready`, () => c.lines.find((l) => l.msg === 'ready'), 30_000);
    // Registered on NATS, as the gateway will see them.
    const expected = { 'vsim-hypervisor': 1, 'vsim-scheduler': 1, 'vsim-cpu-node': 2, 'vsim-gateway': 1 };
    for (const [name, n] of Object.entries(expected)) {
      await until(`${n} ${name}`, async () => ((await discover(bus, name, 1000)).length === n ? true : undefined), 10_000);
    }
    const [gw] = await discover(bus, 'vsim-gateway', 1000);
    gateway = new GatewayClient(gw.grpc, credentials.createInsecure());
    http = gw.metadata.http;
  }, 60_000);

  afterAll(async () => {
    gateway?.close();
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await bus?.close();
    await nats?.stop();
  });

  async function runThroughGateway(
    spec: SimSpec,
  ): Promise<{ sim: string; status: SimulationStatus; result: SimResult & { wallSeconds: number }; ms: number }> {
    const { text, images } = submission(spec);
    const t0 = Date.now();
    const { sim } = await call(gateway.submit.bind(gateway), { scenarioYaml: text, images });
    await call(gateway.start.bind(gateway), { sim });
    const status = await until(
      `${sim} done`,
      async () => {
        const s = await call(gateway.status.bind(gateway), { sim });
        if (s.state === 'failed') throw new Error(`${sim} failed: ${s.error}`);
        return s.state === 'done' ? s : undefined;
      },
      30_000,
      20,
    );
    const ms = Date.now() - t0;
    const result = simResultOf(await call(gateway.results.bind(gateway), { sim }));
    return { sim, status, result, ms };
  }

  it('runs the two-host simulation through the gateway with the embedded results and hash', async () => {
    const { sim, status, result, ms } = await runThroughGateway(twoHostSpec('split'));
    const ref = embedded.get('split')!;
    const { wallSeconds, ...rest } = result;
    expect(rest).toEqual(comparable(ref));
    expect(result.eventLogHash).toBe(ref.eventLogHash);
    expect(status.hostNs).toEqual({ h0: ref.hosts[0].endNs, h1: ref.hosts[1].endNs });
    // Wall time (a performance figure only): embedded, timed now that the children are idle.
    const t0 = Date.now();
    await runEmbedded(twoHostSpec('split'));
    const embeddedMs = Date.now() - t0;
    // Both cpu-nodes did work: h0 on n1, h1 on n2.
    for (const c of children.filter((x) => x.name === 'cpu-node')) {
      expect(c.lines.some((l) => l.msg === 'host created' && l.sim === sim)).toBe(true);
    }
    // StreamEvents replays every event of a finished simulation.
    const streamed: Event[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = gateway.streamEvents({ sim });
      s.on('data', (e: Event) => streamed.push(e));
      s.on('end', resolve);
      s.on('error', reject);
    });
    expect(streamed).toHaveLength(result.events);
    if (VERBOSE)
      process.stdout.write(
        `two-host split: distributed ${Math.round(wallSeconds * 1000)} ms (Coordinator run; ${ms} ms from Submit to done incl. discovery and polling) vs embedded ${embeddedMs} ms\n`,
      );
  });

  it('answers garbled data-plane messages with errors, counts them, and keeps serving', async () => {
    const [hvInfo] = await discover(bus, 'vsim-hypervisor', 1000);
    const nodeInfo = (await discover(bus, 'vsim-cpu-node', 1000)).find((n) => n.metadata.node === 'n1')!;
    const hv = hypervisorControlClient(hvInfo.grpc);
    const node = cpuNodeControlClient(nodeInfo.grpc);
    try {
      await hv.openSimulation({ sim: 'garbled', nodes: [] });
      await node.createHost({
        sim: 'garbled',
        host: 'h0',
        pcpus: 1,
        clockHz: 1e9,
        quantumNs: 10_000,
        trapPath: 'split',
        costs: undefined,
        expansion: {},
      });
      const garbage = new TextEncoder().encode('\xff garbage \x07');
      const hvBefore = (await hv.status({})).counters.badMessages;
      const nodeBefore = (await node.status({})).counters.badMessages;
      await expect(bus.request(subjects.hvTrap('garbled', nodeInfo.metadata.node), garbage, { timeoutMs: 5000 })).rejects.toMatchObject({
        code: 'remote',
        message: expect.stringMatching(/undecodable TrapRequest/),
      });
      await expect(
        bus.request(subjects.hvTrap('garbled', nodeInfo.metadata.node), encode(TrapRequest, TrapRequest.fromPartial({ vm: 'ghost' })), {
          timeoutMs: 5000,
        }),
      ).rejects.toMatchObject({ code: 'remote', message: "trap from unknown VM 'ghost'" });
      const runErr = await bus
        .request(subjects.hostRun('garbled', nodeInfo.metadata.node, 'h0'), garbage, { timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect(runErr).toBeInstanceOf(BusError);
      expect(runErr).toMatchObject({ code: 'remote' });
      expect((await hv.status({})).counters.badMessages).toBe(hvBefore + 2);
      expect((await node.status({})).counters.badMessages).toBe(nodeBefore + 1);
      const hvProc = children.find((c) => c.name === 'hypervisor')!;
      await until(
        'the bad message logged',
        () => hvProc.lines.find((l) => l.msg === 'bad message on the data plane: error reply sent' && l.sim === 'garbled'),
        5000,
      );
    } finally {
      await hv.closeSimulation({ sim: 'garbled' });
      await node.closeSimulation({ sim: 'garbled' });
      hv.close();
      node.close();
    }
    // Still serving: a second simulation (remote trap path, through the HTTP API) runs to the same results.
    const spec = twoHostSpec('remote');
    const { text, images } = submission(spec);
    const post = async (path: string, body?: unknown) => {
      const res = await fetch(`http://${http}${path}`, {
        method: 'POST',
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const images64 = Object.fromEntries(Object.entries(images).map(([p, b]) => [p, b.toString('base64')]));
    const created = await post('/v1/simulations', { scenario: JSON.parse(text), images: images64 });
    expect(created.status).toBe(201);
    const sim = created.body.sim as string;
    expect((await post(`/v1/simulations/${sim}/start`)).status).toBe(202);
    const eventsRes = fetch(`http://${http}/v1/simulations/${sim}/events`).then((r) => r.text());
    await until(
      `${sim} done`,
      async () => {
        const s = (await (await fetch(`http://${http}/v1/simulations/${sim}`)).json()) as { state: string; error: string };
        if (s.state === 'failed') throw new Error(s.error);
        return s.state === 'done' ? s : undefined;
      },
      30_000,
      20,
    );
    const result = (await (await fetch(`http://${http}/v1/simulations/${sim}/results`)).json()) as SimResult & { wallSeconds?: number };
    const wallSeconds = result.wallSeconds!;
    delete result.wallSeconds;
    expect(result).toEqual(comparable(embedded.get('remote')!));
    const t0 = Date.now();
    await runEmbedded(spec);
    if (VERBOSE) process.stdout.write(`two-host remote: distributed ${Math.round(wallSeconds * 1000)} ms vs embedded ${Date.now() - t0} ms\n`);
    expect(result.eventLogHash).toBe(embedded.get('split')!.eventLogHash);
    const lines = (await eventsRes).trim().split('\n');
    expect(lines).toHaveLength(result.events);
    expect(JSON.parse(lines[0])).toHaveProperty('kind');
    // Bad input on the HTTP API is a 400 that names the problem, not a crash.
    const bad = await post('/v1/simulations', { scenario: { ...JSON.parse(text), hosts: [{ id: 'h0' }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/scenario\.hosts\[0\]\.pcpus/);
    expect((await fetch(`http://${http}/v1/simulations/sim-999`)).status).toBe(404);
  });

  it('runs several simulations at once, each with its own results', async () => {
    const runs = await Promise.all(
      [twoHostSpec('split'), twoHostSpec('remote'), { ...twoHostSpec('split'), durationNs: 30e6 }].map((s) => runThroughGateway(s)),
    );
    expect(new Set(runs.map((r) => r.sim)).size).toBe(3);
    expect(runs[0].result.eventLogHash).toBe(embedded.get('split')!.eventLogHash);
    expect(runs[1].result.vms).toEqual((comparable(embedded.get('remote')!) as SimResult).vms);
    expect(runs[2].result.hosts.map((h) => h.endNs).every((ns) => ns <= 30e6)).toBe(true);
  });

  it('pauses a running simulation (virtual time stands still) and resumes it to the same results', async () => {
    const base = twoHostSpec('split');
    // Two CPU-bound VMs on one pCPU: every 1 ms slice switches them, so events (and hostNs) move on.
    const spec: SimSpec = {
      ...base,
      name: 'pause',
      hosts: [{ ...base.hosts[0], pcpus: 1 }],
      durationNs: 2e9,
      vms: ['a', 'b'].map((id) => ({ ...base.vms[1], id, host: base.hosts[0].id, args: ['60'] })),
    };
    const ref = (await runEmbedded(spec)).result;
    const { text, images } = submission(spec);
    const { sim } = await call(gateway.submit.bind(gateway), { scenarioYaml: text, images });
    await call(gateway.start.bind(gateway), { sim });
    // Pause as soon as virtual time has started to move.
    await until(
      `${sim} moving`,
      async () => {
        const st = await call(gateway.status.bind(gateway), { sim });
        return st.state === 'running' && Object.values(st.hostNs).some((ns) => ns > 0) ? st : undefined;
      },
      30_000,
      5,
    );
    await call(gateway.pause.bind(gateway), { sim });
    await new Promise((r) => setTimeout(r, 200)); // the iteration in flight finishes
    const a = await call(gateway.status.bind(gateway), { sim });
    await new Promise((r) => setTimeout(r, 400));
    const b = await call(gateway.status.bind(gateway), { sim });
    expect(a.state).toBe('paused');
    expect(b.hostNs).toEqual(a.hostNs);
    const c = await call(gateway.status.bind(gateway), { sim });
    await call(gateway.resume.bind(gateway), { sim });
    // After resuming, virtual time moves again.
    await until(
      `${sim} moving again`,
      async () => {
        const st = await call(gateway.status.bind(gateway), { sim });
        return st.state === 'done' || Object.entries(st.hostNs).some(([h, ns]) => ns > c.hostNs[h]) ? true : undefined;
      },
      30_000,
      5,
    );
    await until(`${sim} done`, async () => ((await call(gateway.status.bind(gateway), { sim })).state === 'done' ? true : undefined), 60_000, 20);
    expect((await call(gateway.results.bind(gateway), { sim })).eventLogHash).toBe(ref.eventLogHash);
  });

  it('stops every service with exit code 0 on SIGTERM', async () => {
    const t0 = Date.now();
    const codes = await Promise.all(
      children.map((c) => {
        c.proc.kill('SIGTERM');
        return c.exited;
      }),
    );
    expect(codes).toEqual(children.map(() => 0));
    expect(Date.now() - t0).toBeLessThan(8000);
    for (const c of children) expect(c.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });
});
