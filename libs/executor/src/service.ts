// The cpu-node service: the hosts this process simulates. It answers run orders for its hosts, and
// sends the traps its vCPUs take to the hypervisor (all of them on the `remote` trap path; only
// allocator work on `split`, where interpreter routines run here from the same library).

import { Bus, CheckpointStore } from '@vsim/bus';
import { RunOrder, RunReport, SnapshotHostReply, SnapshotHostRequest, TrapRequest, TrapResolution, VmSnapshot, encode, subjects } from '@vsim/proto';
import { handleTrap, DEFAULT_HYPERVISOR_COSTS, HypervisorCosts, DataPlaneHooks } from '@vsim/hypervisor';
import { ReplyCache, SequenceWindow, countRefusal, refuse } from '@vsim/security';
import { HostConfig, HostExecutor } from './host';
import { VmInstance, VmSetup } from './vm';
import { DebugAgent } from './debug/agent';
import { HostDebugGate } from './debug/host-gate';
import { snapshotVm } from './snapshot/capture';
import { restoreVm } from './snapshot/restore';
import { MigrationEndpoint } from './migration';

/** How long a trap may wait for the hypervisor before the VM is failed. */
export const TRAP_TIMEOUT_MS = 30_000;
/**
 * A trap request without a reply after this long is sent again (same sequence number: the
 * hypervisor answers a resend from its cache); so is every one in flight when NATS reconnects.
 */
export const TRAP_ATTEMPT_MS = 2_000;

export class CpuNodeService {
  private readonly hosts = new Map<string, HostExecutor>();
  private readonly subs: { unsubscribe(): void }[] = [];
  readonly stats = { runOrders: 0, badMessages: 0, remoteTraps: 0, localTraps: 0, refused: 0, trapRetries: 0, duplicateOrders: 0 };
  /**
   * Run orders are numbered per host from 1 (RunOrder.seq), each the last + 1; the scheduler's
   * resend of the last one (its reply was lost in a NATS outage) gets the same RunReport.
   */
  /** `vsim gdb`: per host, whether the debugger holds it; the sessions (debug/agent.ts). */
  private readonly gates = new Map<string, HostDebugGate>();
  private readonly debug = new DebugAgent(
    () => this.hosts,
    (host) => this.gates.get(host)!,
  );
  private readonly orders = new ReplyCache<Uint8Array>(new SequenceWindow(true), 1, () => void this.stats.duplicateOrders++);
  /** Per host, the seq of the run order it is executing (0: none). */
  private readonly busy = new Map<string, number>();
  /**
   * Per VM, the dirty-page generation of its last snapshot stored for a checkpoint: the next one
   * holds only the pages written since. A VM created or restored here starts with a full one.
   */
  private readonly checkpointed = new Map<string, number>();

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    readonly nodeId: string,
    private readonly costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS,
    private readonly hooks: DataPlaneHooks = {},
    /** Where VM snapshots of checkpoints go and restores read them (none: checkpoints refused). */
    private readonly store?: CheckpointStore,
  ) {}

  /** Live migration's endpoint (migration.ts), serving from the first host on. */
  private migration: MigrationEndpoint | undefined;

  /** Control: start simulating a host here. */
  createHost(config: Omit<HostConfig, 'sim'>, hostCosts: HypervisorCosts = this.costs): void {
    if (this.hosts.has(config.id)) throw new Error(`host ${config.id} already exists on node ${this.nodeId}`);
    if (!this.migration) {
      this.migration = new MigrationEndpoint(this.bus, this.sim, this.nodeId, (id) => this.hosts.get(id));
      this.migration.start();
    }
    let trapSeq = 0;
    const exec = new HostExecutor(
      { ...config, sim: this.sim },
      {
        exitCost: hostCosts.exit,
        costs: hostCosts,
        local: (req) => {
          this.stats.localTraps++;
          return handleTrap(req, undefined, hostCosts);
        },
        remote: async (req) => {
          this.stats.remoteTraps++;
          const reply = await this.bus.request(subjects.hvTrap(this.sim, this.nodeId), encode(TrapRequest, { ...req, seq: ++trapSeq }), {
            timeoutMs: TRAP_TIMEOUT_MS,
            attemptMs: TRAP_ATTEMPT_MS,
            onRetry: () => void this.stats.trapRetries++,
          });
          return TrapResolution.decode(reply);
        },
      },
    );
    this.hosts.set(config.id, exec);
    const gate = new HostDebugGate();
    this.gates.set(config.id, gate);
    if (this.gates.size === 1) this.subs.push(this.bus.serve(subjects.gdb(this.sim, this.nodeId), (data) => this.debug.serve(data)));
    this.serveCheckpoints(exec);
    const subject = subjects.hostRun(this.sim, this.nodeId, config.id);
    const bad = (err: Error): Error => {
      this.stats.badMessages++;
      this.hooks.onBadMessage?.(subject, err);
      return err;
    };
    this.busy.set(config.id, 0);
    this.subs.push(
      this.bus.serve(subject, async (data) => {
        let order: RunOrder;
        try {
          order = RunOrder.decode(data);
        } catch (err) {
          throw bad(new Error(`undecodable RunOrder (${data.length} bytes): ${(err as Error).message}`));
        }
        if (order.host !== config.id) throw bad(new Error(`run order for host '${order.host}' sent to host '${config.id}'`));
        if (order.sim !== this.sim) throw bad(new Error(`run order of simulation '${order.sim}' sent to simulation '${this.sim}'`));
        const seq = Number(order.seq);
        let reply: Promise<Uint8Array>;
        try {
          // One host loop drives a host, one order at a time: another order meanwhile is not its
          // (the same one again is its resend, answered when the first is done).
          const busy = this.busy.get(config.id)!;
          if (busy && seq !== busy)
            refuse({
              kind: 'sequence',
              subject,
              host: config.id,
              seq,
              reason: `run order ${seq} for host '${config.id}' arrived while order ${busy} runs`,
            });
          reply = this.orders.answer(config.id, seq, { subject, host: config.id }, async () => {
            this.busy.set(config.id, seq);
            this.stats.runOrders++;
            await gate.enter(); // held while a vCPU of the host is stopped in gdb
            try {
              return encode(RunReport, await exec.run(order));
            } finally {
              this.busy.set(config.id, 0);
              gate.leave();
            }
          });
        } catch (err) {
          countRefusal(err, this.stats, this.hooks.onRefused);
        }
        return reply;
      }),
    );
  }

  /**
   * Serves checkpoint requests for `host` (vsim.<sim>.checkpoint.<node>.<host>): snapshots of each
   * of its VMs, stored under the request's key prefix. Only between run orders: the request names
   * the last order's seq, and is refused while an order runs or if another came since.
   */
  private serveCheckpoints(exec: HostExecutor): void {
    const host = exec.config.id;
    const subject = subjects.checkpoint(this.sim, this.nodeId, host);
    this.subs.push(
      this.bus.serve(subject, async (data) => {
        let req: SnapshotHostRequest;
        try {
          req = SnapshotHostRequest.decode(data);
        } catch (err) {
          this.stats.badMessages++;
          const e = new Error(`undecodable SnapshotHostRequest (${data.length} bytes): ${(err as Error).message}`);
          this.hooks.onBadMessage?.(subject, e);
          throw e;
        }
        if (req.sim !== this.sim || req.host !== host) throw new Error(`checkpoint request for ${req.sim}/${req.host} sent to ${this.sim}/${host}`);
        if (!this.store) throw new Error(`node ${this.nodeId} has no checkpoint store (start it with one to checkpoint)`);
        const last = this.orders.window.lastOf(host) ?? 0;
        const busy = this.busy.get(host) ?? 0;
        if (busy !== 0 || req.orderSeq !== last)
          refuse({
            kind: 'sequence',
            subject,
            host,
            seq: req.orderSeq,
            reason: `checkpoint after order ${req.orderSeq}, but host '${host}' is at order ${last}${busy ? ` (order ${busy} running)` : ''}`,
          });
        return encode(SnapshotHostReply, { vms: await this.storeSnapshots(exec, req) });
      }),
    );
  }

  private async storeSnapshots(exec: HostExecutor, req: SnapshotHostRequest): Promise<SnapshotHostReply['vms']> {
    // Snapshot every VM first (synchronously: nothing runs meanwhile), then store them.
    const snaps = [...exec.vms.keys()].map((vm) => {
      const key = `${exec.config.id}/${vm}`;
      const since = req.full ? undefined : this.checkpointed.get(key);
      const snap = snapshotVm(exec, vm, { nowNs: req.nowNs, since });
      this.checkpointed.set(key, snap.generation);
      return { vm, snap, full: since === undefined };
    });
    const out: SnapshotHostReply['vms'] = [];
    for (const { vm, snap, full } of snaps) {
      const key = `${req.keyPrefix}/${vm}`;
      const bytes = encode(VmSnapshot, snap);
      await this.store!.putBlob(key, bytes);
      out.push({ vm, key, full, generation: snap.generation, bytes: bytes.length });
    }
    return out;
  }

  /**
   * Control (resume): the VM whose snapshots `chain` names (keys in the checkpoint store, a full
   * one first), continued on `host`, whose next run order is `orderSeq + 1`.
   */
  async restoreVm(host: string, vmId: string, chain: readonly string[], orderSeq: number): Promise<VmInstance> {
    const exec = this.hosts.get(host);
    if (!exec) throw new Error(`node ${this.nodeId} does not simulate host '${host}'`);
    if (!this.store) throw new Error(`node ${this.nodeId} has no checkpoint store to restore VM ${vmId} from`);
    if (chain.length === 0) throw new RangeError(`VM ${vmId}: the snapshot chain is empty`);
    const snaps: VmSnapshot[] = [];
    for (const key of chain) {
      const data = await this.store.getBlob(key);
      if (!data) throw new RangeError(`VM ${vmId}: checkpoint blob ${key} is missing`);
      try {
        snaps.push(VmSnapshot.decode(data));
      } catch (err) {
        throw new RangeError(`VM ${vmId}: checkpoint blob ${key} is not a VmSnapshot (${(err as Error).message})`, { cause: err });
      }
      if (snaps[snaps.length - 1].vm !== vmId)
        throw new RangeError(`checkpoint blob ${key} is a snapshot of VM ${snaps[snaps.length - 1].vm}, not ${vmId}`);
    }
    const { vm } = restoreVm(exec, snaps[0], ...snaps.slice(1));
    const last = this.orders.window.lastOf(host);
    if (last !== undefined && last !== orderSeq)
      throw new RangeError(`VM ${vmId}: restored at order ${orderSeq}, but host '${host}' already stands at order ${last}`);
    if (orderSeq > 0) this.orders.window.resume(host, orderSeq);
    return vm;
  }

  /** Control: create a VM on one of this node's hosts. */
  createVm(host: string, setup: VmSetup): VmInstance {
    const exec = this.hosts.get(host);
    if (!exec) throw new Error(`node ${this.nodeId} does not simulate host '${host}'`);
    return exec.createVm(setup);
  }

  host(id: string): HostExecutor | undefined {
    return this.hosts.get(id);
  }

  /** What this simulation puts on the node: its hosts and their pCPUs (the gateway spreads hosts by it). */
  load(): { hosts: number; pcpus: number } {
    let pcpus = 0;
    for (const h of this.hosts.values()) pcpus += h.config.pcpus;
    return { hosts: this.hosts.size, pcpus };
  }

  stop(): void {
    this.debug.closeAll();
    this.migration?.stop();
    for (const s of this.subs) s.unsubscribe();
  }
}
