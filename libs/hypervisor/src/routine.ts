// What a trap-handling routine is, and the per-VM record the allocator keeps.

import type { VmKind } from '@vsim/vocabulary';
import { TrapAction, TrapRequest, TrapResolution } from '@vsim/proto';
import type { TrapRouteName } from '@vsim/vocabulary';
import { HypervisorCosts } from './costs';

/** A Linux user program's heap, which brk moves (allocator state). */
export interface VmRecord {
  readonly id: string;
  readonly kind: VmKind;
  brkStart: number;
  brk: number;
  brkMax: number;
  /** The cost model of the VM's host, when the scenario gives one (else the service's). */
  costs?: HypervisorCosts;
  /** Set once the VM has shut down or faulted. */
  ended?: 'shutdown' | 'fault';
  /**
   * Where the VM runs (RegisterVm): its traps are accepted only from this cpu-node, for this host.
   * Undefined: not checked (a record made in this process, e.g. by a benchmark).
   */
  readonly host?: string;
  readonly node?: string;
}

export interface Routine {
  /** Dotted name for the event log and the summary, e.g. "sbi.time.set_timer". */
  readonly name: string;
  readonly route: TrapRouteName;
  /** Fills in the resolution; `nextPc` defaults to the next instruction, the exit cost is added. */
  handle(req: TrapRequest, vm: VmRecord | undefined, costs: HypervisorCosts): Partial<TrapResolution>;
}

/** A resolution that writes registers and continues after the trapping instruction. */
export function resume(req: TrapRequest, cost: number, writes: [number, number][], extra: Partial<TrapResolution> = {}): Partial<TrapResolution> {
  return {
    action: TrapAction.TRAP_ACTION_RESUME,
    costCycles: cost,
    nextPc: (req.pc + 4) >>> 0,
    writes: writes.map(([reg, value]) => ({ reg, value: value | 0 })),
    ...extra,
  };
}

/** Stops the VM normally with an exit status. */
export function shutdown(cost: number, status: number, detail: string): Partial<TrapResolution> {
  return { action: TrapAction.TRAP_ACTION_SHUTDOWN, costCycles: cost, exitStatus: status, detail };
}
