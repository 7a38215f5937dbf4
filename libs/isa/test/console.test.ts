// The write-only console device (memory/console.ts) and its place in the bare machine: a byte
// stored at 0x10000000 is output (to the `console` callback and `consoleOutput`), other offsets
// ignore stores, and every read returns 0.
import { readFileSync } from 'fs';
import { join, resolve } from 'path';
import { BareMachine, Console, CONSOLE_BASE, ENGINE_NAMES } from '@vsim/isa';
import { iType, jType, li, sType, uType } from './helpers/asm';

const BARE_TEST = join(resolve(__dirname, '../../..'), 'guests/rv32/bin/bare-rv32ui-basic.elf');

const sb = (rs2: number, rs1: number, imm: number) => sType(0, 0x23, rs2, rs1, imm);
const sw = (rs2: number, rs1: number, imm: number) => sType(2, 0x23, rs2, rs1, imm);
const lw = (rd: number, rs1: number, imm: number) => iType(2, 0x03, rd, rs1, imm);

describe('Console device', () => {
  it('outputs bytes stored at offset 0 and ignores the rest', () => {
    const seen: number[] = [];
    const c = new Console((b) => seen.push(b));
    expect(c.base).toBe(CONSOLE_BASE);
    c.store(0, 1, 0x68);
    c.store(0, 4, 0x169); // only the low byte
    c.store(5, 1, 0x21); // not THR: ignored
    expect(seen).toEqual([0x68, 0x69]);
    expect(c.output()).toBe('hi');
    expect(c.load()).toBe(0);
  });

  for (const engine of ENGINE_NAMES) {
    it(`is at 0x10000000 in the bare machine (${engine})`, () => {
      // Replace a bare test's code with: store 'o', 'k', '\n' to THR, one to offset 4 (ignored),
      // read THR into RAM, then tohost = 1.
      const chunks: Uint8Array[] = [];
      const m = new BareMachine(readFileSync(BARE_TEST), { engine, console: (b) => chunks.push(b) });
      const tohost = m.image.symbols.get('tohost')!;
      const scratch = tohost + 16;
      const prog = [
        uType(0x37, 5, 0x10000), // lui t0, 0x10000
        ...li(6, 0x6f),
        sb(6, 5, 0),
        ...li(6, 0x6b),
        sb(6, 5, 0),
        ...li(6, 0x78),
        sb(6, 5, 4),
        ...li(6, 0x0a),
        sw(6, 5, 0),
        ...li(6, -1),
        lw(6, 5, 0), // reads 0
        ...li(7, scratch),
        sw(6, 7, 0),
        ...li(7, tohost),
        ...li(6, 1),
        sw(6, 7, 0),
        jType(0, 0),
      ];
      m.bus.writeBytes(m.image.entry, new Uint8Array(Uint32Array.from(prog.map((w) => w >>> 0)).buffer));
      const r = m.run(1_000_000);
      expect(r.outcome).toBe('pass');
      expect(m.consoleOutput).toBe('ok\n');
      expect(chunks.map((c) => Array.from(c))).toEqual([[0x6f], [0x6b], [0x0a]]);
      expect(m.bus.readU32(scratch)).toBe(0);
    });
  }
});
