// Guest RAM mapped lazily (memory/lazy-buffer.ts) and a loader's .bss zeroed without touching pages
// that hold zeros already (Bus.zeroBytes): same contents, invalidation and dirty log as writing zeros.

import { Bus, DirtyPages, PAGE_SIZE } from '../src';
import { lazyZeroedBuffer } from '../src/memory/lazy-buffer';

const BASE = 0x80000000;

describe('lazy guest memory', () => {
  it('RAM of any size starts zeroed, with views exactly the size of RAM', () => {
    for (const size of [PAGE_SIZE, 3 * PAGE_SIZE, 64 * 1024, 17 * PAGE_SIZE + 64 * 1024]) {
      const bus = new Bus(BASE, size);
      expect(bus.u8.length).toBe(size);
      expect(bus.i32.length).toBe(size / 4);
      expect(bus.u16.length).toBe(size / 2);
      expect(bus.u8.every((b) => b === 0)).toBe(true);
      expect(() => bus.writeBytes(BASE + size - 1, new Uint8Array(2))).toThrow(/outside RAM/);
    }
    expect(lazyZeroedBuffer(100_000).byteLength).toBeGreaterThanOrEqual(100_000);
  });

  it('zeroBytes zeroes, invalidates code and logs dirty pages only where bytes were not zero', () => {
    const bus = new Bus(BASE, 8 * PAGE_SIZE);
    bus.writeBytes(BASE + 2 * PAGE_SIZE + 5, Uint8Array.of(1, 2, 3));
    bus.writeBytes(BASE + 6 * PAGE_SIZE - 1, Uint8Array.of(9));
    bus.markCode(BASE + 2 * PAGE_SIZE + 4, 4);
    const dropped: number[] = [];
    bus.onCodeChange((p) => dropped.push(p));
    bus.dirty = new DirtyPages(bus, 1);
    bus.zeroBytes(BASE + PAGE_SIZE + 7, 5 * PAGE_SIZE);
    expect(bus.u8.every((b) => b === 0)).toBe(true);
    expect(dropped).toEqual([2]);
    expect(bus.dirty.writtenSince(1)).toEqual([2, 5]);
    expect(() => bus.zeroBytes(BASE + 8 * PAGE_SIZE - 2, 4)).toThrow(/outside RAM/);
  });
});
