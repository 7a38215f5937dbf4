// Execution mode `paravirt` (architecture §7): the guest kernel knows it runs under a hypervisor.
// A kernel that declares the paravirtual ABI (libs/hypervisor/src/pv.ts: symbol PV_ABI_SYMBOL) runs
// deprivileged in U-mode and calls hypercalls instead of privileged instructions, its interrupt
// mask in a shared info page; any other kernel runs in S-mode and calls the hypervisor through the
// SBI (libs/hypervisor/src/sbi.ts), as under OpenSBI. Both exit through the same dispatcher.

import { Bus, Cause, Hart, MIP, Priv, loadElf32 } from '@vsim/isa';
import { PV_ABI_SYMBOL, PV_ABI_VERSION, initialParavirtCpu } from '@vsim/hypervisor';
import type { VmSetup } from '../vm';
import { HypervisedRunner, buildHypervised } from './hypervised';
import type { ExecutionMode } from './runner';
import { deprivilege } from './trap-and-emulate';

/**
 * Exceptions an SBI guest kernel handles itself, as OpenSBI delegates them: misaligned fetch,
 * breakpoint, ecall from U, page faults. Everything else exits to the hypervisor.
 */
const SBI_MEDELEG =
  (1 << Cause.InstructionMisaligned) |
  (1 << Cause.Breakpoint) |
  (1 << Cause.EcallFromU) |
  (1 << Cause.InstructionPageFault) |
  (1 << Cause.LoadPageFault) |
  (1 << Cause.StorePageFault);

/**
 * An SBI kernel's hart: S-mode at the entry, a0 = hart id, no device tree; Sstc's timer raises STIP
 * by itself. It has no virtual CPU state: its supervisor state is real.
 */
function sbiKernel(hart: Hart, index: number, entry: number): undefined {
  hart.priv = Priv.S;
  hart.pc = entry;
  hart.x[10] = index;
  hart.x[11] = 0;
  hart.medeleg = SBI_MEDELEG;
  hart.mideleg = MIP.SSIP | MIP.STIP | MIP.SEIP;
  hart.exitMask = 0xffff & ~SBI_MEDELEG;
  hart.mcounteren = 7;
  hart.menvcfgh = 1 << 31;
  return undefined;
}

/** The paravirtual kernel's declared ABI version must be the one the hypervisor speaks. */
function checkPvAbi(setup: VmSetup, bus: Bus, addr: number): void {
  const version = bus.inRam(addr, 4) ? bus.readU32(addr) : undefined;
  if (version !== PV_ABI_VERSION) {
    throw new RangeError(
      `VM ${setup.id}: symbol ${PV_ABI_SYMBOL} at 0x${addr.toString(16)} declares paravirtual ABI version ${version ?? '(not in RAM)'}, the hypervisor speaks ${PV_ABI_VERSION}`,
    );
  }
}

export const PARAVIRT: ExecutionMode = {
  name: 'rv32 paravirt',
  build: (vm) => ({
    bus: buildHypervised(vm, (bus, image) => {
      loadElf32(image, bus);
      const abi = image.symbols.get(PV_ABI_SYMBOL);
      // A kernel declaring the paravirtual ABI runs deprivileged under it; any other (or one whose
      // VM names no technique) calls the SBI.
      if (abi === undefined || vm.setup.technique !== 'paravirt') return { prepare: (hart, i) => sbiKernel(hart, i, image.entry) };
      checkPvAbi(vm.setup, bus, abi);
      return {
        prepare: (hart, i) => {
          deprivilege(hart, i, image.entry);
          return initialParavirtCpu();
        },
      };
    }),
  }),
  runner: (v, host) => new HypervisedRunner(v, host),
};
