// A VM as the cpu-node holds it: its own guest memory (a Bus: nobody else's RAM is reachable from
// it), one hart and one engine per vCPU, and each vCPU's scheduling state. How the machine is
// built — and how each vCPU runs — is its execution mode, from the table of runners/table.ts keyed
// by (ISA, technique, kind).

import { Bus, Clint, Engine, EngineName, Hart } from '@vsim/isa';
import { VcpuState, VirtualCpu } from '@vsim/proto';
import type { Ring32Vm } from '@vsim/hypervisor';
import { IsaName, expansionFor } from './cross-isa';
export { TIMEBASE_HZ, cyclesPerTickOf } from './timebase';
import { executionMode } from './runners/table';
import type { ExecutionMode, VmHostContext } from './runners/runner';
import { TECHNIQUES, Technique, WHOLE_MACHINE_TECHNIQUES } from '@vsim/vocabulary';

// The techniques (and which run a whole machine image with no hypervisor: `native` by direct
// execution, `emulation` by the VM's engine interpreting or translating every instruction, charged
// its expansion factor even on a host of the same ISA) are @vsim/vocabulary's.
export { TECHNIQUES, WHOLE_MACHINE_TECHNIQUES };
export type { Technique };

export type { VmHostContext } from './runners/runner';

export interface VmSetup {
  readonly id: string;
  readonly kind: 'kernel' | 'linux';
  /**
   * For kind kernel: paravirt (a kernel declaring the PV ABI of libs/hypervisor/src/pv.ts: in U-mode, hypercalls
   * instead of privileged instructions; any other: in S-mode, SBI calls), trap-and-emulate (kernel in U-mode,
   * its sensitive instructions trap), binary-translation (kernel in U-mode, its sensitive
   * instructions translated into direct calls of the same routines: no exit).
   */
  readonly technique?: Technique;
  readonly vcpus: number;
  readonly memoryBytes: number;
  readonly image: Uint8Array;
  readonly args: readonly string[];
  readonly engine: EngineName;
  /** The guest's ISA (default rv32); ring32 guests run under libs/hypervisor/src/ring32 (one vCPU, kind kernel). */
  readonly isa?: IsaName;
}

export interface Vcpu {
  readonly vm: VmInstance;
  readonly index: number;
  readonly hart: Hart;
  readonly engine: Engine;
  state: VcpuState;
  /** When BLOCKED: the virtual time its timer fires, or 0 when no timer is armed. */
  wakeNs: number;
  /** Cycles it ran past the end of its last slice, charged to its next one. */
  overrunCycles: number;
  /** Under a hypervisor (trap-and-emulate, BT, paravirt ABI): the virtual supervisor state (like a VMCS, it travels with the vCPU). */
  vstate?: VirtualCpu;
  /**
   * A ring32 vCPU: its machine (libs/hypervisor/src/ring32/vm.ts, exits to the dispatcher), which its
   * runner (runners/ring32.ts) runs. Then `hart` is the Ring32Hart (typed as Hart: the host reads
   * only its cycles, instret and timeSkew, which both harts have) and `engine` the Ring32Vm's.
   */
  ring32?: Ring32Vm;
}

/**
 * A native VM's machine: the devices a bare board has (guests/rv32/firmware drives them), and what
 * the host collects from them. Nothing here is a hypervisor: the firmware handles every trap itself.
 */
export interface NativeMachine {
  readonly clint: Clint;
  /** Console bytes written since the host last collected them (it turns them into console events). */
  pending: number[];
  /** The value firmware wrote to `tohost` (riscv-tests convention: 1 = success, n<<1|1 = failure n), 0 = none yet. */
  tohost: number;
}

export class VmInstance {
  readonly bus: Bus;
  /** Technique native or emulation: the VM's own devices; undefined for a virtualized VM. */
  readonly native?: NativeMachine;
  readonly vcpus: Vcpu[] = [];
  /** For Linux-kind VMs: where brk may move (the hypervisor's allocator needs it). */
  readonly brkStart: number = 0;
  readonly brkMax: number = 0;
  ended: 'shutdown' | 'fault' | undefined;
  exitStatus = 0;
  /** The guest's ISA. */
  readonly isa: IsaName;
  /**
   * Host instructions per guest instruction: 1 when the guest's ISA is the host's (direct
   * execution), else its engine's expansion factor (emulation): each guest cycle is charged that many.
   */
  readonly expansion: number;
  /** A ring32 VM: its single vCPU's machine and hypervisor. */
  readonly ring32?: Ring32Vm;
  /** How its vCPUs are built and run (runners/table.ts). */
  readonly mode: ExecutionMode;

  constructor(
    readonly setup: VmSetup,
    readonly clockHz: number,
    host: VmHostContext = {},
  ) {
    this.isa = setup.isa ?? 'rv32';
    this.expansion = expansionFor(this.isa, host.isa ?? 'rv32', setup.engine, setup.technique, host.expansion);
    this.mode = executionMode(setup);
    const built = this.mode.build(this, host);
    this.bus = built.bus;
    this.native = built.native;
    this.ring32 = built.ring32;
    this.brkStart = built.brk?.start ?? 0;
    this.brkMax = built.brk?.max ?? 0;
  }

  get id(): string {
    return this.setup.id;
  }
}
