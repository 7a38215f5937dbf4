// The hypervisor service: a thin shell around the trap library. It owns each VM's allocator record
// and answers the traps cpu-nodes send it. Traps of one VM arrive in that VM's virtual-time order
// (its host loop waits for each answer), so the records evolve deterministically.

import { Bus } from '@vsim/bus';
import { TrapRequest, TrapResolution, encode, subjects } from '@vsim/proto';
import { handleTrap } from './dispatcher';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from './costs';
import { VmRecord } from './routine';

/** What a service shell wants to hear about besides the replies (for its log and counters). */
export interface DataPlaneHooks {
  /** A garbled or unknown message arrived on `subject`; it gets an error reply with `err`'s message. */
  onBadMessage?(subject: string, err: Error): void;
}

export class HypervisorService {
  private readonly vms = new Map<string, VmRecord>();
  /** Traps handled, and messages it could not decode (a garbled request gets an error reply). */
  readonly stats = { traps: 0, badMessages: 0 };
  private sub: { unsubscribe(): void } | undefined;

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    private readonly costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS,
    private readonly hooks: DataPlaneHooks = {},
  ) {}

  start(): void {
    const subject = subjects.hvTrap(this.sim);
    const bad = (err: Error): Error => {
      this.stats.badMessages++;
      this.hooks.onBadMessage?.(subject, err);
      return err;
    };
    this.sub = this.bus.serve(subject, (data) => {
      let req: TrapRequest;
      try {
        req = TrapRequest.decode(data);
      } catch (err) {
        throw bad(new Error(`undecodable TrapRequest (${data.length} bytes): ${(err as Error).message}`));
      }
      const vm = this.vms.get(req.vm);
      if (!vm) throw bad(new Error(`trap from unknown VM '${req.vm}'`));
      this.stats.traps++;
      return encode(TrapResolution, handleTrap(req, vm, vm.costs ?? this.costs));
    });
  }

  /** Control: a VM now exists (its allocator record). */
  registerVm(record: VmRecord): void {
    this.vms.set(record.id, record);
  }

  vm(id: string): VmRecord | undefined {
    return this.vms.get(id);
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
