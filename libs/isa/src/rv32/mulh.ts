// High halves of 32x32-bit products without BigInt: split each operand into 16-bit halves so
// every partial product is exact in a double (< 2^53), then carry the middle terms up.

function high(ah: number, al: number, bh: number, bl: number): number {
  const lo = al * bl;
  const mid = ah * bl + al * bh + Math.floor(lo / 65536);
  return (ah * bh + Math.floor(mid / 65536)) | 0;
}

/** Signed x signed, upper 32 bits. */
export function mulh(a: number, b: number): number {
  return high(a >> 16, a & 0xffff, b >> 16, b & 0xffff);
}

/** Unsigned x unsigned, upper 32 bits. */
export function mulhu(a: number, b: number): number {
  return high(a >>> 16, a & 0xffff, b >>> 16, b & 0xffff);
}

/** Signed a x unsigned b, upper 32 bits. */
export function mulhsu(a: number, b: number): number {
  return high(a >> 16, a & 0xffff, b >>> 16, b & 0xffff);
}
