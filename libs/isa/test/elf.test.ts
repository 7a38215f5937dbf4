// parseElf32 on corrupted copies of real guest ELFs: every malformation is reported as an ElfError
// naming the field and its offset; random corruption never escapes as anything but ElfError (or, for
// loading into a machine, RangeError).

import { readFileSync, readdirSync } from 'fs';
import { join, resolve } from 'path';
import { BareMachine, ElfError, ENGINE_NAMES, LinuxUserProcess, parseElf32 } from '@vsim/isa';
import { prng } from './helpers/asm';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');
const load = (name: string) => new Uint8Array(readFileSync(join(BIN, name)));
const HELLO = load('hello.elf');
const BARE = load('bare-rv32ui-basic.elf');

const PT_LOAD = 1;
const PF_X = 1;

/** A little-endian view of a copy. */
function copy(src: Uint8Array = HELLO) {
  const b = Uint8Array.from(src);
  const dv = new DataView(b.buffer);
  return {
    b,
    u8: (o: number, v: number) => {
      b[o] = v;
    },
    u16: (o: number, v: number) => dv.setUint16(o, v, true),
    u32: (o: number, v: number) => dv.setUint32(o, v >>> 0, true),
    r16: (o: number) => dv.getUint16(o, true),
    r32: (o: number) => dv.getUint32(o, true),
  };
}

/** Offsets of the program headers of `src` and which of them are PT_LOAD (with flags). */
function headers(src: Uint8Array = HELLO) {
  const c = copy(src);
  const phoff = c.r32(28);
  const phnum = c.r16(44);
  return Array.from({ length: phnum }, (_, i) => {
    const o = phoff + 32 * i;
    return { i, o, type: c.r32(o), offset: c.r32(o + 4), vaddr: c.r32(o + 8), filesz: c.r32(o + 16), memsz: c.r32(o + 20), flags: c.r32(o + 24) };
  });
}

function expectElfError(bytes: Uint8Array, message: RegExp) {
  let err: unknown;
  try {
    parseElf32(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ElfError);
  expect((err as Error).name).toBe('ElfError');
  expect((err as Error).message).toMatch(message);
}

describe('parseElf32 on the real guests', () => {
  it.each(
    readdirSync(BIN)
      .filter((f) => f.endsWith('.elf'))
      .sort(),
  )('%s parses: entry in an executable segment', (f) => {
    const img = parseElf32(load(f));
    expect(img.segments.length).toBeGreaterThan(0);
    expect(img.segments.some((s) => s.flags & PF_X && img.entry >= s.vaddr && img.entry < s.vaddr + s.filesz)).toBe(true);
    if (f.startsWith('bare-')) expect(img.symbols.get('tohost')).toBeDefined();
  });
});

describe('parseElf32 rejects corrupted headers, naming the field and offset', () => {
  const load0 = () => headers().find((h) => h.type === PT_LOAD)!;
  const exec0 = () => headers().find((h) => h.type === PT_LOAD && h.flags & PF_X)!;
  const data0 = () => headers().find((h) => h.type === PT_LOAD && !(h.flags & PF_X) && h.memsz > 0);

  const cases: [string, () => Uint8Array, RegExp][] = [
    [
      'bad magic',
      () => {
        const c = copy();
        c.u8(1, 0x46);
        return c.b;
      },
      /bad magic at offset 0: 7f 46 4c 46/,
    ],
    ['not an ELF at all', () => new TextEncoder().encode('#!/bin/sh\necho this is a shell script, not an ELF file\n'), /bad magic at offset 0/],
    [
      '64-bit class',
      () => {
        const c = copy();
        c.u8(4, 2);
        return c.b;
      },
      /EI_CLASS \(offset 4\) is 2.*64-bit/,
    ],
    [
      'invalid class',
      () => {
        const c = copy();
        c.u8(4, 0);
        return c.b;
      },
      /EI_CLASS \(offset 4\) is 0/,
    ],
    [
      'big-endian',
      () => {
        const c = copy();
        c.u8(5, 2);
        return c.b;
      },
      /EI_DATA \(offset 5\) is 2.*little-endian/,
    ],
    [
      'EI_VERSION',
      () => {
        const c = copy();
        c.u8(6, 0);
        return c.b;
      },
      /EI_VERSION \(offset 6\) is 0/,
    ],
    [
      'ET_DYN',
      () => {
        const c = copy();
        c.u16(16, 3);
        return c.b;
      },
      /e_type \(offset 16\) is 3.*ET_EXEC.*-no-pie/,
    ],
    [
      'ET_REL',
      () => {
        const c = copy();
        c.u16(16, 1);
        return c.b;
      },
      /e_type \(offset 16\) is 1.*object file/,
    ],
    [
      'e_machine x86-64',
      () => {
        const c = copy();
        c.u16(18, 62);
        return c.b;
      },
      /e_machine \(offset 18\) is 62 \(x86-64\), expected 243/,
    ],
    [
      'e_machine unknown',
      () => {
        const c = copy();
        c.u16(18, 9999);
        return c.b;
      },
      /e_machine \(offset 18\) is 9999, expected 243/,
    ],
    [
      'e_version',
      () => {
        const c = copy();
        c.u32(20, 7);
        return c.b;
      },
      /e_version \(offset 20\) is 7/,
    ],
    ['truncated below the ELF header', () => HELLO.slice(0, 40), /40 bytes, too short for the ELF header/],
    ['empty file', () => new Uint8Array(0), /0 bytes, too short/],
    [
      'truncated mid-file',
      () => HELLO.slice(0, Math.floor(HELLO.length / 2)),
      /segment \d+ \(header at offset \d+\): file bytes 0x[0-9a-f]+\.\.0x[0-9a-f]+ run past the end of the \d+-byte file/,
    ],
    [
      'program headers past EOF',
      () => {
        const c = copy();
        c.u32(28, HELLO.length - 16);
        return c.b;
      },
      /program headers at e_phoff=0x[0-9a-f]+ \(offset 28\).*run past the end/,
    ],
    [
      'e_phnum = 0',
      () => {
        const c = copy();
        c.u16(44, 0);
        return c.b;
      },
      /e_phnum \(offset 44\) is 0/,
    ],
    [
      'e_phentsize',
      () => {
        const c = copy();
        c.u16(42, 56);
        return c.b;
      },
      /e_phentsize \(offset 42\) is 56, expected 32/,
    ],
    [
      'segment file range past EOF',
      () => {
        const c = copy();
        c.u32(load0().o + 4, HELLO.length - 8);
        return c.b;
      },
      new RegExp(`segment ${load0().i} \\(header at offset ${load0().o}\\): file bytes .* run past the end`),
    ],
    [
      'filesz > memsz',
      () => {
        const c = copy();
        const h = load0();
        c.u32(h.o + 16, h.memsz + 1);
        return c.b;
      },
      new RegExp(`segment ${load0().i} \\(header at offset ${load0().o}\\): p_filesz ${load0().memsz + 1} exceeds p_memsz ${load0().memsz}`),
    ],
    [
      'segment wrapping the address space',
      () => {
        const c = copy();
        const h = load0();
        c.u32(h.o + 8, 0xfffff000);
        c.u32(h.o + 20, 0x2000);
        return c.b;
      },
      /wraps the 32-bit address space/,
    ],
    [
      'overlapping segments',
      () => {
        const c = copy();
        const a = exec0();
        const d = data0()!;
        c.u32(d.o + 8, a.vaddr);
        return c.b;
      },
      /overlaps loadable segment/,
    ],
    [
      'PT_INTERP',
      () => {
        const c = copy();
        c.u32(headers()[headers().length - 1].o, 3);
        return c.b;
      },
      /PT_INTERP.*-static/,
    ],
    [
      'PT_DYNAMIC',
      () => {
        const c = copy();
        c.u32(headers()[0].o, 2);
        return c.b;
      },
      /PT_DYNAMIC.*-static/,
    ],
    [
      'no PT_LOAD',
      () => {
        const c = copy();
        for (const h of headers()) c.u32(h.o, 4);
        return c.b;
      },
      /no PT_LOAD segment/,
    ],
    [
      'entry outside any segment',
      () => {
        const c = copy();
        c.u32(24, 0x1000);
        return c.b;
      },
      /e_entry \(offset 24\) = 0x1000 is not inside an executable segment/,
    ],
    [
      'entry in a non-executable segment',
      () => {
        const c = copy();
        c.u32(24, data0()!.vaddr);
        return c.b;
      },
      /e_entry \(offset 24\) = 0x[0-9a-f]+ is not inside an executable segment/,
    ],
    [
      'entry misaligned',
      () => {
        const c = copy();
        c.u32(24, c.r32(24) + 2);
        return c.b;
      },
      /e_entry \(offset 24\) = 0x[0-9a-f]+ is not 4-byte aligned/,
    ],
    [
      'RVC flag',
      () => {
        const c = copy();
        c.u32(36, c.r32(36) | 1);
        return c.b;
      },
      /e_flags \(offset 36\) = 0x1 marks compressed instructions \(RVC\)/,
    ],
    [
      'single-float ABI flag',
      () => {
        const c = copy();
        c.u32(36, c.r32(36) | 2);
        return c.b;
      },
      /e_flags \(offset 36\) = 0x2 selects a hardware floating-point ABI/,
    ],
    [
      'double-float ABI flag',
      () => {
        const c = copy();
        c.u32(36, c.r32(36) | 4);
        return c.b;
      },
      /e_flags \(offset 36\) = 0x4 selects a hardware floating-point ABI/,
    ],
  ];

  it('the base file has the structure the cases assume', () => {
    expect(copy().r32(36)).toBe(0); // no flags set
    expect(exec0()).toBeDefined();
    expect(data0()).toBeDefined();
  });

  it.each(cases)('%s', (_t, make, message) => expectElfError(make(), message));

  it('a byte view with a non-zero byteOffset is read correctly', () => {
    const buf = new Uint8Array(HELLO.length + 3);
    buf.set(HELLO, 3);
    const img = parseElf32(buf.subarray(3));
    expect(img.entry).toBe(parseElf32(HELLO).entry);
  });
});

describe('loading into machines', () => {
  it('a segment outside guest RAM is an ElfError naming the segment and the RAM range', () => {
    // Linux user RAM starts at 0x10000: move the first segment below it.
    const c = copy();
    const h = headers().find((x) => x.type === PT_LOAD)!;
    const delta = h.vaddr - 0x1000;
    c.u32(h.o + 8, 0x1000);
    c.u32(24, c.r32(24) - (headers().find((x) => x.type === PT_LOAD && x.flags & PF_X)!.i === h.i ? delta : 0));
    expect(() => new LinuxUserProcess(c.b, { ramSize: 4 << 20 })).toThrow(ElfError);
    expect(() => new LinuxUserProcess(c.b, { ramSize: 4 << 20 })).toThrow(/segment \d+ at 0x1000\.\..* is outside guest RAM 0x10000\.\./);
  });

  it('a Linux program on the bare machine: ElfError about tohost', () => {
    expect(() => new BareMachine(HELLO)).toThrow(ElfError);
    expect(() => new BareMachine(HELLO)).toThrow(/tohost/);
  });

  it('a bare test as a Linux program: ElfError (its segments are outside user RAM)', () => {
    expect(() => new LinuxUserProcess(BARE, { ramSize: 4 << 20 })).toThrow(ElfError);
  });
});

describe('fuzzing', () => {
  const BASES = readdirSync(BIN)
    .filter((f) => f.endsWith('.elf'))
    .sort()
    .map((f) => ({ f, bytes: load(f) }));

  function mutate(seed: number): { base: string; bytes: Uint8Array } {
    const r = prng(seed);
    const { f, bytes: src } = r.pick(BASES);
    let b = Uint8Array.from(src);
    const hot = [0, 52 + 32 * new DataView(src.buffer, src.byteOffset).getUint16(44, true)]; // ELF + program headers
    for (let n = r.range(1, 8); n > 0; n--) {
      const o = r.chance(0.7) ? r.range(hot[0], hot[1] - 1) : r.int(b.length);
      const kind = r.int(4);
      if (kind === 0) b[o] ^= 1 << r.int(8);
      else if (kind === 1) b[o] = r.int(256);
      else if (kind === 2) b[o] = r.pick([0, 0xff, 0x7f, 0x80]);
      else b[o] = (b[o] + r.range(-2, 2)) & 0xff;
    }
    if (r.chance(0.05)) b = b.slice(0, r.int(b.length));
    return { base: f, bytes: b };
  }

  it('500 seeded corruptions: parseElf32 returns or throws ElfError, nothing else', () => {
    const outcomes = { ok: 0, elfError: 0 };
    const bad: string[] = [];
    for (let seed = 0; seed < 500; seed++) {
      const { base, bytes } = mutate(seed);
      try {
        parseElf32(bytes);
        outcomes.ok++;
      } catch (e) {
        if (e instanceof ElfError) outcomes.elfError++;
        else bad.push(`seed ${seed} (${base}): ${String(e)}`);
      }
    }
    expect(bad).toEqual([]);
    // Both outcomes occur, so the fuzzer reaches past the header checks.
    expect(outcomes.ok).toBeGreaterThan(20);
    expect(outcomes.elfError).toBeGreaterThan(20);
  });

  it('500 seeded corruptions: loading (and briefly running) never throws anything but ElfError/RangeError', () => {
    const bad: string[] = [];
    let loaded = 0;
    for (let seed = 0; seed < 500; seed++) {
      const { base, bytes } = mutate(seed);
      const engine = ENGINE_NAMES[seed % ENGINE_NAMES.length];
      let machine: { run(n: number): unknown } | undefined;
      try {
        machine = base.startsWith('bare-')
          ? new BareMachine(bytes, { engine, ramSize: 2 << 20 })
          : new LinuxUserProcess(bytes, { engine, ramSize: 4 << 20, argv: ['fuzz'] });
      } catch (e) {
        if (!(e instanceof ElfError) && !(e instanceof RangeError)) bad.push(`seed ${seed} (${base}) load: ${String(e)}`);
        continue;
      }
      loaded++;
      // Whatever the corrupted code does, running it must not throw at all.
      try {
        machine.run(20_000);
      } catch (e) {
        bad.push(`seed ${seed} (${base}) run on ${engine}: ${String(e)}`);
      }
    }
    expect(bad).toEqual([]);
    expect(loaded).toBeGreaterThan(20);
  });
});
