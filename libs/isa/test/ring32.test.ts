// ring32 on the four engines: every table entry gives the same architectural state everywhere, and
// the architecture does what libs/isa/docs/ring32.md says — rings, traps, the timer interrupt, IRET,
// LPSW, and the critical instructions (POPF in ring 3 silently keeps IF; PUSHF/SMSW reveal the ring).

import {
  BinaryTranslationEngine,
  Bus,
  CR,
  ENGINE_NAMES,
  EngineName,
  PSW,
  RING32_INSTRUCTIONS,
  Ring32Cause,
  Ring32Hart,
  Ring32Machine,
  Stop,
  StopRecord,
  assembleRing32,
  createEngine,
  ring32,
} from '@vsim/isa';

// ------------------------------------------------------------------ differential: all engines agree

const RAM = 64 * 1024;
const CODE = 0x1000;
const DATA = 0x8000;

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** A random valid instance of table entry `i`. */
function sample(i: number, next: () => number): number {
  const d = RING32_INSTRUCTIONS[i];
  return (next() & ~d.mask) | d.match | 0;
}

interface Snap {
  stop: Stop;
  x: number[];
  pc: number;
  psw: number;
  crs: number[];
  cycles: number;
  instret: number;
  exit: [number, number, boolean];
  ramHash: number;
}

function snap(h: Ring32Hart, bus: Bus, record: StopRecord): Snap {
  const stop = record.kind;
  let hash = 2166136261;
  for (let k = 0; k < bus.i32.length; k++) hash = Math.imul(hash ^ bus.i32[k], 16777619);
  return {
    stop,
    x: Array.from(h.x.subarray(0, 16)),
    pc: h.pc >>> 0,
    psw: h.psw,
    crs: [h.tvec, h.epc, h.cause, h.tval, h.scratch, Number.isFinite(h.timecmp) ? h.timecmp : -1],
    cycles: h.cycles,
    instret: h.instret,
    exit: record.kind === Stop.Trap ? [record.cause, record.tval, record.interrupt] : [0, 0, false],
    ramHash: hash >>> 0,
  };
}

/** Runs `words` at CODE from a seeded random state on `engine`; traps exit to the host. */
function runWords(engine: EngineName, words: readonly number[], seed: number, budget: number): Snap {
  const bus = new Bus(0, RAM);
  const next = xorshift(seed);
  for (let a = DATA; a < DATA + 0x2000; a += 4) bus.i32[a >>> 2] = next(); // RAM starts at 0
  words.forEach((w, k) => bus.writeU32(CODE + 4 * k, w >>> 0));
  const h = new Ring32Hart(bus);
  // Registers point into the data region so memory operands mostly hit RAM; a few are random.
  for (let r = 1; r < 16; r++) h.x[r] = r % 5 === 0 ? next() | 0 : DATA + 0x1000 + ((next() % 0x800) & ~(r % 3 === 0 ? 0 : 3));
  h.pc = CODE;
  h.psw = next() & 0xf3f;
  h.tvec = CODE + 0x400;
  h.cycles = next() % 5000;
  h.timecmp = next() % 3 === 0 ? Number.POSITIVE_INFINITY : next() % 100;
  h.attachPort(0x10, { in: () => 0x41, out: () => undefined });
  h.exitMask = 0x3ff;
  const e = createEngine(engine, h, ring32);
  const stop = e.run(budget);
  return snap(h, bus, stop);
}

describe('ring32: every table entry on every engine', () => {
  it.each(RING32_INSTRUCTIONS.slice(1).map((d, k) => [d.name, k + 1] as const))('%s', (_name, i) => {
    const next = xorshift(0x9e3779b9 ^ i);
    for (let n = 0; n < 5; n++) {
      const w = sample(i, next);
      const seed = next();
      const ref = runWords('dispatch', [w], seed, 1);
      for (const e of ENGINE_NAMES.slice(1)) expect({ engine: e, word: w, ...runWords(e, [w], seed, 1) }).toEqual({ engine: e, word: w, ...ref });
    }
  });

  it('random streams of valid instructions (with traps, interrupts, jumps anywhere) agree on all engines', () => {
    const names = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const next = xorshift(seed * 7919);
      const words = Array.from({ length: 200 }, () => {
        const i = 1 + (next() % (RING32_INSTRUCTIONS.length - 1));
        names.add(RING32_INSTRUCTIONS[i].name);
        return sample(i, next);
      });
      const ref = runWords('dispatch', words, seed, 3000);
      for (const e of ENGINE_NAMES.slice(1)) expect({ engine: e, seed, ...runWords(e, words, seed, 3000) }).toEqual({ engine: e, seed, ...ref });
    }
    expect(names.size).toBe(RING32_INSTRUCTIONS.length - 1);
  });

  it('long random runs: the stream loops, traps go to a ring-0 handler that skips the instruction and IRETs', () => {
    // Excluded: instructions that would leave the stream for good (jalr, lpsw, iret to random
    // addresses, hlt) or break the handler (mtcr of tvec or scratch). Branches and jumps stay inside.
    const HANDLER = CODE + 0x800;
    const handler = assembleRing32(`.org ${HANDLER}
        mtcr scratch, r1
        mfcr r1, epc
        addi r1, r1, 4
        mtcr epc, r1
        mfcr r1, scratch
        iret`).bytes.subarray(HANDLER);
    const excluded = new Set(['illegal', 'jalr', 'lpsw', 'iret', 'hlt']);
    const usable = RING32_INSTRUCTIONS.map((d, i) => [d, i] as const).filter(([d]) => !excluded.has(d.name));
    let instret = 0;
    let traps = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const next = xorshift(seed * 104729);
      const N = 120;
      const words = Array.from({ length: N }, (_, k) => {
        const [d, i] = usable[next() % usable.length];
        let w = sample(i, next);
        if (d.format === 'CRW' && [1, 7].includes((w >>> 16) & 15)) w = (w & ~(15 << 16)) | (5 << 16); // timecmp instead
        const off = ((next() % N) - k) * 4; // a target inside the stream
        if (d.format === 'B') w = (w & 0x000ff0ff) | ((((off >> 2) & 15) << 8) | (((off >> 2) >> 4) << 20));
        if (d.format === 'J') w = (w & 0xfff) | ((off >> 2) << 12);
        return w | 0;
      });
      words.push(0x38 | ((-N & 0xfffff) << 12) | 0); // jal r0, back to the start
      const run = (engine: EngineName) => {
        const bus = new Bus(0, RAM);
        const fill = xorshift(seed);
        for (let a = DATA; a < DATA + 0x2000; a += 4) bus.i32[a >>> 2] = fill();
        words.forEach((w, k) => bus.writeU32(CODE + 4 * k, w >>> 0));
        bus.writeBytes(HANDLER, handler);
        const h = new Ring32Hart(bus);
        for (let r = 1; r < 16; r++) h.x[r] = DATA + 0x1000 + ((fill() % 0x800) & ~3);
        h.pc = CODE;
        h.psw = 3 | PSW.IF;
        h.tvec = HANDLER;
        h.timecmp = 40;
        const stop = createEngine(engine, h, ring32).run(20_000);
        return snap(h, bus, stop);
      };
      const ref = run('dispatch');
      instret += ref.instret;
      traps += ref.crs[2] !== 0 ? 1 : 0;
      for (const e of ENGINE_NAMES.slice(1)) expect({ engine: e, seed, ...run(e) }).toEqual({ engine: e, seed, ...ref });
    }
    expect(instret / 12).toBeGreaterThan(3000); // long runs, not one instruction and a trap (measured 4248 on average)
    expect(traps).toBeGreaterThan(6);
  });

  it('run in random small budget slices, every engine stops at the same points', () => {
    const prog = assembleRing32(`
_start:
    la   r1, handler
    mtcr tvec, r1
    li   sp, 0x8000
    mfcr r1, time
    addi r1, r1, 3
    mtcr timecmp, r1
    sti
    li   r2, 0
    li   r3, 400
loop:
    addi r2, r2, 1
    pushf
    popf
    sw   r2, -8(sp)
    lw   r4, -8(sp)
    mul  r5, r4, r4
    bne  r2, r3, loop
    out  0x20, r5
handler:
    addi r6, r6, 1
    mfcr r1, time
    addi r1, r1, 3
    mtcr timecmp, r1
    iret
`);
    const trace = (engine: EngineName, seed: number) => {
      const m = new Ring32Machine(prog, { engine });
      const next = xorshift(seed);
      const points: number[][] = [];
      for (let k = 0; k < 100_000; k++) {
        const stop = m.engine.run(1 + (next() % 40));
        points.push([m.hart.pc, m.hart.instret, m.hart.cycles, stop.kind]);
        if (stop.kind !== Stop.Budget) break;
      }
      return { points, x: Array.from(m.hart.x.subarray(0, 16)), exit: m.hart.exitCode };
    };
    for (const seed of [1, 2, 3]) {
      const ref = trace('dispatch', seed);
      expect(ref.exit).toBe(400 * 400);
      expect(ref.x[6]).toBeGreaterThan(3); // the timer interrupted the loop
      for (const e of ENGINE_NAMES.slice(1)) expect({ e, ...trace(e, seed) }).toEqual({ e, ...ref });
    }
  });

  it.each(ENGINE_NAMES)('self-modifying code: a store over an instruction already run takes effect (%s)', (engine) => {
    const { h } = run(
      `
_start:
    li   r3, 0
    la   r1, patch
    la   r2, newins
    lw   r2, 0(r2)
again:
patch:
    addi r3, r3, 1      ; becomes addi r3, r3, 100 after the first pass
    sw   r2, 0(r1)
    addi r4, r4, 1
    li   r5, 2
    bne  r4, r5, again
    out  0x20, r3
newins:
    addi r3, r3, 100
`,
      engine,
    );
    expect(h.exitCode).toBe(101);
  });
});

// ------------------------------------------------------------------ architecture

/** Assembles and runs `src` on `engine`; returns the machine. */
function run(src: string, engine: EngineName = 'dispatch', budget = 1e6) {
  const m = new Ring32Machine(assembleRing32(src), { engine });
  const r = m.run(budget);
  return { m, r, h: m.hart };
}

// A ring-0 prologue: trap vector at `handler`, stack at 0x8000; `user` entered in ring 3 via LPSW.
const TO_USER = (ifOn: boolean) => `
_start:
    la   r1, handler
    mtcr tvec, r1
    li   sp, 0x8000
    la   r1, userpsw
    lpsw 0(r1)
userpsw:
    .word ${3 | (ifOn ? PSW.IF : 0)}
    .word user
`;

describe('ring32 architecture', () => {
  it.each(ENGINE_NAMES)('a program prints through the console port and exits (%s)', (engine) => {
    const { r } = run(
      `
_start:
    la   r1, msg
loop:
    lbu  r2, 0(r1)
    beqz r2, done
    out  0x10, r2
    addi r1, r1, 1
    j    loop
done:
    li   r3, 42
    out  0x20, r3
    hlt
msg: .asciz "ring32 says hi\\n"
`,
      engine,
    );
    expect(r).toMatchObject({ outcome: 'exit', exitCode: 42, console: 'ring32 says hi\n' });
  });

  it('LPSW enters ring 3; a privileged instruction there traps with cause 3, tval = word, epc = its address', () => {
    const { h, r } = run(`${TO_USER(false)}
user:
    cli
handler:
    mfcr r5, cause
    mfcr r6, epc
    mfcr r7, tval
    smsw r8
    out  0x20, r0
`);
    expect(r.outcome).toBe('exit');
    expect(h.x[5]).toBe(Ring32Cause.PrivilegedInstruction);
    const user = assembleRing32(TO_USER(false) + 'user:\n cli\nhandler:\n').symbols.get('user')!;
    expect(h.x[6]).toBe(user);
    expect(h.x[7]).toBe(0x4a); // the cli word
    // In the handler: ring 0, IF 0, previous ring 3.
    expect(h.x[8] & PSW.RING).toBe(0);
    expect((h.x[8] & PSW.PRING) >>> PSW.PRING_SHIFT).toBe(3);
  });

  it.each(['hlt', 'iret', 'cli', 'sti', 'lpsw 0(sp)', 'mfcr r1, psw', 'mtcr tvec, r1', 'in r1, 0x10', 'out 0x10, r1'])(
    'privileged in ring 3: %s traps with cause 3 and changes nothing else',
    (ins) => {
      const { h } = run(`${TO_USER(true)}
user:
    ${ins}
handler:
    mfcr r5, cause
    out  0x20, r5
`);
      expect(h.exitCode).toBe(Ring32Cause.PrivilegedInstruction);
      expect(h.x[1]).not.toBe(0x41);
    },
  );

  it('POPF in ring 3 silently leaves IF (and the ring) alone but sets the user flags; in ring 0 it sets IF', () => {
    const { h } = run(`${TO_USER(false)}
user:
    li   r1, ${PSW.IF | PSW.UF | 0}
    sw   r1, -4(sp)
    addi sp, sp, -4
    popf              ; wants IF = 1 and ring 0: gets neither, and no trap
    smsw r9
    pushf
    lw   r10, 0(sp)
    syscall
handler:
    mfcr r5, cause
    li   r1, ${PSW.IF}
    sw   r1, -4(sp)
    addi sp, sp, -4
    popf              ; ring 0: IF = 1
    smsw r11
    cli
    out  0x20, r5
`);
    expect(h.exitCode).toBe(Ring32Cause.Syscall);
    expect(h.x[9] & PSW.RING).toBe(3);
    expect(h.x[9] & PSW.IF).toBe(0);
    expect(h.x[9] & PSW.UF).toBe(PSW.UF);
    expect(h.x[10]).toBe(h.x[9]); // PUSHF reveals the same PSW: the real ring 3
    expect(h.x[11] & PSW.IF).toBe(PSW.IF);
    expect(h.x[11] & PSW.RING).toBe(0);
  });

  it.each(ENGINE_NAMES)('the timer interrupts ring 3, IRET returns to it, HLT waits for the next tick (%s)', (engine) => {
    const { h, r } = run(
      `
_start:
    la   r1, handler
    mtcr tvec, r1
    li   sp, 0x8000
    li   r4, 0          ; ticks seen
    mfcr r1, time
    addi r1, r1, 5
    mtcr timecmp, r1
    la   r1, userpsw
    lpsw 0(r1)
userpsw:
    .word ${3 | PSW.IF}
    .word user
user:
    addi r3, r3, 1      ; count user iterations until the kernel stops us
    j    user
handler:
    mfcr r5, cause
    mfcr r6, psw
    addi r4, r4, 1
    li   r7, 3
    beq  r4, r7, finish
    mfcr r1, time
    addi r1, r1, 5
    mtcr timecmp, r1
    iret
finish:
    li   r1, -1
    mtcr timecmp, r1    ; disarm, then arm again and wait for it with HLT
    mfcr r1, time
    addi r1, r1, 50
    mtcr timecmp, r1
    mfcr r12, time
    hlt
    mfcr r13, time
    out  0x20, r4
`,
      engine,
    );
    expect(r.outcome).toBe('exit');
    expect(h.exitCode).toBe(3);
    expect(h.x[5] >>> 0).toBe(0x80000000);
    expect((h.x[6] & PSW.PRING) >>> PSW.PRING_SHIFT).toBe(3);
    expect(h.x[6] & PSW.PIF).toBe(PSW.PIF);
    expect(h.x[3]).toBeGreaterThan((2 * 5 * 100) / 3 - 50); // user ran for ~2 timer periods
    expect(h.x[13] - h.x[12]).toBeGreaterThanOrEqual(50); // HLT slept until the compare
  });

  it.each(ENGINE_NAMES)('a hypervisor takes the timer through exitInterruptMask before the guest sees it (%s)', (engine) => {
    const m = new Ring32Machine(
      assembleRing32(`
_start:
    la   r1, handler
    mtcr tvec, r1
    li   r1, 20
    mtcr timecmp, r1
    sti
loop: addi r2, r2, 1
    j loop
handler: out 0x20, r2
`),
      { engine },
    );
    m.hart.exitInterruptMask = 1;
    const r = m.run(1e6);
    expect(r.outcome).toBe('trap');
    expect([r.trap?.interrupt, r.trap?.cause]).toEqual([true, 0]);
    expect(m.hart.time()).toBe(20);
    expect(m.hart.cause).toBe(0); // the guest took nothing
    m.hart.exitInterruptMask = 0;
    expect(m.run(1e6)).toMatchObject({ outcome: 'exit' });
    expect(m.hart.exitCode).toBe(m.hart.x[2]);
  });

  it('HLT with no timer armed is a deadlock; the same machine state on all engines', () => {
    const outs = ENGINE_NAMES.map((e) => run('_start: hlt', e).r);
    for (const o of outs) expect(o).toEqual(outs[0]);
    expect(outs[0].outcome).toBe('deadlock');
  });

  it('HCALL and SYSCALL trap in every ring with their causes; a hypervisor gets HCALL through exitMask', () => {
    const { h } = run(`${TO_USER(false)}
user: hcall
handler:
    mfcr r5, cause
    out  0x20, r5
`);
    expect(h.exitCode).toBe(Ring32Cause.Hypercall);
    const m = new Ring32Machine(assembleRing32('_start: addi r1, r0, 5\n hcall\n'));
    m.hart.exitMask = 1 << Ring32Cause.Hypercall;
    const r = m.run(1000);
    expect(r.outcome).toBe('trap');
    expect(r.trap?.cause).toBe(Ring32Cause.Hypercall);
    expect(m.hart.pc).toBe(4);
  });

  it('LPSW is precise: a faulting load or a misaligned new pc changes nothing', () => {
    const { h } = run(`
_start:
    la   r1, handler
    mtcr tvec, r1
    la   r2, bad
    lpsw 0(r2)
handler:
    mfcr r5, cause
    mfcr r6, tval
    smsw r7
    out  0x20, r5
bad: .word 3, 0x102
`);
    expect(h.exitCode).toBe(Ring32Cause.FetchMisaligned);
    expect(h.x[6]).toBe(0x102);
    expect(h.x[7] & PSW.RING).toBe(0);
  });

  it('control registers: TIME is read-only, unknown ones are illegal, TVEC and EPC stay word aligned', () => {
    const { h } = run(`
_start:
    la   r1, handler
    mtcr tvec, r1
    li   r2, 0x103
    mtcr epc, r2
    mfcr r8, epc
    mtcr time, r2
handler:
    mfcr r5, cause
    mfcr r9, tvec
    out  0x20, r5
`);
    expect(h.exitCode).toBe(Ring32Cause.IllegalInstruction);
    expect(h.x[8]).toBe(0x100);
    expect(h.x[9] & 3).toBe(0);
    expect(h.readCr(CR.PSW)).toBe(0);
  });

  it('the BT engine translates sensitive instructions (critical ones included) into the hook in the chosen ring', () => {
    const src = `
_start:
    pushf
    popf
    smsw r3
    addi r4, r0, 1
    cli
    out  0x20, r4
`;
    const m = new Ring32Machine(assembleRing32(src), { engine: 'bt' });
    const seen: string[] = [];
    const h = m.hart;
    h.sensitiveHook = (w, pc) => {
      seen.push(ring32.disassemble(w, pc));
      h.hookCost = 7;
      if (ring32.instructions[ring32.decode(w)].name === 'out') {
        h.exitCode = h.x[4];
        h.requestStop(Stop.Halt);
      }
      return (pc + 4) >>> 0;
    };
    // A new engine with translateSensitive for ring 0.
    const bt = new BinaryTranslationEngine(h, ring32, { translateSensitive: true, sensitiveMode: 0 });
    expect(bt.run(1000).kind).toBe(Stop.Halt);
    expect(seen).toEqual(['pushf', 'popf', 'smsw r3', 'cli', 'out 0x20, r4']);
    expect(h.exitCode).toBe(1);
    expect(h.x[3]).toBe(0); // smsw went to the hook, which did not write r3
  });
});
