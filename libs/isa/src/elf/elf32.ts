// ELF32 parsing and loading for statically linked RISC-V executables. Every field the loader
// relies on is validated, and an error names the field, its file offset and what was expected, so
// a user handed a wrong binary knows at once why.

export class ElfError extends Error {
  override readonly name = 'ElfError';
}

export const EM_RISCV = 243;
/**
 * e_machine of ring32 executables (libs/isa/docs/ring32.md). ring32 is vsim's own teaching ISA, so
 * it has no registered number; 0x5232 ("R2") is unassigned in the ELF machine registry (the
 * registered values end in the low hundreds, the unofficial ones sit at 0x9000 and above).
 */
export const EM_RING32 = 0x5232;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const SHT_SYMTAB = 2;
const EF_RISCV_RVC = 0x1;
const EF_RISCV_FLOAT_ABI = 0x6;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export interface ElfSegment {
  readonly vaddr: number;
  readonly memsz: number;
  readonly filesz: number;
  readonly offset: number;
  readonly flags: number;
}

export interface ElfImage {
  readonly entry: number;
  readonly segments: readonly ElfSegment[];
  /** Global and local symbols with their values (functions, objects, e.g. `tohost`). */
  readonly symbols: ReadonlyMap<string, number>;
  readonly bytes: Uint8Array;
}

const MACHINES: Record<number, string> = { 3: 'x86', 40: 'ARM', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V', [EM_RING32]: 'ring32' };

/** Parses a static ELF32 executable for `machine` (RISC-V unless said otherwise). */
export function parseElf32(bytes: Uint8Array, machine: number = EM_RISCV): ElfImage {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (len: number, what: string) => {
    if (bytes.length < len) throw new ElfError(`file is ${bytes.length} bytes, too short for ${what} (needs ${len})`);
  };
  need(52, 'the ELF header');
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError(`bad magic at offset 0: ${hexBytes(bytes.subarray(0, 4))}, expected 7f 45 4c 46 ("\\x7fELF")`);
  }
  if (bytes[4] !== 1)
    throw new ElfError(
      `EI_CLASS (offset 4) is ${bytes[4]}, expected 1 (ELFCLASS32): ${bytes[4] === 2 ? 'this is a 64-bit ELF; build with -march=rv32ima -mabi=ilp32' : 'not a 32-bit ELF'}`,
    );
  if (bytes[5] !== 1) throw new ElfError(`EI_DATA (offset 5) is ${bytes[5]}, expected 1 (little-endian)`);
  if (bytes[6] !== 1) throw new ElfError(`EI_VERSION (offset 6) is ${bytes[6]}, expected 1`);
  const type = dv.getUint16(16, true);
  if (type !== 2) {
    throw new ElfError(
      `e_type (offset 16) is ${type}, expected 2 (ET_EXEC): ${type === 3 ? 'position-independent executables are not supported; link with -static -no-pie' : type === 1 ? 'this is an object file, not an executable' : 'not an executable'}`,
    );
  }
  const fileMachine = dv.getUint16(18, true);
  if (fileMachine !== machine) {
    throw new ElfError(
      `e_machine (offset 18) is ${fileMachine}${MACHINES[fileMachine] ? ` (${MACHINES[fileMachine]})` : ''}, expected ${machine} (${MACHINES[machine] ?? 'unknown'})`,
    );
  }
  const version = dv.getUint32(20, true);
  if (version !== 1) throw new ElfError(`e_version (offset 20) is ${version}, expected 1`);
  const entry = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const shoff = dv.getUint32(32, true);
  const flags = dv.getUint32(36, true);
  if (machine === EM_RISCV && flags & EF_RISCV_RVC)
    throw new ElfError(
      `e_flags (offset 36) = 0x${flags.toString(16)} marks compressed instructions (RVC), which vsim does not implement: build with -march=rv32ima`,
    );
  if (machine === EM_RISCV && flags & EF_RISCV_FLOAT_ABI)
    throw new ElfError(`e_flags (offset 36) = 0x${flags.toString(16)} selects a hardware floating-point ABI: build with -mabi=ilp32`);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (phnum === 0) throw new ElfError('e_phnum (offset 44) is 0: the file has no program headers to load');
  if (phentsize !== 32) throw new ElfError(`e_phentsize (offset 42) is ${phentsize}, expected 32`);
  if (phoff + phnum * 32 > bytes.length) {
    throw new ElfError(
      `program headers at e_phoff=0x${phoff.toString(16)} (offset 28), ${phnum} x 32 bytes, run past the end of the ${bytes.length}-byte file`,
    );
  }
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * 32;
    const ptype = dv.getUint32(o, true);
    if (ptype === PT_INTERP || ptype === PT_DYNAMIC) {
      throw new ElfError(
        `program header ${i} (offset ${o}) is ${ptype === PT_INTERP ? 'PT_INTERP' : 'PT_DYNAMIC'}: dynamically linked executables are not supported; link with -static`,
      );
    }
    if (ptype !== PT_LOAD) continue;
    const seg: ElfSegment = {
      offset: dv.getUint32(o + 4, true),
      vaddr: dv.getUint32(o + 8, true),
      filesz: dv.getUint32(o + 16, true),
      memsz: dv.getUint32(o + 20, true),
      flags: dv.getUint32(o + 24, true),
    };
    if (seg.filesz > seg.memsz) throw new ElfError(`segment ${i} (header at offset ${o}): p_filesz ${seg.filesz} exceeds p_memsz ${seg.memsz}`);
    if (seg.offset + seg.filesz > bytes.length) {
      throw new ElfError(
        `segment ${i} (header at offset ${o}): file bytes 0x${seg.offset.toString(16)}..0x${(seg.offset + seg.filesz).toString(16)} run past the end of the ${bytes.length}-byte file`,
      );
    }
    if (seg.vaddr + seg.memsz > 2 ** 32)
      throw new ElfError(`segment ${i} (header at offset ${o}): 0x${seg.vaddr.toString(16)} + ${seg.memsz} wraps the 32-bit address space`);
    for (const [j, other] of segments.entries()) {
      if (seg.memsz && other.memsz && seg.vaddr < other.vaddr + other.memsz && other.vaddr < seg.vaddr + seg.memsz) {
        throw new ElfError(`segment ${i} (header at offset ${o}) overlaps loadable segment ${j} at 0x${other.vaddr.toString(16)}`);
      }
    }
    segments.push(seg);
  }
  if (segments.length === 0) throw new ElfError('no PT_LOAD segment: nothing to load');
  const inExec = segments.some((s) => s.flags & PF_X && entry >= s.vaddr && entry + 4 <= s.vaddr + s.filesz);
  if (!inExec) throw new ElfError(`e_entry (offset 24) = 0x${entry.toString(16)} is not inside an executable segment`);
  if (entry & 3) throw new ElfError(`e_entry (offset 24) = 0x${entry.toString(16)} is not 4-byte aligned`);
  return { entry, segments, symbols: readSymbols(bytes, dv, shoff), bytes };
}

/** Symbols are optional: a stripped binary simply has none. Malformed section headers are ignored. */
function readSymbols(bytes: Uint8Array, dv: DataView, shoff: number): Map<string, number> {
  const symbols = new Map<string, number>();
  const shentsize = dv.getUint16(46, true);
  const shnum = dv.getUint16(48, true);
  if (shoff === 0 || shentsize !== 40 || shoff + shnum * 40 > bytes.length) return symbols;
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * 40;
    if (dv.getUint32(o + 4, true) !== SHT_SYMTAB) continue;
    const off = dv.getUint32(o + 16, true);
    const size = dv.getUint32(o + 20, true);
    const link = dv.getUint32(o + 24, true);
    if (link >= shnum || off + size > bytes.length) continue;
    const strOff = dv.getUint32(shoff + link * 40 + 16, true);
    const strSize = dv.getUint32(shoff + link * 40 + 20, true);
    if (strOff + strSize > bytes.length) continue;
    for (let s = off; s + 16 <= off + size; s += 16) {
      const nameOff = dv.getUint32(s, true);
      if (nameOff === 0 || nameOff >= strSize) continue;
      let end = strOff + nameOff;
      while (end < strOff + strSize && bytes[end] !== 0) end++;
      const name = Buffer.from(bytes.subarray(strOff + nameOff, end)).toString('latin1');
      if (!symbols.has(name)) symbols.set(name, dv.getUint32(s + 4, true));
    }
  }
  return symbols;
}

/** Where a loaded image must fit. */
export interface LoadTarget {
  readonly ramBase: number;
  readonly ramSize: number;
  writeBytes(addr: number, bytes: Uint8Array): void;
  /** Zeroes [addr, addr+len), leaving pages that are zero already untouched (Bus: so they stay unmapped). */
  zeroBytes?(addr: number, len: number): void;
}

/** Copies every PT_LOAD segment into RAM (zero-filling .bss); returns the first address past the image. */
export function loadElf32(image: ElfImage, target: LoadTarget): number {
  const ramEnd = target.ramBase + target.ramSize;
  let top = 0;
  for (const [i, s] of image.segments.entries()) {
    if (s.vaddr < target.ramBase || s.vaddr + s.memsz > ramEnd) {
      throw new ElfError(
        `segment ${i} at 0x${s.vaddr.toString(16)}..0x${(s.vaddr + s.memsz).toString(16)} is outside guest RAM 0x${target.ramBase.toString(16)}..0x${ramEnd.toString(16)}`,
      );
    }
    // File bytes, then .bss: zeroing a fresh VM's .bss touches no page (an idle VM costs kilobytes).
    if (s.filesz > 0) target.writeBytes(s.vaddr, image.bytes.subarray(s.offset, s.offset + s.filesz));
    const bss = s.memsz - s.filesz;
    if (bss > 0) {
      if (target.zeroBytes) target.zeroBytes(s.vaddr + s.filesz, bss);
      else target.writeBytes(s.vaddr + s.filesz, new Uint8Array(bss));
    }
    top = Math.max(top, s.vaddr + s.memsz);
  }
  return top;
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}
