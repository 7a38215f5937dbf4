// snapshotVm: one VM of a host executor, frozen between two run orders, as one VmSnapshot message
// (libs/proto/proto/vsim/v1/snapshot.proto). restore.ts is its inverse.

import { BinaryTranslationEngine, saveRv32Hart } from '@vsim/isa';
import { VMODE_S, saveRing32Vm, type VmRecord } from '@vsim/hypervisor';
import {
  CodePatchingState,
  NativeDevices,
  Ring32HartState,
  Ring32VmSnapshot,
  Rv32HartState,
  VcpuSnapshot,
  VirtualCpu,
  VmDefinition,
  VmSnapshot,
} from '@vsim/proto';
import type { HostExecutor } from '../host';
import type { Vcpu, VmInstance } from '../vm';
import { captureMemory } from './memory';

/** The snapshot format this executor writes and restores. */
export const SNAPSHOT_FORMAT = 1;

export interface SnapshotOptions {
  /** The host's virtual time now (the end of the last run order): where the VM is in the event log. */
  readonly nowNs: number;
  /**
   * Incremental: only the memory pages written since this earlier snapshot of the VM (or its
   * generation); the rest of the state is always whole.
   */
  readonly since?: VmSnapshot | number;
  /** The allocator's record of the VM (a Linux program's heap), kept by whoever handles its traps. */
  readonly allocator?: VmRecord;
}

/**
 * Snapshots VM `vmId` of `host`. Call it between run orders (never while `host.run` is awaiting a
 * trap's answer). The first snapshot of a VM starts its dirty-page log; each snapshot begins a new
 * generation of it.
 */
export function snapshotVm(host: HostExecutor, vmId: string, opts: SnapshotOptions): VmSnapshot {
  const vm = host.vms.get(vmId);
  if (!vm) throw new RangeError(`snapshot: host ${host.config.id} has no VM '${vmId}'`);
  // A replayed VM's state is its trace position (runners/replay.ts), which the snapshot format has no field for yet.
  if (vm.setup.kind === 'replay') throw new RangeError(`snapshot of VM ${vmId}: a replayed VM (kind replay) cannot be snapshotted yet`);
  const since = typeof opts.since === 'object' ? opts.since.generation : opts.since;
  if (typeof opts.since === 'object' && opts.since.vm !== vmId)
    throw new RangeError(`snapshot of VM ${vmId}: 'since' is a snapshot of VM ${opts.since.vm}`);
  const { memory, generation } = captureMemory(vm.bus, since);
  const { runner, stamp } = host.snapshotState();
  const a = opts.allocator;
  return VmSnapshot.fromPartial({
    vm: vmId,
    format: SNAPSHOT_FORMAT,
    generation,
    baseGeneration: since ?? 0,
    definition: definitionOf(vm, since === undefined),
    position: { host: host.config.id, seq: stamp.last, timeNs: opts.nowNs },
    memory,
    vcpus: vm.vcpus.map((v) => vcpuSnapshot(v, runner(v)?.saveState?.().trapStorm)),
    native: vm.native && nativeDevices(vm),
    ring32: vm.ring32 && ring32Snapshot(vm),
    allocator: a && { brkStart: a.brkStart, brk: a.brk, brkMax: a.brkMax, ended: a.ended ?? '' },
    ended: vm.ended ?? '',
    exitStatus: vm.exitStatus,
  });
}

function definitionOf(vm: VmInstance, withImage: boolean): VmDefinition {
  const s = vm.setup;
  return {
    kind: s.kind,
    technique: s.technique ?? '',
    isa: vm.isa,
    vcpus: s.vcpus,
    memoryBytes: s.memoryBytes,
    engine: s.engine,
    args: [...s.args],
    image: withImage ? Buffer.from(s.image) : Buffer.alloc(0),
  };
}

function vcpuSnapshot(v: Vcpu, storm: { futile: number; instret0: number } | undefined): VcpuSnapshot {
  return {
    index: v.index,
    state: v.state,
    wakeNs: v.wakeNs,
    overrunCycles: v.overrunCycles,
    vstate: v.vstate && VirtualCpu.fromPartial(v.vstate),
    rv32: v.ring32 ? undefined : Rv32HartState.fromPartial(saveRv32Hart(v.hart)),
    trapStorm: storm,
    translatedBlocks: chargedTranslations(v),
  };
}

/**
 * Binary translation charges the translation of the guest kernel's blocks (costs.translateBlock):
 * the snapshot records where the cached ones start, so the restore rebuilds them without charging
 * again. Every other translation is rebuilt lazily, as the guest needs it (nobody charges it).
 */
function chargedTranslations(v: Vcpu): { mode: number; pc: number }[] {
  if (v.ring32 || v.vm.setup.technique !== 'binary-translation' || !(v.engine instanceof BinaryTranslationEngine)) return [];
  return v.engine.translatedBlocks().filter((b) => b.mode === VMODE_S);
}

function nativeDevices(vm: VmInstance): NativeDevices {
  const n = vm.native!;
  const clint = n.clint.saveState();
  return { clintCmpLo: clint.cmpLo, clintCmpHi: clint.cmpHi, console: Buffer.from(n.pending), tohost: n.tohost };
}

function ring32Snapshot(vm: VmInstance): Ring32VmSnapshot {
  const s = saveRing32Vm(vm.ring32!);
  const p = s.patching;
  return {
    hart: Ring32HartState.fromPartial(s.hart),
    virtual: s.virtual,
    console: Buffer.from(s.console),
    halted: s.halted,
    ended: s.ended?.outcome ?? '',
    fault: s.ended?.fault ?? '',
    exits: s.exits,
    translatedCalls: s.translatedCalls,
    hypercalls: s.hypercalls,
    patching: p
      ? CodePatchingState.fromPartial({
          sites: p.sites,
          scanned: p.scanned,
          scannedInstructions: p.stats.scannedInstructions,
          patchedSites: p.stats.patchedSites,
          criticalByName: p.stats.criticalByName,
          indirectSites: p.stats.indirectSites,
          lazyScans: p.stats.lazyScans,
        })
      : undefined,
    pvTimerHeld: s.pvTimerHeld,
    translatedBlocks: s.translatedBlocks,
  };
}
