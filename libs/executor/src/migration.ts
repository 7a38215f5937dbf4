// A cpu-node's side of live migration by pre-copy (issue 12 item 3; the scheduler decides when:
// libs/scheduler/src/migration.ts). As the source, a ROUND snapshots the VM — whole the first
// time, afterwards only the pages dirtied since the last round (the dirty-page log of
// snapshot/memory.ts) — and sends it straight to the destination cpu-node, the way a hypervisor's
// migration daemon streams pages to its peer; DROP deletes the VM once it has left. As the
// destination, it keeps the rounds it received and RESUME restores the VM from them.

import { Bus } from '@vsim/bus';
import { MigrationChunk, MigrationCommand, MigrationOp, MigrationRoundReply, VmSnapshot, encode, subjects } from '@vsim/proto';
import type { HostExecutor } from './host';
import { snapshotVm } from './snapshot/capture';
import { restoreVm } from './snapshot/restore';

/** At most this many memory pages per MigrationChunk: 4 KiB pages stay below NATS's 1 MiB max_payload. */
export const PAGES_PER_CHUNK = 192;
const CHUNK_TIMEOUT_MS = 60_000;

/** The rounds of one incoming VM, in order, and the parts of the round being received. */
interface Incoming {
  readonly host: string;
  readonly rounds: VmSnapshot[];
  parts: VmSnapshot[];
}

export class MigrationEndpoint {
  /** Source side: per VM, the generation of the last round sent (the next round sends what was dirtied since). */
  private readonly sent = new Map<string, number>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly subs: { unsubscribe(): void }[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly sim: string,
    private readonly nodeId: string,
    private readonly hostOf: (id: string) => HostExecutor | undefined,
  ) {}

  start(): void {
    this.subs.push(
      this.bus.serve(subjects.migrate(this.sim, this.nodeId), (data) => this.command(MigrationCommand.decode(data))),
      this.bus.serve(subjects.migrateIn(this.sim, this.nodeId), (data) => this.chunk(MigrationChunk.decode(data))),
    );
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }

  private host(id: string): HostExecutor {
    const h = this.hostOf(id);
    if (!h) throw new RangeError(`migration: node ${this.nodeId} does not simulate host '${id}'`);
    return h;
  }

  private async command(c: MigrationCommand): Promise<Uint8Array> {
    if (c.sim !== this.sim) throw new RangeError(`migration command of simulation '${c.sim}' sent to simulation '${this.sim}'`);
    switch (c.op) {
      case MigrationOp.MIGRATION_OP_ROUND:
        return encode(MigrationRoundReply, await this.round(c));
      case MigrationOp.MIGRATION_OP_RESUME: {
        const inc = this.incoming.get(c.vm);
        if (!inc || inc.rounds.length === 0) throw new RangeError(`migration: no round of VM '${c.vm}' reached node ${this.nodeId}`);
        if (inc.host !== c.host) throw new RangeError(`migration: VM '${c.vm}' was sent to host ${inc.host}, not ${c.host}`);
        restoreVm(this.host(c.host), inc.rounds[0], ...inc.rounds.slice(1));
        this.incoming.delete(c.vm);
        return new Uint8Array(0);
      }
      case MigrationOp.MIGRATION_OP_DROP:
        this.host(c.host).removeVm(c.vm);
        this.sent.delete(c.vm);
        return new Uint8Array(0);
      default:
        throw new RangeError(`migration command: op ${c.op} is not ROUND, RESUME or DROP`);
    }
  }

  /** Snapshots the VM (whole in round 1) and streams it to the destination in chunks. */
  private async round(c: MigrationCommand): Promise<MigrationRoundReply> {
    const since = c.round === 1 ? undefined : this.sent.get(c.vm);
    if (c.round !== 1 && since === undefined) throw new RangeError(`migration of VM '${c.vm}': round ${c.round} before round 1`);
    const snap = snapshotVm(this.host(c.host), c.vm, { nowNs: c.nowNs, since });
    this.sent.set(c.vm, snap.generation);
    const pages = snap.memory?.pages ?? [];
    const parts = Math.max(1, Math.ceil(pages.length / PAGES_PER_CHUNK));
    for (let part = 0; part < parts; part++) {
      const slice = pages.slice(part * PAGES_PER_CHUNK, (part + 1) * PAGES_PER_CHUNK);
      // Every part carries the state; the image (in round 1's definition) travels once, in part 0.
      const snapshot: VmSnapshot = {
        ...snap,
        memory: snap.memory && { ...snap.memory, pages: slice },
        definition: part === 0 || !snap.definition ? snap.definition : { ...snap.definition, image: Buffer.alloc(0) },
      };
      await this.bus.request(
        subjects.migrateIn(this.sim, c.toNode),
        encode(MigrationChunk, { sim: this.sim, vm: c.vm, toHost: c.toHost, round: c.round, part, parts, snapshot }),
        { timeoutMs: CHUNK_TIMEOUT_MS },
      );
    }
    return { pages: pages.length, bytes: VmSnapshot.encode(snap).finish().length, generation: snap.generation };
  }

  private chunk(m: MigrationChunk): Uint8Array {
    if (m.sim !== this.sim) throw new RangeError(`migration chunk of simulation '${m.sim}' sent to simulation '${this.sim}'`);
    if (!m.snapshot || m.snapshot.vm !== m.vm) throw new RangeError(`migration chunk of VM '${m.vm}' carries no snapshot of it`);
    this.host(m.toHost); // refuse a host this node does not simulate before keeping anything
    let inc = this.incoming.get(m.vm);
    if (m.round === 1 && m.part === 0) this.incoming.set(m.vm, (inc = { host: m.toHost, rounds: [], parts: [] }));
    if (!inc || inc.rounds.length !== m.round - 1 || inc.parts.length !== m.part)
      throw new RangeError(`migration chunk of VM '${m.vm}': round ${m.round} part ${m.part} out of order`);
    inc.parts.push(m.snapshot);
    if (m.part + 1 === m.parts) {
      const first = inc.parts[0];
      const memory = first.memory && { ...first.memory, pages: inc.parts.flatMap((p) => p.memory?.pages ?? []) };
      inc.rounds.push({ ...first, memory });
      inc.parts = [];
    }
    return new Uint8Array(0);
  }
}
