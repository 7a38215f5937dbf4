// Popek–Goldberg: the analysis from the table's metadata, and the prober that checks the metadata
// by running every instruction in user and system mode.

import { analyzeIsa, InstrDef, Isa, probeIsa, rv32 } from '@vsim/isa';

/** rv32 with one instruction's metadata replaced: a deliberately wrong table. */
function withMeta(name: string, meta: Partial<InstrDef['meta']>): Isa {
  return {
    ...rv32,
    instructions: rv32.instructions.map((d) => (d.name === name ? { ...d, meta: { ...d.meta, ...meta } } : d)),
  };
}

describe('Popek–Goldberg analysis', () => {
  it('finds rv32 classically virtualizable: every sensitive instruction is privileged', () => {
    const a = analyzeIsa(rv32);
    expect(a.virtualizable).toBe(true);
    expect(a.critical).toEqual([]);
    expect(a.privileged).toEqual(expect.arrayContaining(['mret', 'sret', 'wfi', 'csrrw', 'csrrs']));
    expect(a.innocuous).toEqual(expect.arrayContaining(['add', 'lw', 'sw', 'jal', 'ecall']));
    for (const s of a.sensitive) expect(a.privileged).toContain(s);
  });

  it('names the critical instruction when the table has a sensitive unprivileged one', () => {
    const a = analyzeIsa(withMeta('csrrs', { privileged: false }));
    expect(a.virtualizable).toBe(false);
    expect(a.critical).toEqual(['csrrs']);
    expect(a.verdict).toMatch(/not classically virtualizable: csrrs is sensitive but unprivileged/);
  });
});

describe('empirical prober', () => {
  it('agrees with the rv32 table', () => {
    const r = probeIsa(rv32, 12);
    expect(r.mismatches).toEqual([]);
    const seen = (n: string) => r.observations.find((o) => o.name === n)!;
    expect(seen('mret')).toMatchObject({ privileged: true, controlSensitive: true });
    expect(seen('csrrw')).toMatchObject({ privileged: true, controlSensitive: true });
    expect(seen('add')).toMatchObject({ privileged: false, controlSensitive: false, behaviorSensitive: false });
  });

  it('finds a privileged instruction the table calls unprivileged', () => {
    const r = probeIsa(withMeta('sret', { privileged: false }), 12);
    expect(r.mismatches).toEqual([expect.objectContaining({ name: 'sret', property: 'privileged', metadata: false, observed: true })]);
  });

  it('finds a sensitive instruction the table calls innocuous', () => {
    const r = probeIsa(withMeta('csrrw', { privileged: false, controlSensitive: false, behaviorSensitive: false }), 12);
    const props = r.mismatches
      .filter((m) => m.name === 'csrrw')
      .map((m) => m.property)
      .sort();
    expect(props).toEqual(['behaviorSensitive', 'controlSensitive', 'privileged']);
  });
});
