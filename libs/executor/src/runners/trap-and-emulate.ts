// Execution mode `trap-and-emulate` (architecture §7): the unmodified guest kernel runs
// deprivileged, in real U-mode; every exception and the timer exit to the hypervisor, whose
// interpreter routines (libs/hypervisor/src/trap-and-emulate.ts) emulate its supervisor state — the
// virtual CPU state the vCPU carries (VirtualCpu) — the way a VMCS travels with a vCPU.

import { Hart, MIP, Priv, loadElf32 } from '@vsim/isa';
import { initialVirtualCpu } from '@vsim/hypervisor';
import { HypervisedRunner, buildHypervised } from './hypervised';
import type { ExecutionMode } from './runner';

/**
 * A deprivileged guest kernel's hart: real U-mode at the image's entry, a0 = hart id, every
 * exception and the virtual timer and IPIs (virtual SSIP) exit; time, cycle and instret are read
 * directly, as on the paravirtual platform; the timer exit is armed only when the guest could take
 * the interrupt (mie 0 until the virtual state says so).
 */
export function deprivilege(hart: Hart, index: number, entry: number): void {
  hart.priv = Priv.U;
  hart.pc = entry;
  hart.x[10] = index;
  hart.x[11] = 0;
  hart.exitMask = 0xffff;
  hart.exitInterruptMask = MIP.STIP | MIP.SSIP;
  hart.mcounteren = 7;
  hart.scounteren = 7;
  hart.menvcfgh = 1 << 31;
  hart.mie = 0;
}

export const TRAP_AND_EMULATE: ExecutionMode = {
  name: 'rv32 trap-and-emulate',
  build: (vm) => ({
    bus: buildHypervised(vm, (bus, image) => {
      loadElf32(image, bus);
      return {
        prepare: (hart, i) => {
          deprivilege(hart, i, image.entry);
          return initialVirtualCpu();
        },
      };
    }),
  }),
  runner: (v, host) => new HypervisedRunner(v, host),
};
