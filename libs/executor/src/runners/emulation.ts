// Emulation (architecture §6, §7): the guest's engine interprets or translates every instruction,
// and each guest cycle costs the engine's expansion factor in host cycles (cross-isa.ts). Two
// execution modes use it: technique `emulation` — a whole machine image run by the VM's engine
// with no hypervisor, even on a host of its own ISA — and any VM of another ISA than its host's,
// whatever its technique (every rv32 runner runs its engine through runScaled, runner.ts; a ring32
// VM's Ring32Vm multiplies its own cycles).

import { MachineRunner, buildMachine } from './native';
import type { ExecutionMode } from './runner';

/** rv32, technique emulation: the whole machine image on the VM's engine, charged its expansion factor. */
export const EMULATION: ExecutionMode = {
  name: 'rv32 emulation',
  build: (vm) => buildMachine(vm, vm.clockHz),
  runner: (v, host) => new MachineRunner(v, host),
};
