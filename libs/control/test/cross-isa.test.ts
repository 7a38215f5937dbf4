// ring32 VMs and vCPUs of another ISA in the real runtime (issue 6, item 5 and the techniques in
// scenarios): the scenario's hosts[].isa / vms[].isa / technique code-patching / costs.expansion
// reach the host executor; a ring32 VM runs under each technique with its exits in the event log;
// a VM whose ISA is not its host's is emulated and charged x the engine's expansion factor.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { Server, ServerCredentials, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { NATS_SERVER_MISSING, NatsBus, NatsServer, findNatsServer, startNatsServer } from '@vsim/bus';
import { CpuNodeControlService, Event, HypervisorControlService, SchedulerControlService } from '@vsim/proto';
import { EXPANSION_DEFAULTS, loadScenario, parseScenario, ScenarioError } from '@vsim/scenario';
import {
  Coordinator,
  CpuNodeControlImpl,
  HypervisorControlImpl,
  SchedulerControlImpl,
  SimSpec,
  VmResult,
  VmSpec,
  cpuNodeControlServer,
  grpcControlPlane,
  hypervisorControlServer,
  runEmbedded,
  schedulerControlServer,
  simSpecFromScenario,
} from '@vsim/control';
import { BT_EXPANSION, DEFAULT_EXPANSION_FACTORS, MEASURED_RATIO_TO_BT } from '@vsim/executor';
import { ENGINE_NAMES } from '@vsim/vocabulary';
import { Ring32Vm } from '@vsim/hypervisor';

const ROOT = resolve(__dirname, '../../..');
const KERNEL = `${ROOT}/guests/ring32/bin/kernel.elf`;
const KERNEL_PV = `${ROOT}/guests/ring32/bin/kernel-pv.elf`;
const CHECKSUM = `${ROOT}/guests/rv32/bin/checksum.elf`;
const CLOCK_HZ = 1e9;
const QUANTUM_NS = 10_000;
const RING32_TECHNIQUES = ['native', 'trap-and-emulate', 'code-patching', 'binary-translation', 'paravirt'] as const;

function ring32Vm(id: string, host: string, technique: VmSpec['technique'], engine: VmSpec['engine'] = 'bt'): VmSpec {
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

function checksumVm(id: string, host: string, engine: VmSpec['engine']): VmSpec {
  return { id, host, vcpus: 1, memoryBytes: 16 << 20, image: CHECKSUM, args: ['1'], kind: 'linux', engine, technique: 'paravirt', sched: {} };
}

function spec(vms: VmSpec[], hosts: { id: string; isa: 'rv32' | 'ring32' }[]): SimSpec {
  return {
    name: 'cross-isa',
    seed: 1,
    durationNs: 40e6,
    trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    // One pCPU per VM on each host: a VM's CPU time is what it was charged.
    hosts: hosts.map((h) => ({ id: h.id, isa: h.isa, pcpus: vms.filter((v) => v.host === h.id).length, clockHz: CLOCK_HZ, quantumNs: QUANTUM_NS })),
    vms,
  };
}

const TWO_HOSTS = [
  { id: 'rv', isa: 'rv32' as const },
  { id: 'r32', isa: 'ring32' as const },
];

/** The cycles the hypervisor's work added to a VM: the value of its trap and hypercall events. */
function exitCycles(events: readonly Event[], vm: string): number {
  return events.filter((e) => e.vm === vm && (e.kind === 'trap' || e.kind === 'hypercall')).reduce((a, e) => a + e.value, 0);
}

/**
 * The cycles a VM's guest itself ran, from its start at 0 on a pCPU of its own to its power-off:
 * the time of its halt event less what the exits before it cost. (Its CPU time would do, but the
 * last slice's overrun — the power-off's own cost — is not charged to a VM that ended.)
 */
function guestCycles(events: readonly Event[], vm: string): number {
  const mine = events.filter((e) => e.vm === vm);
  const halt = mine.find((e) => e.kind === 'halt')!;
  const exits = mine.filter((e) => e.kind === 'trap' || e.kind === 'hypercall');
  expect(exits[exits.length - 1].timeNs).toBe(halt.timeNs); // the last exit is the power-off
  return (halt.timeNs * CLOCK_HZ) / 1e9 - exits.slice(0, -1).reduce((a, e) => a + e.value, 0);
}

/**
 * The library's Ring32Vm run the way a host with one pCPU for it runs it: lockstep quanta of
 * QUANTUM_NS (the overrun of one paid in the next), and HLT blocking the vCPU until its timer.
 */
function runLikeHost(vm: Ring32Vm): void {
  const h = vm.hart;
  const q = (QUANTUM_NS * CLOCK_HZ) / 1e9;
  let carried = h.cycles; // code patching's first scan, paid in the first slice as on a host
  for (;;) {
    const start = h.cycles;
    const budget = q - carried;
    const stop = budget > 0 ? vm.runSlice(budget) : 'budget';
    carried = Math.max(0, h.cycles - start - budget);
    if (stop === 'exit' || stop === 'fault') return;
    if (stop === 'wfi') {
      h.cycles += vm.cyclesUntilTimer();
      carried = 0;
    }
  }
}

describe('ring32 VMs in a scenario', () => {
  let results: Map<string, VmResult>;
  let events: readonly Event[];
  beforeAll(async () => {
    // Each technique on the ring32 host, and code patching emulated on the rv32 host too.
    const vms = [...RING32_TECHNIQUES.map((t) => ring32Vm(t, 'r32', t)), ring32Vm('cp-emu', 'rv', 'code-patching', 'dispatch')];
    const { result, log } = await runEmbedded(spec(vms, TWO_HOSTS));
    results = new Map(result.vms.map((v) => [v.id, v]));
    events = log.all();
  }, 60_000);

  it.each(RING32_TECHNIQUES)('%s: same console, exits and cycles as the library run the same way', (t) => {
    const lib = new Ring32Vm(readFileSync(t === 'paravirt' ? KERNEL_PV : KERNEL), { technique: t, engine: 'bt' });
    runLikeHost(lib);
    const r = lib.run(0); // nothing left to run: the result as it stands
    const vm = results.get(t)!;
    expect(vm.state).toBe('halted');
    expect(vm.exitStatus).toBe(0);
    expect(vm.console).toBe(r.console);
    expect(vm.cpuNs).toBe(r.cycles - vm.blockedNs);
    // Every exit and translated call is one event, counted in the summary by routine.
    const counts: Record<string, number> = {};
    for (const [k, n] of [...Object.entries(r.exits), ...Object.entries(r.translatedCalls)]) counts[k] = (counts[k] ?? 0) + n;
    if (t === 'binary-translation') counts['r32.out.exit'] = (counts['r32.out.exit'] ?? 0) + 1; // power-off from translated code (not in translatedCalls)
    expect(vm.exits).toEqual(counts);
  });

  it("on an rv32 host: the library Ring32Vm with the dispatch engine's expansion, to the cycle", () => {
    const lib = new Ring32Vm(readFileSync(KERNEL), { technique: 'code-patching', engine: 'dispatch', expansion: DEFAULT_EXPANSION_FACTORS.dispatch });
    runLikeHost(lib);
    const r = lib.run(0);
    const vm = results.get('cp-emu')!;
    expect(vm.console).toBe(results.get('native')!.console);
    expect(vm.cpuNs).toBe(r.cycles - vm.blockedNs);
    expect(vm.instructions).toBe(r.instructions);
  });

  it('logs each exit with its routine, route and path', () => {
    const of = (vm: string, cause: string) => events.filter((e) => e.vm === vm && e.cause === cause);
    expect(of('code-patching', 'r32.patch.pushf').length).toBeGreaterThan(0);
    expect(of('code-patching', 'r32.patch.pushf').every((e) => e.kind === 'trap' && e.route === 'interpreter' && e.path === 'local')).toBe(true);
    expect(of('binary-translation', 'r32.pushf').every((e) => e.path === 'translated')).toBe(true);
    expect(of('binary-translation', 'r32.pushf').length).toBeGreaterThan(0);
    expect(of('paravirt', 'r32.hcall.console').every((e) => e.kind === 'hypercall')).toBe(true);
    for (const t of RING32_TECHNIQUES.filter((x) => x !== 'native')) {
      const off = events.filter((e) => e.vm === t && (e.cause === 'r32.out.exit' || e.cause === 'r32.hcall.shutdown'));
      expect(off.map((e) => e.route)).toEqual(['allocator']); // the VM's lifecycle is the allocator's
    }
    expect(events.filter((e) => e.vm === 'native' && (e.kind === 'trap' || e.kind === 'hypercall'))).toEqual([]);
    expect(results.get('code-patching')!.exitRoutes['trap r32.patch.smsw interpreter/exit']).toBeGreaterThan(0);
  });

  it('plain trap-and-emulate diverges from native (the critical instructions), the cures do not', () => {
    const native = results.get('native')!.console;
    const tae = results.get('trap-and-emulate')!.console;
    expect(tae).not.toBe(native);
    expect(tae).toContain('running in ring 1');
    expect(tae).toContain('NO timer interrupt');
    for (const t of ['code-patching', 'binary-translation', 'paravirt']) expect(results.get(t)!.console).toBe(native);
  });
});

describe('vCPUs of another ISA', () => {
  it('runs the example: each emulated VM prints what its same-ISA twin prints, in more virtual time', async () => {
    const { result, log } = await runEmbedded(simSpecFromScenario(loadScenario(`${ROOT}/examples/cross-isa.yaml`)));
    const vm = new Map(result.vms.map((v) => [v.id, v]));
    for (const v of result.vms) expect([v.id, v.state, v.exitStatus]).toEqual([v.id, 'halted', 0]);
    const pairs: [string, number][] = [
      ['r32k-native', 14],
      ['r32k-cp', 4],
      ['rvk-native', 4],
      ['rv-checksum', 8],
    ];
    for (const [id, factor] of pairs) {
      const direct = vm.get(id)!;
      const emulated = vm.get(`${id}-emu`)!;
      expect(emulated.console).toBe(direct.console);
      expect(emulated.console.length).toBeGreaterThan(0);
      // What the hypervisor does is not multiplied; what the guest ran is, by the factor.
      const guest = (v: VmResult) => v.cpuNs - exitCycles(log.all(), v.id);
      const ratio = guest(emulated) / guest(direct);
      // A kernel sees its timer tick more often when it runs slower (more tick handlers): within 10 %.
      expect(ratio).toBeGreaterThanOrEqual(factor * 0.98);
      expect(ratio).toBeLessThan(factor * 1.1);
    }
    // The ring32 kernel under plain trap-and-emulate is the one that does not match native.
    expect(vm.get('r32k-tae')!.console).not.toBe(vm.get('r32k-native')!.console);
    expect(vm.get('r32k-cp')!.console).toBe(vm.get('r32k-native')!.console);
  }, 60_000);

  it('charges each guest cycle exactly x the expansion factor (a timing-independent rv32 program on a ring32 host)', async () => {
    for (const engine of ['dispatch', 'direct'] as const) {
      const { result, log } = await runEmbedded(spec([checksumVm('same', 'rv', engine), checksumVm('other', 'r32', engine)], TWO_HOSTS));
      const [same, other] = result.vms;
      expect(other.console).toBe(same.console);
      expect(other.instructions).toBe(same.instructions);
      expect(other.blockedNs + same.blockedNs).toBe(0);
      expect(guestCycles(log.all(), 'other')).toBe(guestCycles(log.all(), 'same') * DEFAULT_EXPANSION_FACTORS[engine]);
      const first = (vm: string) => log.all().find((e) => e.vm === vm && (e.kind === 'trap' || e.kind === 'hypercall'))!.timeNs;
      expect(first('other')).toBe(first('same') * DEFAULT_EXPANSION_FACTORS[engine]);
    }
  }, 60_000);

  it('takes costs.expansion from the scenario, per engine', async () => {
    const yaml = `duration: 40ms
costs:
  expansion: { direct: 3 }
hosts: [{ id: rv, pcpus: 1 }, { id: r32, pcpus: 1, isa: ring32 }]
vms:
  - { id: same, host: rv, memory: 16MiB, image: ${CHECKSUM}, kind: linux, args: ['1'], engine: direct }
  - { id: other, host: r32, memory: 16MiB, image: ${CHECKSUM}, kind: linux, args: ['1'], engine: direct }
`;
    const s = parseScenario(yaml);
    expect(s.hosts[1].expansion).toEqual({ ...EXPANSION_DEFAULTS, direct: 3 });
    const { result, log } = await runEmbedded(simSpecFromScenario(s));
    const [same, other] = result.vms;
    expect(other.console).toBe(same.console);
    expect(guestCycles(log.all(), 'other')).toBe(3 * guestCycles(log.all(), 'same'));
  }, 60_000);

  it('the scenario format defaults agree with the runtime', () => {
    expect(EXPANSION_DEFAULTS).toEqual(DEFAULT_EXPANSION_FACTORS);
    // The defaults are the translator's factor times each engine's measured speed ratio, rounded.
    for (const e of ENGINE_NAMES) expect(DEFAULT_EXPANSION_FACTORS[e]).toBe(Math.round(BT_EXPANSION * MEASURED_RATIO_TO_BT[e]));
  });
});

describe('the scenario fields', () => {
  const hosts = 'hosts: [{ id: h0, pcpus: 1 }]\n';
  const issues = (yaml: string) => {
    try {
      parseScenario(`duration: 1ms\n${hosts}${yaml}`);
      return [];
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      return e.issues.map((i) => `${i.path}: ${i.message}`);
    }
  };

  it("infers a VM's ISA from its image's ELF e_machine", () => {
    const s = parseScenario(
      `duration: 1ms\n${hosts}vms:\n  - { id: a, memory: 1MiB, image: ${KERNEL} }\n  - { id: b, memory: 16MiB, image: ${CHECKSUM}, kind: linux }\n`,
    );
    expect(s.vms.map((v) => v.isa)).toEqual(['ring32', 'rv32']);
  });

  it('names the field when isa and the image disagree, and code-patching on rv32', () => {
    expect(issues(`vms:\n  - { id: a, memory: 1MiB, image: ${KERNEL}, isa: rv32 }\n`)).toEqual([
      expect.stringMatching(/^vms\[0\]\.isa: isa rv32 disagrees with the image, whose ELF e_machine is 21042 \(0x5232\): a ring32 executable/),
    ]);
    expect(issues(`vms:\n  - { id: a, memory: 16MiB, image: ${CHECKSUM}, kind: linux, technique: code-patching }\n`)).toEqual([
      expect.stringMatching(
        /^vms\[0\]\.technique: technique code-patching patches the critical instructions of a ring32 kernel; this VM is rv32 \(from its image\)/,
      ),
    ]);
    expect(issues(`vms:\n  - { id: a, memory: 1MiB, image: ${KERNEL}, vcpus: 2 }\n`)).toEqual([
      'vms[0].vcpus: a ring32 VM has exactly one vCPU (got 2)',
    ]);
    expect(issues(`costs: { expansion: { jit: 2 } }\nvms:\n  - { id: a, memory: 1MiB, image: ${KERNEL} }\n`)).toEqual([
      expect.stringMatching(/^costs\.expansion\.jit: unknown key/),
    ]);
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

const noNats = findNatsServer() === undefined && process.env.CI !== 'true';

(noNats ? describe.skip : describe)(
  `determinism: embedded and distributed (NATS + gRPC, two cpu-nodes)${noNats ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`,
  () => {
    let nats: NatsServer;
    const buses: NatsBus[] = [];
    const servers: Server[] = [];
    afterAll(async () => {
      for (const s of servers) s.forceShutdown();
      await Promise.all(buses.map((b) => b.close()));
      await nats?.stop();
    });

    it('gives the same results and event-log hash for ring32 and cross-ISA VMs', async () => {
      const s = spec(
        [
          ring32Vm('cp-emu', 'rv', 'code-patching', 'dispatch'),
          ring32Vm('bt', 'r32', 'binary-translation'),
          ring32Vm('pv', 'r32', 'paravirt', 'direct'),
          checksumVm('chk-emu', 'r32', 'indirect'),
        ],
        TWO_HOSTS,
      );
      const embedded = await runEmbedded(s);
      nats = await startNatsServer();
      const connect = async () => {
        const b = await NatsBus.connect({ servers: nats.url });
        buses.push(b);
        return b;
      };
      const nodes = [new CpuNodeControlImpl(await connect(), { nodeId: 'n1' }), new CpuNodeControlImpl(await connect(), { nodeId: 'n2' })];
      const hv = await serve(HypervisorControlService, hypervisorControlServer(new HypervisorControlImpl(await connect(), { instance: 'hv-x' })));
      const sched = await serve(SchedulerControlService, schedulerControlServer(new SchedulerControlImpl(await connect())));
      const nodeS = await Promise.all(nodes.map((n) => serve(CpuNodeControlService, cpuNodeControlServer(n))));
      servers.push(hv.server, sched.server, ...nodeS.map((n) => n.server));
      const control = grpcControlPlane({
        hypervisor: hv.address,
        scheduler: sched.address,
        nodes: new Map(nodes.map((n, i) => [n.nodeId, nodeS[i].address])),
      });
      try {
        const out = await new Coordinator(control, await connect()).run(s, 'cross-isa-distributed');
        expect(out.result).toEqual(embedded.result);
        expect(out.result.eventLogHash).toBe(embedded.result.eventLogHash);
        expect(out.result.vms.every((v) => v.state === 'halted')).toBe(true);
      } finally {
        control.close();
      }
    }, 120_000);
  },
);
