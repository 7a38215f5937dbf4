// What a simulated machine is made of: the ISAs vsim implements, the emulation engines, the
// virtualization techniques, and the kinds of VM images. Every package that names one of them
// (the scenario format, the executor, the control plane, the CLI, the docs) imports it from here.

/** ISAs the simulator implements: RISC-V rv32, and ring32, the non-virtualizable teaching ISA (architecture §6). */
export const ISAS = ['rv32', 'ring32'] as const;
export type IsaName = (typeof ISAS)[number];

/** ELF e_machine of each ISA's images (EM_RISCV; EM_RING32, libs/isa/src/elf/elf32.ts). */
export const ELF_MACHINES: Readonly<Record<IsaName, number>> = { rv32: 243, ring32: 0x5232 };

/** Emulation engines: decode-and-dispatch, indirect-threaded, direct-threaded, binary translation. */
export const ENGINE_NAMES = ['dispatch', 'indirect', 'direct', 'bt'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Virtualization techniques (architecture §7), in the order the docs present them. */
export const TECHNIQUES = ['native', 'trap-and-emulate', 'paravirt', 'binary-translation', 'code-patching', 'emulation'] as const;
export type Technique = (typeof TECHNIQUES)[number];

/** Techniques that run a whole machine image (its own firmware) with no hypervisor under it. */
export const WHOLE_MACHINE_TECHNIQUES: readonly Technique[] = ['native', 'emulation'];
/** Techniques that exist for ring32 guests only (rv32 has no sensitive-but-unprivileged instruction to patch). */
export const RING32_ONLY_TECHNIQUES: readonly Technique[] = ['code-patching'];
/** The techniques a ring32 guest can run under. */
export const RING32_TECHNIQUES = ['native', 'trap-and-emulate', 'code-patching', 'binary-translation', 'paravirt'] as const;

/**
 * What a VM runs: `kernel`, a kernel or whole machine image (an S-mode kernel calling the
 * hypervisor through SBI, or with `native`/`emulation` a machine image with its own firmware);
 * `linux`, a Linux user program whose system calls the hypervisor emulates.
 */
export const VM_KINDS = ['kernel', 'linux', 'replay'] as const;
export type VmKind = (typeof VM_KINDS)[number];

/** Old spellings of VM kinds, still accepted (with a deprecation warning), and what they mean now. */
export const DEPRECATED_VM_KINDS: Readonly<Record<string, VmKind>> = { sbi: 'kernel' };

/** A VM kind as written (current or deprecated spelling) → the kind, or undefined when it is neither. */
export function vmKindOf(written: string): VmKind | undefined {
  if ((VM_KINDS as readonly string[]).includes(written)) return written as VmKind;
  return Object.hasOwn(DEPRECATED_VM_KINDS, written) ? DEPRECATED_VM_KINDS[written] : undefined;
}

/** Where traps are handled: `remote` every trap by the hypervisor service; `split` simple exits inside the cpu-node. */
export const TRAP_PATHS = ['remote', 'split'] as const;
export type TrapPath = (typeof TRAP_PATHS)[number];
