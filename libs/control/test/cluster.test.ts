// The Coordinator over the real transports, in one process: the three services' control logic
// behind real gRPC servers on 127.0.0.1:0, each with its own NATS connection to a throwaway
// nats-server, driven through gRPC clients. Same results and hash as the embedded run.

import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation, status } from '@grpc/grpc-js';
import { BusError, InProcessBroker, NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import {
  CpuNodeControlService,
  HypervisorControlService,
  SchedulerControlService,
  SchedulerParams,
  TrapRequest,
  encode,
  subjects,
} from '@vsim/proto';
import {
  ControlError,
  Coordinator,
  CpuNodeControlImpl,
  GrpcControlPlane,
  HypervisorControlImpl,
  SchedulerControlImpl,
  SimResult,
  cpuNodeControlClient,
  cpuNodeControlServer,
  grpcControlPlane,
  hypervisorControlServer,
  runEmbedded,
  schedulerMessage,
  schedulerControlServer,
} from '@vsim/control';
import { assignHosts } from '../src/placement';
import { inProcessControlPlane } from '../src/grpc-adapters';
import { twoHostSpec } from '@vsim/testkit';

async function serve(definition: ServiceDefinition, implementation: UntypedServiceImplementation): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`Coordinator over NATS and gRPC (one process)${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  const buses: NatsBus[] = [];
  const servers: Server[] = [];
  let control: GrpcControlPlane;
  let coordBus: NatsBus;
  let hv: HypervisorControlImpl;
  let nodes: CpuNodeControlImpl[];
  const embedded = new Map<string, SimResult>();

  const connect = async () => {
    const b = await NatsBus.connect({ servers: nats.url });
    buses.push(b);
    return b;
  };

  beforeAll(async () => {
    nats = await startNatsServer();
    hv = new HypervisorControlImpl(await connect(), { instance: 'hv-test' });
    nodes = [new CpuNodeControlImpl(await connect(), { nodeId: 'n2' }), new CpuNodeControlImpl(await connect(), { nodeId: 'n1' })];
    const sched = new SchedulerControlImpl(await connect());
    const hvS = await serve(HypervisorControlService, hypervisorControlServer(hv));
    const nodeS = await Promise.all(nodes.map((n) => serve(CpuNodeControlService, cpuNodeControlServer(n))));
    const schedS = await serve(SchedulerControlService, schedulerControlServer(sched));
    servers.push(hvS.server, schedS.server, ...nodeS.map((s) => s.server));
    control = grpcControlPlane({
      hypervisor: hvS.address,
      scheduler: schedS.address,
      nodes: new Map(nodes.map((n, i) => [n.nodeId, nodeS[i].address])),
    });
    coordBus = await connect();
    for (const tp of ['split', 'remote'] as const) embedded.set(tp, (await runEmbedded(twoHostSpec(tp))).result);
  });

  afterAll(async () => {
    control?.close();
    for (const s of servers) s.forceShutdown();
    await Promise.all(buses.map((b) => b.close()));
    await nats?.stop();
  });

  it.each(['split', 'remote'] as const)('gives the embedded results and hash on the %s trap path', async (trapPath) => {
    const out = await new Coordinator(control, coordBus).run(twoHostSpec(trapPath), `cluster-${trapPath}`);
    expect(out.result).toEqual(embedded.get(trapPath));
    // The scheduling metrics travelled through HostResult (metrics.proto) and agree too.
    expect(out.result.vms.map((v) => v.sched)).toEqual(embedded.get(trapPath)!.vms.map((v) => v.sched));
    expect(out.result.hosts.map((h) => h.sched)).toEqual(embedded.get(trapPath)!.hosts.map((h) => h.sched));
    expect(out.result.vms.every((v) => v.sched !== undefined && v.sched.runningNs > 0)).toBe(true);
    expect(out.result.hosts.every((h) => h.sched !== undefined && h.sched.pcpus.length === h.pcpus)).toBe(true);
    expect(out.result.eventLogHash).toBe(embedded.get('split')!.eventLogHash);
    // Round robin over sorted node ids, hosts in scenario order.
    expect(Object.fromEntries(out.assignment)).toEqual({ h0: 'n1', h1: 'n2' });
    expect(out.run.hosts.map((h) => h.events)).toEqual(['h0', 'h1'].map((h) => out.log.all().filter((e) => e.host === h).length));
    // The remote path really crossed the bus to the hypervisor service.
    const traps = (await hv.status()).counters.traps;
    if (trapPath === 'remote') expect(traps).toBeGreaterThan(0);
    // Every service forgot the simulation.
    for (const s of [control.hypervisor, control.scheduler, ...control.nodes.values()]) {
      expect((await s.status({})).simulations).toEqual([]);
    }
    const pico = embedded.get(trapPath)!.vms.find((v) => v.id === 'hello')!;
    expect(pico.console).toContain('Hello from rv32 guest!');
  });

  it('maps failed calls to ControlError with the gRPC status and message', async () => {
    const node = control.nodes.get('n1')!;
    const err = await node
      .createVm({
        sim: 'nope',
        host: 'h9',
        vm: 'v',
        kind: 'linux',
        vcpus: 1,
        memoryBytes: 1 << 20,
        image: Buffer.from('x'),
        args: [],
        engine: 'bt',
        technique: '',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect(err).toMatchObject({ code: status.NOT_FOUND, rpc: 'vsim.v1.CpuNodeControl/CreateVm' });
    expect((err as Error).message).toBe('simulation nope has no host on node n1 (call CreateHost first)');
    await expect(
      control.scheduler.addHost({ sim: 'bad id!', host: 'h0', node: 'n1', pcpus: 1, scheduler: { policy: { $case: 'roundRobin', value: {} } } }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    // A scheduler over gRPC refuses a host with no policy, or a parameter out of its bounds, naming
    // the field; a host the same call then adds with good parameters is taken: it keeps serving.
    const host = (scheduler: SchedulerParams | undefined) => control.scheduler.addHost({ sim: 'typed', host: 'h0', node: 'n1', pcpus: 1, scheduler });
    await expect(host(undefined)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: expect.stringContaining('host h0: scheduler: names no policy'),
    });
    await expect(host({ policy: { $case: 'credit', value: { tslice: 1 } } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      message: expect.stringMatching(/^host h0: credit: tslice must be 1ms–1s, got 1ns$/),
    });
    await expect(host(schedulerMessage({ policy: 'credit', params: { tslice: 10e6 } }))).resolves.toEqual({});
    expect((await control.scheduler.getSchedParams({ sim: 'typed' })).hosts).toEqual([
      { host: 'h0', policy: 'credit', scheduler: { policy: { $case: 'credit', value: { tslice: 10e6 } } }, nowNs: 0 },
    ]);
    await control.scheduler.closeSimulation({ sim: 'typed' });
    // Nobody listening: UNAVAILABLE within the deadline.
    const dead = cpuNodeControlClient('127.0.0.1:1', { deadlineMs: 2000 });
    await expect(dead.status({})).rejects.toMatchObject({ code: expect.any(Number) });
    dead.close();
  });

  it('answers garbled data-plane messages with an error, counts them, and keeps serving', async () => {
    await control.hypervisor.openSimulation({ sim: 'garble', nodes: [] });
    await control.nodes
      .get('n1')!
      .createHost({ sim: 'garble', host: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000, trapPath: 'split', costs: undefined, expansion: {} });
    const garbage = new TextEncoder().encode('garbage!\xff');
    await expect(coordBus.request(subjects.hvTrap('garble', 'n1'), garbage, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'remote' });
    await expect(coordBus.request(subjects.hostRun('garble', 'n1', 'h0'), garbage, { timeoutMs: 5000 })).rejects.toBeInstanceOf(BusError);
    await expect(
      coordBus.request(subjects.hvTrap('garble', 'n1'), encode(TrapRequest, TrapRequest.fromPartial({ vm: 'ghost' })), { timeoutMs: 5000 }),
    ).rejects.toThrow("trap from unknown VM 'ghost'");
    expect((await control.hypervisor.status({})).counters.badMessages).toBe(2);
    expect((await control.nodes.get('n1')!.status({})).counters.badMessages).toBe(1);
    await control.hypervisor.closeSimulation({ sim: 'garble' });
    await control.nodes.get('n1')!.closeSimulation({ sim: 'garble' });
  });
});

describe('Coordinator', () => {
  it('assigns hosts by load: round robin over sorted node ids when idle, the least busy node first', () => {
    expect(Object.fromEntries(assignHosts([{ id: 'a' }, { id: 'b' }, { id: 'c' }], ['z', 'm']))).toEqual({ a: 'm', b: 'z', c: 'm' });
    expect(() => assignHosts([{ id: 'a' }], [])).toThrow('no cpu-node');
    // A one-host simulation goes where the least is running (before: always the first node).
    expect(
      Object.fromEntries(
        assignHosts(
          [{ id: 'h0', pcpus: 2 }],
          ['n1', 'n2'],
          new Map([
            ['n1', 4],
            ['n2', 2],
          ]),
        ),
      ),
    ).toEqual({ h0: 'n2' });
    // Sizes count: a 4-pCPU host fills a node as much as four 1-pCPU hosts.
    expect(
      Object.fromEntries(
        assignHosts(
          [
            { id: 'big', pcpus: 4 },
            { id: 'x', pcpus: 1 },
            { id: 'y', pcpus: 1 },
            { id: 'z', pcpus: 1 },
          ],
          ['n1', 'n2'],
        ),
      ),
    ).toEqual({ big: 'n1', x: 'n2', y: 'n2', z: 'n2' });
  });

  it('fails clearly when published events never arrive, and still closes the simulation everywhere', async () => {
    const broker = new InProcessBroker();
    const hv = new HypervisorControlImpl(broker.connect());
    const node = new CpuNodeControlImpl(broker.connect(), { nodeId: 'n0' });
    const sched = new SchedulerControlImpl(broker.connect());
    const control = inProcessControlPlane({ hypervisor: hv, nodes: [node], scheduler: sched });
    // The coordinator listens on another broker: it never sees the events.
    const deaf = new InProcessBroker().connect();
    const spec = { ...twoHostSpec(), durationNs: 2e6 };
    await expect(new Coordinator(control, deaf, { eventsTimeoutMs: 200 }).run(spec, 'deaf')).rejects.toThrow(
      /events missing 200 ms after the run ended \(host h0: 0 of \d+, host h1: 0 of \d+/,
    );
    for (const s of [hv, node, sched]) expect((await s.status()).simulations).toEqual([]);
  });

  it('names the failing step', async () => {
    const broker = new InProcessBroker();
    const control = inProcessControlPlane({
      hypervisor: new HypervisorControlImpl(broker.connect()),
      nodes: [new CpuNodeControlImpl(broker.connect(), { nodeId: 'n0' })],
      scheduler: new SchedulerControlImpl(broker.connect()),
    });
    const spec = twoHostSpec();
    const bad = { ...spec, vms: [{ ...spec.vms[0], engine: 'warp' as never }] };
    await expect(new Coordinator(control, broker.connect()).run(bad, 's1')).rejects.toThrow(
      'CreateVm hello on node n0: VM hello: unknown engine "warp"',
    );
    const noPolicy = { ...spec, scheduler: { policy: 'lottery', params: {} } };
    await expect(new Coordinator(control, broker.connect()).run(noPolicy, 's2')).rejects.toThrow(
      /AddHost h0 on the scheduler: host h0: scheduler: unknown scheduling policy 'lottery' \(round-robin, credit, sedf, rtds, credit2\)/,
    );
  });
});
