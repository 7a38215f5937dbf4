// The hypervisor service: a thin shell around the trap library. It owns each VM's allocator record
// and answers the traps cpu-nodes send it. Traps of one VM arrive in that VM's virtual-time order
// (its host loop waits for each answer), so the records evolve deterministically.

import { Bus } from '@vsim/bus';
import { TrapRequest, TrapResolution, encode, nodeOfTrapSubject, subjects } from '@vsim/proto';
import { Refusal, ReplyCache, SequenceWindow, countRefusal, refuse } from '@vsim/security';
import { handleTrap } from './dispatcher';
import { DEFAULT_HYPERVISOR_COSTS, HypervisorCosts } from './costs';
import { VmRecord } from './routine';

/** What a service shell wants to hear about besides the replies (for its log and counters). */
export interface DataPlaneHooks {
  /** A garbled or unknown message arrived on `subject`; it gets an error reply with `err`'s message. */
  onBadMessage?(subject: string, err: Error): void;
  /**
   * A well-formed message whose sender or sequence number does not fit (libs/security/src/inbound.ts)
   * was refused, never applied; the sender got an error reply if it asked.
   */
  onRefused?(refusal: Refusal): void;
}

export class HypervisorService {
  private readonly vms = new Map<string, VmRecord>();
  /** Traps handled, and messages it could not decode (a garbled request gets an error reply). */
  readonly stats = { traps: 0, badMessages: 0, refused: 0, duplicateTraps: 0 };
  /**
   * Trap requests are numbered per host (TrapRequest.seq); a host that timed out may skip some. A
   * resend (the cpu-node lost the reply in a NATS outage) gets the resolution already given: a trap
   * is never applied twice (it changes the VM's record, e.g. its brk). The last few per host are
   * kept: a host's vCPUs may have traps in flight together.
   */
  private readonly traps = new ReplyCache<Uint8Array>(new SequenceWindow(false), 64, () => void this.stats.duplicateTraps++);
  private readonly subs: { unsubscribe(): void }[] = [];

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    private readonly costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS,
    private readonly hooks: DataPlaneHooks = {},
  ) {}

  /**
   * Serves the traps of every node of the simulation, or only those of `nodes` (several hypervisor
   * instances share a simulation by cpu-node; a VM's traps all come from its node, so its record
   * lives on one instance).
   */
  start(nodes: readonly string[] = []): void {
    const bad = (err: Error, subject: string): Error => {
      this.stats.badMessages++;
      this.hooks.onBadMessage?.(subject, err);
      return err;
    };
    const serve = (data: Uint8Array, { subject }: { subject: string }) => {
      let req: TrapRequest;
      try {
        req = TrapRequest.decode(data);
      } catch (err) {
        throw bad(new Error(`undecodable TrapRequest (${data.length} bytes): ${(err as Error).message}`), subject);
      }
      const vm = this.vms.get(req.vm);
      if (!vm) throw bad(new Error(`trap from unknown VM '${req.vm}'`), subject);
      try {
        this.checkSender(subject, req, vm);
        return this.traps.answer(req.host, Number(req.seq), { subject, host: req.host, vm: req.vm, vcpu: req.vcpu }, () => {
          this.stats.traps++;
          return encode(TrapResolution, handleTrap(req, vm, vm.costs ?? this.costs));
        });
      } catch (err) {
        countRefusal(err, this.stats, this.hooks.onRefused);
      }
    };
    const served = nodes.length === 0 ? [subjects.allTraps(this.sim)] : nodes.map((n) => subjects.hvTrap(this.sim, n));
    for (const subject of served) this.subs.push(this.bus.serve(subject, serve));
  }

  /** A trap is the VM's own: from the node that runs its host (the subject says which), for that host. */
  private checkSender(subject: string, req: TrapRequest, vm: VmRecord): void {
    const node = nodeOfTrapSubject(subject);
    const at = { subject, host: req.host, vm: req.vm, vcpu: req.vcpu };
    if (req.sim !== this.sim) refuse({ ...at, kind: 'sender', reason: `trap of simulation '${req.sim}' sent to simulation '${this.sim}'` });
    if (vm.node !== undefined && node !== vm.node)
      refuse({ ...at, kind: 'sender', reason: `VM ${req.vm} runs on node ${vm.node}, but node ${node} sent its trap` });
    if (vm.host !== undefined && req.host !== vm.host)
      refuse({ ...at, kind: 'sender', reason: `VM ${req.vm} runs on host ${vm.host}, not ${req.host}` });
  }

  /** Control: a VM now exists (its allocator record). */
  registerVm(record: VmRecord): void {
    this.vms.set(record.id, record);
  }

  vm(id: string): VmRecord | undefined {
    return this.vms.get(id);
  }

  stop(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }
}
