// A VM as the cpu-node holds it: its own guest memory (a Bus: nobody else's RAM is reachable from
// it), one hart and one engine per vCPU, and each vCPU's scheduling state.

import {
  BinaryTranslationEngine,
  rv32,
  Bus,
  BARE_RAM_BASE,
  Cause,
  Clint,
  Console,
  Engine,
  EngineName,
  Hart,
  MIP,
  Priv,
  Stop,
  USER_RAM_BASE,
  createEngine,
  parseElf32,
  loadElf32,
  prepareLinuxProcess,
} from '@vsim/isa';
import { VcpuState, VirtualCpu } from '@vsim/proto';
import { initialVirtualCpu, PV_ABI_SYMBOL, PV_ABI_VERSION, initialParavirtCpu, HypervisorCosts, Ring32Exit, Ring32Vm } from '@vsim/hypervisor';
import { IsaName, expansionFor } from './cross-isa';
import { RING32_ONLY_TECHNIQUES, TECHNIQUES, Technique, WHOLE_MACHINE_TECHNIQUES } from '@vsim/vocabulary';

/**
 * Virtualization techniques a VM can use today. `native` is the baseline without a hypervisor: the
 * image is a whole machine image (its own M-mode firmware and kernel, e.g. native-kernel-*.elf) and
 * runs on the pCPU with real M/S/U modes, its own CLINT and console on its own Bus.
 */
// The techniques themselves (and which run a whole machine image, which exist for ring32 only) are
// @vsim/vocabulary's: `native` and `emulation` run a whole machine image with no hypervisor,
// `native` by direct execution, `emulation` by the VM's engine interpreting or translating every
// instruction (the seed's "full virtualization emulates all instructions"), charged its expansion
// factor per guest instruction even on a host of the same ISA.
export { RING32_ONLY_TECHNIQUES, TECHNIQUES, WHOLE_MACHINE_TECHNIQUES };
export type { Technique };

/**
 * What the host tells a VM it creates: the host's ISA and cost model, and for a ring32 VM where its
 * exits go (the host logs them). A VM whose ISA is not the host's runs by emulation (cross-isa.ts).
 */
export interface VmHostContext {
  readonly isa?: IsaName;
  /** Host instructions per guest instruction, per engine, when emulating another ISA (default DEFAULT_EXPANSION_FACTORS). */
  readonly expansion?: Readonly<Record<EngineName, number>>;
  readonly costs?: HypervisorCosts;
  readonly onRing32Exit?: (e: Ring32Exit) => void;
}

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
  /** Trap-and-emulate: the virtual supervisor state (like a VMCS, it travels with the vCPU). */
  vstate?: VirtualCpu;
  /**
   * A ring32 vCPU: the VM and its hypervisor (libs/hypervisor/src/ring32/hypervisor.ts), which the host runs by
   * runSlice. Then `hart` is the Ring32Hart (typed as Hart: the host reads only its cycles and
   * instret, which both harts have) and `engine` the Ring32Vm's.
   */
  ring32?: Ring32Vm;
}

/**
 * Exceptions a paravirtual (SBI) guest kernel handles itself, as OpenSBI delegates them:
 * misaligned fetch, breakpoint, ecall from U, page faults. Everything else exits to the hypervisor.
 */
const SBI_MEDELEG =
  (1 << Cause.InstructionMisaligned) |
  (1 << Cause.Breakpoint) |
  (1 << Cause.EcallFromU) |
  (1 << Cause.InstructionPageFault) |
  (1 << Cause.LoadPageFault) |
  (1 << Cause.StorePageFault);

/** Timer ticks per second of the virtual platform's `time` (10 MHz, as QEMU's virt machine). */
export const TIMEBASE_HZ = 10_000_000;

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
  /** Technique native: the VM's own devices; undefined for a virtualized VM. */
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

  constructor(
    readonly setup: VmSetup,
    clockHz: number,
    host: VmHostContext = {},
  ) {
    this.isa = setup.isa ?? 'rv32';
    this.expansion = expansionFor(this.isa, host.isa ?? 'rv32', setup.engine, setup.technique, host.expansion);
    const cyclesPerTick = Math.max(1, Math.round(clockHz / TIMEBASE_HZ));
    if (this.isa === 'ring32') {
      this.ring32 = this.buildRing32(cyclesPerTick, host);
      this.bus = this.ring32.bus;
      return;
    }
    if (setup.technique !== undefined && RING32_ONLY_TECHNIQUES.includes(setup.technique)) {
      throw new RangeError(
        `VM ${setup.id}: technique ${setup.technique} is for ring32 guests (this VM is rv32, which has no critical instructions to patch)`,
      );
    }
    const image = parseElf32(setup.image);
    const base = setup.kind === 'linux' ? USER_RAM_BASE : BARE_RAM_BASE;
    this.bus = new Bus(base, setup.memoryBytes);
    if (setup.kind === 'linux' && setup.vcpus !== 1) throw new RangeError(`VM ${setup.id}: a Linux user program runs on exactly one vCPU`);
    if (setup.technique !== undefined && WHOLE_MACHINE_TECHNIQUES.includes(setup.technique)) {
      if (setup.kind !== 'kernel')
        throw new RangeError(`VM ${setup.id}: technique ${setup.technique} runs a machine image (kind kernel), not a Linux user program`);
      this.native = this.buildNative(image, cyclesPerTick);
      return;
    }
    // A kernel that declares the paravirtual ABI (libs/hypervisor/src/pv.ts) runs deprivileged under it.
    const xenpv = setup.kind === 'kernel' && setup.technique === 'paravirt' && image.symbols.has(PV_ABI_SYMBOL);
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
      const deprivileged = setup.kind === 'kernel' && (setup.technique === 'trap-and-emulate' || setup.technique === 'binary-translation');
      const translated = setup.kind === 'kernel' && setup.technique === 'binary-translation';
      if (translated) hart.xlateKey = 1; // the guest kernel starts in virtual S-mode
      this.vcpus.push({
        // SBI HSM: only the boot hart runs; the others are offline until it starts them (hart_start).
        vm: this,
        index: i,
        hart,
        state: setup.kind === 'kernel' && i > 0 ? VcpuState.VCPU_STATE_OFFLINE : VcpuState.VCPU_STATE_RUNNABLE,
        wakeNs: 0,
        overrunCycles: 0,
        // Binary translation needs the translator, whatever engine the scenario named.
        engine: translated
          ? new BinaryTranslationEngine(hart, rv32, { translateSensitive: true, sensitiveMode: 1 })
          : createEngine(setup.engine, hart),
        vstate: xenpv ? initialParavirtCpu() : deprivileged ? initialVirtualCpu() : undefined,
      });
    }
  }

  get id(): string {
    return this.setup.id;
  }

  /**
   * A ring32 VM: one vCPU, its kernel image (a ring32 ELF) under the technique, on a Ring32Vm with
   * the host's cost model and timer rate; its cycles are multiplied by `expansion` on an rv32 host.
   */
  private buildRing32(cyclesPerTick: number, host: VmHostContext): Ring32Vm {
    const s = this.setup;
    if (s.kind !== 'kernel') throw new RangeError(`VM ${s.id}: a ring32 guest is a kernel image (kind kernel), not a Linux user program`);
    if (s.vcpus !== 1) throw new RangeError(`VM ${s.id}: ring32 guests have exactly one vCPU (got vcpus ${s.vcpus})`);
    const r = new Ring32Vm(s.image, {
      // Emulating a whole ring32 machine is its native run, charged the expansion factor.
      technique: s.technique === 'emulation' ? 'native' : (s.technique ?? 'paravirt'),
      engine: s.engine,
      costs: host.costs,
      ramSize: s.memoryBytes,
      cyclesPerTick,
      expansion: this.expansion,
      onExit: host.onRing32Exit,
    });
    this.vcpus.push({
      vm: this,
      index: 0,
      hart: r.hart as unknown as Hart,
      engine: r.engine as unknown as Engine,
      state: VcpuState.VCPU_STATE_RUNNABLE,
      // What the hypervisor did before the kernel's first instruction (code patching's first scan)
      // is paid in the vCPU's first slice.
      wakeNs: 0,
      overrunCycles: r.hart.cycles,
      ring32: r,
    });
    return r;
  }

  /** The paravirtual kernel's declared ABI version must be the one the hypervisor speaks. */
  private checkPvAbi(addr: number): void {
    const version = this.bus.inRam(addr, 4) ? this.bus.readU32(addr) : undefined;
    if (version !== PV_ABI_VERSION) {
      throw new RangeError(
        `VM ${this.setup.id}: symbol ${PV_ABI_SYMBOL} at 0x${addr.toString(16)} declares paravirtual ABI version ${version ?? '(not in RAM)'}, the hypervisor speaks ${PV_ABI_VERSION}`,
      );
    }
  }

  /**
   * Technique native: the harts start in M-mode at the image's entry (its firmware), as on a bare
   * board; every trap goes to the guest's own handlers (exitMask 0). The host only accounts time:
   * wfi blocks the vCPU until its next timer compare, and a store to `tohost` ends the VM.
   */
  private buildNative(image: ReturnType<typeof parseElf32>, cyclesPerTick: number): NativeMachine {
    loadElf32(image, this.bus);
    const harts: Hart[] = [];
    for (let i = 0; i < this.setup.vcpus; i++) {
      const hart = new Hart(this.bus, { hartId: i, cyclesPerTick });
      hart.priv = Priv.M;
      hart.pc = image.entry;
      hart.x[10] = i; // a0 = hartid, as a boot ROM hands it over
      harts.push(hart);
    }
    const machine: NativeMachine = { clint: new Clint(harts), pending: [], tohost: 0 };
    this.bus.attach(machine.clint);
    this.bus.attach(new Console((b) => machine.pending.push(b)));
    const tohost = image.symbols.get('tohost');
    if (tohost !== undefined) {
      this.bus.watchWord(tohost, (v) => {
        if (v === 0) return;
        machine.tohost = v >>> 0;
        for (const h of harts) h.requestStop(Stop.Halt);
      });
    }
    harts.forEach((hart, i) =>
      this.vcpus.push({
        vm: this,
        index: i,
        hart,
        state: VcpuState.VCPU_STATE_RUNNABLE,
        wakeNs: 0,
        overrunCycles: 0,
        engine: createEngine(this.setup.engine, hart),
      }),
    );
    return machine;
  }
}
