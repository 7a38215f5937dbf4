// The virtual platform's timer: the rate of its `time` and what one tick costs on a pCPU.

/** Timer ticks per second of the virtual platform's `time` (10 MHz, as QEMU's virt machine). */
export const TIMEBASE_HZ = 10_000_000;

/** Host cycles per tick of the virtual platform's timer, on a pCPU of `clockHz`. */
export function cyclesPerTickOf(clockHz: number): number {
  return Math.max(1, Math.round(clockHz / TIMEBASE_HZ));
}
