// The seam where a vCPU runs (architecture §3, §7): one VcpuRunner per execution mode — a whole
// machine natively or emulated, a guest kernel under paravirtualization, trap-and-emulate or binary
// translation, a Linux process, a ring32 guest under its hypervisor — chosen from one table
// (table.ts) by the VM's (ISA, technique, kind). The host executor (host.ts) keeps only what every
// mode shares: lockstep quanta, the overrun carried from slice to slice, the guest's time base and
// the stamping of events. A runner runs its vCPU for a budget of cycles and says, as a value, why it
// stopped before the budget was spent.

import type { EngineName, StopRecord } from '@vsim/isa';
import type { Event } from '@vsim/proto';
import type { HypervisorCosts } from '@vsim/hypervisor';
import type { TrapRequest, TrapResolution } from '@vsim/proto';
import type { IsaName } from '../cross-isa';
import type { Bus } from '@vsim/isa';
import type { Ring32Vm } from '@vsim/hypervisor';
import type { NativeMachine, Vcpu, VmInstance } from '../vm';

/** How traps reach a handler: locally (split path, interpreter routines) or over the bus. */
export interface TrapHandlers {
  local(req: TrapRequest): TrapResolution;
  remote(req: TrapRequest): Promise<TrapResolution>;
  /** The exit part of a resolution's cost (a translated call does not pay it). */
  readonly exitCost: number;
  /** The host's cost model (translated calls, block translation); default DEFAULT_HYPERVISOR_COSTS. */
  readonly costs?: HypervisorCosts;
}

/** Why a runner returned: its budget ran out, or something the scheduler could not predict. */
export type SliceStop =
  /** It ran its budget (or stopped where the host needs nothing from it). */
  | { readonly kind: 'budget' }
  /** It waits for an interrupt (wfi, HLT) until wakeNs of host virtual time (0: nothing armed). */
  | { readonly kind: 'blocked'; readonly wakeNs: number }
  /** Its VM ended: shut down or faulted (every vCPU of the VM is halted or faulted). */
  | { readonly kind: 'ended'; readonly how: 'shutdown' | 'fault' }
  /** It stopped itself (SBI hart_stop): offline until another vCPU starts it. */
  | { readonly kind: 'offline' };

export const SLICE_BUDGET: SliceStop = Object.freeze({ kind: 'budget' });

/** Where the slice being run is in host time, and where its events go. */
export interface Slice {
  readonly pcpu: number;
  /** Host virtual time (ns) at the slice's start. */
  readonly t0: number;
  /** The vCPU's cycle count at t0 (the cycles it carried over from its last slice were spent first). */
  readonly origin: number;
  readonly events: Event[];
}

/** The fields of an event a runner logs; the host stamps it (source, host, sequence). */
export type EventFields = Partial<Event> & Pick<Event, 'timeNs' | 'kind'>;

/** What the host gives its runners: configuration, the trap path, the clock, the event stamper. */
export interface HostServices {
  readonly sim: string;
  readonly host: string;
  readonly clockHz: number;
  readonly trapPath: 'split' | 'remote';
  readonly traps: TrapHandlers;
  readonly costs: HypervisorCosts;
  /** Stamps an event (source `node`, this host, the next sequence number). */
  event(fields: EventFields): Event;
  /** Another vCPU became runnable or stopped: the scheduler must decide again at the quantum's end. */
  reschedule(): void;
  ns(cycles: number): number;
}

export interface VcpuRunner {
  /**
   * Runs the vCPU for `budget` cycles of its pCPU (the host has set the guest's time base), logging
   * what happens into slice.events; returns why it stopped. A runner whose vCPU's VM ends, blocks or
   * goes offline sets the vCPU's state itself.
   */
  runSlice(budget: number, slice: Slice): SliceStop | Promise<SliceStop>;
  /** The host-side state of the vCPU a VM snapshot carries (libs/executor/src/snapshot), if the runner keeps any. */
  saveState?(): RunnerState;
  loadState?(s: RunnerState): void;
}

/** What a runner keeps of its vCPU between slices: the trap-storm policy's window (libs/hypervisor/src/trap-storm.ts). */
export interface RunnerState {
  readonly trapStorm?: { readonly futile: number; readonly instret0: number };
}

/** The host context a VM is built in: the host's ISA, expansion factors and cost model. */
export interface VmHostContext {
  readonly isa?: IsaName;
  /** Host instructions per guest instruction, per engine, when emulating another ISA (default DEFAULT_EXPANSION_FACTORS). */
  readonly expansion?: Readonly<Record<EngineName, number>>;
  readonly costs?: HypervisorCosts;
}

/** What an execution mode built for a VM, besides its vCPUs. */
export interface BuiltMachine {
  readonly bus: Bus;
  /** A whole machine image's devices (techniques native, emulation). */
  readonly native?: NativeMachine;
  /** A ring32 VM: its machine and hypervisor. */
  readonly ring32?: Ring32Vm;
  /** A Linux process: where brk may move. */
  readonly brk?: { readonly start: number; readonly max: number };
}

/** One execution mode: how a VM's vCPUs are built, and how each is run. */
export interface ExecutionMode {
  /** What the mode is, for errors and docs (e.g. 'rv32 trap-and-emulate'). */
  readonly name: string;
  /** Builds the VM's machine: memory and its contents, devices, and its vCPUs (pushed to vm.vcpus). */
  build(vm: VmInstance, host: VmHostContext): BuiltMachine;
  /** The runner of one of the VM's vCPUs on a host. */
  runner(v: Vcpu, host: HostServices): VcpuRunner;
}

/** Virtual time (ns) of a vCPU's cycle count within a slice. */
export function timeOf(host: HostServices, slice: Slice, cycles: number): number {
  return slice.t0 + host.ns(cycles - slice.origin);
}

/**
 * Runs the vCPU's engine for about `left` host cycles. A VM emulated (technique emulation, or
 * another ISA than the host's: emulation.ts) gets the host's budget divided by its expansion
 * factor, and what its guest ran is charged times the factor.
 */
export function runScaled(v: Vcpu, left: number): StopRecord {
  const expansion = v.vm.expansion;
  if (expansion === 1) return v.engine.run(left);
  const h = v.hart;
  const ran0 = h.cycles;
  const stop = v.engine.run(Math.max(1, Math.floor(left / expansion)));
  h.cycles += (h.cycles - ran0) * (expansion - 1);
  return stop;
}
