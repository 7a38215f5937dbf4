// The cpu-node service: the hosts this process simulates. It answers run orders for its hosts, and
// sends the traps its vCPUs take to the hypervisor (all of them on the `remote` trap path; only
// allocator work on `split`, where interpreter routines run here from the same library).

import { Bus } from '@vsim/bus';
import { RunOrder, RunReport, TrapRequest, TrapResolution, encode, subjects } from '@vsim/proto';
import { handleTrap, DEFAULT_HYPERVISOR_COSTS, HypervisorCosts, DataPlaneHooks } from '@vsim/hypervisor';
import { ReplyCache, SequenceWindow, countRefusal, refuse } from '@vsim/security';
import { HostConfig, HostExecutor } from './host';
import { VmInstance, VmSetup } from './vm';
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
  private readonly orders = new ReplyCache<Uint8Array>(new SequenceWindow(true), 1, () => void this.stats.duplicateOrders++);

  constructor(
    private readonly bus: Bus,
    readonly sim: string,
    readonly nodeId: string,
    private readonly costs: HypervisorCosts = DEFAULT_HYPERVISOR_COSTS,
    private readonly hooks: DataPlaneHooks = {},
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
    const subject = subjects.hostRun(this.sim, this.nodeId, config.id);
    const bad = (err: Error): Error => {
      this.stats.badMessages++;
      this.hooks.onBadMessage?.(subject, err);
      return err;
    };
    let busy = 0;
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
          if (busy && seq !== busy)
            refuse({
              kind: 'sequence',
              subject,
              host: config.id,
              seq,
              reason: `run order ${seq} for host '${config.id}' arrived while order ${busy} runs`,
            });
          reply = this.orders.answer(config.id, seq, { subject, host: config.id }, async () => {
            busy = seq;
            this.stats.runOrders++;
            try {
              return encode(RunReport, await exec.run(order));
            } finally {
              busy = 0;
            }
          });
        } catch (err) {
          countRefusal(err, this.stats, this.hooks.onRefused);
        }
        return reply;
      }),
    );
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
    this.migration?.stop();
    for (const s of this.subs) s.unsubscribe();
  }
}
