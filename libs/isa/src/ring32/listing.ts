// Disassembly of a whole ring32 image: one line per word, `address: word  instruction`. Data words
// print as `.word`, so the text of a listing (after the colon and word) assembles back to the image.

import { ring32 } from '.';

export function disassembleRing32(bytes: Uint8Array, origin = 0): string {
  if (origin % 4 !== 0) throw new RangeError(`origin 0x${origin.toString(16)} is not word aligned`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines: string[] = [];
  for (let off = 0; off + 4 <= bytes.length; off += 4) {
    const w = view.getUint32(off, true);
    const pc = (origin + off) >>> 0;
    lines.push(`${pc.toString(16).padStart(8, '0')}: ${w.toString(16).padStart(8, '0')}  ${ring32.disassemble(w, pc)}`);
  }
  const tail = bytes.length % 4;
  if (tail) {
    const start = bytes.length - tail;
    const pc = (origin + start) >>> 0;
    lines.push(
      `${pc.toString(16).padStart(8, '0')}: ${Array.from(bytes.subarray(start), (b) => b.toString(16).padStart(2, '0'))
        .join('')
        .padEnd(8)}  .byte ${Array.from(bytes.subarray(start)).join(', ')}`,
    );
  }
  return lines.join('\n');
}
