// The hypervisor's cost model is the scenario's (`costs:`, per host): it reaches the cpu-node (split
// path, translated calls, block translation) and the hypervisor service (remote path), and changing a
// figure changes virtual time by exactly what the model says.

import { resolve } from 'path';
import { COST_DEFAULTS, parseScenario } from '@vsim/scenario';
import { CpuNodeControlImpl, SimResult, SimSpec, VmSpec, runEmbedded, simSpecFromScenario } from '@vsim/control';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from '@vsim/hypervisor';
import { InProcessBroker } from '@vsim/bus';
import { EventLog } from '@vsim/proto';

const GUESTS = resolve(__dirname, '../../../guests/rv32');

function spec(image: string, technique: VmSpec['technique'], costs: Partial<HypervisorCosts>, trapPath: SimSpec['trapPath'] = 'split'): SimSpec {
  return {
    name: 'costs',
    seed: 1,
    durationNs: 200e6,
    trapPath,
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000, costs: { ...DEFAULT_HYPERVISOR_COSTS, ...costs } }],
    vms: [
      {
        id: 'g',
        host: 'h0',
        vcpus: 1,
        memoryBytes: 4 << 20,
        image: `${GUESTS}/bin/${image}`,
        args: [],
        kind: 'kernel',
        engine: 'bt',
        technique,
        sched: {},
      },
    ],
  };
}

/** Exits to the hypervisor (traps and hypercalls that left the guest; translated calls do not). */
const exitsOf = (log: EventLog) => log.all().filter((e) => (e.kind === 'trap' || e.kind === 'hypercall') && e.path !== 'translated').length;
const translatedOf = (log: EventLog) => log.all().filter((e) => e.path === 'translated').length;
const only = (r: { result: SimResult }) => r.result.vms[0];
/**
 * The guest's virtual time to shutdown: when its shutdown call was made (the halt event is stamped
 * there, before that last exit's own cost). The guest has its pCPU to itself, so this is exactly the
 * sum of what it executed and what its exits and calls cost.
 */
const shutdownNs = (r: { log: EventLog }) => {
  const halt = r.log.all().filter((e) => e.kind === 'halt');
  expect(halt).toHaveLength(1);
  return halt[0].timeNs;
};

describe('the cost model', () => {
  it('has the same defaults in the scenario format as in the runtime', () => {
    expect({ ...COST_DEFAULTS }).toEqual({ ...DEFAULT_HYPERVISOR_COSTS });
  });

  it('comes from the scenario: top-level costs, and a host overriding some keys', () => {
    const s = parseScenario(
      [
        'duration: 1ms',
        'costs: { exit: 1500, translatedCall: 60 }',
        'hosts:',
        '  - { id: a, pcpus: 1 }',
        '  - { id: b, pcpus: 1, costs: { exit: 300, emulate: 80 } }',
        'vms:',
        `  - { id: v, memory: 4MiB, image: ${GUESTS}/bin/sbi-hello.elf, host: a }`,
      ].join('\n'),
    );
    const sim = simSpecFromScenario(s);
    expect(sim.hosts[0].costs).toEqual({ ...DEFAULT_HYPERVISOR_COSTS, exit: 1500, translatedCall: 60 });
    expect(sim.hosts[1].costs).toEqual({ ...DEFAULT_HYPERVISOR_COSTS, exit: 300, translatedCall: 60, emulate: 80 });
  });

  it('rejects a bad cost in the scenario, naming the key', () => {
    const bad = (yaml: string) => () =>
      parseScenario(`duration: 1ms\n${yaml}\nhosts: [{ id: a, pcpus: 1 }]\nvms: [{ id: v, memory: 4MiB, image: ${GUESTS}/bin/sbi-hello.elf }]`);
    expect(bad('costs: { exit: -1 }')).toThrow(/costs\.exit: expected a non-negative integer, got -1/);
    expect(bad('costs: { exitt: 5 }')).toThrow(/costs\.exitt: unknown key; did you mean exit\?/);
  });

  // A guest kernel whose work does not depend on time (no timer): the same exits happen whatever
  // they cost, so its virtual time to shutdown grows by exactly exits × delta (the shutdown call's
  // own exit comes after that instant). On the remote path the hypervisor service charges them, with
  // the costs RegisterVm gave it.
  it.each([
    ['sbi-compute.elf', 'split'],
    ['sbi-hello.elf', 'split'],
    ['sbi-hello.elf', 'remote'],
  ] as const)('doubling the exit cost adds exactly delta per exit to a trap-and-emulate kernel (%s, %s path)', async (image, trapPath) => {
    const base = await runEmbedded(spec(image, 'trap-and-emulate', { exit: 1000 }, trapPath));
    const doubled = await runEmbedded(spec(image, 'trap-and-emulate', { exit: 2000 }, trapPath));
    const exits = exitsOf(base.log);
    expect(exits).toBeGreaterThan(10);
    expect(exitsOf(doubled.log)).toBe(exits);
    expect(only(doubled).instructions).toBe(only(base).instructions);
    expect(shutdownNs(doubled) - shutdownNs(base)).toBe((exits - 1) * 1000);
    expect(only(doubled).console).toBe(only(base).console);
  });

  it('charges translated calls, not exits, under binary translation', async () => {
    // (No block translation charge: it would move slice boundaries, hence where blocks start.)
    const base = await runEmbedded(spec('sbi-hello.elf', 'binary-translation', { translatedCall: 40, translateBlock: 0 }));
    const dearer = await runEmbedded(spec('sbi-hello.elf', 'binary-translation', { translatedCall: 140, translateBlock: 0 }));
    const calls = translatedOf(base.log);
    expect(calls).toBeGreaterThan(0);
    expect(shutdownNs(dearer) - shutdownNs(base)).toBe(calls * 100);
    const values = new Set(
      dearer.log
        .all()
        .filter((e) => e.path === 'translated')
        .map((e) => e.value - DEFAULT_HYPERVISOR_COSTS.emulate),
    );
    expect([...values]).toEqual([140]);
  });

  it('charges block translation to a binary-translated kernel only', async () => {
    const cheap = await runEmbedded(spec('sbi-hello.elf', 'binary-translation', { translateBlock: 0 }));
    const dear = await runEmbedded(spec('sbi-hello.elf', 'binary-translation', { translateBlock: 1000 }));
    // A whole number of blocks, give or take a few cycles: the extra time moves slice boundaries,
    // and where a slice stops decides where vsim's translator starts its next block.
    const delta = shutdownNs(dear) - shutdownNs(cheap);
    const blocks = Math.round(delta / 1000);
    expect(blocks).toBeGreaterThan(5);
    expect(Math.abs(delta - blocks * 1000)).toBeLessThan(100);
    const tae = await runEmbedded(spec('sbi-hello.elf', 'trap-and-emulate', { translateBlock: 0 }));
    const tae2 = await runEmbedded(spec('sbi-hello.elf', 'trap-and-emulate', { translateBlock: 1000 }));
    expect(shutdownNs(tae2)).toBe(shutdownNs(tae));
  });

  it('is refused by a cpu-node when a cost or an expansion factor is out of range, naming it', async () => {
    const broker = new InProcessBroker();
    const bus = broker.connect();
    const node = new CpuNodeControlImpl(bus, { nodeId: 'n' });
    const req = { sim: 's', host: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000, trapPath: 'split' };
    await expect(node.createHost({ ...req, costs: { exit: 2e9 }, expansion: {} })).rejects.toThrow(
      /host h0: costs\.exit: expected an integer number of cycles 0\.\.1000000000, got 2000000000/,
    );
    await expect(node.createHost({ ...req, costs: undefined, expansion: { jit: 3 } })).rejects.toThrow(
      /host h0: expansion: costs\.expansion\.jit: unknown engine/,
    );
    await bus.close();
  });
});
