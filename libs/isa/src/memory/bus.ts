// A guest's physical address space: one contiguous RAM region plus memory-mapped devices,
// dispatched by address range. Each VM gets its own Bus, so one guest's RAM is unreachable
// from another's: isolation is structural, not a check.

import type { DirtyPages } from './dirty-pages';
import { lazyZeroedBuffer } from './lazy-buffer';

/** A memory-mapped device. Offsets are relative to `base`; width is 1, 2 or 4 bytes. */
export interface Device {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  load(offset: number, width: 1 | 2 | 4): number;
  store(offset: number, width: 1 | 2 | 4, value: number): void;
}

/** Notified when guest code in a page changes, so decoded/translated copies can be dropped. */
export type CodeInvalidator = (ramPage: number) => void;

export const PAGE_SHIFT = 12;
/**
 * Stores are screened per 256-byte line, not per page: guests keep data next to code (a small
 * kernel's .data shares a page with its .text), and a page-sized screen would send all of those
 * stores down the slow path and, worse, throw away translations that were never touched.
 */
export const LINE_SHIFT = 8;
export const CODE_LINE = 1;
export const WATCHED_LINE = 2;
export const RESERVED_LINE = 4;
/**
 * Dirty-page logging is armed for the line's page (memory/dirty-pages.ts): the first store after a
 * snapshot records the page's generation and disarms the page, so later stores stay fast.
 */
export const DIRTY_LINE = 8;

/** Whoever can hold an LR reservation (a hart); the bus cancels it when another hart stores there. */
export interface ReservationHolder {
  reservation: number;
}
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export class Bus {
  /** RAM views over one buffer; the host is little-endian like RISC-V (checked below). */
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly u16: Uint16Array;
  readonly i16: Int16Array;
  readonly i32: Int32Array;
  /**
   * One byte per 256-byte line of RAM: non-zero sends stores to the slow path. Bit 0 (CODE_LINE):
   * some engine holds a decoded or translated copy of an instruction in the line. Bit 1
   * (WATCHED_LINE): the host watches a word there. Bit 2 (RESERVED_LINE): a hart holds an LR
   * reservation there, which other harts' stores cancel.
   */
  readonly storeFlags: Uint8Array;
  /** One bit per RAM word that holds decoded code: only a store to such a word invalidates. */
  private readonly codeWords: Uint32Array;
  /** Pages holding any decoded code, so invalidation knows what to clear. */
  private readonly codePages: Uint8Array;
  private readonly devices: Device[] = [];
  private readonly invalidators = new Set<CodeInvalidator>();
  /** Word watchpoints (host hooks such as tohost), keyed by RAM offset. */
  private readonly watches = new Map<number, (value: number) => void>();
  /** LR reservations of the harts sharing this memory (SMP guests), by holder. */
  private readonly reservations = new Map<ReservationHolder, number>();
  /** Which pages were written since which snapshot; undefined until the first snapshot arms it. */
  dirty: DirtyPages | undefined;

  constructor(
    readonly ramBase: number,
    readonly ramSize: number,
  ) {
    if (ramBase % PAGE_SIZE !== 0) throw new Error(`ram base 0x${ramBase.toString(16)} is not page aligned`);
    if (ramSize <= 0 || ramSize % PAGE_SIZE !== 0) throw new Error(`ram size ${ramSize} is not a positive multiple of ${PAGE_SIZE}`);
    if (ramBase + ramSize > 2 ** 32) throw new Error('ram does not fit in the 32-bit address space');
    // RAM and its per-line screens are mapped page by page as they are written (lazy-buffer.ts); the
    // buffer may be longer than RAM (whole 64 KiB pages), so every view gives its length.
    const buf = lazyZeroedBuffer(ramSize);
    this.u8 = new Uint8Array(buf, 0, ramSize);
    this.i8 = new Int8Array(buf, 0, ramSize);
    this.u16 = new Uint16Array(buf, 0, ramSize >>> 1);
    this.i16 = new Int16Array(buf, 0, ramSize >>> 1);
    this.i32 = new Int32Array(buf, 0, ramSize >>> 2);
    this.storeFlags = new Uint8Array(lazyZeroedBuffer(ramSize >>> LINE_SHIFT), 0, ramSize >>> LINE_SHIFT);
    this.codeWords = new Uint32Array(lazyZeroedBuffer(ramSize >>> 5), 0, ramSize >>> 7);
    this.codePages = new Uint8Array(ramSize >>> PAGE_SHIFT);
  }

  get ramEnd(): number {
    return this.ramBase + this.ramSize;
  }

  attach(device: Device): void {
    const end = device.base + device.size;
    const overlaps = (a: number, b: number) => device.base < b && a < end;
    if (overlaps(this.ramBase, this.ramEnd)) throw new Error(`device ${device.name} overlaps RAM`);
    for (const d of this.devices) {
      if (overlaps(d.base, d.base + d.size)) throw new Error(`device ${device.name} overlaps ${d.name}`);
    }
    this.devices.push(device);
  }

  deviceAt(addr: number): Device | undefined {
    for (const d of this.devices) if (addr - d.base >= 0 && addr - d.base < d.size) return d;
    return undefined;
  }

  /** True when [addr, addr+len) lies inside RAM. */
  inRam(addr: number, len: number): boolean {
    return addr >= this.ramBase && addr + len <= this.ramEnd && len >= 0;
  }

  onCodeChange(fn: CodeInvalidator): () => void {
    this.invalidators.add(fn);
    return () => this.invalidators.delete(fn);
  }

  /** Drop every decoded/translated copy of the RAM page at `page` (index from ramBase). */
  invalidatePage(page: number): void {
    if (!this.codePages[page]) return;
    this.codePages[page] = 0;
    const lines = PAGE_SHIFT - LINE_SHIFT;
    for (let l = page << lines; l < (page + 1) << lines; l++) this.storeFlags[l] &= ~CODE_LINE;
    this.codeWords.fill(0, page << (PAGE_SHIFT - 7), (page + 1) << (PAGE_SHIFT - 7));
    for (const fn of this.invalidators) fn(page);
  }

  /** Engines call this for the instructions they decode: [addr, addr+len) in RAM, within one page. */
  markCode(addr: number, len: number): void {
    const off = addr - this.ramBase;
    for (let w = off >>> 2; w < (off + len) >>> 2; w++) this.codeWords[w >>> 5] |= 1 << (w & 31);
    for (let l = off >>> LINE_SHIFT; l <= (off + len - 1) >>> LINE_SHIFT; l++) this.storeFlags[l] |= CODE_LINE;
    this.codePages[off >>> PAGE_SHIFT] = 1;
  }

  /** Calls `fn` after every guest store to the aligned word at `addr` (e.g. the tohost word). */
  watchWord(addr: number, fn: (value: number) => void): void {
    if (!this.inRam(addr, 4) || addr & 3) throw new RangeError(`watched word 0x${(addr >>> 0).toString(16)} is not an aligned RAM word`);
    const off = addr - this.ramBase;
    this.watches.set(off >>> 2, fn);
    this.storeFlags[off >>> LINE_SHIFT] |= WATCHED_LINE;
  }

  /** Records an LR reservation of `holder` on the RAM word at address `addr`. */
  reserve(holder: ReservationHolder, addr: number): void {
    if (!this.inRam(addr, 4)) return;
    this.reservations.set(holder, addr);
    this.storeFlags[(addr - this.ramBase) >>> LINE_SHIFT] |= RESERVED_LINE;
  }

  /** Drops `holder`'s reservation (after SC, on a trap). */
  release(holder: ReservationHolder): void {
    const addr = this.reservations.get(holder);
    if (addr === undefined) return;
    this.reservations.delete(holder);
    this.refreshReservedFlag((addr - this.ramBase) >>> LINE_SHIFT);
  }

  private refreshReservedFlag(line: number): void {
    for (const a of this.reservations.values()) if ((a - this.ramBase) >>> LINE_SHIFT === line) return;
    this.storeFlags[line] &= ~RESERVED_LINE;
  }

  /**
   * Slow-path hook after a guest store by `by` at RAM offset `off`: cancels other harts'
   * reservations on that word, runs watches, invalidates code. Returns true if the engine must
   * leave its block (a watch fired or code changed).
   */
  storeHook(off: number, by?: ReservationHolder): boolean {
    const line = off >>> LINE_SHIFT;
    const flags = this.storeFlags[line];
    let fired = false;
    if (flags & RESERVED_LINE) {
      const addr = this.ramBase + (off & ~3);
      for (const [holder, a] of this.reservations) {
        if (a === addr && holder !== by) {
          holder.reservation = -1;
          this.reservations.delete(holder);
        }
      }
      this.refreshReservedFlag(line);
    }
    if (flags & WATCHED_LINE) {
      const fn = this.watches.get(off >>> 2);
      if (fn) {
        fn(this.i32[off >>> 2] >>> 0);
        fired = true;
      }
    }
    if (flags & DIRTY_LINE) this.dirty!.written(off >>> PAGE_SHIFT);
    const w = off >>> 2;
    if (flags & CODE_LINE && this.codeWords[w >>> 5] & (1 << (w & 31))) {
      this.invalidatePage(off >>> PAGE_SHIFT);
      fired = true;
    }
    return fired;
  }

  /** Drop every copy of every page (fence.i, reloading a program). */
  invalidateAll(): void {
    for (let p = 0; p < this.codePages.length; p++) this.invalidatePage(p);
  }

  /** Host-side copy into guest RAM (loader, hypervisor); keeps translated code coherent. */
  writeBytes(addr: number, bytes: Uint8Array): void {
    if (!this.inRam(addr, bytes.length)) {
      throw new RangeError(`write of ${bytes.length} bytes at 0x${(addr >>> 0).toString(16)} is outside RAM`);
    }
    const off = addr - this.ramBase;
    this.u8.set(bytes, off);
    if (bytes.length > 0) {
      for (let p = off >>> PAGE_SHIFT; p <= (off + bytes.length - 1) >>> PAGE_SHIFT; p++) {
        this.invalidatePage(p);
        this.dirty?.written(p);
      }
    }
  }

  /**
   * Host-side zero fill (a loader's .bss). Pages whose part of the range holds zeros already are not
   * written — they need no invalidation and no dirty mark, and stay unmapped (lazy-buffer.ts).
   */
  zeroBytes(addr: number, len: number): void {
    if (!this.inRam(addr, len)) {
      throw new RangeError(`zero fill of ${len} bytes at 0x${(addr >>> 0).toString(16)} is outside RAM`);
    }
    const end = addr - this.ramBase + len;
    for (let off = addr - this.ramBase; off < end;) {
      const page = off >>> PAGE_SHIFT;
      const stop = Math.min(end, (page + 1) * PAGE_SIZE);
      if (!this.isZero(off, stop)) {
        this.u8.fill(0, off, stop);
        this.invalidatePage(page);
        this.dirty?.written(page);
      }
      off = stop;
    }
  }

  /** Whether RAM bytes [from, to) (offsets) are all zero; reading an unmapped page maps nothing. */
  private isZero(from: number, to: number): boolean {
    let i = from;
    for (; i < to && i & 3; i++) if (this.u8[i] !== 0) return false;
    for (; i + 4 <= to; i += 4) if (this.i32[i >>> 2] !== 0) return false;
    for (; i < to; i++) if (this.u8[i] !== 0) return false;
    return true;
  }

  readBytes(addr: number, len: number): Uint8Array {
    if (!this.inRam(addr, len)) {
      throw new RangeError(`read of ${len} bytes at 0x${(addr >>> 0).toString(16)} is outside RAM`);
    }
    const off = addr - this.ramBase;
    return this.u8.slice(off, off + len);
  }

  readU32(addr: number): number {
    return new DataView(this.u8.buffer).getUint32(addr - this.ramBase, true);
  }

  writeU32(addr: number, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    this.writeBytes(addr, b);
  }
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('vsim needs a little-endian host: guest RAM is viewed through typed arrays');
}
