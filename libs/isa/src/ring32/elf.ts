// ring32 images as ELF32 executables (e_machine EM_RING32), so an assembled program is a file that
// loads like an rv32 guest: one PT_LOAD segment (read/write/execute: ring32 has no memory
// protection), e_entry, and a symbol table with every label and .equ constant.

import { EM_RING32, PF_R, PF_W, PF_X, parseElf32, ElfImage } from '../elf/elf32';
import { AssembledImage } from './asm';

const EHDR = 52;
const PHDR = 32;
const SHDR = 40;
const SYM = 16;

/** Writes `img` as a static ELF32 executable for ring32. */
export function writeRing32Elf(img: AssembledImage): Uint8Array {
  const names = [...img.symbols.keys()];
  const strtab = ['', ...names].join('\0') + '\0';
  const shstrtab = '\0.symtab\0.strtab\0.shstrtab\0';
  const enc = new TextEncoder();
  const strBytes = enc.encode(strtab);
  const shstrBytes = enc.encode(shstrtab);
  const align4 = (n: number) => (n + 3) & ~3;
  const codeOff = EHDR + PHDR;
  const symOff = align4(codeOff + img.bytes.length);
  const symSize = SYM * (names.length + 1);
  const strOff = symOff + symSize;
  const shstrOff = strOff + strBytes.length;
  const shOff = align4(shstrOff + shstrBytes.length);
  const out = new Uint8Array(shOff + 4 * SHDR);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // magic, ELFCLASS32, little-endian, version 1
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, EM_RING32, true);
  dv.setUint32(20, 1, true);
  dv.setUint32(24, img.entry, true);
  dv.setUint32(28, EHDR, true); // e_phoff
  dv.setUint32(32, shOff, true);
  dv.setUint16(40, EHDR, true);
  dv.setUint16(42, PHDR, true);
  dv.setUint16(44, 1, true);
  dv.setUint16(46, SHDR, true);
  dv.setUint16(48, 4, true);
  dv.setUint16(50, 3, true); // e_shstrndx
  // The one PT_LOAD segment.
  dv.setUint32(EHDR, 1, true);
  dv.setUint32(EHDR + 4, codeOff, true);
  dv.setUint32(EHDR + 8, img.origin, true);
  dv.setUint32(EHDR + 12, img.origin, true);
  dv.setUint32(EHDR + 16, img.bytes.length, true);
  dv.setUint32(EHDR + 20, img.bytes.length, true);
  dv.setUint32(EHDR + 24, PF_R | PF_W | PF_X, true);
  dv.setUint32(EHDR + 28, 4, true);
  out.set(img.bytes, codeOff);
  // Symbols: absolute (st_shndx = SHN_ABS), global, no type.
  let nameOff = 1;
  names.forEach((n, i) => {
    const o = symOff + SYM * (i + 1);
    dv.setUint32(o, nameOff, true);
    dv.setUint32(o + 4, img.symbols.get(n)! >>> 0, true);
    out[o + 12] = 0x10; // STB_GLOBAL, STT_NOTYPE
    dv.setUint16(o + 14, 0xfff1, true);
    nameOff += enc.encode(n).length + 1;
  });
  out.set(strBytes, strOff);
  out.set(shstrBytes, shstrOff);
  const section = (i: number, name: number, type: number, off: number, size: number, link: number, entsize: number) => {
    const o = shOff + SHDR * i;
    dv.setUint32(o, name, true);
    dv.setUint32(o + 4, type, true);
    dv.setUint32(o + 16, off, true);
    dv.setUint32(o + 20, size, true);
    dv.setUint32(o + 24, link, true);
    dv.setUint32(o + 28, type === 2 ? 1 : 0, true); // sh_info: first global symbol
    dv.setUint32(o + 32, type === 2 ? 4 : 1, true);
    dv.setUint32(o + 36, entsize, true);
  };
  section(1, 1, 2, symOff, symSize, 2, SYM); // .symtab, SHT_SYMTAB, strings in section 2
  section(2, 9, 3, strOff, strBytes.length, 0, 0); // .strtab
  section(3, 17, 3, shstrOff, shstrBytes.length, 0, 0); // .shstrtab
  return out;
}

/** Parses a ring32 ELF executable (every field checked, as for rv32). */
export function parseRing32Elf(bytes: Uint8Array): ElfImage {
  return parseElf32(bytes, EM_RING32);
}
