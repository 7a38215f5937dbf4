// `vsim sched-check`: the conformance kit passes the built-in scheduler service (its logic behind a
// real gRPC server, registered on a throwaway nats-server) under round robin and Credit, passes the
// external example (examples/external-scheduler, a child process), and catches deliberately broken
// ones (the same example with --fault double-run: one vCPU on two pCPUs; --fault ignore-pause).

import { ChildProcess, spawn } from 'child_process';
import { resolve } from 'path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { SchedulerControlService } from '@vsim/proto';
import { SchedulerControlImpl, schedulerControlServer } from '@vsim/control';
import { discover, registerService } from '@vsim/service';
import { UsageError } from '../src/args';
import { parseTarget, schedCheckCommand } from '../src/commands/sched-check';

const ROOT = resolve(__dirname, '../../..');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string | Uint8Array) => out.push(String(s)) }, stderr: { write: (s: string | Uint8Array) => err.push(String(s)) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('sched-check target', () => {
  it('takes a NATS URL or a service subject', () => {
    expect(parseTarget('nats://127.0.0.1:4222', undefined)).toEqual({ nats: 'nats://127.0.0.1:4222', service: 'vsim-scheduler' });
    expect(parseTarget('$SRV.INFO.my-sched.ABC123', 'nats://h:1')).toEqual({ nats: 'nats://h:1', service: 'my-sched', id: 'ABC123' });
    expect(parseTarget('my-sched', undefined, {})).toEqual({ nats: 'nats://127.0.0.1:4222', service: 'my-sched', id: undefined });
    expect(() => parseTarget('nats://a:1', 'nats://b:2')).toThrow(UsageError);
    expect(() => parseTarget('not a subject!', undefined)).toThrow(/neither a NATS URL nor a service subject/);
  });
});

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`vsim sched-check against real scheduler services${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  const buses: NatsBus[] = [];
  let server: Server;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    const bus = await NatsBus.connect({ servers: nats.url });
    buses.push(bus);
    server = new Server();
    server.addService(SchedulerControlService, schedulerControlServer(new SchedulerControlImpl(bus)));
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    await registerService(bus.nc, { name: 'vsim-scheduler', version: '0.1.0', metadata: { grpc: `127.0.0.1:${port}`, instance: 'builtin' } });
    for (const [instance, fault] of [
      ['fifo', 'none'],
      ['broken', 'double-run'],
      ['deaf', 'ignore-pause'],
    ]) {
      children.push(
        spawn(
          process.execPath,
          ['--import', 'tsx', 'examples/external-scheduler/fifo-scheduler.ts', '--nats', nats.url, '--instance', instance, '--fault', fault],
          {
            cwd: ROOT,
            env: { ...process.env, TSX_TSCONFIG_PATH: resolve(ROOT, 'tsconfig.json') },
            stdio: 'ignore',
          },
        ),
      );
    }
    const deadline = Date.now() + 60_000;
    while ((await discover(bus, 'vsim-scheduler', 500)).length < 4) {
      if (Date.now() > deadline) throw new Error('the example schedulers did not register');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode !== null) continue;
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
    server?.forceShutdown();
    await Promise.all(buses.map((b) => b.close()));
    await nats?.stop();
  });

  it.each([
    ['round-robin', '{}'],
    ['credit', '{"tslice":10000000}'],
  ])(
    'passes the built-in scheduler service under %s',
    async (policy, params) => {
      const c = capture();
      const code = await schedCheckCommand.run([nats.url, '--instance', 'builtin', '--policy', policy, '--params', params], c.io);
      expect(c.out()).toMatch(
        /^sched-check: 0 violations \(\d+ checks, 2 runs, \d+ \+ \d+ run orders\) against vsim-scheduler builtin at 127\.0\.0\.1:\d+$/m,
      );
      expect(c.out()).not.toMatch(/VIOLATION/);
      expect(code).toBe(0);
    },
    60_000,
  );

  it('passes the external example scheduler', async () => {
    const c = capture();
    const code = await schedCheckCommand.run([nats.url, '--instance', 'fifo'], c.io);
    expect(c.out()).toMatch(/^sched-check: 0 violations .* against vsim-scheduler fifo at /m);
    expect(code).toBe(0);
  }, 60_000);

  it("reports the broken scheduler's vCPU on two pCPUs, one line per violation, and exits 1", async () => {
    const c = capture();
    const code = await schedCheckCommand.run(['$SRV.INFO.vsim-scheduler', '--nats', nats.url, '--instance', 'broken'], c.io);
    const lines = c.out().trim().split('\n');
    expect(lines.filter((l) => l.startsWith('VIOLATION one-pcpu: ')).length).toBeGreaterThan(0);
    expect(lines.find((l) => l.startsWith('VIOLATION one-pcpu: '))).toMatch(/host h0: order \d+ at \d+ ns runs \S+\/\d on pCPUs 0 and 1$/);
    expect(lines[lines.length - 1]).toMatch(/^sched-check: [1-9]\d* violations? .* against vsim-scheduler broken/);
    expect(code).toBe(1);
  }, 60_000);

  it('reports a scheduler that runs a paused VM', async () => {
    const c = capture();
    expect(await schedCheckCommand.run([nats.url, '--instance', 'deaf'], c.io)).toBe(1);
    expect(c.out()).toMatch(/^VIOLATION pause: schedcheck-\d+-1: host h0: order \d+ at \d+ ns runs paused\/0 of paused VM paused$/m);
  }, 60_000);

  it('says in one line when no such scheduler is registered', async () => {
    const c = capture();
    expect(await schedCheckCommand.run(['nobody-here', '--nats', nats.url], c.io)).toBe(69);
    expect(c.err()).toBe(`vsim: sched-check: no nobody-here registered on ${nats.url}\n`);
  });
});
