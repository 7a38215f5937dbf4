// The runner seam: one table keyed by (ISA, technique, kind) picks how a VM is built and run, and a
// trap leaves the engine as a TrapExit value.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { Priv, Stop } from '@vsim/isa';
import { VmInstance, TECHNIQUES, GUEST_ISAS } from '@vsim/executor';
import type { VmSetup } from '@vsim/executor';
import { executionMode } from '../src/runners/table';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');
const image = (name: string) => new Uint8Array(readFileSync(resolve(BIN, name)));

function setup(technique: VmSetup['technique'], file: string, kind: VmSetup['kind'] = 'kernel'): VmSetup {
  return { id: 'vm', kind, technique, vcpus: 1, memoryBytes: 8 << 20, image: image(file), args: [], engine: 'dispatch' };
}

describe('the execution-mode table', () => {
  it.each(GUEST_ISAS.flatMap((isa) => TECHNIQUES.flatMap((t) => (['kernel', 'linux'] as const).map((kind) => [isa, t, kind] as const))))(
    '%s / %s / %s has a mode, or a clear refusal',
    (isa, technique, kind) => {
      const s = { id: 'vm7', kind, technique, isa, vcpus: 1, memoryBytes: 1 << 20, image: new Uint8Array(), args: [], engine: 'bt' } as const;
      if (isa === 'rv32' && technique === 'code-patching') {
        expect(() => executionMode(s)).toThrow(/VM vm7: technique code-patching is for ring32 guests/);
      } else {
        expect(executionMode(s).name).toMatch(isa === 'ring32' ? /^ring32/ : /^rv32 /);
      }
    },
  );

  it('builds each technique its own way', () => {
    const tae = new VmInstance(setup('trap-and-emulate', 'kernel-cpu.elf'), 1e9);
    expect([tae.mode.name, tae.vcpus[0].hart.priv, tae.vcpus[0].vstate?.paravirt]).toEqual(['rv32 trap-and-emulate', Priv.U, false]);
    const pv = new VmInstance(setup('paravirt', 'kernel-pv-cpu.elf'), 1e9);
    expect([pv.mode.name, pv.vcpus[0].hart.priv, pv.vcpus[0].vstate?.paravirt]).toEqual(['rv32 paravirt', Priv.U, true]);
    const sbi = new VmInstance(setup('paravirt', 'kernel-cpu.elf'), 1e9);
    expect([sbi.mode.name, sbi.vcpus[0].hart.priv, sbi.vcpus[0].vstate]).toEqual(['rv32 paravirt', Priv.S, undefined]);
    const linux = new VmInstance(setup(undefined, 'hello.elf', 'linux'), 1e9);
    expect([linux.mode.name, linux.brkStart > 0]).toEqual(['rv32 Linux process', true]);
  });

  it.each(GUEST_ISAS.flatMap((isa) => TECHNIQUES.map((t) => [isa, t] as const)))('%s / %s / replay replays a trace', (isa, technique) => {
    const s = { id: 'vm8', kind: 'replay', technique, isa, vcpus: 1, memoryBytes: 1 << 20, image: new Uint8Array(), args: [], engine: 'bt' } as const;
    expect(executionMode(s).name).toBe('trace replay');
  });

  it('a deprivileged kernel leaves its engine with a TrapExit: cause and tval as values', () => {
    const v = new VmInstance(setup('trap-and-emulate', 'kernel-cpu.elf'), 1e9).vcpus[0];
    const stop = v.engine.run(1_000_000);
    expect(stop.kind).toBe(Stop.Trap);
    if (stop.kind !== Stop.Trap) return;
    // The kernel's first sensitive instruction (a CSR access in U-mode) is an illegal instruction: cause 2, tval the word.
    expect([stop.cause, stop.interrupt, stop.tval === v.vm.bus.readU32(v.hart.pc)]).toEqual([2, false, true]);
  });
});
