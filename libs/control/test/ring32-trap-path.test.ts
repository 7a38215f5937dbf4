// ring32 exits on both trap paths (architecture §5): on `split` the cpu-node runs the ring32
// routines in-process through the dispatcher; on `remote` every exit goes to the hypervisor service
// as a TrapRequest with a Ring32Cpu — over the in-process broker embedded, over a real nats-server
// distributed — and the results are the same: consoles, exits by routine, the event-log hash.

import { resolve } from 'path';
import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { CpuNodeControlService, Event, HypervisorControlService, SchedulerControlService } from '@vsim/proto';
import {
  Coordinator,
  CpuNodeControlImpl,
  HypervisorControlImpl,
  SchedulerControlImpl,
  SimResult,
  SimSpec,
  VmSpec,
  cpuNodeControlServer,
  grpcControlPlane,
  hypervisorControlServer,
  runEmbedded,
  schedulerControlServer,
  simSpecFromScenario,
} from '@vsim/control';
import { loadScenario } from '@vsim/scenario';

const ROOT = resolve(__dirname, '../../..');
const KERNEL = `${ROOT}/guests/ring32/bin/kernel.elf`;
const KERNEL_PV = `${ROOT}/guests/ring32/bin/kernel-pv.elf`;

function ring32Vm(id: string, host: string, technique: VmSpec['technique'], engine: VmSpec['engine']): VmSpec {
  return {
    id,
    host,
    vcpus: 1,
    memoryBytes: 1 << 20,
    image: technique === 'paravirt' ? KERNEL_PV : KERNEL,
    args: [],
    kind: 'kernel',
    engine,
    technique,
    isa: 'ring32',
    sched: {},
  };
}

/** Every ring32 technique on a ring32 host (several engines), and emulated on an rv32 host. */
const VMS: VmSpec[] = [
  ring32Vm('native', 'r32', 'native', 'bt'),
  ring32Vm('emulation', 'r32', 'emulation', 'dispatch'),
  ring32Vm('tae', 'r32', 'trap-and-emulate', 'bt'),
  ring32Vm('cp', 'r32', 'code-patching', 'direct'),
  ring32Vm('bt', 'r32', 'binary-translation', 'bt'),
  ring32Vm('pv', 'r32', 'paravirt', 'indirect'),
  ring32Vm('cp-emu', 'rv', 'code-patching', 'dispatch'),
  ring32Vm('pv-emu', 'rv', 'paravirt', 'bt'),
];

function spec(trapPath: SimSpec['trapPath']): SimSpec {
  const hosts = [
    { id: 'rv', isa: 'rv32' as const },
    { id: 'r32', isa: 'ring32' as const },
  ];
  return {
    name: 'ring32-trap-path',
    seed: 7,
    durationNs: 40e6,
    trapPath,
    // Two VMs per pCPU, so exits interleave with scheduling decisions.
    scheduler: { policy: 'credit', params: {} },
    hosts: hosts.map((h) => ({
      id: h.id,
      isa: h.isa,
      pcpus: Math.ceil(VMS.filter((v) => v.host === h.id).length / 2),
      clockHz: 1e9,
      quantumNs: 10_000,
    })),
    vms: VMS,
  };
}

/** What must not depend on the trap path: per VM its console, state, exits by routine, CPU time. */
function outcome(r: SimResult) {
  return {
    hash: r.eventLogHash,
    vms: r.vms.map((v) => ({ id: v.id, state: v.state, exitStatus: v.exitStatus, console: v.console, exits: v.exits, cpuNs: v.cpuNs })),
  };
}

/** The paths ring32 exits took, per VM: e.g. { tae: ['remote'], bt: ['remote', 'translated'] }. */
function paths(events: readonly Event[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const e of events) if (e.kind === 'trap' || e.kind === 'hypercall') (out[e.vm] ??= new Set()).add(e.path);
  return Object.fromEntries(Object.entries(out).map(([vm, s]) => [vm, [...s].sort()]));
}

describe('ring32 exits on the split and remote trap paths', () => {
  let split: { result: SimResult; log: { all(): readonly Event[] } };
  beforeAll(async () => {
    split = await runEmbedded(spec('split'));
  }, 120_000);

  it('runs every technique to its power-off on split, exits resolved in-process', () => {
    for (const v of split.result.vms) expect([v.id, v.state, v.exitStatus]).toEqual([v.id, 'halted', 0]);
    expect(paths(split.log.all())).toEqual({
      tae: ['local'],
      cp: ['local'],
      bt: ['local', 'translated'],
      pv: ['local'],
      'cp-emu': ['local'],
      'pv-emu': ['local'],
    });
  });

  it('gives the same results on remote (embedded: the hypervisor service on the in-process broker)', async () => {
    const remote = await runEmbedded(spec('remote'));
    expect(outcome(remote.result)).toEqual(outcome(split.result));
    // Every exit went to the service; translated calls are no exits and stay in the cpu-node.
    expect(paths(remote.log.all())).toEqual({
      tae: ['remote'],
      cp: ['remote'],
      bt: ['remote', 'translated'],
      pv: ['remote'],
      'cp-emu': ['remote'],
      'pv-emu': ['remote'],
    });
  }, 120_000);

  it('gives the same event-log hash and consoles for examples/cross-isa.yaml on both paths', async () => {
    const example = simSpecFromScenario(loadScenario(`${ROOT}/examples/cross-isa.yaml`));
    expect(example.trapPath).toBe('split');
    const [a, b] = [await runEmbedded(example), await runEmbedded({ ...example, trapPath: 'remote' })];
    expect(outcome(b.result)).toEqual(outcome(a.result));
    expect(paths(b.log.all())['r32k-cp']).toEqual(['remote']);
  }, 120_000);

  const noNats = findNatsServer() === undefined && process.env.CI !== 'true';
  (noNats ? describe.skip : describe)(`distributed (NATS + gRPC, two cpu-nodes)${noNats ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
    let nats: NatsServer;
    const buses: NatsBus[] = [];
    const servers: Server[] = [];
    afterAll(async () => {
      for (const s of servers) s.forceShutdown();
      await Promise.all(buses.map((b) => b.close()));
      await nats?.stop();
    });

    it('gives the same results and event-log hash on remote, every exit through the hypervisor service over NATS', async () => {
      nats = await startNatsServer();
      const connect = async () => {
        const b = await NatsBus.connect({ servers: nats.url });
        buses.push(b);
        return b;
      };
      const nodes = [new CpuNodeControlImpl(await connect(), { nodeId: 'n1' }), new CpuNodeControlImpl(await connect(), { nodeId: 'n2' })];
      const hvImpl = new HypervisorControlImpl(await connect(), { instance: 'hv-r32' });
      const hv = await serve(HypervisorControlService, hypervisorControlServer(hvImpl));
      const sched = await serve(SchedulerControlService, schedulerControlServer(new SchedulerControlImpl(await connect())));
      const nodeS = await Promise.all(nodes.map((n) => serve(CpuNodeControlService, cpuNodeControlServer(n))));
      servers.push(hv.server, sched.server, ...nodeS.map((n) => n.server));
      const control = grpcControlPlane({
        hypervisor: hv.address,
        scheduler: sched.address,
        nodes: new Map(nodes.map((n, i) => [n.nodeId, nodeS[i].address])),
      });
      try {
        const out = await new Coordinator(control, await connect()).run(spec('remote'), 'ring32-remote');
        expect(outcome(out.result)).toEqual(outcome(split.result));
        // The cpu-nodes sent their exits over the bus: as many as the split run resolved in-process.
        const local = split.log.all().filter((e) => (e.kind === 'trap' || e.kind === 'hypercall') && e.path === 'local').length;
        expect(local).toBeGreaterThan(1000);
        const counted = await Promise.all(nodes.map(async (n) => Number((await n.status()).counters.remoteTraps ?? 0)));
        const sent = counted.reduce((a, n) => a + n, 0);
        expect(sent).toBe(local);
      } finally {
        control.close();
      }
    }, 180_000);
  });
});

async function serve(definition: ServiceDefinition, implementation: UntypedServiceImplementation): Promise<{ server: Server; address: string }> {
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : ok(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}
