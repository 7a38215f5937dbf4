// Zeroed memory that costs nothing until it is touched, page by page (issue 12 item 1: an idle or
// small VM costs kilobytes, not its nominal memory). A plain `new ArrayBuffer(n)` comes from the C
// heap (calloc): whether its pages are mapped lazily depends on malloc's history — once the process
// has freed a buffer of that size, malloc serves the next one from its heap and zeroes it all, so a
// thousand 1 MiB VMs cost a thousand MiB. A WebAssembly.Memory is always mapped straight from the
// kernel (mmap), whose pages are zero-filled on first touch and shared with the zero page when only
// read; its buffer is an ordinary fixed-length ArrayBuffer, so typed-array views over it run as fast
// as over any other (measured with `npm run bench:isa`). Guest RAM therefore grows by the page as the
// guest (or a loader) writes it, with the engines and snapshots unchanged: they see one contiguous
// buffer as before.

/** WebAssembly memory grows by pages of 64 KiB. */
const WASM_PAGE = 1 << 16;
/** Below this, the C heap is as good (and a kernel mapping per tiny buffer is not worth it). */
const LAZY_MIN_BYTES = WASM_PAGE;
/** wasm32 memories hold at most 65,536 pages (4 GiB). */
const WASM_MAX_PAGES = 65536;

/** The part of WebAssembly.Memory used here (the project's TypeScript libs do not declare WebAssembly). */
type WasmMemoryCtor = new (desc: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
const WasmMemory = (globalThis as unknown as { WebAssembly?: { Memory: WasmMemoryCtor } }).WebAssembly?.Memory;

/**
 * A zeroed ArrayBuffer of at least `bytes` bytes whose pages are allocated on first write. Views
 * must give their length explicitly: the buffer is rounded up to whole 64 KiB pages.
 */
export function lazyZeroedBuffer(bytes: number): ArrayBuffer {
  if (bytes >= LAZY_MIN_BYTES && WasmMemory) {
    const pages = Math.ceil(bytes / WASM_PAGE);
    if (pages <= WASM_MAX_PAGES) {
      try {
        return new WasmMemory({ initial: pages, maximum: pages }).buffer;
      } catch {
        // Out of address space for another mapping: fall back to the heap, which works, only eagerly.
      }
    }
  }
  return new ArrayBuffer(bytes);
}
