// Faults on a real cluster (npm run test:faults): the hypervisor, the scheduler, two cpu-nodes and
// the gateway as child processes, on a real nats-server with JetStream that the test kills
// (SIGKILL) and restarts on the same port with the same store. A two-host simulation with every
// trap going to the hypervisor over NATS runs through the gateway while a fault strikes mid-run:
//   - nats-server down 3 s and 10 s: the run completes with the undisturbed run's hash and every
//     event exactly once (requests resent with their sequence numbers and answered from the
//     responders' caches; events stored in the JetStream stream under message ids);
//   - SIGTERM to a cpu-node, the hypervisor, the scheduler, the gateway: the process finishes the
//     run before it exits (the gateway: after its client fetched the results); the test then
//     restarts it, as `vsim up` would;
//   - SIGTERM to a cpu-node of a `vsim up` cluster mid-run: the run completes, vsim up restarts it;
//   - 100 (VSIM_FAULTS_CONCURRENT; 20 by default) simulations started at once: the gateway's
//     admission queue holds those beyond its limit, all complete with the embedded run's hash;
//   - kill -9 of the client (`vsim run --nats`) mid-run: `vsim run --attach SIM` gets the results;
//   - kill -9 of the hypervisor: the process restarted under the same instance name (as vsim up
//     does) takes the simulation over from its JetStream KV bucket; the cpu-nodes resend their
//     traps; the run completes with the same hash;
//   - kill -9 of the gateway: its restart (same instance name) takes the simulation over from its
//     KV bucket (Coordinator.reattach: the events from the stream's start, the scheduler's Run
//     joined), and `vsim run --attach SIM` gets the undisturbed run's results;
//   - kill -9 of a cpu-node, the scheduler: without checkpoints the run cannot continue; it fails
//     fast, naming the lost service — the row gives the detection time.
// With VSIM_TEST_VERBOSE=1 it prints the table: fault → runs → completed → hash identical →
// events lost/duplicated.

import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { GatewayClient, SimulationStatus } from '@vsim/proto';
import { SimResult, SimSpec, runEmbedded, simResultOf } from '@vsim/control';
import { FaultRow as Row, REPO_ROOT, ServiceProcess, faultTable, runVsim, startServiceProcess, twoHostSpec, until } from '@vsim/testkit';
import { discover } from '@vsim/service';
import { DEFAULT_LIMITS } from '../src/admission';

const VERBOSE = process.env.VSIM_TEST_VERBOSE === '1';
/** Simulations started at once in the admission row: 100 with `npm run test:faults`, fewer in CI (time). */
const CONCURRENT = Number(process.env.VSIM_FAULTS_CONCURRENT ?? 20);
const skip = findNatsServer() === undefined && process.env.CI !== 'true';

/** Longer than the cluster tests' two-host run, so that a fault lands mid-run. */
function spec(): SimSpec {
  return { ...twoHostSpec('remote'), durationNs: 300e6 };
}

function call<Req, Res>(
  f: (req: Req, md: Metadata, opts: { deadline: number }, cb: (e: Error | null, r: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => f(req, new Metadata(), { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r))));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rows: Row[] = [];
afterAll(() => {
  if (VERBOSE && rows.length > 0) console.log(faultTable(rows));
});

(skip ? describe.skip : describe)(`faults on a real cluster${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  const store = mkdtempSync(join(tmpdir(), 'vsim-faults-js-'));
  let nats: NatsServer;
  let port = 0;
  let bus: NatsBus;
  const services = new Map<string, { app: string; args: string[]; proc: ServiceProcess }>();
  let gateway: GatewayClient;
  let reference: SimResult;

  const startNats = async () => {
    nats = await startNatsServer({ args: [...(port ? ['-p', String(port)] : []), '-js', '-sd', store] });
    port = nats.port;
  };
  const start = (key: string, app: string, args: string[]) => services.set(key, { app, args, proc: startServiceProcess(app, args, nats.url) });
  const ready = (key: string) => until(`${key} ready`, () => services.get(key)!.proc.lines.find((l) => l.msg === 'ready'), 30_000);
  const restart = async (key: string) => {
    const s = services.get(key)!;
    start(key, s.app, s.args);
    await ready(key);
  };
  const connectGateway = async () => {
    gateway?.close();
    const gw = await until('a gateway on NATS', async () => (await discover(bus, 'vsim-gateway', 1000))[0], 15_000);
    gateway = new GatewayClient(gw.grpc, credentials.createInsecure());
  };

  beforeAll(async () => {
    await startNats();
    start('hypervisor', 'hypervisor', ['--instance', 'hv-1']);
    start('scheduler', 'scheduler', ['--instance', 'sched-1']);
    start('n1', 'cpu-node', ['--instance', 'node-a', '--node-id', 'n1']);
    start('n2', 'cpu-node', ['--instance', 'node-b', '--node-id', 'n2']);
    start('gateway', 'gateway', ['--instance', 'gw-1']);
    bus = await NatsBus.connect({ servers: nats.url });
    reference = (await runEmbedded(spec())).result;
    for (const key of services.keys()) await ready(key);
    await connectGateway();
  }, 120_000);

  afterAll(async () => {
    gateway?.close();
    for (const s of services.values()) if (s.proc.proc.exitCode === null) s.proc.proc.kill('SIGKILL');
    await bus?.close();
    await nats?.stop();
    rmSync(store, { recursive: true, force: true });
  });

  /** Submits and starts the simulation; resolves with its id once its hosts have made progress. */
  async function startRun(): Promise<string> {
    const text = JSON.stringify(spec());
    const images: Record<string, Buffer> = {};
    for (const vm of spec().vms) images[vm.image] = readFileSync(vm.image);
    const { sim } = await call(gateway.submit.bind(gateway), { scenarioYaml: text, images, seed: 0, scheduler: '' });
    await call(gateway.start.bind(gateway), { sim });
    await until(
      'the run to be under way',
      async () => {
        const s = await call<{ sim: string }, SimulationStatus>(gateway.status.bind(gateway), { sim });
        if (s.state === 'failed' || s.state === 'done') throw new Error(`simulation ended before the fault: ${s.state} ${s.error}`);
        return Object.values(s.hostNs).some((ns) => Number(ns) > 0) ? true : undefined;
      },
      60_000,
      20,
    );
    return sim;
  }

  async function outcome(sim: string, timeoutMs: number): Promise<SimulationStatus> {
    return until(
      `simulation ${sim} to end`,
      async () => {
        const s = await call<{ sim: string }, SimulationStatus>(gateway.status.bind(gateway), { sim });
        return s.state === 'done' || s.state === 'failed' ? s : undefined;
      },
      timeoutMs,
      20,
    );
  }

  /** A fault mid-run after which the run must complete as if nothing happened. */
  async function survives(fault: string, strike: () => Promise<void>, after?: () => Promise<void>): Promise<void> {
    const sim = await startRun();
    await strike();
    const s = await outcome(sim, 120_000);
    const result = s.state === 'done' ? simResultOf(await call(gateway.results.bind(gateway), { sim })) : undefined;
    await after?.();
    const same = result?.eventLogHash === reference.eventLogHash;
    const delta = result ? result.events - reference.events : NaN;
    rows.push({
      fault,
      runs: 1,
      completed: s.state === 'done' ? 1 : 0,
      hashIdentical: result ? (same ? 'yes' : 'NO') : '-',
      events: result ? `${Math.max(0, -delta)} / ${Math.max(0, delta)}` : '-',
    });
    expect(s.error).toBe('');
    expect(s.state).toBe('done');
    expect(result!.eventLogHash).toBe(reference.eventLogHash);
    expect(result!.events).toBe(reference.events);
  }

  for (const downS of [3, 10]) {
    test(`nats-server down ${downS} s mid-run: the run completes, same hash, every event once`, async () => {
      await survives(`nats-server down ${downS} s`, async () => {
        process.kill(nats.pid!, 'SIGKILL');
        await nats.stop();
        await sleep(downS * 1000);
        await startNats();
      });
      // Both ways logged by every service.
      for (const [key, s] of services) {
        expect([key, s.proc.lines.some((l) => l.msg === 'NATS disconnected: reconnecting')]).toEqual([key, true]);
        expect([key, s.proc.lines.some((l) => l.msg === 'NATS reconnected')]).toEqual([key, true]);
      }
    }, 180_000);
  }

  for (const key of ['n1', 'hypervisor', 'scheduler', 'gateway']) {
    test(`SIGTERM to ${key === 'n1' ? 'cpu-node n1' : `the ${key}`} mid-run: it finishes the run before it exits`, async () => {
      const proc = services.get(key)!.proc;
      await survives(
        `SIGTERM ${key === 'n1' ? 'cpu-node' : key}`,
        // No timed "still at work" check: runs are short now (a run may end within a few hundred
        // ms of the signal); that the run completes with the undisturbed hash, and that the service
        // logged finishing its work before exiting 0, is what shows it was not cut.
        async () => {
          proc.proc.kill('SIGTERM');
        },
        async () => {
          expect(await proc.exited).toBe(0);
          expect(proc.lines.some((l) => l.msg === 'current work finished')).toBe(true);
          await restart(key); // as vsim up restarts a child that exited
          if (key === 'gateway') await connectGateway();
        },
      );
    }, 180_000);
  }

  test('kill -9 of the client mid-run: vsim run --attach SIM gets the same results', async () => {
    const file = join(store, 'two-hosts.yaml'); // JSON is YAML: the SimSpec as a scenario file
    writeFileSync(file, JSON.stringify(spec()));
    const client = spawn(process.execPath, [join(REPO_ROOT, 'apps/cli/bin/vsim.js'), 'run', '--nats', nats.url, file], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    client.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const sim = await until('the client to submit', () => /simulation (sim-\S+)/.exec(err)?.[1], 60_000);
    await until(
      'the run to be under way',
      async () => {
        const s = await call<{ sim: string }, SimulationStatus>(gateway.status.bind(gateway), { sim });
        return Object.values(s.hostNs).some((ns) => Number(ns) > 0) || s.state === 'done' ? true : undefined;
      },
      60_000,
      20,
    );
    client.kill('SIGKILL');
    const attached = await runVsim(['run', '--nats', nats.url, '--attach', sim, '--json', '-'], 120_000);
    const result = attached.status === 0 ? (JSON.parse(attached.stdout) as SimResult) : undefined;
    rows.push({
      fault: 'kill -9 client, reattach',
      runs: 1,
      completed: result ? 1 : 0,
      hashIdentical: result ? (result.eventLogHash === reference.eventLogHash ? 'yes' : 'NO') : '-',
      events: result ? `${Math.max(0, reference.events - result.events)} / ${Math.max(0, result.events - reference.events)}` : '-',
    });
    expect([attached.status, attached.status === 0 ? '' : attached.stderr]).toEqual([0, '']);
    expect(result!.eventLogHash).toBe(reference.eventLogHash);
    expect(result!.events).toBe(reference.events);
  }, 180_000);

  test('kill -9 of the hypervisor mid-run: its restart takes the simulation over from KV, same hash, every event once', async () => {
    const proc = services.get('hypervisor')!.proc;
    await survives('kill -9 hypervisor (restarted)', async () => {
      proc.proc.kill('SIGKILL');
      await proc.exited;
      await restart('hypervisor'); // as vsim up restarts a child that died
    });
    const next = services.get('hypervisor')!.proc;
    const taken = next.lines.find((l) => String(l.msg).startsWith('simulation taken over'));
    expect(Number(taken?.vms)).toBeGreaterThan(0); // the VM records came back from KV
    // The run's CloseSimulation followed it to its new address: nothing is left open there.
    await until('CloseSimulation on the new hypervisor', () => (next.lines.some((l) => l.msg === 'simulation closed') ? true : undefined), 10_000);
  }, 180_000);

  test('kill -9 of the gateway mid-run: its restart takes the simulation over from KV, vsim run --attach gets the same results', async () => {
    const proc = services.get('gateway')!.proc;
    const sim = await startRun();
    proc.proc.kill('SIGKILL');
    await proc.exited;
    await restart('gateway'); // as vsim up restarts a child that died
    await connectGateway();
    const next = services.get('gateway')!.proc;
    const attached = await runVsim(['run', '--nats', nats.url, '--attach', sim, '--json', '-'], 120_000);
    const result = attached.status === 0 ? (JSON.parse(attached.stdout) as SimResult) : undefined;
    rows.push({
      fault: 'kill -9 gateway (restarted), reattach',
      runs: 1,
      completed: result ? 1 : 0,
      hashIdentical: result ? (result.eventLogHash === reference.eventLogHash ? 'yes' : 'NO') : '-',
      events: result ? `${Math.max(0, reference.events - result.events)} / ${Math.max(0, result.events - reference.events)}` : '-',
    });
    expect(next.lines.some((l) => l.msg === 'took over the simulations of the previous process')).toBe(true);
    expect([attached.status, attached.status === 0 ? '' : attached.stderr]).toEqual([0, '']);
    expect(result!.eventLogHash).toBe(reference.eventLogHash);
    expect(result!.events).toBe(reference.events);
  }, 180_000);

  test(`${CONCURRENT} concurrent simulations: all complete with the undisturbed hash, the admission queue holds those beyond the limit`, async () => {
    const short = twoHostSpec('remote');
    const expected = (await runEmbedded(short)).result;
    const text = JSON.stringify(short);
    const images: Record<string, Buffer> = {};
    for (const vm of short.vms) images[vm.image] = readFileSync(vm.image);
    const t0 = Date.now();
    const sims = await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const { sim } = await call(gateway.submit.bind(gateway), { scenarioYaml: text, images, seed: 0, scheduler: '' });
        await call(gateway.start.bind(gateway), { sim });
        return sim;
      }),
    );
    // Every second: how many run and how many wait (the limit holds; the queue takes the rest).
    let maxRunning = 0;
    let maxQueued = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const states = await Promise.all(sims.map((sim) => call<{ sim: string }, SimulationStatus>(gateway.status.bind(gateway), { sim })));
        maxRunning = Math.max(maxRunning, states.filter((x) => x.state === 'running' || x.state === 'paused').length);
        maxQueued = Math.max(maxQueued, states.filter((x) => x.state === 'queued').length);
        await sleep(1000);
      }
    })();
    const results = await Promise.all(
      sims.map(async (sim) => {
        const s = await outcome(sim, 600_000);
        return s.state === 'done' ? simResultOf(await call(gateway.results.bind(gateway), { sim })) : undefined;
      }),
    );
    sampling = false;
    await sampler;
    const wallS = (Date.now() - t0) / 1000;
    const done = results.filter((r) => r !== undefined);
    const same = done.filter((r) => r.eventLogHash === expected.eventLogHash && r.events === expected.events).length;
    rows.push({
      fault: `${CONCURRENT} concurrent simulations`,
      runs: CONCURRENT,
      completed: done.length,
      hashIdentical: same === CONCURRENT ? 'yes' : `${same} of ${CONCURRENT}`,
      events: `${done.reduce((n, r) => n + Math.max(0, expected.events - r.events), 0)} / ${done.reduce((n, r) => n + Math.max(0, r.events - expected.events), 0)} (at most ${maxRunning} running, ${maxQueued} queued; ${wallS.toFixed(0)} s)`,
    });
    expect(done).toHaveLength(CONCURRENT);
    expect(same).toBe(CONCURRENT);
    // Beyond the gateway's limit they waited their turn in the admission queue.
    expect(maxRunning).toBeLessThanOrEqual(DEFAULT_LIMITS.maxRunning);
    expect(maxQueued).toBeGreaterThanOrEqual(CONCURRENT - DEFAULT_LIMITS.maxRunning);
  }, 900_000);

  for (const key of ['n2', 'scheduler']) {
    test(`kill -9 of ${key === 'n2' ? 'cpu-node n2' : `the ${key}`} mid-run: the run fails fast, naming it`, async () => {
      const sim = await startRun();
      const proc = services.get(key)!.proc;
      const t0 = Date.now();
      proc.proc.kill('SIGKILL');
      const s = await outcome(sim, 30_000);
      const detectS = (Date.now() - t0) / 1000;
      await proc.exited;
      await restart(key);
      rows.push({
        fault: `kill -9 ${key === 'n2' ? 'cpu-node' : key}`,
        runs: 1,
        completed: 0,
        hashIdentical: '-',
        events: `fails fast in ${detectS.toFixed(1)} s (recovery needs checkpoints)`,
      });
      expect(s.state).toBe('failed');
      expect(s.error).toMatch(key === 'n2' ? /cpu-node n2/ : new RegExp(key));
      expect(detectS).toBeLessThan(10);
    }, 120_000);
  }
});

(skip ? describe.skip : describe)(`faults under vsim up${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let up: ChildProcess;
  let out = '';
  let err = '';

  beforeAll(async () => {
    up = spawn(process.execPath, [join(REPO_ROOT, 'apps/cli/bin/vsim.js'), 'up', '--cpu-nodes', '2'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    up.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    await until(
      'vsim up ready',
      () => (/^vsim up: ready/m.test(out) ? true : up.exitCode !== null ? Promise.reject(new Error(err)) : undefined),
      60_000,
      100,
    );
  }, 90_000);

  afterAll(async () => {
    if (up.exitCode === null) {
      const done = new Promise((r) => up.once('exit', r));
      up.kill('SIGINT');
      await done;
    }
    const logs = /^logs: (.*)$/m.exec(out)?.[1];
    if (logs) rmSync(logs, { recursive: true, force: true });
  }, 60_000);

  test('SIGTERM to a cpu-node mid-run: it finishes the run, vsim up restarts it, the hash is the embedded one', async () => {
    const natsUrl = /^NATS: (\S+)$/m.exec(out)![1];
    const env = { ...process.env, VSIM_CREDENTIALS: /^credentials: (.*)$/m.exec(out)![1] };
    const embedded = await runVsim(['run', '--json', '-', 'examples/two-hosts.yaml'], 120_000);
    const client = spawn(
      process.execPath,
      [join(REPO_ROOT, 'apps/cli/bin/vsim.js'), 'run', '--nats', natsUrl, '--json', '-', 'examples/two-hosts.yaml'],
      {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    client.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    client.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = new Promise<number | null>((r) => client.once('exit', r));
    const sim = await until('the client to submit', () => /simulation (sim-\S+)/.exec(stderr)?.[1], 60_000);
    const http = /^gateway HTTP: (\S+)$/m.exec(out)![1];
    const token = /^token: (\S+)$/m.exec(out)![1];
    await until(
      'the run to be under way',
      async () => {
        const r = await fetch(`${http}/v1/simulations/${sim}`, { headers: { authorization: `Bearer ${token}` } });
        const s = (await r.json()) as { hostNs?: Record<string, number>; state?: string };
        return Object.values(s.hostNs ?? {}).some((ns) => Number(ns) > 0) || s.state === 'done' ? true : undefined;
      },
      60_000,
      20,
    );
    process.kill(Number(/^cpu-node-1\s+pid (\d+)$/m.exec(out)![1]), 'SIGTERM');
    const status = await code;
    expect([status, status === 0 ? '' : stderr]).toEqual([0, '']); // the summary goes to stderr with --json -
    const result = JSON.parse(stdout) as SimResult;
    const reference = JSON.parse(embedded.stdout) as SimResult;
    rows.push({
      fault: 'SIGTERM cpu-node (vsim up)',
      runs: 1,
      completed: 1,
      hashIdentical: result.eventLogHash === reference.eventLogHash ? 'yes' : 'NO',
      events: `${Math.max(0, reference.events - result.events)} / ${Math.max(0, result.events - reference.events)}`,
    });
    expect(result.eventLogHash).toBe(reference.eventLogHash);
    await until('the restart', () => (/cpu-node-1 exited \(code 0\): restarting/.test(err) ? true : undefined), 30_000, 100);
  }, 240_000);
});
