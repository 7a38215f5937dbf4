// Dirty-page logging for incremental snapshots, the way a hypervisor logs dirty pages for live
// migration: every page starts write-protected (DIRTY_LINE in the bus's store screen), the first
// store into it takes the store slow path, which records the page's generation and lifts the
// protection for the rest of the generation. Taking a snapshot begins a new generation and
// protects again only the pages written in the last one. Nothing is armed until the first snapshot,
// so a VM that is never snapshot pays nothing; one that is pays one slow store per page it writes
// per generation.

import { Bus, DIRTY_LINE, LINE_SHIFT, PAGE_SHIFT } from './bus';

const LINES_PER_PAGE = 1 << (PAGE_SHIFT - LINE_SHIFT);

export class DirtyPages {
  /** Per page, the generation it was last written in; 0 = not since logging began. */
  private readonly writtenIn: Uint32Array;
  /** Pages written (and so unprotected) in the current generation. */
  private touched: number[] = [];
  /** The current generation: pages written now are stamped with it. */
  private current: number;

  /**
   * Starts logging on `bus` at `generation` (>= 1): the generation of the snapshot just taken or
   * restored, whose pages count as clean.
   */
  constructor(
    private readonly bus: Bus,
    readonly firstGeneration: number,
  ) {
    if (!Number.isInteger(firstGeneration) || firstGeneration < 1)
      throw new RangeError(`dirty-page generation ${firstGeneration}: expected an integer >= 1`);
    this.current = firstGeneration;
    this.writtenIn = new Uint32Array(bus.ramSize >>> PAGE_SHIFT);
    const flags = bus.storeFlags;
    for (let l = 0; l < flags.length; l++) flags[l] |= DIRTY_LINE;
  }

  get generation(): number {
    return this.current;
  }

  /** The store slow path (or a host write) wrote RAM page `page`: stamp it and unprotect it. */
  written(page: number): void {
    if (this.writtenIn[page] === this.current) return;
    this.writtenIn[page] = this.current;
    this.touched.push(page);
    const flags = this.bus.storeFlags;
    for (let l = page * LINES_PER_PAGE; l < (page + 1) * LINES_PER_PAGE; l++) flags[l] &= ~DIRTY_LINE;
  }

  /** Pages written since the snapshot of generation `since` was taken, ascending. */
  writtenSince(since: number): number[] {
    if (since < this.firstGeneration || since > this.current) {
      throw new RangeError(`no dirty-page log since generation ${since}: this memory logs generations ${this.firstGeneration}..${this.current}`);
    }
    const out: number[] = [];
    for (let p = 0; p < this.writtenIn.length; p++) if (this.writtenIn[p] >= since) out.push(p);
    return out;
  }

  /** A snapshot was taken: begin the next generation, protecting again the pages written in this one. */
  advance(): number {
    const flags = this.bus.storeFlags;
    for (const page of this.touched) for (let l = page * LINES_PER_PAGE; l < (page + 1) * LINES_PER_PAGE; l++) flags[l] |= DIRTY_LINE;
    this.touched = [];
    return ++this.current;
  }
}
