// One simulated host: N pCPUs executing the vCPUs a run order assigns to them. The pCPUs advance
// together in virtual time, in lockstep quanta (each pCPU runs one quantum, in pCPU order, then
// the next quantum), so the vCPUs of an SMP guest really run concurrently. When something the
// scheduler could not predict happens (a vCPU blocks in wfi, a VM shuts down or faults) the host
// stops at the end of that quantum and reports. What a vCPU does within its slice is its runner's
// (runners/, one per execution mode): the host gives it a budget, carries what it overran into its
// next slice, and stamps the events it logs.
//
// Departure from architecture.md §4: the doc asks for the exact time of the unpredictable event.
// Other pCPUs may already have run past it within the quantum, and rolling them back would need
// snapshots; so unpredictable events take effect at the next quantum boundary (default 10 µs,
// per host in the scenario). Predictable events (slice ends, timers) are exact: they are horizons.

import { PcpuOrder, RunOrder, RunReport, VcpuReport, VcpuState, EventStamper, Event } from '@vsim/proto';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from '@vsim/hypervisor';
import { Vcpu, VmInstance, VmSetup } from './vm';
import type { IsaName } from './cross-isa';
import type { EngineName } from '@vsim/isa';
import type { EventFields, HostServices, SliceStop, TrapHandlers, VcpuRunner } from './runners/runner';

export type { TrapHandlers } from './runners/runner';

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
  private readonly costs: HypervisorCosts;
  /** Each vCPU's runner, from its VM's execution mode (runners/table.ts). */
  private readonly runners = new Map<Vcpu, VcpuRunner>();
  /** What the runners get from the host: configuration, the trap path, the clock, the stamper. */
  private readonly services: HostServices;

  constructor(
    readonly config: HostConfig,
    traps: TrapHandlers,
  ) {
    this.stamp = new EventStamper(config.id, 'node');
    this.costs = traps.costs ?? DEFAULT_HYPERVISOR_COSTS;
    const stamp = this.stamp;
    this.services = {
      sim: config.sim,
      host: config.id,
      clockHz: config.clockHz,
      trapPath: config.trapPath,
      traps,
      costs: this.costs,
      event: (fields: EventFields) => stamp.make(fields),
      reschedule: () => {
        this.reschedule = true;
      },
      ns: (cycles) => this.ns(cycles),
    };
  }

  /** What snapshots (snapshot/) read and restore besides the VM itself: the vCPUs' runners and the host's event numbering. */
  snapshotState(): { readonly stamp: EventStamper; runner(v: Vcpu): VcpuRunner | undefined } {
    return { stamp: this.stamp, runner: (v) => this.runners.get(v) };
  }

  createVm(setup: VmSetup): VmInstance {
    if (this.vms.has(setup.id)) throw new Error(`VM ${setup.id} already exists on host ${this.config.id}`);
    const vm = new VmInstance(setup, this.config.clockHz, { isa: this.config.isa, expansion: this.config.expansion, costs: this.costs });
    for (const v of vm.vcpus) this.runners.set(v, vm.mode.runner(v, this.services));
    this.vms.set(setup.id, vm);
    return vm;
  }

  /** Deletes a VM that migrated away; its vCPUs' runners go with it. */
  removeVm(id: string): void {
    const vm = this.vms.get(id);
    if (!vm) throw new RangeError(`host ${this.config.id} has no VM '${id}'`);
    for (const v of vm.vcpus) this.runners.delete(v);
    this.vms.delete(id);
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
        // Most slices are synchronous (no trap over the bus): no await for them.
        const stopped = this.runSlice(vcpu, pcpu, t, qEnd, tallies.get(vcpu)!, events);
        if (typeof stopped === 'boolean' ? stopped : await stopped) early = true;
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
    return RunReport.fromPartial({ sim: order.sim, host: order.host, seq: order.seq, nowNs: t, vcpus, events: events.map(Event.toMessage) });
  }

  private vcpuOf(p: PcpuOrder): Vcpu | undefined {
    if (!p.vm) return undefined;
    const vm = this.vms.get(p.vm);
    if (!vm) throw new Error(`run order names VM '${p.vm}', which host ${this.config.id} does not have`);
    const v = vm.vcpus[p.vcpu];
    if (!v) throw new Error(`run order names vCPU ${p.vcpu} of VM '${p.vm}', which has ${vm.vcpus.length}`);
    return v;
  }

  /**
   * Runs one vCPU from t0 to t1 of host time on its runner. Returns true if something unpredictable
   * happened (it blocked, went offline, or its VM ended).
   */
  private runSlice(v: Vcpu, pcpu: number, t0: number, t1: number, tally: Tally, events: Event[]): boolean | Promise<boolean> {
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
    const stop = this.runners.get(v)!.runSlice(budget, { pcpu, t0, origin, events });
    return stop instanceof Promise
      ? stop.then((s) => this.account(v, tally, budget, carried, start, s))
      : this.account(v, tally, budget, carried, start, stop);
  }

  /** What a slice cost: the pCPU time charged to the vCPU, and what it overran into the next. */
  private account(v: Vcpu, tally: Tally, budget: number, carried: number, start: number, stop: SliceStop): boolean {
    const used = v.hart.cycles - start;
    // The pCPU's time this quantum went to this vCPU's debt and its run; what is left over is paid in
    // the next quanta, however many (an expensive exit or translation can cost more than one).
    tally.ranCycles += Math.min(budget + carried, carried + used);
    v.overrunCycles = Math.max(0, used - budget);
    return stop.kind !== 'budget';
  }
}
