// `technique: emulation`: the seed's "full virtualization emulates all instructions". The VM runs
// the same whole-machine image as `native` (firmware + kernel, every privilege level inside the
// emulator, no hypervisor exits), but every guest instruction is interpreted or translated by the
// VM's engine, so each guest cycle costs the engine's expansion factor even on a host of its own ISA.

import { resolve } from 'path';
import { EngineName } from '@vsim/isa';
import { DEFAULT_EXPANSION_FACTORS } from '@vsim/executor';
import { SimSpec, VmSpec, runEmbedded } from '@vsim/control';
import { parseScenario } from '@vsim/scenario';

const GUESTS = resolve(__dirname, '../../../guests/rv32');
const IMAGE = `${GUESTS}/bin/native-kernel-cpu.elf`;

function vm(id: string, technique: VmSpec['technique'], engine: EngineName): VmSpec {
  return { id, host: 'h0', vcpus: 1, memoryBytes: 16 << 20, image: IMAGE, args: [], kind: 'kernel', engine, technique, sched: {} };
}

function spec(vms: VmSpec[], expansion?: Record<EngineName, number>): SimSpec {
  return {
    name: 'emulation',
    seed: 1,
    durationNs: 5e9,
    trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000, ...(expansion ? { expansion } : {}) }],
    vms,
  };
}

describe('technique emulation', () => {
  it.each(['dispatch', 'bt'] as EngineName[])(
    'on its own ISA, with engine %s: native output, no exits, CPU time x the expansion factor',
    async (engine) => {
      const { result: n } = await runEmbedded(spec([vm('n', 'native', engine)]));
      const { result: e } = await runEmbedded(spec([vm('e', 'emulation', engine)]));
      const [nv, ev] = [n.vms[0], e.vms[0]];
      expect(nv.state).toBe('halted');
      expect(ev.state).toBe('halted');
      expect(ev.console).toBe(nv.console);
      expect(ev.exits).toEqual({});
      expect(nv.expansion).toBe(1);
      const factor = DEFAULT_EXPANSION_FACTORS[engine];
      expect(ev.expansion).toBe(factor);
      // The emulated machine's clock runs factor times faster per instruction, so its kernel takes a
      // few more timer ticks than natively: within 10 % of factor x native.
      expect(ev.cpuNs / nv.cpuNs).toBeGreaterThan(factor * 0.97);
      expect(ev.cpuNs / nv.cpuNs).toBeLessThan(factor * 1.1);
    },
    120_000,
  );

  it("charges the scenario host's own factor", async () => {
    const factors = { ...DEFAULT_EXPANSION_FACTORS, dispatch: 2 };
    const { result } = await runEmbedded(spec([vm('e', 'emulation', 'dispatch')], factors));
    expect(result.vms[0].expansion).toBe(2);
  }, 60_000);

  it('is refused for a Linux user program, naming the field', () => {
    expect(() =>
      parseScenario(
        `
name: bad
duration: 1s
hosts: [{ id: h0, pcpus: 1 }]
vms:
  - { id: u, host: h0, memory: 1MiB, image: guests/rv32/bin/hello.elf, kind: linux, technique: emulation }
`,
        { baseDir: resolve(__dirname, '../../..') },
      ),
    ).toThrow(/vms\[0\]\.technique: technique emulation runs a machine image/);
  });
});
