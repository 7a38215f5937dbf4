// Admission and retention at the gateway, on a real cluster over a throwaway nats-server (the
// services' logic in this process behind real gRPC servers, two cpu-nodes, registered on NATS as
// in production):
// - with room for 2, six simulations started at once: 2 run, 3 wait (queued), the sixth is
//   refused naming the limits; the cluster never runs more than 2; all 5 complete with the hash of
//   an undisturbed run, and their one host was spread over both cpu-nodes;
// - a submission never started expires; image bytes held for unstarted simulations are bounded,
//   and a finished simulation holds none;
// - an image too large for a cpu-node's CreateVm message is refused at submission, naming the limit.

import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { readFileSync } from 'fs';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { CpuNodeControlService, HypervisorControlService, SchedulerControlService } from '@vsim/proto';
import {
  ControlStatus,
  CpuNodeControlImpl,
  HypervisorControlImpl,
  MAX_IMAGE_BYTES,
  SchedulerControlImpl,
  SimSpec,
  cpuNodeControlServer,
  hypervisorControlServer,
  runEmbedded,
  schedulerControlServer,
} from '@vsim/control';
import { GUEST_BIN } from '@vsim/testkit';
import { BUILTIN_SCHEDULER, IMPLEMENTATION_KEY, createLogger, registerService } from '@vsim/service';
import { Gateway } from '../src/gateway';

async function serve(definition: ServiceDefinition, implementation: UntypedServiceImplementation): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One host, three Linux guests, 100 ms: about a second of wall time. */
const spec: SimSpec = {
  name: 'one-host',
  seed: 1,
  durationNs: 100e6,
  trapPath: 'split',
  scheduler: { policy: 'round-robin', params: { timeslice: 1e6 } },
  hosts: [{ id: 'h0', pcpus: 2, clockHz: 1e9, quantumNs: 10_000 }],
  vms: [
    {
      id: 'hello',
      host: 'h0',
      vcpus: 1,
      memoryBytes: 16 << 20,
      image: `${GUEST_BIN}/hello.elf`,
      args: ['x'],
      kind: 'linux',
      engine: 'bt',
      sched: {},
    },
    {
      id: 'sum',
      host: 'h0',
      vcpus: 1,
      memoryBytes: 16 << 20,
      image: `${GUEST_BIN}/checksum.elf`,
      args: ['1'],
      kind: 'linux',
      engine: 'bt',
      sched: {},
    },
    { id: 'mat', host: 'h0', vcpus: 1, memoryBytes: 16 << 20, image: `${GUEST_BIN}/matmul.elf`, args: ['2'], kind: 'linux', engine: 'bt', sched: {} },
  ],
};
const text = JSON.stringify(spec);
const images: Record<string, Uint8Array> = Object.fromEntries(spec.vms.map((v) => [v.image, readFileSync(v.image)]));
const imageBytes = Object.values(images).reduce((n, b) => n + b.length, 0);

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`admission and retention at the gateway${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  const buses: NatsBus[] = [];
  const servers: Server[] = [];
  let sched: SchedulerControlImpl;
  let gw: Gateway;
  let expiring: Gateway;

  beforeAll(async () => {
    nats = await startNatsServer();
    const connect = async () => {
      const b = await NatsBus.connect({ servers: nats.url });
      buses.push(b);
      return b;
    };
    const register = async (name: string, address: string, extra: Record<string, string> = {}) => {
      await registerService((await connect()).nc, { name, version: '0.1.0', metadata: { grpc: address, instance: `${name}-${address}`, ...extra } });
    };
    sched = new SchedulerControlImpl(await connect());
    const hv = await serve(HypervisorControlService, hypervisorControlServer(new HypervisorControlImpl(await connect())));
    const s = await serve(SchedulerControlService, schedulerControlServer(sched));
    servers.push(hv.server, s.server);
    await register('vsim-hypervisor', hv.address);
    await register('vsim-scheduler', s.address, { [IMPLEMENTATION_KEY]: BUILTIN_SCHEDULER });
    for (const id of ['n1', 'n2']) {
      const n = await serve(CpuNodeControlService, cpuNodeControlServer(new CpuNodeControlImpl(await connect(), { nodeId: id })));
      servers.push(n.server);
      await register('vsim-cpu-node', n.address, { node: id });
    }
    const log = createLogger('gateway', 'gw-test', { level: 'silent' });
    gw = new Gateway(await connect(), log, { limits: { maxRunning: 2, maxQueued: 3, maxHeldBytes: 8 * imageBytes } });
    expiring = new Gateway(await connect(), log, { limits: { submissionTtlMs: 200, maxHeldBytes: 2 * imageBytes } });
  }, 30_000);

  afterAll(async () => {
    await gw?.close();
    await expiring?.close();
    for (const s of servers) s.forceShutdown();
    await Promise.all(buses.map((b) => b.close()));
    await nats?.stop();
  });

  it('runs 2 at a time, queues 3, refuses the sixth; all complete with the same hash, spread over both nodes', async () => {
    const reference = (await runEmbedded(spec)).result.eventLogHash;
    const ids = Array.from({ length: 6 }, () => gw.submit(text, images));
    await Promise.all(ids.slice(0, 5).map((id) => gw.start(id)));
    await expect(gw.start(ids[5])).rejects.toThrow(
      expect.objectContaining({
        code: ControlStatus.RESOURCE_EXHAUSTED,
        message: expect.stringMatching(/2 simulations may run at once \(--max-running\) and 3 already wait to start here \(--max-queued 3\)/),
      }),
    );
    expect(gw.status(ids[5]).state).toBe('created');
    let most = 0;
    const states = () => ids.slice(0, 5).map((id) => gw.status(id).state);
    await until(
      'all done',
      async () => {
        most = Math.max(most, (await sched.status()).simulations.length, states().filter((s) => s === 'running').length);
        return states().every((s) => s === 'done' || s === 'failed') ? true : undefined;
      },
      120_000,
    );
    expect(most).toBe(2);
    for (const id of ids.slice(0, 5)) expect(gw.results(id).eventLogHash).toBe(reference);
    // A one-host simulation no longer always lands on the same cpu-node.
    const nodes = ids.slice(0, 5).map((id) => gw.get(id).assignment!.h0);
    expect(new Set(nodes)).toEqual(new Set(['n1', 'n2']));
    // Finished simulations hold no image; the sixth (never started) still does.
    expect(gw.heldBytes()).toBe(imageBytes);
    expect(gw.stats()).toMatchObject({ done: 5, created: 1, queued: 0, running: 0, refusedAdmission: 1 });
  }, 150_000);

  it('forgets a submission never started, and bounds the image bytes held', async () => {
    const a = expiring.submit(text, images);
    expiring.submit(text, images);
    expect(() => expiring.submit(text, images)).toThrow(
      expect.objectContaining({
        code: ControlStatus.RESOURCE_EXHAUSTED,
        message: expect.stringMatching(/would pass its limit of \d+ \(--max-held-mib\)/),
      }),
    );
    await until('the submissions expired', () => (expiring.stats().expired === 2 ? true : undefined), 10_000);
    expect(() => expiring.status(a)).toThrow(expect.objectContaining({ code: ControlStatus.NOT_FOUND }));
    expect(expiring.heldBytes()).toBe(0);
    expiring.submit(text, images); // room again
  });

  it('refuses at submission an image too large for a cpu-node, naming the limit', () => {
    const big = { ...images, [spec.vms[0].image]: new Uint8Array(MAX_IMAGE_BYTES + 1) };
    expect(() => gw.submit(text, big)).toThrow(
      expect.objectContaining({
        code: ControlStatus.INVALID_ARGUMENT,
        message: `image ${JSON.stringify(spec.vms[0].image)} is ${MAX_IMAGE_BYTES + 1} bytes: a cpu-node takes images up to ${MAX_IMAGE_BYTES} bytes (32 MiB, its CreateVm message limit)`,
      }),
    );
  });
});
