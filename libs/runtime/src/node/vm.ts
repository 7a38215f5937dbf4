// A VM as the cpu-node holds it: its own guest memory (a Bus: nobody else's RAM is reachable from
// it), one hart and one engine per vCPU, and each vCPU's scheduling state.

import {
  BinaryTranslationEngine, rv32, Bus, BARE_RAM_BASE, Cause, Engine, EngineName, Hart, MIP, Priv, USER_RAM_BASE, createEngine, parseElf32,
  loadElf32, prepareLinuxProcess,
} from '@vsim/isa';
import { VcpuState, VirtualCpu } from '@vsim/proto';
import { initialVirtualCpu } from '../hypervisor/trap-and-emulate';
import { PV_ABI_SYMBOL, PV_ABI_VERSION, initialParavirtCpu } from '../hypervisor/pv';

/** Virtualization techniques a VM can use today. */
export const TECHNIQUES = ['paravirt', 'trap-and-emulate', 'binary-translation'] as const;
export type Technique = (typeof TECHNIQUES)[number];

export interface VmSetup {
  readonly id: string;
  readonly kind: 'sbi' | 'linux';
  /**
   * For kind sbi: paravirt (a kernel declaring the PV ABI of hypervisor/pv.ts: in U-mode, hypercalls
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
  /** Trap-and-emulate: the virtual supervisor state (like a VMCS, it travels with the vCPU). */
  vstate?: VirtualCpu;
}

/**
 * Exceptions a paravirtual (SBI) guest kernel handles itself, as OpenSBI delegates them:
 * misaligned fetch, breakpoint, ecall from U, page faults. Everything else exits to the hypervisor.
 */
const SBI_MEDELEG = (1 << Cause.InstructionMisaligned) | (1 << Cause.Breakpoint) | (1 << Cause.EcallFromU) |
  (1 << Cause.InstructionPageFault) | (1 << Cause.LoadPageFault) | (1 << Cause.StorePageFault);

/** Timer ticks per second of the virtual platform's `time` (10 MHz, as QEMU's virt machine). */
export const TIMEBASE_HZ = 10_000_000;

export class VmInstance {
  readonly bus: Bus;
  readonly vcpus: Vcpu[] = [];
  /** For Linux-kind VMs: where brk may move (the hypervisor's allocator needs it). */
  readonly brkStart: number = 0;
  readonly brkMax: number = 0;
  ended: 'shutdown' | 'fault' | undefined;
  exitStatus = 0;

  constructor(readonly setup: VmSetup, clockHz: number) {
    const image = parseElf32(setup.image);
    const base = setup.kind === 'linux' ? USER_RAM_BASE : BARE_RAM_BASE;
    this.bus = new Bus(base, setup.memoryBytes);
    const cyclesPerTick = Math.max(1, Math.round(clockHz / TIMEBASE_HZ));
    if (setup.kind === 'linux' && setup.vcpus !== 1) throw new RangeError(`VM ${setup.id}: a Linux user program runs on exactly one vCPU`);
    // A kernel that declares the paravirtual ABI (hypervisor/pv.ts) runs deprivileged under it.
    const xenpv = setup.kind === 'sbi' && setup.technique === 'paravirt' && image.symbols.has(PV_ABI_SYMBOL);
    for (let i = 0; i < setup.vcpus; i++) {
      const hart = new Hart(this.bus, { hartId: i, cyclesPerTick });
      if (setup.kind === 'linux') {
        const layout = prepareLinuxProcess(this.bus, hart, image, [setup.id, ...setup.args]);
        (this as { brkStart: number }).brkStart = layout.brkStart;
        (this as { brkMax: number }).brkMax = layout.brkMax;
      } else if (setup.technique === 'trap-and-emulate' || setup.technique === 'binary-translation' || xenpv) {
        // The unmodified kernel runs deprivileged, in real U-mode: every exception and the timer
        // come to the hypervisor, which emulates supervisor state for it.
        if (i === 0) loadElf32(image, this.bus);
        if (i === 0 && xenpv) this.checkPvAbi(image.symbols.get(PV_ABI_SYMBOL)!);
        hart.priv = Priv.U;
        hart.pc = image.entry;
        hart.x[10] = i;
        hart.x[11] = 0;
        hart.exitMask = 0xffff;
        hart.exitInterruptMask = MIP.STIP | MIP.SSIP; // the virtual timer, and IPIs (virtual SSIP) of SMP guests
        hart.mcounteren = 7; // time, cycle, instret read directly, as on the paravirtual platform
        hart.scounteren = 7;
        hart.menvcfgh = 1 << 31;
        hart.mie = 0; // the timer exit is armed only when the guest could take the interrupt
      } else {
        if (i === 0) loadElf32(image, this.bus);
        hart.priv = Priv.S;
        hart.pc = image.entry;
        hart.x[10] = i; // a0 = hartid
        hart.x[11] = 0; // a1 = no device tree
        hart.medeleg = SBI_MEDELEG;
        hart.mideleg = MIP.SSIP | MIP.STIP | MIP.SEIP;
        hart.exitMask = 0xffff & ~SBI_MEDELEG;
        hart.mcounteren = 7;
        hart.menvcfgh = 1 << 31; // Sstc: the virtual timer raises STIP by itself
      }
      const deprivileged = setup.kind === 'sbi' && (setup.technique === 'trap-and-emulate' || setup.technique === 'binary-translation');
      const translated = setup.kind === 'sbi' && setup.technique === 'binary-translation';
      if (translated) hart.xlateKey = 1; // the guest kernel starts in virtual S-mode
      this.vcpus.push({
        // SBI HSM: only the boot hart runs; the others are offline until it starts them (hart_start).
        vm: this, index: i, hart, state: setup.kind === 'sbi' && i > 0 ? VcpuState.VCPU_STATE_OFFLINE : VcpuState.VCPU_STATE_RUNNABLE,
        wakeNs: 0, overrunCycles: 0,
        // Binary translation needs the translator, whatever engine the scenario named.
        engine: translated ? new BinaryTranslationEngine(hart, rv32, { translateSensitive: true, sensitiveMode: 1 }) : createEngine(setup.engine, hart),
        vstate: xenpv ? initialParavirtCpu() : deprivileged ? initialVirtualCpu() : undefined,
      });
    }
  }

  get id(): string {
    return this.setup.id;
  }

  /** The paravirtual kernel's declared ABI version must be the one the hypervisor speaks. */
  private checkPvAbi(addr: number): void {
    const version = this.bus.inRam(addr, 4) ? this.bus.readU32(addr) : undefined;
    if (version !== PV_ABI_VERSION) {
      throw new RangeError(`VM ${this.setup.id}: symbol ${PV_ABI_SYMBOL} at 0x${addr.toString(16)} declares paravirtual ABI version ${version ?? '(not in RAM)'}, the hypervisor speaks ${PV_ABI_VERSION}`);
    }
  }
}
