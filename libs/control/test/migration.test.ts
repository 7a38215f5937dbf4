// Live migration by pre-copy (issue 12 item 3). Equivalence: a migrated VM prints the same console
// output and ends with the same memory as when it stays put (a CPU-bound rv32 kernel, an rv32 Linux
// program that rewrites 64 KiB every round, a ring32 kernel). Determinism: the same results and
// event-log hash embedded and over a real nats-server with one and two cpu-nodes (the pages then
// cross from one cpu-node's connection to the other's).

import { createHash } from 'crypto';
import { InProcessBroker, NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer, Bus } from '@vsim/bus';
import { Ack, EventLog, SimulationRef } from '@vsim/proto';
import {
  Coordinator,
  CpuNodeControlImpl,
  HypervisorControlImpl,
  SchedulerControlImpl,
  SimResult,
  SimSpec,
  VmSpec,
  migrationsOf,
} from '@vsim/control';
import { inProcessControlPlane } from '../src/grpc-adapters';
import { GUESTS_DIR } from '@vsim/testkit';

/** A cpu-node that, when a simulation closes, records the SHA-256 of every VM's memory still on it. */
class DigestingNode extends CpuNodeControlImpl {
  readonly digests = new Map<string, string>();

  override async closeSimulation(req: SimulationRef): Promise<Ack> {
    const svc = this.simulation(req.sim);
    for (const host of ['h0', 'h1', 'r0', 'r1']) {
      for (const [id, vm] of svc?.host(host)?.vms ?? []) this.digests.set(id, createHash('sha256').update(vm.bus.u8).digest('hex'));
    }
    return super.closeSimulation(req);
  }
}

function spec(migrate: boolean): SimSpec {
  const vm = (v: Partial<VmSpec> & Pick<VmSpec, 'id' | 'image'>): VmSpec => ({
    vcpus: 1,
    memoryBytes: 4 << 20,
    args: [],
    kind: 'kernel',
    engine: 'bt',
    sched: {},
    ...v,
    image: `${GUESTS_DIR}/${v.image}`,
  });
  const link = { bandwidthBytesPerSec: 64 << 20, latencyNs: 20_000 };
  return {
    name: 'migration',
    seed: 1,
    durationNs: 300e6,
    trapPath: 'split',
    scheduler: { policy: 'credit', params: {} },
    hosts: [
      { id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 },
      { id: 'h1', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 },
      { id: 'r0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000, isa: 'ring32' },
      { id: 'r1', pcpus: 1, clockHz: 1e9, quantumNs: 10_000, isa: 'ring32' },
    ],
    vms: [
      // CPU-bound: a prime sieve, a console line every 4 segments.
      vm({ id: 'cpu', image: 'rv32/bin/sbi-compute.elf', host: 'h0', sched: { weight: 512 } }),
      // Writes memory: 3 rounds refilling a 64 KiB buffer and checksumming it.
      vm({ id: 'sum', image: 'rv32/bin/checksum.elf', host: 'h0', kind: 'linux', args: ['3'] }),
      vm({
        id: 'r32',
        image: 'ring32/bin/kernel.elf',
        host: 'r0',
        isa: 'ring32',
        technique: 'binary-translation',
        memoryBytes: 1 << 20,
        engine: 'dispatch',
      }),
    ],
    actions: migrate
      ? [
          { kind: 'migrate', at: 1e6, vm: 'sum', to: 'h1', link },
          { kind: 'migrate', at: 2e6, vm: 'cpu', to: 'h1', link, rule: { stopPages: 0, maxRounds: 4 } },
          { kind: 'migrate', at: 50_000, vm: 'r32', to: 'r1', link },
        ]
      : [],
  };
}

async function run(
  s: SimSpec,
  buses: Bus[],
  nodeIds: string[],
  sim: string,
): Promise<{ result: SimResult; digests: Map<string, string>; log: EventLog }> {
  const [hvBus, schedBus, coordBus, ...nodeBuses] = buses;
  const nodes = nodeIds.map((id, i) => new DigestingNode(nodeBuses[i], { nodeId: id }));
  const control = inProcessControlPlane({ hypervisor: new HypervisorControlImpl(hvBus), nodes, scheduler: new SchedulerControlImpl(schedBus) });
  const out = await new Coordinator(control, coordBus).run(s, sim);
  const digests = new Map<string, string>();
  for (const n of nodes) for (const [vm, d] of n.digests) digests.set(vm, d);
  return { result: out.result, digests, log: out.log };
}

async function embedded(s: SimSpec): ReturnType<typeof run> {
  const broker = new InProcessBroker();
  const buses = [0, 1, 2, 3].map(() => broker.connect());
  try {
    return await run(s, buses, ['node-0'], 'embedded');
  } finally {
    await Promise.all(buses.map((b) => b.close()));
  }
}

describe('live migration (embedded)', () => {
  let still: Awaited<ReturnType<typeof embedded>>;
  let moved: Awaited<ReturnType<typeof embedded>>;

  beforeAll(async () => {
    still = await embedded(spec(false));
    moved = await embedded(spec(true));
  }, 120_000);

  it.each(['cpu', 'sum', 'r32'])('%s: same console output, exit and final memory as without migrating', (id) => {
    const a = still.result.vms.find((v) => v.id === id)!;
    const b = moved.result.vms.find((v) => v.id === id)!;
    expect(a.state).toBe('halted');
    expect(b.state).toBe('halted');
    expect(b.console).toBe(a.console);
    expect(a.console.length).toBeGreaterThan(20);
    expect(b.exitStatus).toBe(a.exitStatus);
    expect(b.instructions).toBe(a.instructions);
    expect(moved.digests.get(id)).toBe(still.digests.get(id));
    expect(still.digests.get(id)).toMatch(/^[0-9a-f]{64}$/);
    // It ended where it migrated to, and only there.
    expect(b.host).toBe({ cpu: 'h1', sum: 'h1', r32: 'r1' }[id]);
    expect(a.host).toBe({ cpu: 'h0', sum: 'h0', r32: 'r0' }[id]);
  });

  it('times rounds, stop-and-copy and the downtime in virtual time, as events and results', () => {
    const ms = moved.result.migrations!;
    expect(ms.map((m) => m.vm).sort()).toEqual(['cpu', 'r32', 'sum']);
    for (const m of ms) {
      expect(m.rounds).toBeGreaterThanOrEqual(2);
      expect(m.downtimeNs).toBeGreaterThan(20_000); // at least the link's latency
      expect(m.totalNs).toBeGreaterThan(m.downtimeNs);
      expect(m.pages).toBeGreaterThan(0);
    }
    // The sieve dirties pages in every round, so with stopPages 0 only the round limit stops pre-copy.
    expect(ms.find((m) => m.vm === 'cpu')).toMatchObject({ rounds: 4, stoppedBy: 'round-limit' });
    expect(still.result.migrations).toBeUndefined();
    // The vCPU keeps its scheduling parameters on the destination.
    expect(moved.result.vms.find((v) => v.id === 'cpu')!.params).toEqual({ weight: 512 });
  });

  it('emits start, rounds, stop-and-copy and resume in order, each round at the previous round’s end', () => {
    const sum = moved.log.all().filter((e) => e.vm === 'sum' && e.kind.startsWith('migrate-'));
    expect(sum.map((e) => e.kind)).toEqual(['migrate-start', ...sum.slice(1, -2).map(() => 'migrate-round'), 'migrate-stop', 'migrate-resume']);
    expect(sum.slice(0, -1).every((e) => e.host === 'h0')).toBe(true);
    expect(sum[sum.length - 1].host).toBe('h1');
    const rounds = sum.filter((e) => e.kind === 'migrate-round' || e.kind === 'migrate-stop');
    for (let i = 1; i < rounds.length; i++) expect(rounds[i].timeNs).toBe(rounds[i - 1].timeNs + JSON.parse(rounds[i - 1].detail).ns);
    const stop = rounds[rounds.length - 1];
    expect(sum[sum.length - 1].timeNs).toBe(stop.timeNs + JSON.parse(stop.detail).ns);
    expect(migrationsOf(moved.log)).toEqual(moved.result.migrations);
  });
});

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`live migration over NATS${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let nats: NatsServer;
  let reference: SimResult;

  beforeAll(async () => {
    nats = await startNatsServer();
    reference = (await embedded(spec(true))).result;
  }, 120_000);

  afterAll(async () => {
    await nats?.stop();
  });

  it.each([[['n1']], [['n1', 'n2']]])(
    'gives the embedded results and hash with cpu-nodes %j',
    async (nodeIds) => {
      const buses = await Promise.all([0, 1, 2, ...nodeIds].map(() => NatsBus.connect({ servers: nats.url })));
      try {
        const out = await run(spec(true), buses, nodeIds, `mig-${nodeIds.length}`);
        expect(out.result.eventLogHash).toBe(reference.eventLogHash);
        expect(out.result).toEqual(reference);
      } finally {
        await Promise.all(buses.map((b) => b.close()));
      }
    },
    120_000,
  );

  it('gives the same hash on the remote trap path (every trap of a migrated VM then comes from its new cpu-node)', async () => {
    const buses = await Promise.all([0, 1, 2, 3, 4].map(() => NatsBus.connect({ servers: nats.url })));
    try {
      const out = await run({ ...spec(true), trapPath: 'remote' }, buses, ['n1', 'n2'], 'mig-remote');
      expect(out.result.eventLogHash).toBe(reference.eventLogHash);
      expect(out.log.all().some((e) => e.vm === 'sum' && e.host === 'h1' && e.path === 'remote')).toBe(true);
    } finally {
      await Promise.all(buses.map((b) => b.close()));
    }
  }, 120_000);
});

// Load balancing (issue 12 item 4): two CPU-bound programs on h0's one pCPU, h1 idle. At the first
// barrier h0's load is 2 (each wanted the whole period), h1's 0: a VM moves and both then run alone.
function balanced(): SimSpec {
  const prog = (id: string): VmSpec => ({
    id,
    host: 'h0',
    vcpus: 1,
    memoryBytes: 4 << 20,
    image: `${GUESTS_DIR}/rv32/bin/checksum.elf`,
    args: ['4'],
    kind: 'linux',
    engine: 'bt',
    sched: {},
  });
  return {
    name: 'balance',
    seed: 1,
    durationNs: 40e6,
    trapPath: 'split',
    scheduler: { policy: 'credit', params: {} },
    hosts: [
      { id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 },
      { id: 'h1', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 },
    ],
    vms: [prog('a'), prog('b')],
    network: { bandwidth: 256 << 20, latency: 20_000, links: [] },
    balancer: { periodNs: 2e6, threshold: 0.5 },
  };
}

describe('load balancing by live migration', () => {
  let unbalanced: Awaited<ReturnType<typeof embedded>>;
  let result: Awaited<ReturnType<typeof embedded>>;

  beforeAll(async () => {
    unbalanced = await embedded({ ...balanced(), balancer: undefined });
    result = await embedded(balanced());
  }, 120_000);

  it('moves one VM from the loaded host to the idle one, its decision an event, and nothing more', () => {
    const decisions = result.log.all().filter((e) => e.kind === 'balance');
    expect(decisions.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(decisions[0].detail)).toEqual({ loads: { h0: 2, h1: 0 }, threshold: 0.5, vm: 'a', from: 'h0', to: 'h1' });
    expect(decisions[0].timeNs).toBe(2e6);
    expect(result.result.migrations!.map((m) => [m.vm, m.from, m.to])).toEqual([['a', 'h0', 'h1']]);
    expect(unbalanced.result.migrations).toBeUndefined();
    // Each now has a pCPU of its own: both finish sooner, with the same output.
    for (const id of ['a', 'b']) {
      const before = unbalanced.result.vms.find((v) => v.id === id)!;
      const after = result.result.vms.find((v) => v.id === id)!;
      expect(after.console).toBe(before.console);
      expect(after.state).toBe('halted');
      expect(result.digests.get(id)).toBe(unbalanced.digests.get(id));
    }
    const waiting = (r: SimResult) => r.vms.reduce((s, v) => s + v.waitingNs, 0);
    expect(waiting(result.result)).toBeLessThan(waiting(unbalanced.result) / 2);
  });

  it('decides the same embedded and over NATS with 2 cpu-nodes', async () => {
    if (findNatsServer() === undefined && process.env.CI !== 'true') return;
    const nats = await startNatsServer();
    const buses = await Promise.all([0, 1, 2, 3, 4].map(() => NatsBus.connect({ servers: nats.url })));
    try {
      const out = await run(balanced(), buses, ['n1', 'n2'], 'balance-2');
      expect(out.result.eventLogHash).toBe(result.result.eventLogHash);
      expect(out.result).toEqual(result.result);
    } finally {
      await Promise.all(buses.map((b) => b.close()));
      await nats.stop();
    }
  }, 120_000);
});
