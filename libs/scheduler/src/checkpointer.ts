// Checkpoints of a simulation's hosts (architecture.md §11, checkpoint.proto), taken by the
// scheduler that drives them: at the first iteration boundary of a host's loop at or after each
// multiple of the interval (virtual time), the loop waits while
//   1. the cpu-node simulating the host stores a snapshot of each of its VMs (full the first time,
//      then the pages written since: vsim.<sim>.checkpoint.<node>.<host>);
//   2. the hypervisor tells the VMs' allocator records (vsim.<sim>.allocators);
//   3. the host's events since the previous checkpoint are stored as one EventBatch blob;
//   4. the manifest (HostCheckpoint) is stored, then the metadata record <sim>/<host>/latest is
//      advanced to it with compare-and-set.
// A checkpoint is complete once `latest` names it: anything stored before a crash in between is
// unreferenced. Taking one never changes the run (no boundary is added or moved), so a run with
// checkpoints has the event-log hash of one without.

import { Bus, CheckpointStore } from '@vsim/bus';
import {
  AllocatorStateReply,
  AllocatorStateRequest,
  Event,
  EventBatch,
  HostCheckpoint,
  SnapshotHostReply,
  SnapshotHostRequest,
  encode,
  subjects,
} from '@vsim/proto';
import { hostHandoverOf } from './handover-proto';
import type { HostLoop, LoopState } from './host-loop';
import { schedulerMessage } from './proto-scheduler';

/** The HostCheckpoint format this scheduler writes and resumes (2: the loop state typed, not JSON). */
export const CHECKPOINT_FORMAT = 2;

/** A host's VM snapshots are full again every this many checkpoints (CheckpointConfig.fullEvery). */
export const DEFAULT_FULL_EVERY = 16;

/** How long a cpu-node or the hypervisor may take to answer a checkpoint request. */
export const CHECKPOINT_REQUEST_TIMEOUT_MS = 60_000;

/** Where each part of a host's checkpoint lives in a CheckpointStore. */
export const checkpointKeys = {
  /** Everything of a simulation's host. */
  host: (sim: string, host: string) => `${sim}/${host}/`,
  /** Metadata: the index of the host's newest complete checkpoint (decimal). */
  latest: (sim: string, host: string) => `${sim}/${host}/latest`,
  manifest: (sim: string, host: string, index: number) => `${sim}/${host}/${index}/manifest`,
  events: (sim: string, host: string, index: number) => `${sim}/${host}/${index}/events`,
  /** VM snapshots go to <vmPrefix>/<vm> (the cpu-node appends the VM id). */
  vmPrefix: (sim: string, host: string, index: number) => `${sim}/${host}/${index}/vm`,
} as const;

/**
 * A value as JSON (the spec's identity, checkpoint/spec-id.ts): numbers JSON cannot carry
 * (Infinity, -Infinity, NaN) are written as {"$num": "Infinity"}.
 */
export function stateToJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? { $num: String(x) } : x));
}

export interface CheckpointConfig {
  readonly store: CheckpointStore;
  /** Virtual ns between two checkpoints of a host. */
  readonly intervalNs: number;
  /** The spec's identity, recorded in every manifest (resume refuses another spec). */
  readonly specId: string;
  /**
   * Every this many checkpoints of a host, its VMs' snapshots are full again (default
   * DEFAULT_FULL_EVERY): a restore reads at most this many snapshots per VM.
   */
  readonly fullEvery?: number;
  /** Told of each checkpoint once it is complete (logs, bench:checkpoint). */
  readonly onTaken?: (t: CheckpointTaken) => void;
}

/** What a checkpoint cost: for logs, Status counters and bench:checkpoint. */
export interface CheckpointTaken {
  readonly host: string;
  readonly index: number;
  readonly nowNs: number;
  readonly vmBytes: number;
  readonly fullVms: number;
  readonly wallMs: number;
}

interface HostTrack {
  readonly node: string;
  readonly pcpus: number;
  nextAt: number;
  index: number;
  /** The revision of `latest` this scheduler last wrote (undefined: not read yet). */
  revision: number | undefined;
  /** Checkpoints taken since the last full one. */
  sinceFull: number;
  /** Per VM, its snapshot chain so far (a full one first). */
  readonly chains: Map<string, string[]>;
  readonly eventKeys: string[];
  /** Events published since the last checkpoint. */
  pending: Event[];
  published: number;
}

export class Checkpointer {
  private readonly hosts = new Map<string, HostTrack>();
  /** Every checkpoint taken, in order (the scheduler's counters and the bench read it). */
  readonly taken: CheckpointTaken[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly sim: string,
    readonly config: CheckpointConfig,
  ) {
    if (!(Number.isSafeInteger(config.intervalNs) && config.intervalNs > 0))
      throw new RangeError(`checkpoint interval must be a positive integer of ns, got ${config.intervalNs}`);
    if (config.fullEvery !== undefined && !(Number.isSafeInteger(config.fullEvery) && config.fullEvery >= 1))
      throw new RangeError(`fullEvery must be a positive integer, got ${config.fullEvery}`);
  }

  /** Starts following `host`; `from`: it was resumed from checkpoint `index` with these events before it. */
  track(host: string, node: string, pcpus: number, nowNs: number, from?: { index: number; events: readonly Event[] }): void {
    const iv = this.config.intervalNs;
    this.hosts.set(host, {
      node,
      pcpus,
      nextAt: (Math.floor(nowNs / iv) + 1) * iv,
      index: from?.index ?? 0,
      revision: undefined,
      sinceFull: 0,
      chains: new Map(),
      eventKeys: [],
      pending: [...(from?.events ?? [])],
      published: from?.events.length ?? 0,
    });
  }

  /** Events the scheduler published for `host` (in order). */
  noteEvents(host: string, events: readonly Event[]): void {
    const t = this.hosts.get(host);
    if (!t) return;
    t.pending.push(...events);
    t.published += events.length;
  }

  /** The loop's boundary hook: a checkpoint when the host's virtual time has reached the next one due. */
  async atBoundary(loop: HostLoop, policy: { policy: string; params: Readonly<Record<string, unknown>> }): Promise<void> {
    const t = this.hosts.get(loop.host);
    if (!t || loop.virtualNow < t.nextAt) return;
    const started = performance.now();
    const iv = this.config.intervalNs;
    const now = loop.virtualNow;
    t.nextAt = (Math.floor(now / iv) + 1) * iv;
    const index = t.index + 1;
    const { store } = this.config;
    const host = loop.host;
    const state: LoopState = loop.exportState();
    const vmIds = loop.vmIds();
    const full = t.sinceFull + 1 >= (this.config.fullEvery ?? DEFAULT_FULL_EVERY);
    // 1. the VMs' snapshots, stored by the node; 2. the allocator records, from the hypervisor.
    const [snaps, allocs] = await Promise.all([
      this.ask(
        subjects.checkpoint(this.sim, t.node, host),
        encode(SnapshotHostRequest, {
          sim: this.sim,
          host,
          keyPrefix: checkpointKeys.vmPrefix(this.sim, host, index),
          nowNs: now,
          orderSeq: loop.orderSeq,
          full,
        }),
        `cpu-node ${t.node}`,
      ).then((r) => SnapshotHostReply.decode(r)),
      vmIds.length === 0
        ? Promise.resolve(AllocatorStateReply.fromPartial({}))
        : this.ask(subjects.allocators(this.sim), encode(AllocatorStateRequest, { sim: this.sim, vms: vmIds }), 'the hypervisor').then((r) =>
            AllocatorStateReply.decode(r),
          ),
    ]);
    const allocOf = new Map(allocs.records.map((r) => [r.vm, r.record]));
    for (const s of snaps.vms) {
      const chain = s.full ? [] : (t.chains.get(s.vm) ?? []);
      if (!s.full && chain.length === 0)
        throw new Error(`checkpoint ${index} of host ${host}: VM ${s.vm}'s snapshot is incremental, but none came before`);
      t.chains.set(s.vm, [...chain, s.key]);
    }
    // 3. the events since the previous checkpoint.
    const eventsKey = checkpointKeys.events(this.sim, host, index);
    await store.putBlob(
      eventsKey,
      encode(EventBatch, { sim: this.sim, host, events: t.pending.map((e) => Event.toMessage(e)), firstIndex: t.published - t.pending.length }),
    );
    t.eventKeys.push(eventsKey);
    t.pending = [];
    // 4. the manifest, then `latest`.
    const manifest = HostCheckpoint.fromPartial({
      format: CHECKPOINT_FORMAT,
      sim: this.sim,
      host,
      index,
      nowNs: now,
      intervalNs: iv,
      specId: this.config.specId,
      node: t.node,
      pcpus: t.pcpus,
      policy: policy.policy,
      eventsPublished: t.published,
      eventKeys: [...t.eventKeys],
      vms: vmIds.map((vm) => ({ vm, chain: [...(t.chains.get(vm) ?? [])], allocator: allocOf.get(vm) })),
      scheduler: schedulerMessage(policy, `checkpoint ${index} of host ${host}: scheduler`),
      loop: hostHandoverOf(this.sim, { host, node: t.node, pcpus: t.pcpus, eventsPublished: t.published, state }),
    });
    await store.putBlob(checkpointKeys.manifest(this.sim, host, index), encode(HostCheckpoint, manifest));
    const latest = checkpointKeys.latest(this.sim, host);
    t.revision ??= (await store.getMeta(latest))?.revision ?? 0;
    t.revision = await store.putMeta(latest, Buffer.from(String(index)), t.revision);
    t.index = index;
    t.sinceFull = snaps.vms.every((s) => s.full) ? 0 : t.sinceFull + 1;
    const taken: CheckpointTaken = {
      host,
      index,
      nowNs: now,
      vmBytes: snaps.vms.reduce((a, s) => a + s.bytes, 0),
      fullVms: snaps.vms.filter((s) => s.full).length,
      wallMs: performance.now() - started,
    };
    this.taken.push(taken);
    this.config.onTaken?.(taken);
  }

  private async ask(subject: string, data: Uint8Array, who: string): Promise<Uint8Array> {
    try {
      return await this.bus.request(subject, data, { timeoutMs: CHECKPOINT_REQUEST_TIMEOUT_MS });
    } catch (err) {
      throw new Error(`checkpoint: ${who} did not answer on ${subject}: ${(err as Error).message}`, { cause: err });
    }
  }
}
