// The memory slow paths every hart shares. Generated code does plain aligned RAM accesses itself;
// everything else — a misaligned address, a device, RAM that holds decoded code or a reservation —
// comes here. Only the fault causes differ between ISAs, so each hart passes its own.

import { Bus, LINE_SHIFT, ReservationHolder } from './bus';

/** The hart state a slow path needs. */
export interface SlowPathHart {
  readonly bus: Bus;
  readonly ramBase: number;
  readonly ramSize: number;
  /** Raises a synchronous exception (never returns). */
  raise(cause: number, tval: number): never;
}

/** An ISA's exception causes for bad data accesses. */
export interface AccessFaults {
  readonly loadMisaligned: number;
  readonly loadFault: number;
  readonly storeMisaligned: number;
  readonly storeFault: number;
}

/** Offset of [addr, addr + width) in the hart's RAM, or -1 when it is not all RAM. */
export function ramOffset(h: SlowPathHart, addr: number, width: number): number {
  const off = addr - h.ramBase;
  return off >= 0 && off + width <= h.ramSize ? off : -1;
}

/** A load of `width` bytes at uint32 `a`, sign- or zero-extended. */
export function loadSlow(h: SlowPathHart, faults: AccessFaults, a: number, width: 1 | 2 | 4, signed: boolean): number {
  if (a & (width - 1)) h.raise(faults.loadMisaligned, a);
  const off = ramOffset(h, a, width);
  const b = h.bus;
  if (off >= 0) {
    if (width === 4) return b.i32[off >>> 2];
    if (width === 2) return signed ? b.i16[off >>> 1] : b.u16[off >>> 1];
    return signed ? b.i8[off] : b.u8[off];
  }
  const dev = b.deviceAt(a);
  if (!dev) h.raise(faults.loadFault, a);
  const v = dev.load(a - dev.base, width);
  if (width === 4) return v | 0;
  if (width === 2) return signed ? (v << 16) >> 16 : v & 0xffff;
  return signed ? (v << 24) >> 24 : v & 0xff;
}

/**
 * A store of the low `width` bytes of `v` at uint32 `a`. Returns true when it had an effect the
 * engine must see before the next instruction: code changed under a decoded or translated copy, a
 * host watch fired, or a device was written (which may arm a timer or halt the machine). `by` is
 * the storing hart when its ISA has LR reservations (the bus cancels other harts' on that word).
 */
export function storeSlow(h: SlowPathHart, faults: AccessFaults, a: number, width: 1 | 2 | 4, v: number, by?: ReservationHolder): boolean {
  if (a & (width - 1)) h.raise(faults.storeMisaligned, a);
  const off = ramOffset(h, a, width);
  const b = h.bus;
  if (off >= 0) {
    if (width === 4) b.i32[off >>> 2] = v;
    else if (width === 2) b.u16[off >>> 1] = v;
    else b.u8[off] = v;
    return b.storeFlags[off >>> LINE_SHIFT] !== 0 && b.storeHook(off, by);
  }
  const dev = b.deviceAt(a);
  if (!dev) h.raise(faults.storeFault, a);
  dev.store(a - dev.base, width, width === 4 ? v >>> 0 : v & (width === 2 ? 0xffff : 0xff));
  return true;
}
