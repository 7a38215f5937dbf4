// Guest memory in a snapshot: the pages that are not zero (full), or the pages written since an
// earlier snapshot (incremental, from the bus's dirty-page log: @vsim/isa DirtyPages).

import { Bus, DirtyPages, PAGE_SIZE } from '@vsim/isa';
import { GuestMemory, MemoryPage } from '@vsim/proto';

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

function isZero(bus: Bus, page: number): boolean {
  // A native compare (memcmp) against a page of zeros: a 16 MiB VM is scanned in a few milliseconds.
  return Buffer.from(bus.u8.buffer, bus.u8.byteOffset + page * PAGE_SIZE, PAGE_SIZE).equals(ZERO_PAGE);
}

function pageOf(bus: Bus, page: number, keepZero: boolean): MemoryPage | undefined {
  if (isZero(bus, page)) return keepZero ? { index: page, data: Buffer.alloc(0) } : undefined;
  const off = page * PAGE_SIZE;
  return { index: page, data: Buffer.from(bus.u8.subarray(off, off + PAGE_SIZE)) };
}

/**
 * The memory part of a snapshot, and the snapshot's dirty-page generation. `since`: only the pages
 * written after the snapshot of that generation (a page written back to zero included, empty);
 * else every non-zero page. Either way the log then begins the next generation.
 */
export function captureMemory(bus: Bus, since: number | undefined): { memory: GuestMemory; generation: number } {
  let pages: MemoryPage[];
  if (since !== undefined) {
    if (!bus.dirty) throw new RangeError(`incremental snapshot since generation ${since}: no snapshot of this VM was taken before`);
    pages = bus.dirty.writtenSince(since).map((p) => pageOf(bus, p, true)!);
  } else {
    pages = [];
    for (let p = 0; p < bus.ramSize / PAGE_SIZE; p++) {
      const page = pageOf(bus, p, false);
      if (page) pages.push(page);
    }
  }
  let generation: number;
  if (bus.dirty) generation = bus.dirty.advance();
  else {
    generation = 1;
    bus.dirty = new DirtyPages(bus, generation);
  }
  return { memory: { base: bus.ramBase, size: bus.ramSize, pageSize: PAGE_SIZE, pages }, generation };
}

/** Writes a snapshot's pages into `bus` (whose RAM a full snapshot expects zeroed), checking each. */
export function applyMemory(bus: Bus, m: GuestMemory | undefined, vm: string): void {
  if (!m) throw new RangeError(`snapshot of VM ${vm}: no memory`);
  if (m.base !== bus.ramBase || m.size !== bus.ramSize || m.pageSize !== PAGE_SIZE) {
    throw new RangeError(
      `snapshot of VM ${vm}: memory 0x${m.base.toString(16)}+${m.size} in pages of ${m.pageSize}, the VM has 0x${bus.ramBase.toString(16)}+${bus.ramSize} in pages of ${PAGE_SIZE}`,
    );
  }
  const pages = bus.ramSize / PAGE_SIZE;
  for (const p of m.pages) {
    if (p.index >= pages) throw new RangeError(`snapshot of VM ${vm}: memory page ${p.index} is past the end (${pages} pages)`);
    if (p.data.length !== 0 && p.data.length !== PAGE_SIZE)
      throw new RangeError(`snapshot of VM ${vm}: memory page ${p.index} has ${p.data.length} bytes, expected ${PAGE_SIZE} or 0`);
    const off = p.index * PAGE_SIZE;
    if (p.data.length === 0) bus.u8.fill(0, off, off + PAGE_SIZE);
    else bus.u8.set(p.data, off);
    // Nothing decoded from the old contents may survive (a restore may follow code patching's first scan).
    bus.invalidatePage(p.index);
  }
}
