// Execution mode `native` (architecture §7): a whole machine image — its own M-mode firmware and
// kernel — on the pCPU by direct execution, with its own CLINT and console on its own Bus. There is
// no hypervisor: the firmware handles every trap itself (exitMask 0). The runner only accounts
// time: wfi blocks the vCPU until its next timer compare, a store to `tohost` ends the VM, console
// output becomes events. Technique `emulation` (emulation.ts) is the same machine on the VM's engine.

import { Clint, Console, Hart, Priv, Stop, createEngine, parseElf32, loadElf32, Bus, BARE_RAM_BASE } from '@vsim/isa';
import { VcpuState } from '@vsim/proto';
import type { Vcpu, VmInstance, NativeMachine } from '../vm';
import { cyclesPerTickOf } from '../timebase';
import { BuiltMachine, ExecutionMode, HostServices, SLICE_BUDGET, Slice, SliceStop, VcpuRunner, VmHostContext, runScaled, timeOf } from './runner';

/**
 * Builds the bare machine: the harts start in M-mode at the image's entry (its firmware), as on a
 * bare board; a store to the image's `tohost` stops every hart.
 */
export function buildMachine(vm: VmInstance, clockHz: number): BuiltMachine {
  const setup = vm.setup;
  if (setup.kind !== 'kernel')
    throw new RangeError(`VM ${setup.id}: technique ${setup.technique} runs a machine image (kind kernel), not a Linux user program`);
  const image = parseElf32(setup.image);
  const bus = new Bus(BARE_RAM_BASE, setup.memoryBytes);
  loadElf32(image, bus);
  const cyclesPerTick = cyclesPerTickOf(clockHz);
  const harts: Hart[] = [];
  for (let i = 0; i < setup.vcpus; i++) {
    const hart = new Hart(bus, { hartId: i, cyclesPerTick });
    hart.priv = Priv.M;
    hart.pc = image.entry;
    hart.x[10] = i; // a0 = hartid, as a boot ROM hands it over
    harts.push(hart);
  }
  const machine: NativeMachine = { clint: new Clint(harts), pending: [], tohost: 0 };
  bus.attach(machine.clint);
  bus.attach(new Console((b) => machine.pending.push(b)));
  const tohost = image.symbols.get('tohost');
  if (tohost !== undefined) {
    bus.watchWord(tohost, (v) => {
      if (v === 0) return;
      machine.tohost = v >>> 0;
      for (const h of harts) h.requestStop(Stop.Halt);
    });
  }
  harts.forEach((hart, i) =>
    vm.vcpus.push({
      vm,
      index: i,
      hart,
      state: VcpuState.VCPU_STATE_RUNNABLE,
      wakeNs: 0,
      overrunCycles: 0,
      engine: createEngine(setup.engine, hart),
    }),
  );
  return { bus, native: machine };
}

/** Runs a vCPU of a whole machine image (native: expansion 1; emulation: the VM's expansion factor). */
export class MachineRunner implements VcpuRunner {
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly v: Vcpu,
    private readonly host: HostServices,
  ) {}

  runSlice(budget: number, slice: Slice): SliceStop {
    const v = this.v;
    const h = v.hart;
    const start = h.cycles;
    let stop: SliceStop = SLICE_BUDGET;
    while (h.cycles - start < budget) {
      const record = runScaled(v, budget - (h.cycles - start));
      // (Emulated, the guest's budget was the host's rounded down: the loop runs on into the rest.)
      if (record.kind === Stop.Budget) {
        if (v.vm.expansion === 1) break;
        continue;
      }
      const now = timeOf(this.host, slice, h.cycles);
      this.flushConsole(slice, now);
      if (record.kind === Stop.Halt && v.vm.native!.tohost !== 0) {
        stop = this.end(slice, now);
        break;
      }
      if (record.kind === Stop.Wfi) {
        v.state = VcpuState.VCPU_STATE_BLOCKED;
        v.wakeNs = this.wakeNs();
        slice.events.push(this.host.event({ timeNs: now, kind: 'block', vm: v.vm.id, vcpu: v.index, pcpu: slice.pcpu, value: v.wakeNs }));
        stop = { kind: 'blocked', wakeNs: v.wakeNs };
        break;
      }
      // Stop.Trap cannot happen (exitMask 0: the firmware takes every trap); Stop.Halt without tohost ends the slice.
      break;
    }
    const now = timeOf(this.host, slice, h.cycles);
    this.flushConsole(slice, now);
    if (v.vm.vcpus.length > 1) this.wakeInterruptedHarts(slice, now);
    return stop;
  }

  /** What the VM's firmware wrote to its console device, as one event. */
  private flushConsole(slice: Slice, now: number): void {
    const v = this.v;
    const pending = v.vm.native!.pending;
    if (pending.length === 0) return;
    const detail = this.decoder.decode(Uint8Array.from(pending));
    slice.events.push(this.host.event({ timeNs: now, kind: 'console', vm: v.vm.id, vcpu: v.index, pcpu: slice.pcpu, detail }));
    pending.length = 0;
  }

  /** Firmware wrote `tohost`: 1 is a clean shutdown, (n << 1) | 1 ends with status n. */
  private end(slice: Slice, now: number): SliceStop {
    const v = this.v;
    const vm = v.vm;
    const word = vm.native!.tohost;
    vm.ended = 'shutdown';
    vm.exitStatus = word === 1 ? 0 : word >>> 1;
    for (const other of vm.vcpus) other.state = VcpuState.VCPU_STATE_HALTED;
    slice.events.push(
      this.host.event({
        timeNs: now,
        kind: 'halt',
        vm: vm.id,
        vcpu: v.index,
        pcpu: slice.pcpu,
        detail: `tohost 0x${word.toString(16)}`,
        value: vm.exitStatus,
      }),
    );
    return { kind: 'ended', how: 'shutdown' };
  }

  /** A vCPU in wfi sleeps until its next timer compare (CLINT mtimecmp, or Sstc's stimecmp), in host virtual time; 0 when none is armed. */
  private wakeNs(): number {
    const h = this.v.hart;
    const wait = h.cyclesUntilNextTimer();
    if (!Number.isFinite(wait)) return 0;
    return Math.ceil(((h.cycles + h.timeSkew + Math.max(wait, 1)) * 1e9) / this.host.clockHz);
  }

  /**
   * SMP: a hart of the machine may have raised an interrupt of another one (a CLINT msip store: an
   * IPI, an HSM start of a parked hart). A hart blocked in wfi with an enabled interrupt pending
   * wakes up, as the real one would.
   */
  private wakeInterruptedHarts(slice: Slice, now: number): void {
    const by = this.v;
    for (const other of by.vm.vcpus) {
      if (other === by || other.state !== VcpuState.VCPU_STATE_BLOCKED || (other.hart.mip & other.hart.mie) === 0) continue;
      other.state = VcpuState.VCPU_STATE_RUNNABLE;
      slice.events.push(
        this.host.event({ timeNs: now, kind: 'wake', vm: by.vm.id, vcpu: other.index, pcpu: slice.pcpu, detail: `interrupt from vCPU ${by.index}` }),
      );
      this.host.reschedule();
    }
  }
}

/** rv32, technique native: the machine by direct execution (or emulated, on a host of another ISA). */
export const NATIVE: ExecutionMode = {
  name: 'rv32 native',
  build: (vm: VmInstance, _host: VmHostContext) => buildMachine(vm, vm.clockHz),
  runner: (v, host) => new MachineRunner(v, host),
};
