// Execution modes of a ring32 VM (architecture §5, §6, §7): one vCPU, its kernel image (a ring32
// ELF) on a Ring32Vm under any of the ISA's techniques — native, trap-and-emulate, code patching,
// binary translation, paravirt, or emulation (the native run charged the expansion factor). Its
// exits go as rv32's do: a TrapRequest (with a Ring32Cpu) to the dispatcher, in-process on the
// `split` path, over the bus to the hypervisor service on the `remote` one; the Ring32Vm applies
// the TrapResolution. Calls from translated code are no exits: always in-process. The runner logs
// each exit as an rv32 trap is logged.

import { TrapRequest, VcpuState } from '@vsim/proto';
import { Ring32Exit, Ring32Vm } from '@vsim/hypervisor';
import type { Engine, Hart } from '@vsim/isa';
import type { Vcpu, VmInstance } from '../vm';
import { cyclesPerTickOf } from '../timebase';
import { ExecutionMode, HostServices, SLICE_BUDGET, Slice, SliceStop, VcpuRunner, VmHostContext, timeOf } from './runner';

/** Where each ring32 VM's exits are logged: its runner, once the host made one. */
const exitLoggers = new WeakMap<VmInstance, (e: Ring32Exit) => void>();

/**
 * A ring32 VM: one vCPU, its kernel image under the technique, on a Ring32Vm with the host's cost
 * model and timer rate; its cycles are multiplied by `expansion` on an rv32 host.
 */
function buildRing32(vm: VmInstance, host: VmHostContext) {
  const s = vm.setup;
  if (s.kind !== 'kernel') throw new RangeError(`VM ${s.id}: a ring32 guest is a kernel image (kind kernel), not a Linux user program`);
  if (s.vcpus !== 1) throw new RangeError(`VM ${s.id}: ring32 guests have exactly one vCPU (got vcpus ${s.vcpus})`);
  const r = new Ring32Vm(s.image, {
    // Emulating a whole ring32 machine is its native run, charged the expansion factor.
    technique: s.technique === 'emulation' ? 'native' : (s.technique ?? 'paravirt'),
    engine: s.engine,
    costs: host.costs,
    ramSize: s.memoryBytes,
    cyclesPerTick: cyclesPerTickOf(vm.clockHz),
    expansion: vm.expansion,
    onExit: (e) => exitLoggers.get(vm)?.(e),
  });
  vm.vcpus.push({
    vm,
    index: 0,
    // The host reads only cycles, instret and timeSkew of a vCPU's hart, which both harts have.
    hart: r.hart as unknown as Hart,
    engine: r.engine as unknown as Engine,
    state: VcpuState.VCPU_STATE_RUNNABLE,
    // What the hypervisor did before the kernel's first instruction (code patching's first scan)
    // is paid in the vCPU's first slice.
    wakeNs: 0,
    overrunCycles: r.hart.cycles,
    ring32: r,
  });
  return { bus: r.bus, ring32: r };
}

/** Runs a ring32 vCPU's slice on its Ring32Vm. */
export class Ring32Runner implements VcpuRunner {
  private slice?: Slice;

  constructor(
    private readonly v: Vcpu,
    private readonly host: HostServices,
  ) {
    exitLoggers.set(v.vm, (e) => this.logExit(e));
    // In-process resolutions (split path, translated calls) are the host's: its cost model and counters.
    v.ring32!.resolveLocal = (req) => host.traps.local(req);
  }

  /**
   * Synchronous unless an exit goes over the bus (as HypervisedRunner): after a remote exit's reply
   * the slice goes on from where it was.
   */
  runSlice(budget: number, slice: Slice): SliceStop | Promise<SliceStop> {
    this.slice = slice;
    if (budget <= 0) return this.finish('budget');
    return this.runTo(this.v.ring32!.hart.cycles + budget);
  }

  private runTo(end: number): SliceStop | Promise<SliceStop> {
    const r = this.v.ring32!;
    while (r.hart.cycles < end) {
      const step = r.advance(end);
      if (step === undefined) continue;
      if (typeof step === 'string') return this.finish(step);
      if (this.host.trapPath === 'remote') return this.remoteExit(step, end);
      const stop = r.resolveExit(step, this.host.traps.local(step));
      if (stop) return this.finish(stop);
    }
    return this.finish('budget');
  }

  /** An exit resolved by the hypervisor service: the rest of the slice runs once its resolution is back. */
  private async remoteExit(req: TrapRequest, end: number): Promise<SliceStop> {
    const r = this.v.ring32!;
    const stop = r.resolveExit(req, await this.host.traps.remote(this.identify(req)), true);
    return stop ? this.finish(stop) : this.runTo(end);
  }

  /** Whose exit it is and when (the Ring32Vm knows neither). */
  private identify(req: TrapRequest): TrapRequest {
    const v = this.v;
    req.sim = this.host.sim;
    req.host = this.host.host;
    req.vm = v.vm.id;
    req.vcpu = v.index;
    req.nowNs = this.slice ? timeOf(this.host, this.slice, v.ring32!.hart.cycles) : 0;
    return req;
  }

  /** The slice is over: its console output, and how the vCPU stopped. */
  private finish(stop: 'budget' | 'wfi' | 'exit' | 'fault'): SliceStop {
    const v = this.v;
    const r = v.ring32!;
    const h = r.hart;
    const slice = this.slice!;
    const now = timeOf(this.host, slice, h.cycles);
    const out = r.drainConsole();
    if (out.length > 0)
      slice.events.push(this.host.event({ timeNs: now, kind: 'console', vm: v.vm.id, vcpu: v.index, pcpu: slice.pcpu, detail: out }));
    if (stop === 'budget') return SLICE_BUDGET;
    if (stop === 'wfi') {
      // HLT with the (virtual) timer not yet due: blocked until it fires, in host virtual time.
      const wait = r.cyclesUntilTimer();
      v.state = VcpuState.VCPU_STATE_BLOCKED;
      v.wakeNs = Number.isFinite(wait) ? Math.ceil(((h.cycles + h.timeSkew + Math.max(wait, 1)) * 1e9) / this.host.clockHz) : 0;
      slice.events.push(this.host.event({ timeNs: now, kind: 'block', vm: v.vm.id, vcpu: v.index, pcpu: slice.pcpu, value: v.wakeNs }));
      return { kind: 'blocked', wakeNs: v.wakeNs };
    }
    const vm = v.vm;
    const fault = stop === 'fault';
    vm.ended = fault ? 'fault' : 'shutdown';
    vm.exitStatus = fault ? 0 : (h.exitCode ?? 0);
    v.state = fault ? VcpuState.VCPU_STATE_FAULTED : VcpuState.VCPU_STATE_HALTED;
    slice.events.push(
      this.host.event({
        timeNs: now,
        kind: fault ? 'fault' : 'halt',
        vm: vm.id,
        vcpu: v.index,
        pcpu: slice.pcpu,
        detail: fault ? (r.faultDetail ?? 'fault') : `exit ${vm.exitStatus}`,
        value: vm.exitStatus,
      }),
    );
    return { kind: 'ended', how: fault ? 'fault' : 'shutdown' };
  }

  /**
   * A ring32 exit or translated call, logged like an rv32 trap: kind (hypercall for HCALL), the
   * routine as cause, the dispatcher's route (the allocator for the VM's power-off, an interpreter
   * routine otherwise), and the path (`local` or `remote`, as the exit was resolved; `translated`: a
   * call from translated code, no exit).
   */
  private logExit(e: Ring32Exit): void {
    const s = this.slice;
    if (!s) return;
    const v = this.v;
    const shutdown = e.name === 'r32.out.exit' || e.name === 'r32.hcall.shutdown';
    s.events.push(
      this.host.event({
        timeNs: timeOf(this.host, s, v.ring32!.hart.cycles),
        kind: e.name.startsWith('r32.hcall.') ? 'hypercall' : 'trap',
        vm: v.vm.id,
        vcpu: v.index,
        pcpu: s.pcpu,
        route: shutdown ? 'allocator' : 'interpreter',
        path: e.via === 'translated' ? 'translated' : e.remote ? 'remote' : 'local',
        cause: e.name,
        detail: e.via === 'translated' ? '' : `${e.interrupt ? 'interrupt' : 'cause'} ${e.cause}`,
        value: e.cost,
      }),
    );
  }
}

/** ring32, every technique: the Ring32Vm runs the kernel under it. */
export const RING32: ExecutionMode = {
  name: 'ring32',
  build: buildRing32,
  runner: (v, host) => new Ring32Runner(v, host),
};
