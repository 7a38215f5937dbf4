// The ring32 assembler and disassembler: every valid word round-trips through the disassembler and
// back, programs assemble to what the table says, bad input gets an AsmError naming line:column and
// the token, and fuzzing (random source text, random words through both ISAs' decoders) never
// crashes anything.

import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  AsmError,
  ElfError,
  EM_RING32,
  RING32_INSTRUCTIONS,
  Ring32Machine,
  assembleRing32,
  disassembleRing32,
  parseElf32,
  parseRing32Elf,
  ring32,
  rv32,
  writeRing32Elf,
} from '@vsim/isa';

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const wordAt = (bytes: Uint8Array, off: number) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(off, true);

/** Assembles one line at `pc` and returns its single word. */
function asm1(line: string, pc: number): number {
  const img = assembleRing32(`.org ${pc}\n${line}\n`, { origin: 0 });
  expect(img.bytes.length).toBe(pc + 4);
  return wordAt(img.bytes, pc);
}

describe('ring32 disassembler round trip', () => {
  it.each(RING32_INSTRUCTIONS.slice(1).map((d) => [d.name, d] as const))('assemble(disassemble(w)) === w for random %s words', (_n, d) => {
    const next = xorshift(0x1234 ^ d.match);
    const pc = 0x20000; // branches reach ±128 KiB and jumps ±2 MiB around it without leaving 0..4 GiB
    for (let k = 0; k < 40; k++) {
      const w = ((next() & ~d.mask) | d.match) >>> 0;
      const text = ring32.disassemble(w, pc);
      expect(ring32.instructions[ring32.decode(w)].name).toBe(d.name);
      expect({ text, w: asm1(text, pc) >>> 0 }).toEqual({ text, w });
    }
  });

  it('words with stray bits in unused fields are illegal and print as .word', () => {
    // add with bit 31 set (R format requires bits 31:20 zero); cli with an rd field.
    for (const w of [0x80000001 | 0x2300, 0x0000014a, 0]) {
      expect(ring32.decode(w)).toBe(0);
      expect(ring32.disassemble(w, 0)).toBe(`.word 0x${(w >>> 0).toString(16)}`);
      expect(asm1(ring32.disassemble(w, 0), 0x100) >>> 0).toBe(w >>> 0);
    }
  });
});

describe('ring32 assembler', () => {
  it('labels, directives, pseudo-instructions and expressions', () => {
    const img = assembleRing32(
      `
        .equ  BASE, 0x100        ; a constant
        .equ  N, BASE >> 4
_start: li    r1, N * 2 + 1      // one word: fits 16 bits
        li    r2, 0x12345678     # two words
        li    r5, 17%5 + %HI(0) // modulo, and relocation operators in any case
        la    r3, table
        lw    r4, %lo(table)(r3)
        j     _start
        .align 8
table:  .word 1, -1, table, . - table
        .half 0xbeef
        .byte 'A', '\\n', 255
        .ascii "ab"
        .asciz "c\\"d"
        .space 3, 0x7f
end:
`,
      { origin: 0x4000 },
    );
    const s = img.symbols;
    expect(s.get('_start')).toBe(0x4000);
    expect(img.entry).toBe(0x4000);
    expect(s.get('N')).toBe(0x10);
    expect(s.get('table')).toBe(0x4020);
    const w = (a: number) => wordAt(img.bytes, a - 0x4000);
    expect(ring32.disassemble(w(0x4000), 0x4000)).toBe('addi r1, r0, 33');
    expect(ring32.disassemble(w(0x4004), 0x4004)).toBe('lui r2, 0x12345');
    expect(ring32.disassemble(w(0x4008), 0x4008)).toBe('addi r2, r2, 1656');
    expect(ring32.disassemble(w(0x400c), 0x400c)).toBe('addi r5, r0, 2');
    expect(ring32.disassemble(w(0x4018), 0x4018)).toBe('lw r4, 32(r3)');
    expect(ring32.disassemble(w(0x401c), 0x401c)).toBe('jal r0, 0x4000');
    // `.` is the address of the statement it appears in.
    expect([w(0x4020), w(0x4024) | 0, w(0x4028), w(0x402c)]).toEqual([1, -1, 0x4020, 0]);
    expect(Array.from(img.bytes.slice(0x30))).toEqual([0xef, 0xbe, 65, 10, 255, 97, 98, 99, 34, 100, 0, 0x7f, 0x7f, 0x7f]);
    expect(s.get('end')).toBe(0x4030 + 14);
  });

  it('a listing of an image assembles back to the same bytes', () => {
    const img = assembleRing32('_start: li r1, 0x12345678\n call f\n hlt\nf: pushf\n ret\nmsg: .asciz "hey"\n .byte 1, 2', { origin: 0x300 });
    const listing = disassembleRing32(img.bytes, img.origin);
    expect(listing.split('\n')[0]).toBe('00000300: 1234511a  lui r1, 0x12345');
    const text = listing
      .split('\n')
      .map((l) => l.slice(20))
      .join('\n');
    expect(Array.from(assembleRing32(text, { origin: 0x300 }).bytes)).toEqual(Array.from(img.bytes));
  });

  it('writes an ELF32 executable (e_machine EM_RING32) that loads and runs like the image, with its symbols', () => {
    const img = assembleRing32(
      '.org 0x200\n_start: la r1, msg\nloop: lbu r2, 0(r1)\n beqz r2, done\n out 0x10, r2\n addi r1, r1, 1\n j loop\ndone: out 0x20, r0\nmsg: .asciz "elf!"',
    );
    const elf = writeRing32Elf(img);
    const parsed = parseRing32Elf(elf);
    expect(parsed.entry).toBe(0x200);
    expect(parsed.symbols.get('msg')).toBe(img.symbols.get('msg'));
    expect(new Ring32Machine(elf).run(1e5)).toMatchObject({ outcome: 'exit', exitCode: 0, console: 'elf!' });
    expect(() => parseElf32(elf)).toThrow(new ElfError(`e_machine (offset 18) is ${EM_RING32} (ring32), expected 243 (RISC-V)`));
    // binutils, when installed, reads it as a well-formed ELF with our symbols.
    let readelf: string;
    try {
      execFileSync('readelf', ['--version']);
      const dir = mkdtempSync(join(tmpdir(), 'ring32-elf-'));
      writeFileSync(join(dir, 'a.elf'), elf);
      readelf = execFileSync('readelf', ['-h', '-s', join(dir, 'a.elf')], { encoding: 'utf8' });
      rmSync(dir, { recursive: true });
    } catch {
      return;
    }
    expect(readelf).toMatch(/Entry point address:\s+0x200/);
    expect(readelf).toMatch(/\bmsg\b/);
  });

  it('%hi/%lo build any 32-bit address with lui + addi', () => {
    for (const v of [0, 0x7ff, 0x800, 0xfff, 0x12345678, 0x7ffff800, 0xfffff800, 0xffffffff]) {
      const img = assembleRing32(`lui r1, %hi(${v})\naddi r1, r1, %lo(${v})`);
      const hi = wordAt(img.bytes, 0) & 0xfffff000;
      const lo = wordAt(img.bytes, 4) >> 16;
      expect((hi + lo) >>> 0).toBe(v >>> 0);
    }
  });

  const bad: [string, RegExp][] = [
    ['add r1, r2', /^1:1: 'add' takes 3 operands, got 2 \(at 'add'\)$/],
    ['  addi r1, r2, 40000', /^1:16: value 40000 out of range -32768\.\.32767 \(at '40000'\)$/],
    ['nop\n  frob r1', /^2:3: unknown instruction \(at 'frob'\)$/],
    ['lw r1, 4(r16)', /^1:8: expected offset\(register\)/],
    ['add r1, r2, x9', /^1:13: expected a register .* \(at 'x9'\)$/],
    ['j nowhere', /^1:3: undefined symbol \(at 'nowhere'\)$/],
    ['a: nop\na: nop', /^2:1: label defined twice \(at 'a'\)$/],
    ['.org 8\n.org 4', /^2:6: \.org 0x4 goes backwards/],
    ['.word 1 +', /^1:9: expression ends too early \(at '\+'\)$/],
    ['.byte 300', /^1:7: value 300 does not fit in a byte/],
    ['.ascii "abc', /^1:8: string not closed/],
    ['li r1, 1/0', /^1:9: division by zero \(at '\/'\)$/],
    ['mfcr r1, cr16', /^1:10: expected a control register/],
    ['.byte 1\nnop', /^2:1: instruction at 0x1 is not word aligned/],
    ['beq r1, r2, 0x40002', /^1:13: target 0x40002 is not word aligned/],
    ['beq r1, r2, 0x40000', /^1:13: target 0x40000 is out of reach/],
    ['.frob 1', /^1:1: unknown directive/],
    ['shli r1, r1, 32', /^1:14: value 32 out of range 0\.\.31/],
    ['mov r1, @', /^1:9: unexpected character \(at '@'\)$/],
    ["li r1, '\\q'", /^1:9: unknown escape/],
    ['.equ A, 1\n.set A, 2', /^2:6: symbol defined twice \(at 'A'\)$/],
    ['li r1, 7 %x', /^1:11: undefined symbol \(at 'x'\)$/],
  ];
  it.each(bad)('rejects %j with a clear error', (src, re) => {
    let e: unknown;
    try {
      assembleRing32(src);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(AsmError);
    expect((e as Error).message).toMatch(re);
  });
});

describe('fuzzing', () => {
  const ALPHABET = [
    ...'abcdefghijklmnopqrstuvwxyz0123456789_.,:;()%+-*/<>&|^~\'"\\# \t\n$@!',
    'r1',
    'sp',
    'lr',
    'add ',
    'addi ',
    'lw ',
    'sw ',
    'beq ',
    'jal ',
    'li ',
    'la ',
    '.word ',
    '.org ',
    '.align ',
    '.equ ',
    '.asciz ',
    '.space ',
    '%hi(',
    '%lo(',
    '0x',
    'label:',
    'label',
    ' r2, ',
    '(r3)',
    'mfcr ',
    'tvec',
    'lpsw ',
    'popf',
    '\n',
    '4096',
    '-1',
    '0xffffffff',
    '99999999999',
  ];
  it('random source text never crashes the assembler: a result or an AsmError', () => {
    const next = xorshift(77);
    let ok = 0;
    let errors = 0;
    for (let k = 0; k < 3000; k++) {
      const n = next() % 40;
      let src = '';
      for (let i = 0; i < n; i++) src += ALPHABET[next() % ALPHABET.length];
      try {
        const img = assembleRing32(src);
        expect(img.bytes).toBeInstanceOf(Uint8Array);
        ok++;
      } catch (e) {
        if (!(e instanceof AsmError)) throw new Error(`assembler crashed on ${JSON.stringify(src)}: ${String(e)}`, { cause: e });
        expect(e.message).toMatch(/^\d+:\d+: /);
        errors++;
      }
    }
    expect(ok).toBeGreaterThan(50);
    expect(errors).toBeGreaterThan(50);
  });

  it('random words never crash either decoder or disassembler, and ring32 words round-trip', () => {
    const next = xorshift(4242);
    const bad: string[] = [];
    let roundTrips = 0;
    for (let k = 0; k < 100_000; k++) {
      const w = next() | 0;
      const pc = (next() & ~3) >>> 0;
      for (const isa of [rv32, ring32]) {
        const i = isa.decode(w); // a throw fails the test with the word in the stack
        const text = isa.disassemble(w, pc);
        if (!(i >= 0 && i < isa.instructions.length) || typeof text !== 'string' || text === '') bad.push(`${isa.name} 0x${(w >>> 0).toString(16)}`);
      }
      if (k % 50 === 0) {
        const back = assembleRing32(`.org 0x100\n${ring32.disassemble(w, 0x100)}`).bytes;
        if ((wordAt(back, 0x100) | 0) !== w) bad.push(`round trip 0x${(w >>> 0).toString(16)}`);
        roundTrips++;
      }
    }
    expect(bad).toEqual([]);
    expect(roundTrips).toBe(2000);
  });
});
