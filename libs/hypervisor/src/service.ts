// The hypervisor service: a thin shell around the trap library. It owns each VM's allocator record
// and answers the traps cpu-nodes send it. Traps of one VM arrive in that VM's virtual-time order
// (its host loop waits for each answer), so the records evolve deterministically.

import { Bus } from '@vsim/bus';
import { AllocatorStateReply, AllocatorStateRequest, TrapRequest, TrapResolution, VmMoved, encode, nodeOfTrapSubject, subjects } from '@vsim/proto';
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

/**
 * Where a hypervisor keeps what a replacement needs (issue 11 item 2): a VM's record each time a
 * trap changed it (its brk, that it ended), with the replies its host got since the previous change,
 * written before the trap's reply leaves. A restarted hypervisor reads them back (restoreVm): a
 * resent trap is then answered as the first time, from the stored reply or by recomputing it from
 * the record it was first computed from.
 */
export interface VmPersistence {
  save(vm: VmRecord, replies: readonly [host: string, seq: number, reply: Uint8Array][]): Promise<void>;
}

/** What restoreVm brings back. */
export interface RestoredVm {
  readonly record: VmRecord;
  readonly replies: readonly [host: string, seq: number, reply: Uint8Array][];
}

/** Replies kept per host for a resend after a restart (as many as the in-process cache keeps). */
const KEPT_REPLIES = 64;

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
  /** With persistence: each host's recent replies (seq -> reply), saved with the next change. */
  private readonly recent = new Map<string, Map<number, Uint8Array>>();
  /** Replies the previous process gave (restoreVm), for resends of the traps it answered. */
  private readonly restored = new Map<string, Map<number, Uint8Array>>();
  /** With persistence: a VM's save in flight; its next trap waits for it (replies follow saves). */
  private readonly saving = new Map<string, Promise<void>>();
  private stateSub: { unsubscribe(): void } | undefined;
  private readonly subs: { unsubscribe(): void }[] = [];

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    private readonly costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS,
    private readonly hooks: DataPlaneHooks = {},
    private readonly persistence?: VmPersistence,
  ) {}

  /**
   * Serves the traps of every node of the simulation, or only those of `nodes` (several hypervisor
   * instances share a simulation by cpu-node; a VM's traps all come from its node, so its record
   * lives on one instance).
   */
  start(nodes: readonly string[] = []): void {
    this.serveAllocators();
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
        const seq = Number(req.seq);
        const stored = this.restored.get(req.host)?.get(seq);
        if (stored) {
          // A resend of a trap the previous process answered: the same reply (restoreVm).
          this.stats.duplicateTraps++;
          return stored;
        }
        return this.traps.answer(req.host, seq, { subject, host: req.host, vm: req.vm, vcpu: req.vcpu }, () =>
          this.persistence ? this.applyPersisted(req, vm, seq) : this.apply(req, vm),
        );
      } catch (err) {
        countRefusal(err, this.stats, this.hooks.onRefused);
      }
    };
    const served = nodes.length === 0 ? [subjects.allTraps(this.sim)] : nodes.map((n) => subjects.hvTrap(this.sim, n));
    for (const subject of served) this.subs.push(this.bus.serve(subject, serve));
    this.serveMoves();
  }

  private apply(req: TrapRequest, vm: VmRecord): Uint8Array {
    this.stats.traps++;
    return encode(TrapResolution, handleTrap(req, vm, vm.costs ?? this.costs));
  }

  /** apply(), saving the record first when the trap changed it (see VmPersistence). */
  private async applyPersisted(req: TrapRequest, vm: VmRecord, seq: number): Promise<Uint8Array> {
    while (this.saving.has(vm.id)) await this.saving.get(vm.id);
    const before = JSON.stringify(vm);
    const reply = this.apply(req, vm);
    let replies = this.recent.get(req.host);
    if (!replies) this.recent.set(req.host, (replies = new Map()));
    replies.set(seq, reply);
    for (const old of replies.keys()) {
      if (replies.size <= KEPT_REPLIES) break;
      replies.delete(old);
    }
    if (JSON.stringify(vm) !== before) {
      const mine = [...replies].map(([s, r]): [string, number, Uint8Array] => [req.host, s, r]);
      const save = this.persistence!.save({ ...vm }, mine).finally(() => this.saving.delete(vm.id));
      this.saving.set(vm.id, save);
      await save;
    }
    return reply;
  }

  /** A replacement's start: a VM as the previous process last saved it, with its hosts' replies. */
  restoreVm(r: RestoredVm): void {
    this.vms.set(r.record.id, r.record);
    for (const [host, seq, reply] of r.replies)
      for (const into of [this.recent, this.restored]) {
        let m = into.get(host);
        if (!m) into.set(host, (m = new Map()));
        if (!m.has(seq)) m.set(seq, reply);
      }
  }

  /**
   * A checkpoint's view of the allocator records (checkpoint.proto). The scheduler asks at a host's
   * iteration boundary, when none of that host's traps is in flight, so the records are the ones
   * the host's VMs have at that virtual time.
   */
  private serveAllocators(): void {
    const subject = subjects.allocators(this.sim);
    this.stateSub = this.bus.serve(subject, (data) => {
      let req: AllocatorStateRequest;
      try {
        req = AllocatorStateRequest.decode(data);
      } catch (err) {
        this.stats.badMessages++;
        const e = new Error(`undecodable AllocatorStateRequest (${data.length} bytes): ${(err as Error).message}`);
        this.hooks.onBadMessage?.(subject, e);
        throw e;
      }
      const records = req.vms.map((id) => {
        const r = this.vms.get(id);
        if (!r) throw new Error(`allocator state: unknown VM '${id}' in simulation ${this.sim}`);
        return { vm: id, record: { brkStart: r.brkStart, brk: r.brk, brkMax: r.brkMax, ended: r.ended ?? '' } };
      });
      return encode(AllocatorStateReply, { records });
    });
  }

  /**
   * Live migration: the scheduler says where a VM runs from now on, before it resumes there, so
   * that its traps are accepted from the destination (and no longer from the source).
   */
  private serveMoves(): void {
    this.moveSub = this.bus.serve(subjects.vmMoved(this.sim), (data) => {
      const m = VmMoved.decode(data);
      const vm = this.vms.get(m.vm);
      if (m.sim !== this.sim || !vm) throw new RangeError(`vm-moved: simulation '${m.sim}' has no VM '${m.vm}' here`);
      this.vms.set(m.vm, { ...vm, host: m.host, node: m.node });
      return new Uint8Array(0);
    });
  }

  private moveSub: { unsubscribe(): void } | undefined;

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
    this.stateSub?.unsubscribe();
    this.moveSub?.unsubscribe();
  }
}
