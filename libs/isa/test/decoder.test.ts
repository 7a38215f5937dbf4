// Decoder fuzzing: rv32.decode against a linear scan of the instruction table, rv32.disassemble
// never failing, and every engine's own decoder agreeing with rv32.decode on which words are legal.

import { CSR, ENGINE_NAMES, RV32_INSTRUCTIONS, rv32 } from '@vsim/isa';
import * as A from './helpers/asm';
import { DATA, M_TRAP, prepareSnippet, prng, t0, t1 } from './helpers/asm';
import { snapshot } from './helpers/state';

/** The reference: the first table entry (after 'illegal') whose mask/match accepts w, else 0. */
const reference = (w: number) => {
  const i = RV32_INSTRUCTIONS.findIndex((d, k) => k > 0 && (w & d.mask) === d.match);
  return i < 0 ? 0 : i;
};

function check(words: Iterable<number>) {
  const bad: string[] = [];
  let n = 0;
  for (const w of words) {
    n++;
    let i: number;
    let dis: string;
    try {
      i = rv32.decode(w);
      dis = rv32.disassemble(w, 0x80000000);
    } catch (e) {
      bad.push(`0x${(w >>> 0).toString(16)}: threw ${String(e)}`);
      continue;
    }
    const want = reference(w | 0);
    if (!Number.isInteger(i) || i < 0 || i >= RV32_INSTRUCTIONS.length) bad.push(`0x${(w >>> 0).toString(16)}: index ${i} out of range`);
    else if (i !== want) bad.push(`0x${(w >>> 0).toString(16)}: decode ${RV32_INSTRUCTIONS[i].name}, reference ${RV32_INSTRUCTIONS[want].name}`);
    else {
      const name = RV32_INSTRUCTIONS[i].name;
      const ok = i === 0 ? dis === `.word 0x${(w >>> 0).toString(16)}` : dis === name || dis.startsWith(`${name} `);
      if (!ok || typeof dis !== 'string') bad.push(`0x${(w >>> 0).toString(16)}: disassembly '${dis}' for ${name}`);
    }
    if (bad.length >= 10) break;
  }
  return { bad, n };
}

describe('rv32.decode / rv32.disassemble fuzzing', () => {
  it('200,000 seeded random words: never throw, index in range, same as the linear-scan reference', () => {
    const r = prng(0xdec0de);
    const words = function* () {
      for (let k = 0; k < 200_000; k++) yield r.u32();
    };
    const { bad, n } = check(words());
    expect(bad).toEqual([]);
    expect(n).toBe(200_000);
  });

  it('every opcode/funct3/funct7 combination (2^17) with random other bits, signed and unsigned', () => {
    const r = prng(17);
    const words = function* () {
      for (let key = 0; key < 1 << 17; key++) {
        const op = key & 0x7f;
        const f3 = (key >>> 7) & 7;
        const f7 = key >>> 10;
        const w = (f7 << 25) | ((r.int(1 << 13) << 12) & 0x01ff8000) | (f3 << 12) | (r.int(32) << 7) | op;
        yield w >>> 0;
        yield w | 0;
      }
    };
    const { bad } = check(words());
    expect(bad).toEqual([]);
  });

  it('the exact encodings of every table entry decode to that entry, with any operand bits', () => {
    const r = prng(5);
    const words = function* () {
      for (const d of RV32_INSTRUCTIONS.slice(1)) {
        yield d.match >>> 0;
        for (let k = 0; k < 200; k++) yield ((d.match & d.mask) | (r.u32() & ~d.mask)) >>> 0;
      }
    };
    const { bad } = check(words());
    expect(bad).toEqual([]);
    // And each entry's match word is accepted by that entry first (no entry is shadowed).
    const shadowed = RV32_INSTRUCTIONS.slice(1)
      .filter((d) => RV32_INSTRUCTIONS[rv32.decode(d.match)] !== d)
      .map((d) => d.name);
    expect(shadowed).toEqual([]);
  });

  it('the table itself: unique names, match within mask', () => {
    const names = RV32_INSTRUCTIONS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names[0]).toBe('illegal');
    const sloppy = RV32_INSTRUCTIONS.slice(1)
      .filter((d) => (d.match & ~d.mask) !== 0)
      .map((d) => d.name);
    expect(sloppy).toEqual([]);
  });
});

describe('engines decode like rv32.decode', () => {
  // Random words that either do not decode, or decode to something that cannot trap or jump.
  // Each illegal one traps into a handler that counts it and skips it, so the count of traps must be
  // the number of undecodable words, and every engine must end in the same state.
  const SAFE = new Set(['alu', 'mul', 'div', 'fence']);
  const OPCODES = [0x03, 0x0f, 0x13, 0x17, 0x1b, 0x23, 0x2f, 0x33, 0x37, 0x3b, 0x63, 0x67, 0x6f, 0x73, 0x7f, 0x0b, 0x5b];
  const r = prng(0x5eed);
  const words: number[] = [];
  const safeDefs = RV32_INSTRUCTIONS.filter((d) => SAFE.has(d.cls) || d.name === 'sfence.vma');
  while (words.length < 2500) {
    let w: number;
    const p = r.int(10);
    if (p < 2) w = r.u32();
    else if (p < 5) w = ((r.u32() & ~0x7f) | r.pick(OPCODES)) >>> 0;
    else {
      // A safe entry with random operand bits, or a near miss: one identifying bit flipped.
      const d = r.pick(safeDefs);
      w = ((d.match & d.mask) | (r.u32() & ~d.mask)) >>> 0;
      if (r.chance(0.4)) {
        const bits = Array.from({ length: 32 }, (_, b) => b).filter((b) => (d.mask >>> b) & 1);
        w = (w ^ (1 << r.pick(bits))) >>> 0;
      }
    }
    const d = RV32_INSTRUCTIONS[rv32.decode(w)];
    if (d.name === 'illegal' || SAFE.has(d.cls) || d.name === 'sfence.vma') words.push(w);
  }
  const illegal = words.filter((w) => rv32.decode(w) === 0).length;
  // mscratch holds the counter's address, sscratch is spare; t0/t1 are saved in them.
  const handler = [
    A.csrrw(t0, CSR.mscratch, t0),
    A.csrrw(t1, CSR.sscratch, t1),
    A.lw(t1, 0, t0),
    A.addi(t1, t1, 1),
    A.sw(t1, 0, t0),
    A.csrr(t1, CSR.mepc),
    A.addi(t1, t1, 4),
    A.csrw(CSR.mepc, t1),
    A.csrrw(t1, CSR.sscratch, t1),
    A.csrrw(t0, CSR.mscratch, t0),
    A.mret(),
  ];

  it('the word mix has both illegal and legal words of many kinds', () => {
    expect(illegal).toBeGreaterThan(300);
    expect(words.length - illegal).toBeGreaterThan(300);
    expect(new Set(words.map((w) => RV32_INSTRUCTIONS[rv32.decode(w)].name)).size).toBeGreaterThan(30);
    expect(M_TRAP).toBeGreaterThan(A.CODE + 4 * words.length);
  });

  it('every engine traps exactly on the undecodable words and ends in the same state', () => {
    const snaps = ENGINE_NAMES.map((engine) => {
      const s = prepareSnippet(words, {
        engine,
        mHandler: handler,
        setup: (h) => {
          h.mscratch = DATA;
        },
      });
      s.engine.run(10_000_000);
      return { engine, count: s.bus.readU32(DATA), ...snapshot(s.hart) };
    });
    expect(snaps[0].count).toBe(illegal);
    expect(snaps[0].pc).toBe(A.endOf(words));
    for (const s of snaps.slice(1)) expect({ ...s, engine: snaps[0].engine }).toEqual(snaps[0]);
  });
});
