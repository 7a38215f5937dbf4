// Dirty-page logging (memory/dirty-pages.ts): the store screen sends the first store into a page
// after a snapshot to the slow path, which logs the page's generation; later stores stay fast.

import { Bus, DirtyPages, Hart, PAGE_SIZE } from '../src';

const BASE = 0x80000000;

function setup() {
  const bus = new Bus(BASE, 16 * PAGE_SIZE);
  return { bus, hart: new Hart(bus) };
}

describe('DirtyPages', () => {
  it('costs nothing before the first snapshot: the store screen is clear', () => {
    const { bus } = setup();
    expect(bus.dirty).toBeUndefined();
    expect(bus.storeFlags.every((f) => f === 0)).toBe(true);
  });

  it('logs the pages guest stores and host writes touch, per generation, and protects them again at the next', () => {
    const { bus, hart } = setup();
    bus.dirty = new DirtyPages(bus, 1);
    // Armed: every line sends stores to the slow path (the engines' fast path checks this screen).
    expect(bus.storeFlags.every((f) => f !== 0)).toBe(true);
    hart.st32(BASE + 3 * PAGE_SIZE + 8, 7);
    bus.writeBytes(BASE + 5 * PAGE_SIZE, new Uint8Array([1, 2]));
    expect(bus.dirty.writtenSince(1)).toEqual([3, 5]);
    // The written pages are fast again for the rest of the generation; the others are still armed.
    expect(bus.storeFlags[(3 * PAGE_SIZE) >>> 8]).toBe(0);
    expect(bus.storeFlags[(4 * PAGE_SIZE) >>> 8]).not.toBe(0);
    expect(bus.dirty.advance()).toBe(2);
    expect(bus.storeFlags[(3 * PAGE_SIZE) >>> 8]).not.toBe(0);
    hart.st8(BASE + 9 * PAGE_SIZE, 1);
    expect(bus.dirty.writtenSince(2)).toEqual([9]);
    expect(bus.dirty.writtenSince(1)).toEqual([3, 5, 9]);
    expect(bus.i32[(3 * PAGE_SIZE + 8) >>> 2]).toBe(7);
  });

  it('refuses a generation it has no log for, naming the ones it has', () => {
    const { bus } = setup();
    bus.dirty = new DirtyPages(bus, 4);
    expect(() => bus.dirty!.writtenSince(3)).toThrow('no dirty-page log since generation 3: this memory logs generations 4..4');
    expect(() => new DirtyPages(bus, 0)).toThrow(/expected an integer >= 1/);
  });
});
