// The rv32 runners whose guest runs under the hypervisor (paravirt, trap-and-emulate, binary
// translation, a Linux process): the vCPU runs until its engine stops with a TrapExit, the trap
// goes to the dispatcher — in-process (`split`, an interpreter routine) or over the bus to the
// hypervisor service (`remote`, or the allocator) — and its resolution is applied before the guest
// runs on in the same slice (architecture §5). What differs per technique is how the vCPUs are built
// (paravirt.ts, trap-and-emulate.ts, binary-translation.ts, linux-process.ts).

import { Bus, BARE_RAM_BASE, Cause, Hart, Stop, TrapExit, createEngine, parseElf32, USER_RAM_BASE, Engine } from '@vsim/isa';
import { TrapAction, TrapRequest, TrapResolution, VcpuState, VirtualCpu, trapRouteName } from '@vsim/proto';
import { classify, memoryNeeded, TrapStormDetector, VMODE_S } from '@vsim/hypervisor';
import type { Vcpu, VmInstance } from '../vm';
import { cyclesPerTickOf } from '../timebase';
import { HostServices, RunnerState, SLICE_BUDGET, Slice, SliceStop, VcpuRunner, runScaled, timeOf } from './runner';
import { applyResolution, isFutile, timerDeadlineNs, trapRequest } from './resolution';

/** How one technique prepares each hart of a hypervised rv32 VM. */
export interface HartPlan {
  /** Sets the hart's privilege, entry, exit masks; returns the vCPU's virtual CPU state, if it has one. */
  prepare(hart: Hart, index: number): VirtualCpu | undefined;
  /** The engine that runs the hart (default: the VM's engine). */
  engine?(hart: Hart): Engine;
}

/**
 * Builds a hypervised rv32 VM: its RAM, the image loaded (by `load`, which may return a Linux
 * process's brk bounds), and one hart per vCPU prepared by the technique's plan. Under SBI HSM only
 * the boot hart of a kernel runs; the others are offline until it starts them (hart_start).
 */
export function buildHypervised(vm: VmInstance, plan: (bus: Bus, image: ReturnType<typeof parseElf32>) => HartPlan) {
  const setup = vm.setup;
  const image = parseElf32(setup.image);
  const bus = new Bus(setup.kind === 'linux' ? USER_RAM_BASE : BARE_RAM_BASE, setup.memoryBytes);
  const p = plan(bus, image);
  const cyclesPerTick = cyclesPerTickOf(vm.clockHz);
  for (let i = 0; i < setup.vcpus; i++) {
    const hart = new Hart(bus, { hartId: i, cyclesPerTick });
    const vstate = p.prepare(hart, i);
    vm.vcpus.push({
      vm,
      index: i,
      hart,
      state: setup.kind === 'kernel' && i > 0 ? VcpuState.VCPU_STATE_OFFLINE : VcpuState.VCPU_STATE_RUNNABLE,
      wakeNs: 0,
      overrunCycles: 0,
      engine: p.engine ? p.engine(hart) : createEngine(setup.engine, hart),
      vstate,
    });
  }
  return bus;
}

/** Runs a vCPU whose traps exit to the hypervisor's dispatcher. */
export class HypervisedRunner implements VcpuRunner {
  /** The trap-storm policy's state (libs/hypervisor/src/trap-storm.ts). */
  private storm?: TrapStormDetector;
  private readonly decoder = new TextDecoder();
  /** The slice being run (translated calls and SMP effects log into it). */
  protected slice!: Slice;

  constructor(
    protected readonly v: Vcpu,
    protected readonly host: HostServices,
  ) {}

  saveState(): RunnerState {
    return { trapStorm: this.storm?.saveState() };
  }

  loadState(s: RunnerState): void {
    this.storm = undefined;
    if (s.trapStorm) (this.storm = new TrapStormDetector()).loadState(s.trapStorm);
  }

  /** After each run of the engine: what the technique charges besides the guest's cycles (binary translation). */
  protected afterRun(): void {}

  /**
   * Synchronous unless a trap goes over the bus: a slice of a few hundred cycles ending in local traps
   * is no promise at all (an await per slice and per trap was a large share of a many-VM run's time,
   * docs/performance.md); after a remote trap's reply the slice goes on from where it was.
   */
  runSlice(budget: number, slice: Slice): SliceStop | Promise<SliceStop> {
    this.slice = slice;
    return this.runFrom(this.v.hart.cycles, budget);
  }

  private runFrom(start: number, budget: number): SliceStop | Promise<SliceStop> {
    const v = this.v;
    const h = v.hart;
    while (h.cycles - start < budget) {
      const record = runScaled(v, budget - (h.cycles - start));
      this.afterRun();
      // (Emulated, the guest's budget was the host's rounded down: the loop runs on into the rest.)
      if (record.kind === Stop.Budget) {
        if (v.vm.expansion === 1) break;
        continue;
      }
      const now = timeOf(this.host, this.slice, h.cycles);
      if (record.kind === Stop.Wfi) return this.block(now);
      if (record.kind === Stop.Trap) {
        const req = this.trapRequest(record, now);
        const local = this.host.trapPath === 'split' && classify(req).route === 'interpreter';
        if (!local) return this.remoteTrap(req, now, start, budget);
        const stop = this.resolve(req, this.host.traps.local(req), true, now);
        if (stop) return stop;
        continue;
      }
      // Stop.Halt: nothing in a hypervised VM requests it today.
      break;
    }
    return SLICE_BUDGET;
  }

  /** A trap handled by the hypervisor service: the rest of the slice runs once its resolution is back. */
  private async remoteTrap(req: TrapRequest, now: number, start: number, budget: number): Promise<SliceStop> {
    const stop = this.resolve(req, await this.host.traps.remote(req), false, now);
    return stop ?? this.runFrom(start, budget);
  }

  /** wfi (or an emulated one): the vCPU waits for its virtual timer. */
  private block(now: number): SliceStop {
    const v = this.v;
    v.state = VcpuState.VCPU_STATE_BLOCKED;
    v.wakeNs = timerDeadlineNs(v);
    this.slice.events.push(this.host.event({ timeNs: now, kind: 'block', vm: v.vm.id, vcpu: v.index, pcpu: this.slice.pcpu, value: v.wakeNs }));
    return { kind: 'blocked', wakeNs: v.wakeNs };
  }

  /** The trap request of a TrapExit: the hart's state, the trapping instruction and the memory its handler reads. */
  private trapRequest(exit: TrapExit, now: number): TrapRequest {
    const v = this.v;
    const h = v.hart;
    const vm = v.vm;
    const req = trapRequest(this.host, v, now, exit.cause, exit.tval, h.pc >>> 0, exit.interrupt);
    if (vm.bus.inRam(h.pc, 4)) req.instruction = vm.bus.readU32(h.pc);
    const window = memoryNeeded(req);
    if (window && window.len > 0 && vm.bus.inRam(window.addr, window.len)) {
      req.memoryAddr = window.addr;
      req.memory = Buffer.from(vm.bus.readBytes(window.addr, window.len));
    }
    return req;
  }

  /** Logs a trap's resolution (handled here if `local`) and applies it. Returns why the slice stops, if it does. */
  private resolve(req: TrapRequest, res: TrapResolution, local: boolean, now: number): SliceStop | undefined {
    const v = this.v;
    const h = v.hart;
    const vm = v.vm;
    const host = this.host;
    const pcpu = this.slice.pcpu;
    const events = this.slice.events;
    // A hypercall is an ecall of the (virtual) kernel; a deprivileged kernel's task's ecall is a guest trap.
    const hypercall =
      !req.interrupt && (req.cause === Cause.EcallFromS || req.cause === Cause.EcallFromU) && (req.vcpuState ? req.vcpuState.mode === VMODE_S : true);
    events.push(
      host.event({
        timeNs: now,
        kind: hypercall ? 'hypercall' : 'trap',
        vm: vm.id,
        vcpu: v.index,
        pcpu,
        route: trapRouteName(res.route),
        path: local ? 'local' : 'remote',
        cause: res.handler,
        detail: res.detail,
        value: res.costCycles,
      }),
    );
    if (res.console.length > 0) {
      events.push(host.event({ timeNs: now, kind: 'console', vm: vm.id, vcpu: v.index, pcpu, detail: this.decoder.decode(res.console) }));
    }
    h.cycles += res.costCycles;
    if (res.action === TrapAction.TRAP_ACTION_SHUTDOWN || res.action === TrapAction.TRAP_ACTION_FAULT) {
      const fault = res.action === TrapAction.TRAP_ACTION_FAULT;
      vm.ended = fault ? 'fault' : 'shutdown';
      vm.exitStatus = res.exitStatus;
      for (const other of vm.vcpus) other.state = fault ? VcpuState.VCPU_STATE_FAULTED : VcpuState.VCPU_STATE_HALTED;
      events.push(
        host.event({ timeNs: now, kind: fault ? 'fault' : 'halt', vm: vm.id, vcpu: v.index, pcpu, detail: res.detail, value: res.exitStatus }),
      );
      return { kind: 'ended', how: fault ? 'fault' : 'shutdown' };
    }
    const storm = isFutile(req, res, hypercall) ? (this.storm ??= new TrapStormDetector()).onFutileExit(h.instret) : undefined;
    if (storm) {
      // The trap-storm policy: the VM is stopped as a fault, like an unhandled exception.
      vm.ended = 'fault';
      for (const other of vm.vcpus) other.state = VcpuState.VCPU_STATE_FAULTED;
      events.push(host.event({ timeNs: now, kind: 'fault', vm: vm.id, vcpu: v.index, pcpu, cause: 'trap-storm', detail: storm }));
      return { kind: 'ended', how: 'fault' };
    }
    applyResolution(v, res, host, this.slice, now);
    if (res.redirect) h.enterSupervisorTrap(req.cause, req.tval); // before pc moves: sepc is the trapping pc
    h.pc = res.nextPc;
    if (v.state === VcpuState.VCPU_STATE_OFFLINE) return { kind: 'offline' }; // SBI hart_stop
    // An emulated wfi with nothing to wake it yet: the vCPU waits for its virtual timer.
    if (res.action === TrapAction.TRAP_ACTION_BLOCK) return this.block(now);
    return undefined;
  }
}
