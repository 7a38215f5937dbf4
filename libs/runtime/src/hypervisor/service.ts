// The hypervisor service: a thin shell around the trap library. It owns each VM's allocator record
// and answers the traps cpu-nodes send it. Traps of one VM arrive in that VM's virtual-time order
// (its host loop waits for each answer), so the records evolve deterministically.

import { Bus } from '@vsim/bus';
import { TrapRequest, TrapResolution, encode } from '@vsim/proto';
import { subjects } from '../subjects';
import { handleTrap } from './dispatcher';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from './costs';
import { VmRecord } from './routine';

export class HypervisorService {
  private readonly vms = new Map<string, VmRecord>();
  /** Traps handled, and messages it could not decode (a garbled request gets an error reply). */
  readonly stats = { traps: 0, badMessages: 0 };
  private sub: { unsubscribe(): void } | undefined;

  constructor(private readonly bus: Bus, readonly sim: string, private readonly costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS) {}

  start(): void {
    this.sub = this.bus.serve(subjects.hvTrap(this.sim), (data) => {
      let req: TrapRequest;
      try {
        req = TrapRequest.decode(data);
      } catch (err) {
        this.stats.badMessages++;
        throw new Error(`undecodable TrapRequest (${data.length} bytes): ${(err as Error).message}`);
      }
      const vm = this.vms.get(req.vm);
      if (!vm) {
        this.stats.badMessages++;
        throw new Error(`trap from unknown VM '${req.vm}'`);
      }
      this.stats.traps++;
      return encode(TrapResolution, handleTrap(req, vm, this.costs));
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
