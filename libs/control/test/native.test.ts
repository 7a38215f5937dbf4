// `technique: native`: a VM whose image is a whole machine (the M-mode firmware of guests/rv32/firmware
// linked with the kernel) runs on its pCPU with no hypervisor: real M/S/U modes, its own CLINT and
// console. It is the baseline of every overhead figure, inside the same scenario as the techniques
// it is compared with — and it must be the bare machine exactly (libs/isa BareMachine, which
// bench/virt.ts has used for the native column).

import { existsSync, readFileSync } from 'fs';
import { resolve } from 'path';
import { BareMachine } from '@vsim/isa';
import { loadScenario, parseScenario } from '@vsim/scenario';
import { SimSpec, VmSpec, runEmbedded, simSpecFromScenario } from '@vsim/control';

const GUESTS = resolve(__dirname, '../../../guests/rv32');
const CLOCK_HZ = 1e9;

function vm(id: string, image: string, technique: VmSpec['technique']): VmSpec {
  return {
    id,
    host: 'h0',
    vcpus: 1,
    memoryBytes: 16 << 20,
    image: `${GUESTS}/bin/${image}`,
    args: [],
    kind: 'kernel',
    engine: 'bt',
    technique,
    sched: {},
  };
}

function spec(vms: VmSpec[], pcpus = 1): SimSpec {
  return {
    name: 'native',
    seed: 1,
    durationNs: 1e9,
    trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus, clockHz: CLOCK_HZ, quantumNs: 10_000 }],
    vms,
  };
}

describe.each(['syscall', 'timer', 'io'])('technique native, kernel %s workload', (w) => {
  const image = `native-kernel-${w}.elf`;

  it('is the bare machine exactly: same console, instructions, and virtual time to shutdown', async () => {
    const bare = new BareMachine(readFileSync(`${GUESTS}/bin/${image}`), { engine: 'bt' });
    const ref = bare.run();
    expect(ref.outcome).toBe('pass');
    const { result, log } = await runEmbedded(spec([vm('n', image, 'native')]));
    const n = result.vms[0];
    expect(n.state).toBe('halted');
    expect(n.exitStatus).toBe(0);
    expect(n.console).toBe(bare.consoleOutput);
    const golden = `${GUESTS}/expected/native-kernel-${w}.txt`;
    if (existsSync(golden)) expect(n.console).toBe(readFileSync(golden, 'utf8'));
    expect(n.instructions).toBe(ref.instructions);
    const halt = log.all().find((e) => e.kind === 'halt' && e.vm === 'n')!;
    expect(halt.timeNs).toBe(Math.round((ref.cycles * 1e9) / CLOCK_HZ));
    // No hypervisor: nothing exits, whatever the kernel does with its timer and its devices.
    expect(n.exits).toEqual({});
    expect(log.all().filter((e) => e.vm === 'n' && (e.kind === 'trap' || e.kind === 'hypercall'))).toEqual([]);
  }, 60_000);
});

describe('technique native beside virtualized VMs', () => {
  it('prints what the virtualized kernel prints, sharing a pCPU with it, and blocks in wfi until its own timer', async () => {
    const { result } = await runEmbedded(spec([vm('native', 'native-kernel-io.elf', 'native'), vm('tae', 'kernel-io.elf', 'trap-and-emulate')]));
    const [native, tae] = result.vms;
    expect(native.state).toBe('halted');
    expect(tae.state).toBe('halted');
    expect(native.console).toBe(tae.console);
    expect(native.blockedNs).toBeGreaterThan(0); // the io workload sleeps: wfi until its CLINT mtimecmp
    expect(native.waitingNs).toBeGreaterThan(0); // it really shared the pCPU
    expect(native.exits).toEqual({});
    expect(Object.keys(tae.exits).length).toBeGreaterThan(0);
  }, 60_000);

  it('gives the same event-log hash on every run and on both trap paths', async () => {
    const vms = [vm('native', 'native-kernel-syscall.elf', 'native'), vm('pv', 'sbi-hello.elf', 'paravirt')];
    const a = await runEmbedded(spec(vms));
    const b = await runEmbedded(spec(vms));
    const c = await runEmbedded({ ...spec(vms), trapPath: 'remote' });
    expect(b.result.eventLogHash).toBe(a.result.eventLogHash);
    expect(c.result.eventLogHash).toBe(a.result.eventLogHash);
  }, 60_000);
});

describe('examples/techniques.yaml', () => {
  it('runs one kernel natively, paravirtualized, trap-and-emulated, translated and emulated: same console, native cheapest', async () => {
    const file = resolve(__dirname, '../../../examples/techniques.yaml');
    const { result } = await runEmbedded(simSpecFromScenario(loadScenario(file)));
    const byId = new Map(result.vms.map((v) => [v.id, v]));
    const native = byId.get('native')!;
    expect(native.exits).toEqual({});
    for (const v of result.vms) {
      expect({ id: v.id, state: v.state, console: v.console }).toEqual({ id: v.id, state: 'halted', console: native.console });
      if (v !== native) expect(v.cpuNs).toBeGreaterThan(native.cpuNs);
    }
  }, 60_000);
});

describe('technique native in a scenario', () => {
  const yaml = (vmLine: string) =>
    `duration: 1ms\nhosts: [{ id: h0, pcpus: 1 }]\nvms:\n  - { id: n, memory: 16MiB, image: ${GUESTS}/bin/native-kernel-syscall.elf, ${vmLine} }\n`;

  it('reaches the runtime as native', () => {
    expect(simSpecFromScenario(parseScenario(yaml('technique: native'))).vms[0].technique).toBe('native');
  });

  it('is an error with kind linux, naming the field', () => {
    expect(() => parseScenario(yaml('technique: native, kind: linux'))).toThrow(
      /vms\[0\]\.technique: technique native runs a machine image .* cannot run a kind linux user program/,
    );
  });
});
