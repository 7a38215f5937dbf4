// The runtime end to end in one process, on the in-process bus: guests execute, the hypervisor
// answers their traps, the round-robin loop shares the pCPUs, and the event log hashes the same
// however the traps travel.

import { resolve } from 'path';
import { runEmbedded, SimSpec, VmSpec } from '@vsim/control';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');

function linuxVm(id: string, image: string, args: string[] = []): VmSpec {
  return { id, host: 'h0', vcpus: 1, memoryBytes: 16 << 20, image: `${BIN}/${image}`, args, kind: 'linux', engine: 'bt', sched: {} };
}

function spec(vms: VmSpec[], over: Partial<SimSpec> = {}): SimSpec {
  return {
    name: 'test',
    seed: 1,
    durationNs: 100e6,
    trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 1e6 } },
    hosts: [{ id: 'h0', pcpus: 2, clockHz: 1e9, quantumNs: 10_000 }],
    vms,
    ...over,
  };
}

const WORKLOAD = () => [linuxVm('hello', 'hello.elf', ['x']), linuxVm('sum', 'checksum.elf', ['1']), linuxVm('mat', 'matmul.elf', ['2'])];

describe('embedded runtime', () => {
  it('runs Linux user programs as VMs whose system calls the hypervisor emulates', async () => {
    const { result } = await runEmbedded(spec(WORKLOAD()));
    const hello = result.vms.find((v) => v.id === 'hello')!;
    expect(hello.state).toBe('halted');
    expect(hello.exitStatus).toBe(0);
    expect(hello.console).toContain('Hello from rv32 guest!');
    expect(hello.exits['linux.write']).toBeGreaterThan(0);
    const sum = result.vms.find((v) => v.id === 'sum')!;
    expect(sum.console).toContain('crc32=c510562f');
    expect(sum.instructions).toBe(1655400);
    // Three VMs on two pCPUs: the CPU time handed out never exceeds the host's capacity.
    const end = result.hosts[0].endNs;
    const total = result.vms.reduce((a, v) => a + v.cpuNs, 0);
    expect(total).toBeLessThanOrEqual(2 * end);
    expect(total).toBeGreaterThan(0);
  });

  it('gives the same results and event-log hash on every run and on both trap paths', async () => {
    const a = await runEmbedded(spec(WORKLOAD()));
    const b = await runEmbedded(spec(WORKLOAD()));
    const c = await runEmbedded(spec(WORKLOAD(), { trapPath: 'remote' }));
    expect(b.result).toEqual(a.result);
    expect(c.result.eventLogHash).toBe(a.result.eventLogHash);
    expect(c.result.vms).toEqual(a.result.vms);
    // On the split path write() is handled locally; on remote every trap crosses the bus.
    expect(a.log.all().filter((e) => e.path === 'local').length).toBeGreaterThan(0);
    expect(c.log.all().filter((e) => e.path === 'local').length).toBe(0);
  });

  it('stops only the VM that faults; the others compute exactly what they compute without it', async () => {
    const without = await runEmbedded(spec(WORKLOAD()));
    const withBad = await runEmbedded(spec([...WORKLOAD(), linuxVm('bad', 'fault.elf')]));
    const bad = withBad.result.vms.find((v) => v.id === 'bad')!;
    expect(bad.state).toBe('faulted');
    expect(bad.fault).toMatch(/illegal instruction at pc 0x[0-9a-f]+ \(instruction 0x00000000\)/);
    for (const v of without.result.vms) {
      const w = withBad.result.vms.find((x) => x.id === v.id)!;
      expect({ console: w.console, instructions: w.instructions, state: w.state, exitStatus: w.exitStatus }).toEqual({
        console: v.console,
        instructions: v.instructions,
        state: v.state,
        exitStatus: v.exitStatus,
      });
    }
    expect(withBad.log.all().some((e) => e.kind === 'fault' && e.vm === 'bad')).toBe(true);
  });

  it('shares one pCPU fairly between two CPU-bound VMs under round robin', async () => {
    const s = spec([linuxVm('a', 'checksum.elf', ['50']), linuxVm('b', 'checksum.elf', ['50'])], {
      durationNs: 40e6,
      hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 }],
    });
    const { result } = await runEmbedded(s);
    const [a, b] = result.vms;
    expect(a.state).toBe('running');
    expect(Math.abs(a.hostShare - b.hostShare)).toBeLessThan(0.05);
    expect(a.hostShare + b.hostShare).toBeGreaterThan(0.95);
    expect(a.waitingNs).toBeGreaterThan(0);
  });
});
