// A minimal, deterministic stand-in for a host's scheduler loop, for tests and benchmarks that
// drive a HostExecutor directly (snapshots: libs/executor/test/snapshot.test.ts): every vCPU has
// its own pCPU (pCPU i runs the i-th vCPU of the host's VMs, in creation order), orders last
// `sliceNs` or until the next timer wake, a blocked vCPU runs again once its wake time has come,
// an offline one when another started it. Its only state is the time, so a run continued from a
// snapshot makes exactly the orders the uninterrupted run made.

import { HostConfig, HostExecutor, IsaName, TrapHandlers, Vcpu } from '@vsim/executor';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts, VmRecord, handleTrap } from '@vsim/hypervisor';
import { Event, EventLog, PcpuOrder, RunOrder, VcpuState } from '@vsim/proto';

/**
 * How long a driver run order lasts at most: shorter than the real schedulers' slices (10-30 ms), for
 * more moments to snapshot at, and no divisor of the guests' 100 µs timer tick, so that orders also
 * end while a vCPU runs (not only where it blocks).
 */
export const DRIVER_SLICE_NS = 70_000;

/**
 * Trap handlers in this process, as a cpu-node on the split path has them: interpreter routines
 * directly, the allocator's work ('remote') on the records in `allocators` (keyed by VM id).
 */
export function localTrapHandlers(allocators: Map<string, VmRecord>, costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS): TrapHandlers {
  return {
    exitCost: costs.exit,
    costs,
    local: (req) => handleTrap(req, undefined, costs),
    remote: async (req) => handleTrap(req, allocators.get(req.vm), costs),
  };
}

/** A host of `pcpus` pCPUs of `isa` at 1 GHz, quanta of 10 µs, split trap path. */
export function driverHostConfig(pcpus: number, isa: IsaName = 'rv32'): HostConfig {
  return { sim: 'snap', id: 'h0', pcpus, clockHz: 1e9, quantumNs: 10_000, trapPath: 'split', isa };
}

export class HostDriver {
  /** Every event the host stamped while this driver drove it. */
  readonly events: Event[] = [];
  private seq = 0;

  constructor(
    readonly exec: HostExecutor,
    /** Virtual time now: where the next order starts. */
    public nowNs = 0,
    readonly sliceNs = DRIVER_SLICE_NS,
  ) {}

  private vcpus(): Vcpu[] {
    return [...this.exec.vms.values()].flatMap((vm) => vm.vcpus);
  }

  /** True while some VM has not ended. */
  get live(): boolean {
    return [...this.exec.vms.values()].some((vm) => vm.ended === undefined);
  }

  /**
   * Issues run orders until `untilNs` or every VM ended. The last order may end past `untilNs`;
   * with `exact` it ends there (a run to compare with must then stop at the same times).
   */
  async runUntil(untilNs: number, exact = false): Promise<void> {
    while (this.nowNs < untilNs && this.live) await this.step(untilNs, exact);
  }

  private async step(endNs: number, exact: boolean): Promise<void> {
    const now = this.nowNs;
    const pcpus: PcpuOrder[] = [];
    let next = Number.POSITIVE_INFINITY;
    this.vcpus().forEach((v, pcpu) => {
      const due = v.state === VcpuState.VCPU_STATE_BLOCKED && v.wakeNs > 0 && v.wakeNs <= now;
      if (v.state === VcpuState.VCPU_STATE_RUNNABLE || due) pcpus.push({ pcpu, vm: v.vm.id, vcpu: v.index });
      else if (v.state === VcpuState.VCPU_STATE_BLOCKED && v.wakeNs > now) next = Math.min(next, v.wakeNs);
    });
    if (pcpus.length === 0) {
      // Everyone waits: skip to the first wake, or to the end when nothing will wake.
      this.nowNs = Number.isFinite(next) && !(exact && next > endNs) ? next : endNs;
      return;
    }
    const untilNs = Math.min(now + this.sliceNs, next, exact ? endNs : Number.POSITIVE_INFINITY);
    const order: RunOrder = { sim: this.exec.config.sim, host: this.exec.config.id, seq: ++this.seq, nowNs: now, untilNs, pcpus };
    const report = await this.exec.run(order);
    this.events.push(...report.events.map(Event.fromMessage));
    this.nowNs = report.nowNs > now ? report.nowNs : untilNs;
  }
}

/** The hash of the canonical event log of `events` (EventLog.hash). */
export function eventHash(events: readonly Event[]): string {
  const log = new EventLog();
  log.add(events);
  return log.hash();
}
