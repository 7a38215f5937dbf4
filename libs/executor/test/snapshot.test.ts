// Snapshots of a whole VM (issue 10, item 2): for every technique on both ISAs, a VM frozen at
// seeded-random virtual times and restored into a new host executor runs on to the event log of the
// uninterrupted run, hash for hash; a full snapshot plus an incremental one restore the same state.

import { HostExecutor, VmInstance, restoreVm, snapshotVm } from '@vsim/executor';
import { VmRecord } from '@vsim/hypervisor';
import { Event, VmSnapshot } from '@vsim/proto';
import { DRIVER_SLICE_NS, HostDriver, driverHostConfig, eventHash, localTrapHandlers, seededRandom } from '@vsim/testkit';
import { SNAPSHOT_CASES, SnapshotCase } from './snapshot-cases';

/** Virtual time a case runs at most (the long-running kernels are still printing and trapping then). */
const RUN_NS = 10e6;
const SNAPSHOTS_PER_CASE = 4;

interface Sim {
  readonly exec: HostExecutor;
  readonly vm: VmInstance;
  readonly driver: HostDriver;
  readonly allocators: Map<string, VmRecord>;
}

function start(c: SnapshotCase): Sim {
  const allocators = new Map<string, VmRecord>();
  const exec = new HostExecutor(driverHostConfig(c.setup.vcpus, c.hostIsa), localTrapHandlers(allocators));
  const vm = exec.createVm(c.setup);
  allocators.set(vm.id, { id: vm.id, kind: c.setup.kind, brkStart: vm.brkStart, brk: vm.brkStart, brkMax: vm.brkMax });
  return { exec, vm, driver: new HostDriver(exec), allocators };
}

/** `chain` (encoded, as it travels) restored into a new executor, continuing at `nowNs`. */
function restore(c: SnapshotCase, nowNs: number, chain: readonly Uint8Array[]): Sim {
  const allocators = new Map<string, VmRecord>();
  const exec = new HostExecutor(driverHostConfig(c.setup.vcpus, c.hostIsa), localTrapHandlers(allocators));
  const [full, ...incs] = chain.map((b) => VmSnapshot.decode(b));
  const { vm, allocator } = restoreVm(exec, full, ...incs);
  if (allocator) allocators.set(vm.id, allocator);
  return { exec, vm, driver: new HostDriver(exec, nowNs), allocators };
}

function snapshot(s: Sim, since?: VmSnapshot): { snap: VmSnapshot; bytes: Uint8Array } {
  const snap = snapshotVm(s.exec, s.vm.id, { nowNs: s.driver.nowNs, since, allocator: s.allocators.get(s.vm.id) });
  return { snap, bytes: VmSnapshot.encode(snap).finish() };
}

/**
 * How far into a run a snapshot may be taken with the VM still running: up to one run order before
 * it ends (from a run without snapshots), or RUN_NS.
 */
async function span(c: SnapshotCase): Promise<number> {
  const s = start(c);
  await s.driver.runUntil(RUN_NS);
  return s.vm.ended ? s.driver.events[s.driver.events.length - 1].timeNs - DRIVER_SLICE_NS : RUN_NS;
}

/** Every other snapshot is taken exactly at its time (orders end there), the others where an order ends anyway. */
const exactly = (i: number) => i % 2 === 1;

/**
 * Runs `d`, restored from the snapshot taken at `at[k]`, on to RUN_NS making the orders the run
 * with snapshots made after it: the same calls, so that orders end at the same exact times.
 */
async function runOn(d: HostDriver, at: readonly number[], k: number): Promise<void> {
  for (let i = k + 1; i < at.length; i++) await d.runUntil(at[i], exactly(i));
  await d.runUntil(RUN_NS);
}

/** The VM's whole state but the dirty-page generations, and its memory. */
function stateOf(s: Sim): { state: VmSnapshot; memory: Buffer } {
  const state = snapshot(s).snap;
  state.memory!.pages = [];
  return { state: { ...state, generation: 0, baseGeneration: 0 }, memory: Buffer.from(s.vm.bus.u8) };
}

describe('a VM snapshot restored into a new host executor runs on to the same event log', () => {
  it.each(SNAPSHOT_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const random = seededRandom(SNAPSHOT_CASES.indexOf(c) + 1);
    const end = await span(c);
    const at = Array.from({ length: SNAPSHOTS_PER_CASE }, () => Math.floor(random() * end)).sort((a, b) => a - b);
    const whole = start(c);
    const taken: { nowNs: number; bytes: Uint8Array; before: Event[] }[] = [];
    for (const [i, t] of at.entries()) {
      await whole.driver.runUntil(t, exactly(i));
      // Frozen while it runs, so that there is something to continue.
      expect({ at: whole.driver.nowNs, ended: whole.vm.ended }).toEqual({ at: whole.driver.nowNs, ended: undefined });
      taken.push({ nowNs: whole.driver.nowNs, bytes: snapshot(whole).bytes, before: [...whole.driver.events] });
    }
    await whole.driver.runUntil(RUN_NS);
    const hash = eventHash(whole.driver.events);
    const final = stateOf(whole);
    for (const [k, s] of taken.entries()) {
      const resumed = restore(c, s.nowNs, [s.bytes]);
      await runOn(resumed.driver, at, k);
      expect({ at: s.nowNs, hash: eventHash([...s.before, ...resumed.driver.events]) }).toEqual({ at: s.nowNs, hash });
      // And it ends in the same state: every register, counter, device and page.
      const state = stateOf(resumed);
      expect({ at: s.nowNs, state: state.state }).toEqual({ at: s.nowNs, state: final.state });
      expect({ at: s.nowNs, sameMemory: state.memory.equals(final.memory) }).toEqual({ at: s.nowNs, sameMemory: true });
    }
  });
});

describe('incremental snapshots', () => {
  const cases = SNAPSHOT_CASES.filter((c) => ['rv32 trap-and-emulate', 'rv32 SMP binary-translation', 'ring32 code-patching'].includes(c.name));

  it.each(cases.map((c) => [c.name, c] as const))('%s: a full snapshot and an incremental one restore the state of the second', async (_name, c) => {
    const random = seededRandom(100 + SNAPSHOT_CASES.indexOf(c));
    const end = await span(c);
    const t1 = Math.floor(random() * end * 0.8);
    const t2 = t1 + Math.floor((end - t1) * (0.1 + 0.9 * random()));
    const whole = start(c);
    await whole.driver.runUntil(t1, true);
    const full = snapshot(whole);
    await whole.driver.runUntil(t2, true);
    const inc = snapshot(whole, full.snap);
    expect(inc.snap.baseGeneration).toBe(full.snap.generation);
    // Only the pages written in between (some of them zero in the full snapshot: stacks, data).
    expect(inc.snap.memory!.pages.length).toBeGreaterThan(0);
    expect(inc.snap.memory!.pages.length).toBeLessThan(c.setup.memoryBytes / 4096);
    const resumed = restore(c, whole.driver.nowNs, [full.bytes, inc.bytes]);
    // Byte for byte the memory of the VM at the second snapshot, and the same state otherwise.
    expect(Buffer.from(resumed.vm.bus.u8).equals(Buffer.from(whole.vm.bus.u8))).toBe(true);
    const again = snapshot(resumed).snap;
    const whole2 = snapshot(whole).snap;
    for (const s of [again, whole2]) s.memory!.pages.length = 0;
    expect({ ...again, generation: 0, baseGeneration: 0 }).toEqual({ ...whole2, generation: 0, baseGeneration: 0 });
    const before = [...whole.driver.events];
    await whole.driver.runUntil(RUN_NS);
    await resumed.driver.runUntil(RUN_NS);
    expect(eventHash([...before, ...resumed.driver.events])).toBe(eventHash(whole.driver.events));
  });

  it('refuses an increment that does not follow the snapshot before it, naming the generations', async () => {
    const c = cases[0];
    const whole = start(c);
    await whole.driver.runUntil(1e6);
    const a = snapshot(whole);
    await whole.driver.runUntil(2e6);
    const b = snapshot(whole);
    await whole.driver.runUntil(3e6);
    const inc = snapshot(whole, b.snap);
    expect(() => restore(c, whole.driver.nowNs, [a.bytes, inc.bytes])).toThrow(/pages written since generation 2, but follows generation 1/);
    expect(() => restore(c, whole.driver.nowNs, [inc.bytes])).toThrow(/a restore starts from a full snapshot/);
  });

  it('refuses a snapshot with a bad field, naming it, and leaves no VM behind', async () => {
    const c = cases[0];
    const whole = start(c);
    await whole.driver.runUntil(1e6);
    const good = snapshot(whole).snap;
    const bad = (f: (s: VmSnapshot) => void) => {
      const s = VmSnapshot.decode(VmSnapshot.encode(good).finish());
      f(s);
      return [VmSnapshot.encode(s).finish()];
    };
    expect(() =>
      restore(
        c,
        0,
        bad((s) => (s.format = 2)),
      ),
    ).toThrow(/format 2, this executor restores format 1/);
    expect(() =>
      restore(
        c,
        0,
        bad((s) => (s.memory!.pages[0].index = 1 << 20)),
      ),
    ).toThrow(/memory page 1048576 is past the end/);
    expect(() =>
      restore(
        c,
        0,
        bad((s) => (s.memory!.pages[0].data = Buffer.alloc(10))),
      ),
    ).toThrow(/has 10 bytes, expected 4096 or 0/);
    expect(() =>
      restore(
        c,
        0,
        bad((s) => (s.definition!.engine = 'jit')),
      ),
    ).toThrow(/definition.engine 'jit' is not an engine/);
    expect(() =>
      restore(
        c,
        0,
        bad((s) => (s.vcpus[0].rv32!.x = [1, 2])),
      ),
    ).toThrow(/x has 2 registers, expected 32/);
  });
});
