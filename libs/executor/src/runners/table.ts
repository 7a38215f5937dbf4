// The one table of execution modes (architecture §7): the VM's (ISA, technique, kind) names how its
// vCPUs are built and run. A new technique or ISA is a new row and a runner file, not a branch in
// vm.ts or host.ts.

import { RING32_ONLY_TECHNIQUES, TECHNIQUES } from '@vsim/vocabulary';
import type { IsaName } from '../cross-isa';
import type { Technique, VmSetup } from '../vm';
import { BINARY_TRANSLATION } from './binary-translation';
import { EMULATION } from './emulation';
import { LINUX_PROCESS } from './linux-process';
import { NATIVE } from './native';
import { PARAVIRT } from './paravirt';
import { REPLAY } from './replay';
import { RING32 } from './ring32';
import type { ExecutionMode } from './runner';
import { TRAP_AND_EMULATE } from './trap-and-emulate';

/** Techniques that exist only for ring32 guests (@vsim/vocabulary: its kernel's critical instructions patched into traps). */
export { RING32_ONLY_TECHNIQUES };

type Kind = VmSetup['kind'];
type Key = `${IsaName}/${Technique}/${Kind}`;

/** (ISA, technique, kind) → execution mode. A VM without a technique is paravirtual. */
const TABLE: Readonly<Partial<Record<Key, ExecutionMode>>> = {
  'rv32/native/kernel': NATIVE,
  'rv32/emulation/kernel': EMULATION,
  'rv32/paravirt/kernel': PARAVIRT,
  'rv32/trap-and-emulate/kernel': TRAP_AND_EMULATE,
  'rv32/binary-translation/kernel': BINARY_TRANSLATION,
  // A Linux user program runs as a process under the hypervisor's Linux routine, whatever the
  // technique (LINUX_PROCESS refuses the techniques that run a whole machine image).
  'rv32/native/linux': LINUX_PROCESS,
  'rv32/emulation/linux': LINUX_PROCESS,
  'rv32/paravirt/linux': LINUX_PROCESS,
  'rv32/trap-and-emulate/linux': LINUX_PROCESS,
  'rv32/binary-translation/linux': LINUX_PROCESS,
  // ring32: every technique on its Ring32Vm (which refuses kind linux and more than one vCPU).
  'ring32/native/kernel': RING32,
  'ring32/emulation/kernel': RING32,
  'ring32/paravirt/kernel': RING32,
  'ring32/trap-and-emulate/kernel': RING32,
  'ring32/binary-translation/kernel': RING32,
  'ring32/code-patching/kernel': RING32,
  'ring32/native/linux': RING32,
  'ring32/emulation/linux': RING32,
  'ring32/paravirt/linux': RING32,
  'ring32/trap-and-emulate/linux': RING32,
  'ring32/binary-translation/linux': RING32,
  'ring32/code-patching/linux': RING32,
  // A replayed VM (kind replay) executes nothing: whatever ISA or technique it names, its vCPUs consume its trace.
  ...Object.fromEntries(['rv32', 'ring32'].flatMap((isa) => TECHNIQUES.map((t) => [`${isa}/${t}/replay`, REPLAY]))),
};

/** The execution mode of a VM, or a RangeError naming what has none. */
export function executionMode(setup: VmSetup): ExecutionMode {
  const isa = setup.isa ?? 'rv32';
  const technique = setup.technique ?? 'paravirt';
  const mode = TABLE[`${isa}/${technique}/${setup.kind}`];
  if (mode) return mode;
  if (isa === 'rv32' && RING32_ONLY_TECHNIQUES.includes(technique)) {
    throw new RangeError(
      `VM ${setup.id}: technique ${technique} is for ring32 guests (this VM is rv32, which has no critical instructions to patch)`,
    );
  }
  throw new RangeError(`VM ${setup.id}: no execution mode for ISA ${isa}, technique ${technique}, kind ${setup.kind}`);
}
