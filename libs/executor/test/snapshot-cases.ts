// The VMs the snapshot tests freeze and continue: every technique on both ISAs (rv32 and ring32
// guests, on a host of their own ISA and emulated on the other), a Linux user program (whose heap
// the allocator keeps), and SMP guests (2 vCPUs with IPIs, HSM, LR/SC).

import { readFileSync } from 'fs';
import type { IsaName, VmSetup } from '@vsim/executor';
import { GUESTS_DIR } from '@vsim/testkit';

export interface SnapshotCase {
  readonly name: string;
  readonly hostIsa: IsaName;
  readonly setup: VmSetup;
}

const image = (rel: string) => readFileSync(`${GUESTS_DIR}/${rel}`);

function vm(name: string, rel: string, extra: Partial<VmSetup>): VmSetup {
  return { id: name, kind: 'kernel', vcpus: 1, memoryBytes: 16 << 20, image: image(rel), args: [], engine: 'bt', ...extra };
}

export const SNAPSHOT_CASES: readonly SnapshotCase[] = [
  // The cpu-bound kernels run most of the time (a snapshot often lands in the middle of a slice);
  // the io-bound ones mostly wait for their timer (a snapshot often lands on a blocked vCPU).
  { name: 'rv32 native', hostIsa: 'rv32', setup: vm('native', 'rv32/bin/native-kernel-cpu.elf', { technique: 'native' }) },
  { name: 'rv32 native, io-bound', hostIsa: 'rv32', setup: vm('native-io', 'rv32/bin/native-kernel-io.elf', { technique: 'native' }) },
  { name: 'rv32 paravirt (SBI)', hostIsa: 'rv32', setup: vm('sbi', 'rv32/bin/kernel-cpu.elf', { technique: 'paravirt' }) },
  { name: 'rv32 paravirt (SBI), io-bound', hostIsa: 'rv32', setup: vm('sbi-io', 'rv32/bin/kernel-io.elf', { technique: 'paravirt' }) },
  { name: 'rv32 paravirt (PV ABI)', hostIsa: 'rv32', setup: vm('pv', 'rv32/bin/kernel-pv-cpu.elf', { technique: 'paravirt' }) },
  { name: 'rv32 trap-and-emulate', hostIsa: 'rv32', setup: vm('tae', 'rv32/bin/kernel-cpu.elf', { technique: 'trap-and-emulate' }) },
  { name: 'rv32 trap-and-emulate, io-bound', hostIsa: 'rv32', setup: vm('tae-io', 'rv32/bin/kernel-io.elf', { technique: 'trap-and-emulate' }) },
  { name: 'rv32 binary-translation', hostIsa: 'rv32', setup: vm('bt', 'rv32/bin/kernel-cpu.elf', { technique: 'binary-translation' }) },
  { name: 'rv32 emulation', hostIsa: 'rv32', setup: vm('emu', 'rv32/bin/native-kernel-cpu.elf', { technique: 'emulation', engine: 'dispatch' }) },
  {
    name: 'rv32 Linux user program',
    hostIsa: 'rv32',
    setup: vm('linux', 'rv32/bin/checksum.elf', { kind: 'linux', args: ['1'], engine: 'direct' }),
  },
  { name: 'rv32 SMP native', hostIsa: 'rv32', setup: vm('smp-native', 'rv32/bin/native-kernel-smp.elf', { technique: 'native', vcpus: 2 }) },
  { name: 'rv32 SMP paravirt', hostIsa: 'rv32', setup: vm('smp-pv', 'rv32/bin/kernel-pv-smp.elf', { technique: 'paravirt', vcpus: 2 }) },
  {
    name: 'rv32 SMP trap-and-emulate',
    hostIsa: 'rv32',
    setup: vm('smp-tae', 'rv32/bin/kernel-smp.elf', { technique: 'trap-and-emulate', vcpus: 2 }),
  },
  {
    name: 'rv32 SMP binary-translation',
    hostIsa: 'rv32',
    setup: vm('smp-bt', 'rv32/bin/kernel-smp.elf', { technique: 'binary-translation', vcpus: 2 }),
  },
  { name: 'rv32 on a ring32 host (emulated)', hostIsa: 'ring32', setup: vm('rv-emu', 'rv32/bin/native-kernel-syscall.elf', { technique: 'native' }) },
  ...(['native', 'trap-and-emulate', 'code-patching', 'binary-translation', 'emulation'] as const).map((technique) => ({
    name: `ring32 ${technique}`,
    hostIsa: 'ring32' as const,
    setup: vm(`r32-${technique}`, 'ring32/bin/kernel.elf', { isa: 'ring32', technique, memoryBytes: 1 << 20, engine: 'dispatch' }),
  })),
  {
    name: 'ring32 paravirt',
    hostIsa: 'ring32',
    setup: vm('r32-pv', 'ring32/bin/kernel-pv.elf', { isa: 'ring32', technique: 'paravirt', memoryBytes: 1 << 20 }),
  },
  {
    name: 'ring32 code-patching on an rv32 host (emulated)',
    hostIsa: 'rv32',
    setup: vm('r32-cp-emu', 'ring32/bin/kernel.elf', { isa: 'ring32', technique: 'code-patching', memoryBytes: 1 << 20 }),
  },
];
