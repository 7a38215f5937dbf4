// The bare machine with several harts (SMP): they share RAM and the CLINT and are interleaved round
// robin in fixed turns of virtual cycles, so a run is deterministic and independent of the engine.
// The program is the 2-hart guest kernel behind its firmware (guests/rv32: hart 1 parks in the
// firmware until hart 0 starts it through SBI HSM; IPIs go through the CLINT's msip).

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { BareMachine, ENGINE_NAMES } from '@vsim/isa';

const GUESTS = resolve(__dirname, '../../../guests/rv32');
const ELF = readFileSync(`${GUESTS}/bin/native-kernel-smp.elf`);
const GOLDEN = readFileSync(`${GUESTS}/expected/native-kernel-smp.txt`, 'utf8');

describe('BareMachine with 2 harts', () => {
  it.each(ENGINE_NAMES)('runs the SMP kernel to a clean shutdown on %s', (engine) => {
    const m = new BareMachine(ELF, { engine, harts: 2 });
    expect(m.harts.map((h) => h.hartId)).toEqual([0, 1]);
    const r = m.run(2_000_000_000);
    expect(r.outcome).toBe('pass');
    expect(m.consoleOutput).toBe(GOLDEN);
    // Both harts retired instructions: hart 1 did its share of the locked increments.
    expect(m.harts[1].instret).toBeGreaterThan(3000 * 10);
  });

  it('keeps the harts in step: neither runs more than a turn ahead of the other', () => {
    const m = new BareMachine(ELF, { harts: 2, quantumCycles: 500 });
    m.run(300_000);
    expect(Math.abs(m.harts[0].cycles - m.harts[1].cycles)).toBeLessThanOrEqual(500 + 2000); // a turn, plus one trap's cost
  });

  it('rejects a bad hart count or turn length, naming the option', () => {
    expect(() => new BareMachine(ELF, { harts: 0 })).toThrow(/harts: 0/);
    expect(() => new BareMachine(ELF, { harts: 33 })).toThrow(/harts: 33/);
    expect(() => new BareMachine(ELF, { harts: 2, quantumCycles: 0 })).toThrow(/quantumCycles: 0/);
  });
});
