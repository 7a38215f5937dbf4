// One simulated host: N pCPUs executing the vCPUs a run order assigns to them. The pCPUs advance
// together in virtual time, in lockstep quanta (each pCPU runs one quantum, in pCPU order, then
// the next quantum), so the vCPUs of an SMP guest really run concurrently. When something the
// scheduler could not predict happens (a vCPU blocks in wfi, a VM shuts down or faults) the host
// stops at the end of that quantum and reports.
//
// Departure from architecture.md §4: the doc asks for the exact time of the unpredictable event.
// Other pCPUs may already have run past it within the quantum, and rolling them back would need
// snapshots; so unpredictable events take effect at the next quantum boundary (default 10 µs,
// per host in the scenario). Predictable events (slice ends, timers) are exact: they are horizons.

import { BinaryTranslationEngine, Cause, EngineName, MIP, Stop } from '@vsim/isa';
import {
  Event,
  PcpuOrder,
  RunOrder,
  RunReport,
  TrapAction,
  TrapRequest,
  TrapResolution,
  TrapRoute,
  VcpuReport,
  VcpuState,
  VirtualCpu,
  EventStamper,
} from '@vsim/proto';
import {
  VMODE_S,
  softwareExitArmed,
  timerExitArmed,
  classify,
  memoryNeeded,
  needsHartStates,
  DEFAULT_HYPERVISOR_COSTS,
  HypervisorCosts,
  TrapStormDetector,
  REDIRECT_ILLEGAL_NAME,
  type Ring32Exit,
} from '@vsim/hypervisor';
import { SmpEffect, hsmStates, sendIpi, startVcpu, stopVcpu } from './smp';
import { TIMEBASE_HZ, Vcpu, VmInstance, VmSetup } from './vm';
import type { IsaName } from './cross-isa';

/**
 * The trap-storm policy's notion of a futile exit (libs/hypervisor/src/trap-storm.ts): an exception reflected
 * back into the guest that is not a system call (a redirected illegal instruction among them), or a
 * hypercall answered with an error (a0 < 0).
 */
function isFutile(req: TrapRequest, res: TrapResolution, hypercall: boolean): boolean {
  if (res.handler === 'tae.inject') return req.cause !== Cause.EcallFromU;
  if (res.handler === REDIRECT_ILLEGAL_NAME) return true;
  return hypercall && res.writes.some((w) => w.reg === 10 && w.value < 0);
}

/** How traps reach a handler: locally (split path, interpreter routines) or over the bus. */
export interface TrapHandlers {
  local(req: TrapRequest): TrapResolution;
  remote(req: TrapRequest): Promise<TrapResolution>;
  /** The exit part of a resolution's cost (a translated call does not pay it). */
  readonly exitCost: number;
  /** The host's cost model (translated calls, block translation); default DEFAULT_HYPERVISOR_COSTS. */
  readonly costs?: HypervisorCosts;
}

const NO_BYTES = Buffer.alloc(0);

/** A call from translated code into the hypervisor: a function call and a few checks, no exit (the default; costs.translatedCall). */
export const TRANSLATED_CALL_CYCLES = DEFAULT_HYPERVISOR_COSTS.translatedCall;

export interface HostConfig {
  readonly sim: string;
  readonly id: string;
  readonly pcpus: number;
  readonly clockHz: number;
  readonly quantumNs: number;
  readonly trapPath: 'split' | 'remote';
  /** The ISA of the host's pCPUs (default rv32); a VM of the other ISA runs by emulation. */
  readonly isa?: IsaName;
  /** Expansion factor per engine for emulated VMs (default DEFAULT_EXPANSION_FACTORS; scenario costs.expansion). */
  readonly expansion?: Readonly<Record<EngineName, number>>;
}

interface Tally {
  ranCycles: number;
  instret0: number;
}

export class HostExecutor {
  readonly vms = new Map<string, VmInstance>();
  private readonly stamp: EventStamper;
  private readonly decoder = new TextDecoder();
  private readonly costs: HypervisorCosts;
  /** The trap-storm policy's state, per vCPU (libs/hypervisor/src/trap-storm.ts). */
  private readonly storms = new Map<Vcpu, TrapStormDetector>();
  /** Binary translation: blocks of each vCPU's translator already charged costs.translateBlock. */
  private readonly blocksCharged = new Map<Vcpu, number>();

  constructor(
    readonly config: HostConfig,
    private readonly traps: TrapHandlers,
  ) {
    this.stamp = new EventStamper(config.id, 'node');
    this.costs = traps.costs ?? DEFAULT_HYPERVISOR_COSTS;
  }

  /**
   * What snapshots (snapshot/) read and restore besides the VM itself: the trap-storm windows of
   * its vCPUs and the host's event numbering.
   */
  snapshotState(): { readonly storms: Map<Vcpu, TrapStormDetector>; readonly stamp: EventStamper } {
    return { storms: this.storms, stamp: this.stamp };
  }

  createVm(setup: VmSetup): VmInstance {
    if (this.vms.has(setup.id)) throw new Error(`VM ${setup.id} already exists on host ${this.config.id}`);
    const vm: VmInstance = new VmInstance(setup, this.config.clockHz, {
      isa: this.config.isa,
      expansion: this.config.expansion,
      costs: this.costs,
      onRing32Exit: (e) => this.ring32Exit(vm.vcpus[0], e),
    });
    // (A ring32 VM's translator calls its own hypervisor: libs/hypervisor/src/ring32/hypervisor.ts set the hook.)
    if (setup.technique === 'binary-translation' && !vm.ring32)
      for (const v of vm.vcpus) v.hart.sensitiveHook = (w, pc) => this.translatedCall(v, w, pc);
    this.vms.set(setup.id, vm);
    return vm;
  }

  /** What the vCPU being run is doing now, for calls made from inside translated code. */
  private slice: { pcpu: number; t0: number; start: number; events: Event[] } | undefined;

  /**
   * Binary translation: the translated guest kernel calls the hypervisor's interpreter routine for a
   * sensitive instruction directly, without an exit: only the routine's own work is charged.
   */
  private translatedCall(v: Vcpu, w: number, pc: number): number {
    const h = v.hart;
    const s = this.slice!;
    const now = s.t0 + this.ns(h.cycles - s.start);
    const req = this.trapRequest(v, now, Cause.IllegalInstruction, w >>> 0, pc, false);
    req.instruction = w >>> 0;
    const res = this.traps.local(req);
    // The normal exit path stops the VM, or redirects an illegal instruction to the guest kernel (a
    // translator emits a trap, not a call, for a word that is no instruction): an exit either way.
    if (res.action === TrapAction.TRAP_ACTION_FAULT || res.handler === REDIRECT_ILLEGAL_NAME) return h.raise(Cause.IllegalInstruction, w);
    const cost = res.costCycles - this.traps.exitCost + this.costs.translatedCall;
    s.events.push(
      this.stamp.make({
        timeNs: now,
        kind: 'trap',
        vm: v.vm.id,
        vcpu: v.index,
        pcpu: s.pcpu,
        route: 'interpreter',
        path: 'translated',
        cause: res.handler,
        value: cost,
      }),
    );
    h.hookCost = cost;
    this.callNs = now;
    this.applyResolution(v, res);
    if (res.action === TrapAction.TRAP_ACTION_BLOCK) h.requestStop(Stop.Wfi);
    return res.nextPc;
  }

  private cycles(ns: number): number {
    return Math.floor((ns * this.config.clockHz) / 1e9);
  }

  private ns(cycles: number): number {
    return Math.floor((cycles * 1e9) / this.config.clockHz);
  }

  /**
   * SMP: set when another vCPU's action (an IPI, an HSM hart_start) made a vCPU runnable that is
   * not on a pCPU, or the order named an offline vCPU: the scheduler must decide again, so the
   * host stops at the end of the current quantum.
   */
  private reschedule = false;
  /** The virtual time of the trap or translated call whose resolution is being applied. */
  private callNs = 0;

  /** Executes one run order and reports where the host stopped. */
  async run(order: RunOrder): Promise<RunReport> {
    const events: Event[] = [];
    const tallies = new Map<Vcpu, Tally>();
    const assigned: { pcpu: number; vcpu: Vcpu }[] = [];
    this.reschedule = false;
    // SMP VMs: vCPUs whose state another vCPU may change are reported when it did.
    const before = new Map<Vcpu, VcpuState>();
    for (const vm of this.vms.values()) if (vm.vcpus.length > 1) for (const v of vm.vcpus) before.set(v, v.state);
    for (const p of order.pcpus) {
      const v = this.vcpuOf(p);
      if (!v) continue;
      if (v.state === VcpuState.VCPU_STATE_BLOCKED) {
        v.state = VcpuState.VCPU_STATE_RUNNABLE; // the scheduler woke it: its wfi returns
        events.push(this.stamp.make({ timeNs: order.nowNs, kind: 'wake', vm: v.vm.id, vcpu: v.index, pcpu: p.pcpu }));
      }
      if (v.state === VcpuState.VCPU_STATE_OFFLINE) {
        // Not started yet (SBI HSM): report it so the scheduler stops giving it a pCPU.
        tallies.set(v, { ranCycles: 0, instret0: v.hart.instret });
        this.reschedule = true;
        continue;
      }
      if (v.state !== VcpuState.VCPU_STATE_RUNNABLE) continue;
      assigned.push({ pcpu: p.pcpu, vcpu: v });
      tallies.set(v, { ranCycles: 0, instret0: v.hart.instret });
    }
    let t = order.nowNs;
    const until = order.untilNs;
    let early = false;
    if (assigned.length === 0) t = until; // every pCPU idles: nothing to interleave
    while (t < until && !early) {
      const qEnd = Math.min(t + this.config.quantumNs, until);
      for (const { pcpu, vcpu } of assigned) {
        if (vcpu.state !== VcpuState.VCPU_STATE_RUNNABLE) continue;
        if (await this.runSlice(vcpu, pcpu, t, qEnd, tallies.get(vcpu)!, events)) early = true;
      }
      t = qEnd;
      if (this.reschedule) early = true;
    }
    const vcpus: VcpuReport[] = [];
    for (const [v, tally] of tallies) {
      vcpus.push(
        VcpuReport.fromPartial({
          vm: v.vm.id,
          vcpu: v.index,
          state: v.state,
          wakeNs: v.wakeNs,
          ranNs: this.ns(tally.ranCycles),
          instructions: v.hart.instret - tally.instret0,
        }),
      );
    }
    for (const [v, was] of before) {
      if (tallies.has(v) || v.state === was) continue;
      vcpus.push(VcpuReport.fromPartial({ vm: v.vm.id, vcpu: v.index, state: v.state, wakeNs: v.wakeNs, ranNs: 0, instructions: 0 }));
    }
    return RunReport.fromPartial({ sim: order.sim, host: order.host, seq: order.seq, nowNs: t, vcpus, events });
  }

  private vcpuOf(p: PcpuOrder): Vcpu | undefined {
    if (!p.vm) return undefined;
    const vm = this.vms.get(p.vm);
    if (!vm) throw new Error(`run order names VM '${p.vm}', which host ${this.config.id} does not have`);
    const v = vm.vcpus[p.vcpu];
    if (!v) throw new Error(`run order names vCPU ${p.vcpu} of VM '${p.vm}', which has ${vm.vcpus.length}`);
    return v;
  }

  /** Runs one vCPU from t0 to t1 of host time. Returns true if something unpredictable happened. */
  private async runSlice(v: Vcpu, pcpu: number, t0: number, t1: number, tally: Tally, events: Event[]): Promise<boolean> {
    if (v.ring32) return this.runRing32Slice(v, pcpu, t0, t1, tally, events);
    const expansion = v.vm.expansion;
    const h = v.hart;
    // An instruction (or a trap's cost) that ran past the last slice's end is paid for now, so a
    // vCPU never gets more time than its pCPU had.
    const carried = v.overrunCycles;
    const budget = this.cycles(t1) - this.cycles(t0) - carried;
    const start = h.cycles;
    // Where the vCPU is in host time: the cycles it carried over were spent in this slice, first.
    const origin = start - carried;
    // The guest's `time` is host time, however long this vCPU waited for a pCPU.
    h.timeSkew = this.cycles(t0) - origin;
    this.slice = { pcpu, t0, start: origin, events };
    let early = false;
    const native = v.vm.native;
    while (h.cycles - start < budget) {
      const left = budget - (h.cycles - start);
      const ran0 = h.cycles;
      const stop = v.engine.run(expansion === 1 ? left : Math.max(1, Math.floor(left / expansion)));
      // A guest of another ISA is emulated: each of its cycles costs `expansion` host cycles (cross-isa.ts).
      if (expansion !== 1) h.cycles += (h.cycles - ran0) * (expansion - 1);
      if (v.vm.setup.technique === 'binary-translation') this.chargeTranslation(v);
      // (Emulated, the guest's budget was the host's rounded down: the loop runs on into the rest.)
      if (stop === Stop.Budget) {
        if (expansion === 1) break;
        continue;
      }
      const now = t0 + this.ns(h.cycles - origin);
      if (native) this.flushConsole(v, pcpu, now, events);
      if (stop === Stop.Halt && native && native.tohost !== 0) {
        this.endNative(v, pcpu, now, events);
        early = true;
        break;
      }
      if (stop === Stop.Wfi) {
        v.state = VcpuState.VCPU_STATE_BLOCKED;
        v.wakeNs = native ? this.nativeWakeNs(v) : this.timerDeadlineNs(v);
        events.push(this.stamp.make({ timeNs: now, kind: 'block', vm: v.vm.id, vcpu: v.index, pcpu, value: v.wakeNs }));
        early = true;
        break;
      }
      if (stop === Stop.Trap) {
        if (await this.trap(v, pcpu, now, events)) {
          early = true;
          break;
        }
        continue;
      }
      // Stop.Halt: nothing in a VM requests it today.
      break;
    }
    const used = h.cycles - start;
    if (native) this.flushConsole(v, pcpu, t0 + this.ns(h.cycles - origin), events);
    if (native && v.vm.vcpus.length > 1) this.wakeInterruptedHarts(v, pcpu, t0 + this.ns(h.cycles - origin), events);
    // The pCPU's time this quantum went to this vCPU's debt and its run; what is left over is paid in
    // the next quanta, however many (an expensive exit or translation can cost more than one).
    tally.ranCycles += Math.min(budget + carried, carried + used);
    v.overrunCycles = Math.max(0, used - budget);
    return early;
  }

  /**
   * A ring32 vCPU's slice: the same accounting as an rv32 one (carried overrun, guest time = host
   * time), but the VM's own hypervisor (libs/hypervisor/src/ring32/hypervisor.ts, linked into the cpu-node: its virtual
   * state is not the proto's rv32 VirtualCpu) handles every exit; each is logged by ring32Exit.
   * On an rv32 host the Ring32Vm multiplies its guest cycles by the VM's expansion factor itself.
   */
  private runRing32Slice(v: Vcpu, pcpu: number, t0: number, t1: number, tally: Tally, events: Event[]): boolean {
    const r = v.ring32!;
    const h = r.hart;
    const carried = v.overrunCycles;
    const budget = this.cycles(t1) - this.cycles(t0) - carried;
    const start = h.cycles;
    const origin = start - carried;
    h.timeSkew = this.cycles(t0) - origin;
    this.slice = { pcpu, t0, start: origin, events };
    const stop = budget > 0 ? r.runSlice(budget) : 'budget';
    const used = h.cycles - start;
    const now = t0 + this.ns(h.cycles - origin);
    const out = r.drainConsole();
    if (out.length > 0) events.push(this.stamp.make({ timeNs: now, kind: 'console', vm: v.vm.id, vcpu: v.index, pcpu, detail: out }));
    tally.ranCycles += Math.min(budget + carried, carried + used);
    v.overrunCycles = Math.max(0, used - budget);
    if (stop === 'budget') return false;
    if (stop === 'wfi') {
      // HLT with the (virtual) timer not yet due: blocked until it fires, in host virtual time.
      const wait = r.cyclesUntilTimer();
      v.state = VcpuState.VCPU_STATE_BLOCKED;
      v.wakeNs = Number.isFinite(wait) ? Math.ceil(((h.cycles + h.timeSkew + Math.max(wait, 1)) * 1e9) / this.config.clockHz) : 0;
      events.push(this.stamp.make({ timeNs: now, kind: 'block', vm: v.vm.id, vcpu: v.index, pcpu, value: v.wakeNs }));
      return true;
    }
    const vm = v.vm;
    const fault = stop === 'fault';
    vm.ended = fault ? 'fault' : 'shutdown';
    vm.exitStatus = fault ? 0 : (h.exitCode ?? 0);
    v.state = fault ? VcpuState.VCPU_STATE_FAULTED : VcpuState.VCPU_STATE_HALTED;
    events.push(
      this.stamp.make({
        timeNs: now,
        kind: fault ? 'fault' : 'halt',
        vm: vm.id,
        vcpu: v.index,
        pcpu,
        detail: fault ? (r.faultDetail ?? 'fault') : `exit ${vm.exitStatus}`,
        value: vm.exitStatus,
      }),
    );
    return true;
  }

  /**
   * A ring32 exit or translated call, logged like an rv32 trap: kind (hypercall for HCALL), the
   * routine as cause, the dispatcher's route (the allocator for the VM's power-off, an interpreter
   * routine otherwise), and the path (`local`: the ring32 hypervisor always runs in the cpu-node;
   * `translated`: a call from translated code, no exit).
   */
  private ring32Exit(v: Vcpu, e: Ring32Exit): void {
    const s = this.slice;
    if (!s) return;
    const now = s.t0 + this.ns(v.ring32!.hart.cycles - s.start);
    const shutdown = e.name === 'r32.out.exit' || e.name === 'r32.hcall.shutdown';
    s.events.push(
      this.stamp.make({
        timeNs: now,
        kind: e.name.startsWith('r32.hcall.') ? 'hypercall' : 'trap',
        vm: v.vm.id,
        vcpu: v.index,
        pcpu: s.pcpu,
        route: shutdown ? 'allocator' : 'interpreter',
        path: e.via === 'translated' ? 'translated' : 'local',
        cause: e.name,
        detail: e.via === 'translated' ? '' : `${e.interrupt ? 'interrupt' : 'cause'} ${e.cause}`,
        value: e.cost,
      }),
    );
  }

  /**
   * Binary translation: translating the guest kernel's code is the hypervisor's work, charged to the
   * vCPU at costs.translateBlock per block of virtual S-mode code translated. (vsim's translator also
   * runs the guest's user code, which a real one leaves to direct execution: that is not charged.)
   */
  private chargeTranslation(v: Vcpu): void {
    if (!(v.engine instanceof BinaryTranslationEngine)) return;
    const blocks = v.engine.translatedByMode[VMODE_S];
    const charged = this.blocksCharged.get(v) ?? 0;
    if (blocks === charged) return;
    this.blocksCharged.set(v, blocks);
    v.hart.cycles += (blocks - charged) * this.costs.translateBlock;
  }

  /** Technique native: what the VM's firmware wrote to its console device, as one event. */
  private flushConsole(v: Vcpu, pcpu: number, now: number, events: Event[]): void {
    const pending = v.vm.native!.pending;
    if (pending.length === 0) return;
    events.push(
      this.stamp.make({ timeNs: now, kind: 'console', vm: v.vm.id, vcpu: v.index, pcpu, detail: this.decoder.decode(Uint8Array.from(pending)) }),
    );
    pending.length = 0;
  }

  /** Technique native: firmware wrote `tohost`: 1 is a clean shutdown, (n << 1) | 1 ends with status n. */
  private endNative(v: Vcpu, pcpu: number, now: number, events: Event[]): void {
    const vm = v.vm;
    const word = vm.native!.tohost;
    vm.ended = 'shutdown';
    vm.exitStatus = word === 1 ? 0 : word >>> 1;
    for (const other of vm.vcpus) other.state = VcpuState.VCPU_STATE_HALTED;
    events.push(
      this.stamp.make({
        timeNs: now,
        kind: 'halt',
        vm: vm.id,
        vcpu: v.index,
        pcpu,
        detail: `tohost 0x${word.toString(16)}`,
        value: vm.exitStatus,
      }),
    );
  }

  /**
   * Technique native: a vCPU in wfi sleeps until its next timer compare (CLINT mtimecmp, or Sstc's
   * stimecmp), in host virtual time; 0 when none is armed.
   */
  private nativeWakeNs(v: Vcpu): number {
    const h = v.hart;
    const wait = h.cyclesUntilNextTimer();
    if (!Number.isFinite(wait)) return 0;
    return Math.ceil(((h.cycles + h.timeSkew + Math.max(wait, 1)) * 1e9) / this.config.clockHz);
  }

  /**
   * A TrapRequest as a plain object (what TrapRequest.fromPartial would build, without its copies:
   * a trap-heavy guest makes hundreds of thousands of these).
   */
  private trapRequest(v: Vcpu, now: number, cause: number, tval: number, pc: number, interrupt: boolean): TrapRequest {
    const h = v.hart;
    return {
      sim: this.config.sim,
      host: this.config.id,
      vm: v.vm.id,
      vcpu: v.index,
      nowNs: now,
      seq: 0, // the cpu-node numbers the ones it sends
      cause,
      tval: tval >>> 0,
      pc,
      instruction: 0,
      priv: h.priv,
      x: Array.from(h.x.subarray(0, 32)),
      memoryAddr: 0,
      memory: NO_BYTES,
      kind: v.vm.setup.kind,
      vcpuState: v.vstate,
      interrupt,
      hartStates: !interrupt && needsHartStates(h.x[17] >>> 0) ? hsmStates(v.vm) : [],
      stvec: h.stvec >>> 0,
    };
  }

  /** When the vCPU's timer will raise its interrupt, in host virtual time (0: not armed). */
  private timerDeadlineNs(v: Vcpu): number {
    const cmp = v.hart.stimecmp;
    if (!Number.isFinite(cmp)) return 0;
    return Math.ceil((cmp * 1e9) / TIMEBASE_HZ);
  }

  /** Sends a trap to its handler and applies the resolution. Returns true if the VM ended. */
  private async trap(v: Vcpu, pcpu: number, now: number, events: Event[]): Promise<boolean> {
    const h = v.hart;
    const vm = v.vm;
    const req = this.trapRequest(v, now, h.exitCause, h.exitTval, h.pc >>> 0, h.exitInterrupt);
    if (vm.bus.inRam(h.pc, 4)) req.instruction = vm.bus.readU32(h.pc);
    const window = memoryNeeded(req);
    if (window && window.len > 0 && vm.bus.inRam(window.addr, window.len)) {
      req.memoryAddr = window.addr;
      req.memory = Buffer.from(vm.bus.readBytes(window.addr, window.len));
    }
    const local = this.config.trapPath === 'split' && classify(req).route === 'interpreter';
    const res = local ? this.traps.local(req) : await this.traps.remote(req);
    // A hypercall is an ecall of the (virtual) kernel; a deprivileged kernel's task's ecall is a guest trap.
    const hypercall =
      !req.interrupt && (req.cause === Cause.EcallFromS || req.cause === Cause.EcallFromU) && (req.vcpuState ? req.vcpuState.mode === VMODE_S : true);
    events.push(
      this.stamp.make({
        timeNs: now,
        kind: hypercall ? 'hypercall' : 'trap',
        vm: vm.id,
        vcpu: v.index,
        pcpu,
        route: res.route === TrapRoute.TRAP_ROUTE_ALLOCATOR ? 'allocator' : 'interpreter',
        path: local ? 'local' : 'remote',
        cause: res.handler,
        detail: res.detail,
        value: res.costCycles,
      }),
    );
    if (res.console.length > 0) {
      events.push(this.stamp.make({ timeNs: now, kind: 'console', vm: vm.id, vcpu: v.index, pcpu, detail: this.decoder.decode(res.console) }));
    }
    h.cycles += res.costCycles;
    if (res.action === TrapAction.TRAP_ACTION_SHUTDOWN || res.action === TrapAction.TRAP_ACTION_FAULT) {
      const fault = res.action === TrapAction.TRAP_ACTION_FAULT;
      vm.ended = fault ? 'fault' : 'shutdown';
      vm.exitStatus = res.exitStatus;
      for (const other of vm.vcpus) other.state = fault ? VcpuState.VCPU_STATE_FAULTED : VcpuState.VCPU_STATE_HALTED;
      events.push(
        this.stamp.make({ timeNs: now, kind: fault ? 'fault' : 'halt', vm: vm.id, vcpu: v.index, pcpu, detail: res.detail, value: res.exitStatus }),
      );
      return true;
    }
    const storm = isFutile(req, res, hypercall)
      ? (this.storms.get(v) ?? this.storms.set(v, new TrapStormDetector()).get(v)!).onFutileExit(h.instret)
      : undefined;
    if (storm) {
      // The trap-storm policy: the VM is stopped as a fault, like an unhandled exception.
      vm.ended = 'fault';
      for (const other of vm.vcpus) other.state = VcpuState.VCPU_STATE_FAULTED;
      events.push(this.stamp.make({ timeNs: now, kind: 'fault', vm: vm.id, vcpu: v.index, pcpu, cause: 'trap-storm', detail: storm }));
      return true;
    }
    this.callNs = now;
    this.applyResolution(v, res);
    if (res.redirect) h.enterSupervisorTrap(req.cause, req.tval); // before pc moves: sepc is the trapping pc
    h.pc = res.nextPc;
    if (v.state === VcpuState.VCPU_STATE_OFFLINE) return true; // SBI hart_stop
    if (res.action === TrapAction.TRAP_ACTION_BLOCK) {
      // An emulated wfi with nothing to wake it yet: the vCPU waits for its virtual timer.
      v.state = VcpuState.VCPU_STATE_BLOCKED;
      v.wakeNs = this.timerDeadlineNs(v);
      events.push(this.stamp.make({ timeNs: now, kind: 'block', vm: vm.id, vcpu: v.index, pcpu, value: v.wakeNs }));
      return true;
    }
    return false;
  }

  /** The state changes a resolution carries: registers, guest memory, the timer, virtual state. */
  private applyResolution(v: Vcpu, res: TrapResolution): void {
    const h = v.hart;
    for (const w of res.writes) if (w.reg !== 0) h.x[w.reg] = w.value;
    for (const m of res.memoryWrites) v.vm.bus.writeBytes(m.addr, m.fill > 0 ? new Uint8Array(m.fill) : m.data);
    if (res.timerOff) h.setStimecmp(Number.POSITIVE_INFINITY);
    else if (res.setTimer) h.setStimecmp(res.timer);
    if (res.vcpuState) this.setVirtualState(v, res.vcpuState);
    if (res.ipiVcpus !== 0 || res.hartStart || res.hartStop) this.applySmp(v, res);
  }

  /**
   * Technique native, SMP: a hart of the machine may have raised an interrupt of another one (a
   * CLINT msip store: an IPI, an HSM start of a parked hart). A hart blocked in wfi with an enabled
   * interrupt pending wakes up, as the real one would.
   */
  private wakeInterruptedHarts(by: Vcpu, pcpu: number, now: number, events: Event[]): void {
    for (const other of by.vm.vcpus) {
      if (other === by || other.state !== VcpuState.VCPU_STATE_BLOCKED || (other.hart.mip & other.hart.mie) === 0) continue;
      other.state = VcpuState.VCPU_STATE_RUNNABLE;
      events.push(this.stamp.make({ timeNs: now, kind: 'wake', vm: by.vm.id, vcpu: other.index, pcpu, detail: `interrupt from vCPU ${by.index}` }));
      this.reschedule = true;
    }
  }

  /** SMP: the resolution's effects on the VM's vCPUs (smp.ts), logged at the caller's time. */
  private applySmp(v: Vcpu, res: TrapResolution): void {
    const vm = v.vm;
    const set = (t: Vcpu, s: VirtualCpu) => this.setVirtualState(t, s);
    const effects: SmpEffect[] = [];
    for (let i = 0; i < vm.vcpus.length; i++) if ((res.ipiVcpus >>> i) & 1) effects.push(sendIpi(vm.vcpus[i], set));
    if (res.hartStart) {
      const target = vm.vcpus[res.hartStart.vcpu];
      const e = target && startVcpu(target, res.hartStart, set);
      if (e) effects.push(e);
    }
    if (res.hartStop) effects.push(stopVcpu(v));
    const s = this.slice;
    const now = this.callNs;
    for (const e of effects) {
      s?.events.push(
        this.stamp.make({
          timeNs: now,
          kind: e.kind,
          vm: vm.id,
          vcpu: e.target.index,
          pcpu: s.pcpu,
          detail: `from vCPU ${v.index}${e.woke ? ', woken' : ''}${e.held ? ', masked: pending' : ''}`,
        }),
      );
      if (e.woke && e.target !== v) this.reschedule = true;
    }
  }

  /**
   * Trap-and-emulate: keep the new virtual state, point the real timer at the virtual one, and arm
   * the host's timer exit only when the guest could take the interrupt (else a pending, masked
   * virtual interrupt would make the vCPU exit at every instruction).
   */
  private setVirtualState(v: Vcpu, s: VirtualCpu): void {
    v.vstate = s;
    const h = v.hart;
    if (h.sensitiveHook) h.xlateKey = s.mode; // translations of the kernel and of its tasks differ
    h.setStimecmp(s.timerOff ? Number.POSITIVE_INFINITY : s.stimecmp);
    h.mie = (timerExitArmed(s) ? MIP.STIP : 0) | (softwareExitArmed(s) ? MIP.SSIP : 0);
    // The virtual SSIP (an IPI) is mirrored into the real mip: the hart exits when it is taken.
    if (s.sip & MIP.SSIP) h.mip |= MIP.SSIP;
    else h.mip &= ~MIP.SSIP;
  }
}
