// restoreVm: a VM snapshot (capture.ts) continued in a host executor — usually a fresh one, in this
// process or another. The VM is built again from the snapshot's definition (its image sets up the
// hypervisor and devices), then every part of its state is overwritten with the snapshot's. Decoded
// and translated code is rebuilt, never copied.

import { BinaryTranslationEngine, DirtyPages, EngineName, isEngineName, loadRv32Hart } from '@vsim/isa';
import { loadRing32Vm, type Ring32VmState, type VmRecord } from '@vsim/hypervisor';
import { VcpuState, VirtualCpu, VmSnapshot } from '@vsim/proto';
import { VM_KINDS, vmKindOf } from '@vsim/vocabulary';
import type { HostExecutor } from '../host';
import { TECHNIQUES, Technique, VmInstance, VmSetup } from '../vm';
import type { IsaName } from '../cross-isa';
import { SNAPSHOT_FORMAT } from './capture';
import { applyMemory } from './memory';

export interface RestoredVm {
  readonly vm: VmInstance;
  /** The allocator's record, when the snapshot carried one: hand it to whoever handles the VM's traps. */
  readonly allocator?: VmRecord;
}

/**
 * Creates the VM of `full` (a full snapshot) in `host` and brings it to the state of the last of
 * `increments` (incremental snapshots, each on top of the one before), or of `full` itself. When
 * `host` simulates the snapshot's host and has stamped fewer events, it continues that host's event
 * numbering, so the event log reads as if the VM had never stopped.
 */
export function restoreVm(host: HostExecutor, full: VmSnapshot, ...increments: VmSnapshot[]): RestoredVm {
  const chain = [full, ...increments];
  checkChain(chain);
  const vm = host.createVm(setupOf(full));
  const last = chain[chain.length - 1];
  try {
    // The VM's constructor loaded its image (and code patching patched it): start from zeros.
    vm.bus.u8.fill(0);
    vm.bus.invalidateAll();
    for (const s of chain) applyMemory(vm.bus, s.memory, s.vm);
    applyState(host, vm, last);
  } catch (err) {
    host.vms.delete(vm.id); // a snapshot refused halfway leaves no VM behind
    throw err;
  }
  vm.bus.dirty = new DirtyPages(vm.bus, last.generation);
  const { stamp } = host.snapshotState();
  const pos = last.position;
  if (pos && pos.host === host.config.id && stamp.last < pos.seq) stamp.continueFrom(pos.seq);
  const a = last.allocator;
  const allocator: VmRecord | undefined = a && {
    id: vm.id,
    kind: vm.setup.kind,
    brkStart: a.brkStart,
    brk: a.brk,
    brkMax: a.brkMax,
    ended: a.ended === 'shutdown' || a.ended === 'fault' ? a.ended : undefined,
  };
  return { vm, allocator };
}

function checkChain(chain: readonly VmSnapshot[]): void {
  const first = chain[0];
  for (const [i, s] of chain.entries()) {
    const what = `snapshot ${i + 1} of ${chain.length} (VM ${s.vm}, generation ${s.generation})`;
    if (s.format !== SNAPSHOT_FORMAT) throw new RangeError(`${what}: format ${s.format}, this executor restores format ${SNAPSHOT_FORMAT}`);
    if (s.vm !== first.vm) throw new RangeError(`${what}: a snapshot of another VM than ${first.vm}`);
    if (i === 0 && s.baseGeneration !== 0)
      throw new RangeError(`${what}: incremental (since generation ${s.baseGeneration}); a restore starts from a full snapshot`);
    if (i > 0 && s.baseGeneration !== chain[i - 1].generation)
      throw new RangeError(
        `${what}: holds the pages written since generation ${s.baseGeneration}, but follows generation ${chain[i - 1].generation}`,
      );
  }
}

function setupOf(s: VmSnapshot): VmSetup {
  const d = s.definition;
  if (!d || d.image.length === 0) throw new RangeError(`snapshot of VM ${s.vm}: definition.image is empty (only a full snapshot carries the image)`);
  // vmKindOf also reads the deprecated spelling `sbi` (snapshots written before the rename).
  const kind = vmKindOf(d.kind);
  if (kind === undefined) throw new RangeError(`snapshot of VM ${s.vm}: definition.kind '${d.kind}' is not ${VM_KINDS.join(' or ')}`);
  if (d.technique !== '' && !TECHNIQUES.includes(d.technique as Technique))
    throw new RangeError(`snapshot of VM ${s.vm}: definition.technique '${d.technique}' is not one of ${TECHNIQUES.join(', ')}`);
  if (!isEngineName(d.engine)) throw new RangeError(`snapshot of VM ${s.vm}: definition.engine '${d.engine}' is not an engine`);
  if (d.isa !== 'rv32' && d.isa !== 'ring32') throw new RangeError(`snapshot of VM ${s.vm}: definition.isa '${d.isa}' is not rv32 or ring32`);
  return {
    id: s.vm,
    kind,
    technique: d.technique === '' ? undefined : (d.technique as Technique),
    vcpus: d.vcpus,
    memoryBytes: d.memoryBytes,
    image: d.image,
    args: d.args,
    engine: d.engine as EngineName,
    isa: d.isa as IsaName,
  };
}

/** Everything but memory, from the last snapshot of the chain. */
function applyState(host: HostExecutor, vm: VmInstance, s: VmSnapshot): void {
  if (s.vcpus.length !== vm.vcpus.length) throw new RangeError(`snapshot of VM ${s.vm}: ${s.vcpus.length} vCPUs, the VM has ${vm.vcpus.length}`);
  if (Boolean(s.native) !== Boolean(vm.native) || Boolean(s.ring32) !== Boolean(vm.ring32))
    throw new RangeError(`snapshot of VM ${s.vm}: its devices do not match technique ${vm.setup.technique ?? '(default)'} on ISA ${vm.isa}`);
  const { runner } = host.snapshotState();
  if (s.ring32) loadRing32Vm(vm.ring32!, ring32State(s));
  for (const vs of s.vcpus) {
    const v = vm.vcpus[vs.index];
    if (!v) throw new RangeError(`snapshot of VM ${s.vm}: vCPU ${vs.index} does not exist`);
    if (vs.state === VcpuState.VCPU_STATE_UNSPECIFIED || vs.state === VcpuState.UNRECOGNIZED)
      throw new RangeError(`snapshot of VM ${s.vm}: vCPU ${vs.index} has no state`);
    v.state = vs.state;
    v.wakeNs = vs.wakeNs;
    v.overrunCycles = vs.overrunCycles;
    v.vstate = vs.vstate && VirtualCpu.fromPartial(vs.vstate);
    if (!v.ring32) {
      if (!vs.rv32) throw new RangeError(`snapshot of VM ${s.vm}: vCPU ${vs.index} has no rv32 hart state`);
      loadRv32Hart(v.hart, vs.rv32);
      if (v.engine instanceof BinaryTranslationEngine) {
        for (const b of vs.translatedBlocks)
          if (!vm.bus.inRam(b.pc, 4) || b.pc & 3 || b.mode > 3)
            throw new RangeError(
              `snapshot of VM ${s.vm}: vCPU ${vs.index}'s translated block at 0x${b.pc.toString(16)} (mode ${b.mode}) is not code in RAM`,
            );
        v.engine.rebuild(vs.translatedBlocks);
        // The host charges what is translated from here on (a new executor has charged nothing yet).
        v.engine.translatedByMode.fill(0);
      }
    }
    runner(v)?.loadState?.({ trapStorm: vs.trapStorm });
  }
  if (s.native) {
    const n = vm.native!;
    n.clint.loadState({ cmpLo: s.native.clintCmpLo, cmpHi: s.native.clintCmpHi });
    n.pending.splice(0, n.pending.length, ...s.native.console);
    n.tohost = s.native.tohost;
  }
  vm.ended = s.ended === 'shutdown' || s.ended === 'fault' ? s.ended : undefined;
  vm.exitStatus = s.exitStatus;
}

function ring32State(s: VmSnapshot): Ring32VmState {
  const r = s.ring32!;
  if (!r.hart || !r.virtual) throw new RangeError(`snapshot of VM ${s.vm}: ring32 state without its hart or virtual state`);
  const p = r.patching;
  return {
    hart: r.hart,
    virtual: r.virtual,
    console: [...r.console],
    halted: r.halted,
    ended: r.ended === 'exit' || r.ended === 'fault' ? { outcome: r.ended, fault: r.fault || undefined } : undefined,
    exits: r.exits,
    translatedCalls: r.translatedCalls,
    hypercalls: r.hypercalls,
    patching: p && {
      sites: p.sites.map((x) => ({ pc: x.pc, word: x.word, name: x.name, kind: x.kind === 'indirect' ? 'indirect' : 'critical' })),
      scanned: p.scanned,
      stats: {
        scannedInstructions: p.scannedInstructions,
        patchedSites: p.patchedSites,
        criticalByName: p.criticalByName,
        indirectSites: p.indirectSites,
        lazyScans: p.lazyScans,
        scanWallNs: 0,
      },
    },
    pvTimerHeld: r.pvTimerHeld,
    translatedBlocks: r.translatedBlocks,
  };
}
