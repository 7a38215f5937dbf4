// Live migration started at run time, through the gateway, on a real cluster over a throwaway
// nats-server (the services' logic in this process behind real gRPC servers, registered on NATS and
// found by the gateway as in production): `vsim migrate` (the CLI, over the gateway's gRPC API) and
// `POST /v1/simulations/:id/migrate` (HTTP) each move a running Linux program from h0 to h1; both
// print what they print without migrating, and the results list the two migrations. Bad requests
// are refused naming what is wrong, and the simulation goes on.

import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { resolve } from 'path';
import { readFileSync } from 'fs';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { CpuNodeControlService, GatewayService, HypervisorControlService, SchedulerControlService } from '@vsim/proto';
import {
  CpuNodeControlImpl,
  HypervisorControlImpl,
  SchedulerControlImpl,
  SimResult,
  SimSpec,
  VmSpec,
  cpuNodeControlServer,
  hypervisorControlServer,
  runEmbedded,
  schedulerControlServer,
} from '@vsim/control';
import { BUILTIN_SCHEDULER, IMPLEMENTATION_KEY, createLogger, registerService } from '@vsim/service';
import { runVsim, until } from '@vsim/testkit';
import { Gateway } from '../src/gateway';
import { gatewayServer } from '../src/grpc-api';
import { HttpHandle, startHttpServer } from '../src/http-api';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');

async function serve(definition: ServiceDefinition, implementation: UntypedServiceImplementation): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`live migration through the gateway${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  const buses: NatsBus[] = [];
  const servers: Server[] = [];
  let gw: Gateway;
  let gatewayGrpc: string;
  let http: HttpHandle;

  beforeAll(async () => {
    nats = await startNatsServer();
    const connect = async () => {
      const b = await NatsBus.connect({ servers: nats.url });
      buses.push(b);
      return b;
    };
    const register = async (name: string, address: string, extra: Record<string, string> = {}) => {
      const b = await connect();
      await registerService(b.nc, { name, version: '0.1.0', metadata: { grpc: address, instance: `${name}-test`, ...extra } });
    };
    const hv = await serve(HypervisorControlService, hypervisorControlServer(new HypervisorControlImpl(await connect())));
    const n1 = await serve(CpuNodeControlService, cpuNodeControlServer(new CpuNodeControlImpl(await connect(), { nodeId: 'n1' })));
    const n2 = await serve(CpuNodeControlService, cpuNodeControlServer(new CpuNodeControlImpl(await connect(), { nodeId: 'n2' })));
    const sched = await serve(SchedulerControlService, schedulerControlServer(new SchedulerControlImpl(await connect())));
    servers.push(hv.server, n1.server, n2.server, sched.server);
    await register('vsim-hypervisor', hv.address);
    await register('vsim-cpu-node', n1.address, { node: 'n1' });
    await register('vsim-cpu-node', n2.address, { node: 'n2' });
    await register('vsim-scheduler', sched.address, { [IMPLEMENTATION_KEY]: BUILTIN_SCHEDULER });
    const log = createLogger('gateway', 'gw-test', { level: 'silent' });
    gw = new Gateway(await connect(), log);
    const g = await serve(GatewayService, gatewayServer(gw, log) as unknown as UntypedServiceImplementation);
    servers.push(g.server);
    gatewayGrpc = g.address;
    http = await startHttpServer(gw, log);
  }, 30_000);

  afterAll(async () => {
    await http?.close();
    for (const s of servers) s.forceShutdown();
    await Promise.all(buses.map((b) => b.close()));
    await nats?.stop();
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`http://${http.address}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('vsim migrate (gRPC) and POST .../migrate (HTTP) move running VMs; their output is unchanged', async () => {
    // Two checksum programs (3 rounds, ~5 M instructions each) sharing h0's pCPU at 100 MHz, a third on h1.
    const prog = (id: string): VmSpec => ({
      id,
      host: 'h0',
      vcpus: 1,
      memoryBytes: 4 << 20,
      image: `${BIN}/checksum.elf`,
      args: ['3'],
      kind: 'linux',
      engine: 'bt',
      sched: {},
    });
    const spec: SimSpec = {
      name: 'migrate-runtime',
      seed: 1,
      durationNs: 400e6,
      trapPath: 'split',
      scheduler: { policy: 'credit', params: {} },
      hosts: [
        { id: 'h0', pcpus: 1, clockHz: 100e6, quantumNs: 10_000 },
        { id: 'h1', pcpus: 1, clockHz: 100e6, quantumNs: 10_000 },
      ],
      // c keeps h1's loop going (a host whose VMs all ended stops, and no migration lands there).
      vms: [prog('a'), prog('b'), { ...prog('c'), host: 'h1', args: ['6'] }],
      network: { bandwidth: 32 << 20, latency: 100_000, links: [] },
    };
    const reference = (await runEmbedded(spec)).result;
    await new Promise((r) => setTimeout(r, 10));
    const images: Record<string, string> = {};
    for (const vm of spec.vms) images[vm.image] = readFileSync(vm.image).toString('base64');
    const created = await post('/v1/simulations', { scenario: JSON.stringify(spec), images });
    expect(created.status).toBe(201);
    const sim = created.body.sim as string;
    expect((await post(`/v1/simulations/${sim}/start`, {})).status).toBe(202);
    await until(`${sim} past 5 ms`, () => ((gw.status(sim).hostNs.h0 ?? 0) >= 5e6 ? true : undefined), 60_000);
    await gw.pause(sim);
    // Refused, naming what is wrong; the simulation goes on.
    expect(await post(`/v1/simulations/${sim}/migrate`, { vm: 'a', host: 'h9' })).toMatchObject({
      status: 404,
      body: { error: expect.stringMatching(/unknown host 'h9'/) },
    });
    expect(await post(`/v1/simulations/${sim}/migrate`, { vm: 'a', host: 'h1', maxRounds: 0 })).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/params.rule.max_rounds must be an integer ≥ 1, got 0/) },
    });
    expect(await post(`/v1/simulations/${sim}/migrate`, { host: 'h1' })).toMatchObject({
      status: 400,
      body: { error: 'body.vm must be the id of a VM' },
    });
    const cli = await runVsim(['migrate', '--gateway', gatewayGrpc, '--sim', sim, 'a', 'h1']);
    expect(cli).toMatchObject({ status: 0, stderr: '', stdout: 'migrating a from h0 to h1\n' });
    expect(await post(`/v1/simulations/${sim}/migrate`, { vm: 'b', host: 'h1', maxRounds: 3 })).toMatchObject({ status: 202 });
    const again = await runVsim(['migrate', '--gateway', gatewayGrpc, '--sim', sim, 'a', 'h1']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/VM a is already migrating/);
    await gw.resume(sim);
    await until(
      `${sim} done`,
      () => {
        const s = gw.status(sim);
        if (s.state === 'failed') throw new Error(`${sim} failed: ${s.error}`);
        return s.state === 'done' ? true : undefined;
      },
      120_000,
    );
    const result = (await (await fetch(`http://${http.address}/v1/simulations/${sim}/results`)).json()) as SimResult;
    expect(result.migrations!.map((m) => [m.vm, m.from, m.to])).toEqual(
      expect.arrayContaining([
        ['a', 'h0', 'h1'],
        ['b', 'h0', 'h1'],
      ]),
    );
    expect(result.migrations!.find((m) => m.vm === 'b')!.rounds).toBeLessThanOrEqual(3);
    for (const id of ['a', 'b']) {
      const v = result.vms.find((x) => x.id === id)!;
      expect(v).toMatchObject({ host: 'h1', state: 'halted', console: reference.vms.find((x) => x.id === id)!.console });
      expect(v.console).toMatch(/round 0: crc32=/);
    }
  }, 180_000);
});
