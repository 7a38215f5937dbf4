// The service shell: logger bindings, the gRPC server's health and shutdown, registration and
// discovery on a real (throwaway) nats-server, flags, and the signal handler.

import { Metadata, credentials, status } from '@grpc/grpc-js';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthClient,
  HypervisorControlClient,
  HypervisorControlServer,
  HypervisorControlService,
} from '@vsim/proto';
import { FlagError, createLogger, discover, onShutdown, parseFlags, registerService, startGrpcServer } from '@vsim/service';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(JSON.parse(s)) } };
}

describe('createLogger', () => {
  it('writes JSON lines carrying service and instance, children add host/vm/vcpu, errors go as err', () => {
    const { lines, destination } = capture();
    const log = createLogger('cpu-node', 'node-a', { destination });
    log.child({ host: 'h0', vm: 'v1', vcpu: 0 }).info({ subject: 'vsim.s.run.n1.h0' }, 'hello');
    log.error({ err: new Error('boom') }, 'failed');
    log.debug('not at info');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 30,
      service: 'cpu-node',
      instance: 'node-a',
      host: 'h0',
      vm: 'v1',
      vcpu: 0,
      subject: 'vsim.s.run.n1.h0',
      msg: 'hello',
    });
    expect(lines[1]).toMatchObject({ level: 50, service: 'cpu-node', msg: 'failed', err: { type: 'Error', message: 'boom' } });
    expect(typeof lines[1].time).toBe('string');
  });

  it('rejects an unknown level', () => {
    expect(() => createLogger('x', 'y', { level: 'loud' })).toThrow(/log level must be one of/);
  });
});

describe('startGrpcServer', () => {
  const stub = (over: Partial<HypervisorControlServer> = {}): HypervisorControlServer => ({
    openSimulation: (_c, cb) => cb(null, {}),
    registerVm: (_c, cb) => cb(null, {}),
    closeSimulation: (_c, cb) => cb(null, {}),
    status: (_c, cb) => cb(null, { service: 'stub', instance: 'i', version: '0', simulations: [], counters: {} }),
    ...over,
  });
  const check = (h: HealthClient, service: string) =>
    new Promise<number>((resolve, reject) => h.check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))));

  it('serves on 127.0.0.1 with health SERVING, then NOT_SERVING and closed after a graceful shutdown', async () => {
    const srv = await startGrpcServer([{ definition: HypervisorControlService, implementation: stub() }]);
    expect(srv.port).toBeGreaterThan(0);
    expect(srv.address).toBe(`127.0.0.1:${srv.port}`);
    const health = new HealthClient(srv.address, credentials.createInsecure());
    expect(await check(health, '')).toBe(ServingStatus.SERVING);
    expect(await check(health, 'vsim.v1.HypervisorControl')).toBe(ServingStatus.SERVING);
    const client = new HypervisorControlClient(srv.address, credentials.createInsecure());
    await new Promise<void>((resolve, reject) => client.openSimulation({ sim: 's', nodes: [] }, (err) => (err ? reject(err) : resolve())));
    expect(await srv.shutdown(2000)).toBe('graceful');
    expect(srv.health.get('')).toBe(ServingStatus.NOT_SERVING);
    const err = await new Promise<{ code: number }>((resolve) =>
      client.status({}, new Metadata(), { deadline: Date.now() + 2000 }, (e) => resolve(e as unknown as { code: number })),
    );
    expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(err.code);
    client.close();
    health.close();
  });

  it('cuts calls still running after the grace period', async () => {
    const srv = await startGrpcServer([
      { definition: HypervisorControlService, implementation: stub({ status: () => undefined /* never answers */ }) },
    ]);
    const client = new HypervisorControlClient(srv.address, credentials.createInsecure());
    const pending = new Promise<{ code: number }>((resolve) => client.status({}, (e) => resolve(e as unknown as { code: number })));
    await new Promise((r) => setTimeout(r, 100)); // let the call arrive
    const t0 = Date.now();
    expect(await srv.shutdown(300)).toBe('forced');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await pending).code).not.toBe(status.OK);
    client.close();
  });
});

const skipNats = findNatsServer() === undefined && process.env.CI !== 'true';

(skipNats ? describe.skip : describe)(`registerService / discover (real nats-server)${skipNats ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  let a: NatsBus;
  let b: NatsBus;

  beforeAll(async () => {
    nats = await startNatsServer();
    a = await NatsBus.connect({ servers: nats.url });
    b = await NatsBus.connect({ servers: nats.url });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await nats?.stop();
  });

  it('finds every registered instance with its gRPC address, sorted by instance; stopped ones disappear', async () => {
    const s2 = await registerService(a.nc, {
      name: 'vsim-test',
      version: '0.1.0',
      description: 'x',
      metadata: { grpc: '127.0.0.1:2002', instance: 'i2', node: 'n2' },
    });
    const s1 = await registerService(b.nc, { name: 'vsim-test', version: '0.1.0', metadata: { grpc: '127.0.0.1:2001', instance: 'i1' } });
    const other = await registerService(a.nc, { name: 'vsim-other', version: '0.1.0', metadata: { grpc: '127.0.0.1:3000', instance: 'o' } });
    const found = await discover(b, 'vsim-test', 2000);
    expect(found.map((f) => [f.instance, f.grpc, f.version])).toEqual([
      ['i1', '127.0.0.1:2001', '0.1.0'],
      ['i2', '127.0.0.1:2002', '0.1.0'],
    ]);
    expect(found[1].metadata.node).toBe('n2');
    await s2.stop();
    expect((await discover(a.nc, 'vsim-test', 2000)).map((f) => f.instance)).toEqual(['i1']);
    await s1.stop();
    await other.stop();
  });

  it('finds nothing, quickly, when nobody registered the name', async () => {
    const t0 = Date.now();
    expect(await discover(a, 'vsim-nobody', 3000)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(3500);
  });
});

describe('parseFlags', () => {
  it('has defaults for the common flags and takes both --flag value and --flag=value', () => {
    const p = parseFlags(
      'cpu-node',
      ['--instance', 'n-1', '--grpc-port=5000', '--node-id', 'x'],
      [{ name: 'node-id', value: 'ID', description: '', default: (c) => c.instance }],
      {},
    );
    expect(p.common).toEqual({
      nats: 'nats://127.0.0.1:4222',
      instance: 'n-1',
      grpcPort: 5000,
      grpcHost: '127.0.0.1',
      advertiseHost: '127.0.0.1',
      logLevel: 'info',
      metricsPort: 0,
      metricsHost: '127.0.0.1',
    });
    expect(p.extra).toEqual({ 'node-id': 'x' });
    const m = parseFlags('x', ['--grpc-host', '0.0.0.0'], [], { VSIM_METRICS_PORT: '9464' }).common;
    expect([m.metricsPort, m.metricsHost]).toEqual([9464, '0.0.0.0']);
    const q = parseFlags('cpu-node', ['--instance', 'n-2'], [{ name: 'node-id', value: 'ID', description: '', default: (c) => c.instance }], {
      VSIM_NATS_URL: 'nats://10.0.0.1:4222',
    });
    expect(q.common.nats).toBe('nats://10.0.0.1:4222');
    expect(q.extra['node-id']).toBe('n-2');
    expect(parseFlags('x', [], [], {}).common.grpcPort).toBe(0);
  });

  it('rejects what it does not know', () => {
    expect(() => parseFlags('x', ['--bogus', '1'], [], {})).toThrow(FlagError);
    expect(() => parseFlags('x', ['--grpc-port', 'abc'], [], {})).toThrow(/grpc-port/);
    expect(() => parseFlags('x', ['--metrics-port', '70000'], [], {})).toThrow(/metrics-port must be an integer in 0\.\.65535/);
    expect(() => parseFlags('x', ['--log-level', 'loud'], [], {})).toThrow(/log-level/);
    expect(() => parseFlags('x', ['--nats'], [], {})).toThrow(/needs a value/);
    expect(() => parseFlags('x', ['stray'], [], {})).toThrow(/unexpected argument/);
  });
});

describe('onShutdown', () => {
  it('stops gracefully on the first signal (exit 0) and exits at once on the second', async () => {
    const exits: number[] = [];
    let release!: () => void;
    const stopped = new Promise<void>((r) => (release = r));
    const calls: string[] = [];
    const off = onShutdown(
      async (sig) => {
        calls.push(sig);
        await stopped;
      },
      { exit: (c) => void exits.push(c), signals: ['SIGUSR2'] },
    );
    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(['SIGUSR2']);
    expect(exits).toEqual([]); // still stopping
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(exits).toEqual([143]);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(exits).toEqual([143, 0]);
    off();
  });

  it('exits 1 when the graceful stop fails', async () => {
    const exits: number[] = [];
    const off = onShutdown(
      () => {
        throw new Error('nope');
      },
      { exit: (c) => void exits.push(c), signals: ['SIGUSR2'] },
    );
    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 10));
    expect(exits).toEqual([1]);
    off();
  });
});
