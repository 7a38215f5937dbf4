// A ring32 VM's state as plain data, for snapshots of a whole VM (libs/executor/src/snapshot): the
// hart, the hypervisor's virtual ring-0 state, code patching's sites and scanned code, paravirt's
// held timer, console bytes not yet collected, how the VM ended — and of the translator only where
// its blocks start (the cache is rebuilt on restore, never copied).

import { BinaryTranslationEngine, Ring32HartState, loadRing32Hart, saveRing32Hart } from '@vsim/isa';
import type { Ring32Vm } from './vm';
import type { VirtualRing32 } from './context';
import type { CodePatcher, PatchingStats, PatchSite } from './code-patching';

export interface Ring32VmState {
  hart: Ring32HartState;
  virtual: VirtualRing32;
  /** Console bytes written and not yet collected by drainConsole(). */
  console: number[];
  halted: boolean;
  ended?: { outcome: 'exit' | 'fault'; fault?: string };
  exits: Record<string, number>;
  translatedCalls: Record<string, number>;
  hypercalls: number;
  patching?: { sites: PatchSite[]; scanned: number[]; stats: PatchingStats };
  pvTimerHeld: boolean;
  /** Binary translation: where the cached kernel blocks start (see BinaryTranslationEngine.translatedBlocks). */
  translatedBlocks: { mode: number; pc: number }[];
}

/** The private parts of a Ring32Vm this module reads and writes (checked at run time: see internals()). */
interface Internals {
  out: number[];
  drained: number;
  exits: Record<string, number>;
  calls: Record<string, number>;
  hypercalls: number;
  patcher?: CodePatcher;
  pvTimerHeld: boolean;
  halted: boolean;
  blocksCharged: number;
  ended?: { outcome: 'exit' | 'fault'; fault?: string };
}

function internals(vm: Ring32Vm): Internals {
  const i = vm as unknown as Internals;
  for (const f of ['out', 'drained', 'exits', 'calls', 'hypercalls', 'halted', 'blocksCharged', 'pvTimerHeld'] as const)
    if (!(f in i)) throw new Error(`ring32 snapshot: Ring32Vm has no field '${f}' any more (update libs/hypervisor/src/ring32/state.ts)`);
  return i;
}

export function saveRing32Vm(vm: Ring32Vm): Ring32VmState {
  const i = internals(vm);
  return {
    hart: saveRing32Hart(vm.hart),
    virtual: { ...vm.v },
    console: i.out.slice(i.drained),
    halted: i.halted,
    ended: i.ended && { ...i.ended },
    exits: { ...i.exits },
    translatedCalls: { ...i.calls },
    hypercalls: i.hypercalls,
    patching: i.patcher?.saveState(),
    pvTimerHeld: i.pvTimerHeld,
    // Binary translation charges the kernel's (ring 0) translations: those are rebuilt uncharged; the rest lazily.
    translatedBlocks:
      vm.technique === 'binary-translation' && vm.engine instanceof BinaryTranslationEngine
        ? vm.engine.translatedBlocks().filter((b) => b.mode === 0)
        : [],
  };
}

/**
 * Loads `s` into `vm`, a Ring32Vm just built from the same image and options, whose RAM already
 * holds the snapshot's pages. The translator's blocks are rebuilt from that RAM; its translation
 * count starts over with the hypervisor's charge for it.
 */
export function loadRing32Vm(vm: Ring32Vm, s: Ring32VmState): void {
  const i = internals(vm);
  if (Boolean(s.patching) !== Boolean(i.patcher))
    throw new RangeError(`ring32 snapshot: code patching state does not match technique ${vm.technique}`);
  loadRing32Hart(vm.hart, s.hart);
  Object.assign(vm.v, s.virtual);
  i.out.splice(0, i.out.length, ...s.console);
  i.drained = 0;
  i.halted = s.halted;
  i.ended = s.ended && { ...s.ended };
  for (const k of Object.keys(i.exits)) delete i.exits[k];
  Object.assign(i.exits, s.exits);
  for (const k of Object.keys(i.calls)) delete i.calls[k];
  Object.assign(i.calls, s.translatedCalls);
  i.hypercalls = s.hypercalls;
  if (s.patching) i.patcher!.loadState(s.patching);
  i.pvTimerHeld = vm.pvShared !== undefined && s.pvTimerHeld;
  if (vm.engine instanceof BinaryTranslationEngine) {
    for (const b of s.translatedBlocks)
      if (!vm.bus.inRam(b.pc, 4) || b.pc & 3 || b.mode > 3)
        throw new RangeError(`ring32 snapshot: translated block at 0x${b.pc.toString(16)} (mode ${b.mode}) is not code in RAM`);
    vm.engine.rebuild(s.translatedBlocks);
    // What is translated from here on is the hypervisor's to charge (blocksCharged starts at 0).
    vm.engine.translatedByMode.fill(0);
  }
  i.blocksCharged = 0;
}
