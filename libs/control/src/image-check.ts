// Whether a VM's image can load into the VM the scenario describes, checked before anything runs
// (by `vsim run` and by the gateway on a submission) with the same rule the cpu-node applies when it
// loads it: a valid ELF of the VM's ISA whose segments lie inside the VM's RAM, which starts where
// the VM's kind puts it (a guest kernel's at 0x80000000 as on a RISC-V board, a Linux user
// program's at 0x10000). A kernel image given `kind: linux`, or a Linux program given a kernel VM,
// is named as such, with the kind to use.

import { BARE_RAM_BASE, ElfError, RING32_RAM_BASE, USER_RAM_BASE, parseElf32 } from '@vsim/isa';
import { ELF_MACHINES, VmIsa, VmKind } from '@vsim/scenario';
import { parseTrace, traceOf } from '@vsim/executor';

export interface ImageVm {
  readonly memory: number;
  readonly isa: VmIsa;
  readonly kind: VmKind;
  /** kind replay: args[0] names the recorded VM in the trace; vcpus must be its vCPU count. */
  readonly args?: readonly string[];
  readonly vcpus?: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Where the VM's RAM starts for its ISA and kind. */
function ramBase(isa: VmIsa, kind: VmKind): number {
  if (isa === 'ring32') return RING32_RAM_BASE;
  return kind === 'linux' ? USER_RAM_BASE : BARE_RAM_BASE;
}

/** A problem with the image for this VM (one line), or undefined when it will load. */
export function checkVmImage(bytes: Uint8Array, vm: ImageVm): string | undefined {
  if (vm.kind === 'replay') return checkTrace(bytes, vm);
  let segments: readonly { vaddr: number; memsz: number }[];
  try {
    segments = parseElf32(bytes, ELF_MACHINES[vm.isa]).segments;
  } catch (e) {
    if (e instanceof ElfError) return `not a valid ${vm.isa} executable: ${e.message}`;
    throw e;
  }
  if (segments.length === 0) return 'the image has no loadable segment';
  const low = Math.min(...segments.map((s) => s.vaddr));
  const high = Math.max(...segments.map((s) => s.vaddr + s.memsz));
  const base = ramBase(vm.isa, vm.kind);
  if (low >= base && high <= base + vm.memory) return undefined;
  if (vm.isa === 'rv32' && vm.kind !== 'linux' && low >= USER_RAM_BASE && high <= BARE_RAM_BASE) {
    return `a Linux user program (loaded at ${hex(low)}), but the VM is a guest kernel (kind: ${vm.kind}, RAM from ${hex(base)}): give it kind: linux`;
  }
  if (vm.isa === 'rv32' && vm.kind === 'linux' && low >= BARE_RAM_BASE) {
    return `a guest kernel image (loaded at ${hex(low)}), but the VM is kind: linux (RAM from ${hex(base)}): remove kind: linux (the default, kind: kernel, runs kernels)`;
  }
  if (low >= base && high - base > vm.memory) return `image needs ${high - base} bytes from ${hex(base)}, more than the VM's memory (${vm.memory})`;
  return `segments at ${hex(low)}..${hex(high)} are outside the VM's RAM ${hex(base)}..${hex(base + vm.memory)}`;
}

/** A replayed VM's image is a demand trace (docs/replay.md): it must parse, hold the VM named, with as many vCPUs. */
function checkTrace(bytes: Uint8Array, vm: ImageVm): string | undefined {
  try {
    const t = traceOf(parseTrace(bytes), vm.args?.[0]);
    if (vm.vcpus !== undefined && t.vcpus.length !== vm.vcpus)
      return `the recorded VM ${t.vm} has ${t.vcpus.length} vCPU(s); give the replayed VM vcpus: ${t.vcpus.length}`;
    return undefined;
  } catch (e) {
    if (e instanceof RangeError) return `not a usable demand trace: ${e.message}`;
    throw e;
  }
}
