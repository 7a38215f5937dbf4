// Differential testing: seeded random valid instruction streams run on all four engines must leave
// bit-identical state (registers, pc, privilege, every M-readable CSR, counters, RAM), and must stop
// at identical points when run in random small budget slices. Also loops (the translator's in-block
// loops and block chaining) and self-modifying code.

import { BinaryTranslationEngine, BtOptions, CSR, Cause, ENGINE_NAMES, Engine, EngineName, Hart, Stop, makeCostModel, rv32 } from '@vsim/isa';
import * as A from './helpers/asm';
import {
  CODE,
  DATA,
  M_TRAP,
  SnippetOptions,
  a0,
  a1,
  a2,
  endOf,
  li,
  prepareSnippet,
  prng,
  s0,
  s1,
  t0,
  t1,
  t2,
  t6,
  writeWords,
  zero,
} from './helpers/asm';
import { StreamOptions, genStream } from './helpers/gen';
import { Snapshot, snapshot } from './helpers/state';

// ------------------------------------------------------------------------------------------ runners

type Opts = Omit<SnippetOptions, 'engine'>;

function runWhole(engine: EngineName, prog: readonly number[], opts: Opts, budget = 50_000_000): { snap: Snapshot; engine: Engine } {
  const s = prepareSnippet(prog, { ...opts, engine });
  s.engine.run(budget);
  return { snap: snapshot(s.hart), engine: s.engine };
}

type Point = [pc: number, instret: number, cycles: number, stop: Stop];

function runSliced(engine: EngineName, prog: readonly number[], opts: Opts, seed: number, maxSlice: number): { trace: Point[]; snap: Snapshot } {
  const s = prepareSnippet(prog, { ...opts, engine });
  const r = prng(seed);
  const trace: Point[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const stop = s.engine.run(r.range(1, maxSlice));
    trace.push([s.hart.pc >>> 0, s.hart.instret, s.hart.cycles, stop.kind]);
    if (stop.kind !== Stop.Budget) break;
  }
  return { trace, snap: snapshot(s.hart) };
}

/** Runs on every engine; all must agree with the first. Returns the reference snapshot. */
function expectSameEverywhere(prog: readonly number[], opts: Opts): Snapshot {
  const runs = ENGINE_NAMES.map((e) => ({ e, snap: runWhole(e, prog, opts).snap }));
  const ref = runs[0].snap;
  for (const { e, snap } of runs.slice(1)) expect({ engine: e, ...snap }).toEqual({ engine: e, ...ref });
  return ref;
}

function expectEndedAtEbreak(s: Snapshot, prog: readonly number[]) {
  expect({ stop: s.stop, cause: s.exitCause, pc: s.pc }).toEqual({ stop: Stop.Trap, cause: Cause.Breakpoint, pc: endOf(prog) });
}

// ------------------------------------------------------------------------------------------ tests

const STREAM: StreamOptions = { length: 2500, loopChance: 0.01, maxIters: 12, maxBody: 10 };

describe('random instruction streams', () => {
  it('the generator makes valid streams that exercise what they should', () => {
    const { prog } = genStream(1, STREAM);
    const names = new Set(prog.map((w) => rv32.instructions[rv32.decode(w)].name));
    expect(names.has('illegal')).toBe(false);
    for (const n of ['mulhsu', 'divu', 'lb', 'sh', 'amomaxu.w', 'lr.w', 'sc.w', 'csrrci', 'bgeu', 'jal', 'lui', 'auipc', 'srai']) {
      expect(names).toContain(n);
    }
    expect(prog.length).toBeGreaterThanOrEqual(STREAM.length);
    expect(CODE + 4 * prog.length).toBeLessThan(M_TRAP);
  });

  it.each(Array.from({ length: 10 }, (_, i) => [1000 + i]))('seed %i: identical full state on all engines', (seed) => {
    const { prog, opts } = genStream(seed, STREAM);
    const ref = expectSameEverywhere(prog, opts);
    expectEndedAtEbreak(ref, prog);
    expect(ref.instret).toBeGreaterThan(prog.length / 3);
    expect(Object.keys(ref.csrs).length).toBeGreaterThan(40);
  });

  it.each(Array.from({ length: 4 }, (_, i) => [2000 + i]))('seed %i: random budget slices stop at identical points', (seed) => {
    const { prog, opts } = genStream(seed, { ...STREAM, length: 1500 });
    const whole = runWhole('dispatch', prog, opts).snap;
    const runs = ENGINE_NAMES.map((e) => ({ e, ...runSliced(e, prog, opts, seed * 7, 40) }));
    const ref = runs[0];
    expect(ref.trace.length).toBeGreaterThan(50);
    // Slicing changes nothing but where the engine returns: the final state is the unsliced one.
    expect(ref.snap).toEqual(whole);
    for (const r of runs.slice(1)) {
      expect({ engine: r.e, trace: r.trace }).toEqual({ engine: r.e, trace: ref.trace });
      expect({ engine: r.e, ...r.snap }).toEqual({ engine: r.e, ...ref.snap });
    }
  });

  it('a budget of 1 cycle at a time steps every engine identically', () => {
    const { prog, opts } = genStream(3000, { ...STREAM, length: 300, loopChance: 0.03 });
    const runs = ENGINE_NAMES.map((e) => ({ e, ...runSliced(e, prog, opts, 1, 1) }));
    for (const r of runs.slice(1)) expect({ engine: r.e, trace: r.trace }).toEqual({ engine: r.e, trace: runs[0].trace });
    expectEndedAtEbreak(runs[0].snap, prog);
  });
});

describe.each(ENGINE_NAMES)('budget semantics (%s)', (engine) => {
  it('run(0) executes nothing; an instruction starts only while the budget is not spent', () => {
    const prog = [A.nop(), A.nop(), A.div(a0, a1, a2), A.nop(), A.addi(a0, a0, 1)];
    const s = prepareSnippet(prog, { engine, regs: { [a1]: 7, [a2]: 2 } });
    const h = s.hart;
    expect(s.engine.run(0).kind).toBe(Stop.Budget);
    expect([h.instret, h.cycles, h.pc]).toEqual([0, 0, CODE]);
    expect(s.engine.run(1).kind).toBe(Stop.Budget);
    expect([h.instret, h.cycles, h.pc]).toEqual([1, 1, CODE + 4]);
    expect(s.engine.run(2).kind).toBe(Stop.Budget); // nop (1 cycle), then the div starts with 1 left: 20 cycles
    expect([h.instret, h.cycles, h.pc]).toEqual([3, 22, CODE + 12]);
    expect(s.engine.run(1).kind).toBe(Stop.Budget);
    expect([h.instret, h.cycles, h.pc]).toEqual([4, 23, CODE + 16]);
    expect(s.engine.run(100).kind).toBe(Stop.Trap);
    expect([h.instret, h.cycles, h.pc, h.x[a0]]).toEqual([5, 24, endOf(prog), 4]);
  });
});

describe('custom cost model', () => {
  const cost = makeCostModel({
    instruction: { alu: 3, mul: 5, div: 11, load: 2, store: 4, branch: 2, jump: 6, amo: 9, csr: 7, fence: 2, system: 8 },
    trap: 13,
  });
  const classCost = (w: number) => cost.instruction[rv32.instructions[rv32.decode(w)].cls];

  it.each(ENGINE_NAMES)('%s: cycles are the sum of the per-class costs (after another cost model was used)', (engine) => {
    // Compile the engine with the default model first, so a cache keyed on the wrong thing would show.
    runWhole(engine, [A.nop()], {});
    const prog = [
      A.addi(a0, zero, 5),
      A.mul(a1, a0, a0),
      A.div(a2, a1, a0),
      A.sw(a2, 0, s0),
      A.lw(a2, 0, s0),
      A.amoadd_w(a1, a2, s0),
      A.csrr(a0, CSR.mcycle),
      A.fence(),
      A.lr_w(t0, s0),
      A.sc_w(t1, t0, s0),
    ];
    const s = prepareSnippet(prog, { engine, regs: { [s0]: DATA }, hart: { cost } });
    s.engine.run(1_000_000);
    expectEndedAtEbreak(snapshot(s.hart), prog);
    expect(s.hart.cycles).toBe(prog.reduce((c, w) => c + classCost(w), 0));
    expect(s.hart.x[a0]).toBe(prog.slice(0, 6).reduce((c, w) => c + classCost(w), 0)); // mcycle before the csrr
  });

  it.each([6000, 6001])('seed %i: a random loop-heavy stream under it is identical on all engines, whole and sliced', (seed) => {
    const { prog, opts } = genStream(seed, { length: 800, loopChance: 0.05, maxIters: 20, maxBody: 10 });
    const o: Opts = { ...opts, hart: { cost } };
    const ref = expectSameEverywhere(prog, o);
    expectEndedAtEbreak(ref, prog);
    const runs = ENGINE_NAMES.map((e) => ({ e, ...runSliced(e, prog, o, seed, 50) }));
    for (const r of runs) {
      expect({ engine: r.e, trace: r.trace }).toEqual({ engine: r.e, trace: runs[0].trace });
      expect({ engine: r.e, ...r.snap }).toEqual({ engine: r.e, ...ref });
    }
  });
});

describe('loops', () => {
  const LOOPY: StreamOptions = { length: 1200, loopChance: 0.15, maxIters: 40, maxBody: 14 };

  it.each(Array.from({ length: 4 }, (_, i) => [4000 + i]))('seed %i: loop-heavy stream, identical on all engines', (seed) => {
    const { prog, opts } = genStream(seed, LOOPY);
    const ref = expectSameEverywhere(prog, opts);
    expectEndedAtEbreak(ref, prog);
    expect(ref.instret).toBeGreaterThan(prog.length * 2); // the loops really looped
  });

  it.each(Array.from({ length: 2 }, (_, i) => [4100 + i]))('seed %i: loop-heavy stream, sliced', (seed) => {
    const { prog, opts } = genStream(seed, { ...LOOPY, length: 600 });
    const runs = ENGINE_NAMES.map((e) => ({ e, ...runSliced(e, prog, opts, seed, 64) }));
    for (const r of runs.slice(1)) {
      expect({ engine: r.e, trace: r.trace }).toEqual({ engine: r.e, trace: runs[0].trace });
      expect({ engine: r.e, ...r.snap }).toEqual({ engine: r.e, ...runs[0].snap });
    }
  });

  // A single-block loop (the translator loops inside the block), a loop of several blocks (chained),
  // and a nested loop whose inner loop is one block.
  const single = [...li(s1, 1000), A.addi(a0, a0, 3), A.xor(a1, a1, a0), A.mul(a2, a1, a0), A.addi(s1, s1, -1), A.bne(s1, zero, -16)];
  const chained = [
    ...li(s1, 700),
    A.andi(t0, s1, 3),
    A.beq(t0, zero, 12),
    A.addi(a0, a0, 1),
    A.jal(zero, 8),
    A.addi(a1, a1, 1),
    A.sw(a0, 0, s0),
    A.lw(a2, 0, s0),
    A.add(a2, a2, a1),
    A.addi(s1, s1, -1),
    A.bne(s1, zero, -36),
  ];
  const nested = [
    ...li(t1, 50),
    ...li(s1, 30),
    A.addi(a0, a0, 1),
    A.slli(a1, a0, 1),
    A.addi(s1, s1, -1),
    A.bne(s1, zero, -12),
    A.addi(a2, a2, 1),
    A.addi(t1, t1, -1),
    A.bne(t1, zero, -4 * 7),
  ];
  it.each([
    // 1 + 1000 x 5
    ['single-block loop', single, 5001],
    // 1 + 175 iterations of 8 (s1 % 4 == 0) + 525 of 9
    ['multi-block chained loop', chained, 6126],
    // 1 + 50 x (1 + 30 x 4 + 3)
    ['nested loops', nested, 6201],
  ])('%s: identical, and the exact instruction count', (_t, prog, instret) => {
    const ref = expectSameEverywhere(prog, { regs: { [s0]: DATA } });
    expectEndedAtEbreak(ref, prog);
    expect(ref.instret).toBe(instret);
  });

  it('the translator really chains blocks and loops in-block on these (stats)', () => {
    const { engine } = runWhole('bt', chained, { regs: { [s0]: DATA } });
    const st = engine.stats();
    if ('chainHits' in st) expect(st.chainHits).toBeGreaterThan(100);
    if ('blocksTranslated' in st) expect(st.blocksTranslated).toBeLessThan(20);
  });

  it.each([5000, 5001, 5002])('seed %i: bt with regions on a long loop-heavy stream agrees with dispatch, whole and sliced', (seed) => {
    const { prog, opts } = genStream(seed, { length: 400, loopChance: 0.2, maxIters: 4000, maxBody: 12 });
    const ref = runWhole('dispatch', prog, opts).snap;
    expectEndedAtEbreak(ref, prog);
    expect(ref.instret).toBeGreaterThan(100_000);
    const regions = (h: Hart) => new BinaryTranslationEngine(h, rv32, { regions: true });
    for (const sliced of [false, true]) {
      const s = prepareSnippet(prog, { ...opts, engine: 'bt', makeEngine: regions });
      const r = prng(seed);
      let stop: Stop = Stop.Budget;
      for (let i = 0; i < 1_000_000 && stop === Stop.Budget; i++) stop = s.engine.run(sliced ? r.range(1, 5000) : 50_000_000).kind;
      expect({ sliced, ...snapshot(s.hart) }).toEqual({ sliced, ...ref });
      const st = s.engine.stats();
      if ('regionsCompiled' in st) expect(st.regionsCompiled).toBeGreaterThan(0);
    }
  });

  // Each step of the translator can be switched off for bench:isa's ablation: every combination
  // must still agree with dispatch, sliced at random budgets (exits mid-superblock, at side exits).
  const ABLATION: Partial<BtOptions>[] = [
    { superblocks: false, exitCache: false },
    { loopTraces: false },
    { exitCache: false },
    { superblocks: false, exitCache: false, loops: false, chain: false },
  ];
  it.each(ABLATION.map((o) => [JSON.stringify(o), o]))('bt %s agrees with dispatch on loop-heavy streams, whole and sliced', (_t, o) => {
    for (const seed of [5100, 5101]) {
      const { prog, opts } = genStream(seed, { length: 400, loopChance: 0.2, maxIters: 400, maxBody: 12 });
      const ref = runWhole('dispatch', prog, opts).snap;
      const make = (h: Hart) => new BinaryTranslationEngine(h, rv32, o);
      for (const sliced of [false, true]) {
        const s = prepareSnippet(prog, { ...opts, engine: 'bt', makeEngine: make });
        const r = prng(seed);
        let stop: Stop = Stop.Budget;
        for (let i = 0; i < 1_000_000 && stop === Stop.Budget; i++) stop = s.engine.run(sliced ? r.range(1, 300) : 50_000_000).kind;
        expect({ seed, sliced, ...snapshot(s.hart) }).toEqual({ seed, sliced, ...ref });
      }
    }
  });

  it('superblocks fuse the multi-block loop into one block that loops in itself', () => {
    const count = (o: Partial<BtOptions>) => {
      const s = prepareSnippet(chained, { regs: { [s0]: DATA }, engine: 'bt', makeEngine: (h: Hart) => new BinaryTranslationEngine(h, rv32, o) });
      s.engine.run(50_000_000);
      return s.engine.stats().lookups;
    };
    // Without superblocks every iteration crosses the loop's blocks; with them one block runs it all.
    expect(count({})).toBeLessThan(10);
    expect(count({ superblocks: false })).toBeGreaterThan(5);
  });

  it('bt with regions enabled agrees with dispatch on a hot multi-block loop', () => {
    // Hot enough to pass the region threshold (tens of thousands of block runs in one page).
    const hot = [...li(s1, 40000), ...chained.slice(li(s1, 700).length)];
    const opts: Opts = { regs: { [s0]: DATA } };
    const ref = runWhole('dispatch', hot, opts).snap;
    // Without superblocks: they fuse the loop's blocks into one, and a region needs two.
    const plainBlocks = (h: Hart) => new BinaryTranslationEngine(h, rv32, { regions: true, superblocks: false });
    const s = prepareSnippet(hot, { ...opts, engine: 'bt', makeEngine: plainBlocks });
    s.engine.run(50_000_000);
    expect(snapshot(s.hart)).toEqual(ref);
    expectEndedAtEbreak(ref, hot);
    const st = s.engine.stats();
    if ('regionsCompiled' in st) expect(st.regionsCompiled).toBeGreaterThan(0);
  });
});

describe('code crossing a page boundary', () => {
  // A loop whose body straddles the 4 KiB boundary at CODE + 0x1000 (decoded/translated per page).
  function straddling(patch: boolean): number[] {
    const K = 0x3fa; // first loop word at CODE + 0xfe8
    const body = [
      A.addi(a0, a0, 1),
      A.xor(a1, a1, a0),
      A.slli(a2, a1, 1),
      A.add(a2, a2, a0), // ends at 0xff8
      A.sw(a2, 0, s0),
      A.lw(t0, 0, s0),
      A.add(a1, a1, t0), // 0xff8, 0xffc | 0x1000
      patch ? A.sw(t1, 0, t2) : A.nop(), // rewrites the first body word (on the previous page)
      A.addi(s1, s1, -1),
    ];
    const loop = [...li(s1, 60), ...body, A.bne(s1, zero, -4 * body.length)];
    const prog: number[] = [A.jal(zero, 4 * K)];
    while (prog.length < K) prog.push(0);
    prog.push(...loop);
    return prog;
  }
  const opts = (): Opts => ({ regs: { [s0]: DATA, [t1]: A.addi(a0, a0, 7) | 0, [t2]: CODE + 4 * (0x3fa + 1) } });

  it.each([
    ['plain', false],
    ['rewriting code on the other page each iteration', true],
  ])('%s: identical on all engines', (_t, patch) => {
    const prog = straddling(patch as boolean);
    // The loop really straddles the boundary: it starts below CODE + 0x1000 and ends above it.
    expect([CODE + 4 * 0x3fa < CODE + 0x1000, endOf(prog) > CODE + 0x1008]).toEqual([true, true]);
    const ref = expectSameEverywhere(prog, opts());
    expectEndedAtEbreak(ref, prog);
    expect(ref.x[a0]).toBe(patch ? 1 + 59 * 7 : 60);
  });

  it.each([
    ['plain', false],
    ['rewriting code', true],
  ])('%s: sliced, identical on all engines', (_t, patch) => {
    const prog = straddling(patch as boolean);
    const runs = ENGINE_NAMES.map((e) => ({ e, ...runSliced(e, prog, opts(), 9, 7) }));
    for (const r of runs.slice(1)) {
      expect({ engine: r.e, trace: r.trace }).toEqual({ engine: r.e, trace: runs[0].trace });
      expect({ engine: r.e, ...r.snap }).toEqual({ engine: r.e, ...runs[0].snap });
    }
  });
});

describe('self-modifying code', () => {
  // L (offset 8): addi a0, a0, 1 executes twice in a loop, then it is overwritten with
  // addi a0, a0, 100 and executed once more.
  const NEW = A.addi(a0, a0, 100);
  // Built with explicit addresses to keep offsets readable.
  function program(withFence: boolean): number[] {
    const p: number[] = [];
    const at = () => 4 * p.length;
    p.push(A.addi(s1, zero, 2)); // 0
    p.push(A.auipc(t2, 0)); // 4: t2 = CODE + 4
    const L = at();
    p.push(A.addi(a0, a0, 1)); // 8: L
    p.push(A.addi(s1, s1, -1)); // 12
    p.push(A.bne(s1, zero, L - at())); // 16 -> L
    const exitBranch = p.length;
    p.push(0); // 20: bne t1, zero, END (patched)
    p.push(...li(t1, NEW | 0)); // 24, 28
    p.push(A.sw(t1, L - 4, t2)); // 32: overwrite L
    p.push(withFence ? A.fence_i() : A.nop()); // 36
    p.push(A.addi(s1, zero, 1)); // 40: one more pass
    p.push(A.jal(zero, L - at())); // 44 -> L
    p[exitBranch] = A.bne(t1, zero, 4 * p.length - 4 * exitBranch); // -> END (the appended ebreak)
    return p;
  }

  it.each([
    ['with fence.i', true],
    ['without fence.i', false],
  ])('store over an executed instruction, %s', (_t, fence) => {
    const prog = program(fence as boolean);
    const ref = expectSameEverywhere(prog, {});
    expectEndedAtEbreak(ref, prog);
    expect(ref.x[a0]).toBe(2 + 100);
  });

  it.each([
    ['with fence.i', true],
    ['without fence.i', false],
  ])('store over an executed instruction, %s, sliced', (_t, fence) => {
    const prog = program(fence as boolean);
    const runs = ENGINE_NAMES.map((e) => ({ e, ...runSliced(e, prog, {}, 5, 3) }));
    for (const r of runs.slice(1)) {
      expect({ engine: r.e, trace: r.trace }).toEqual({ engine: r.e, trace: runs[0].trace });
      expect({ engine: r.e, ...r.snap }).toEqual({ engine: r.e, ...runs[0].snap });
    }
    expect(runs[0].snap.x[a0]).toBe(102);
  });

  it('a store over the very next instruction of the same block takes effect', () => {
    // The sw rewrites the instruction right after it (addi a0, a0, 1 -> addi a0, a0, 100).
    const prog = [A.auipc(t2, 0), ...li(t1, NEW | 0), A.nop(), A.sw(t1, 20, t2), A.addi(a0, a0, 1), A.addi(a1, a1, 1)];
    expect(rv32.disassemble(prog[5], 20)).toBe('addi a0, a0, 1');
    const ref = expectSameEverywhere(prog, {});
    expectEndedAtEbreak(ref, prog);
    expect([ref.x[a0], ref.x[a1]]).toEqual([100, 1]);
  });

  it('a store inside an in-block loop rewrites the loop body from the second iteration on', () => {
    // L: addi a0, a0, 1 ; sw t1, 0(t2) (t2 = L) ; addi s1, -1 ; bne s1, L    (5 iterations)
    const prog = [...li(s1, 5), A.auipc(t2, 0), A.addi(t2, t2, 8), A.addi(a0, a0, 1), A.sw(t1, 0, t2), A.addi(s1, s1, -1), A.bne(s1, zero, -12)];
    const ref = expectSameEverywhere(prog, { regs: { [t1]: NEW | 0 } });
    expectEndedAtEbreak(ref, prog);
    expect(ref.x[a0]).toBe(1 + 4 * 100);
  });

  it('an AMO and a byte store that patch code take effect', () => {
    // amoswap replaces `addi a0, a0, 1` by NEW; sb rewrites the top byte (imm[11:4]) of
    // `addi a1, a1, 1`, making it `addi a1, a1, 0x101`.
    const prog = [A.auipc(t2, 0), ...li(t1, NEW | 0), A.amoswap_w(a2, t1, t6), A.sb(t0, 0, s0), A.addi(a0, a0, 1), A.addi(a1, a1, 1)];
    const ia0 = prog.length - 2;
    const ia1 = prog.length - 1;
    expect(((prog[ia1] & 0x00ffffff) | (0x10 << 24)) >>> 0).toBe(A.addi(a1, a1, 0x101));
    const ref = expectSameEverywhere(prog, { regs: { [t6]: CODE + 4 * ia0, [s0]: CODE + 4 * ia1 + 3, [t0]: 0x10 } });
    expectEndedAtEbreak(ref, prog);
    expect(ref.x[a2] >>> 0).toBe(A.addi(a0, a0, 1)); // the AMO returned the old instruction
    expect([ref.x[a0], ref.x[a1]]).toEqual([100, 0x101]);
  });

  it('code rewritten by the host between runs (bus.writeBytes) is seen by every engine', () => {
    const prog = [A.addi(a0, a0, 1), A.wfi(), A.jal(zero, -8)];
    const results = ENGINE_NAMES.map((engine) => {
      const s = prepareSnippet(prog, { engine });
      expect(s.engine.run(1000).kind).toBe(Stop.Wfi); // a0 = 1, translated/decoded
      expect(s.engine.run(1000).kind).toBe(Stop.Wfi); // a0 = 2
      writeWords(s.bus, CODE, [NEW]);
      expect(s.engine.run(1000).kind).toBe(Stop.Wfi); // a0 = 102
      writeWords(s.bus, CODE + 8, [A.ebreak()]);
      expect(s.engine.run(1000).kind).toBe(Stop.Trap);
      return snapshot(s.hart);
    });
    for (const r of results.slice(1)) expect(r).toEqual(results[0]);
    expect(results[0].x[a0]).toBe(102);
    expect(results[0].pc).toBe(CODE + 8);
  });
});
