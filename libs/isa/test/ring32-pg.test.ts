// Popek–Goldberg on ring32: the analysis of its metadata finds it not classically virtualizable,
// with POPF, PUSHF and SMSW critical; the empirical prober confirms the table, and catches a table
// that lies (POPF called innocuous, LPSW called unprivileged).

import { InstrDef, Isa, analyzeIsa, probeIsa, ring32, rv32 } from '@vsim/isa';

function withMeta(name: string, meta: Partial<InstrDef['meta']>): Isa {
  return { ...ring32, instructions: ring32.instructions.map((d) => (d.name === name ? { ...d, meta: { ...d.meta, ...meta } } : d)) };
}

describe('ring32 Popek–Goldberg analysis', () => {
  it('is not classically virtualizable: pushf, popf and smsw are critical', () => {
    const a = analyzeIsa(ring32);
    expect(a.virtualizable).toBe(false);
    expect(a.critical).toEqual(['pushf', 'popf', 'smsw']);
    expect(a.privileged).toEqual(['hlt', 'iret', 'cli', 'sti', 'lpsw', 'mfcr', 'mtcr', 'in', 'out']);
    expect(a.innocuous).toEqual(expect.arrayContaining(['add', 'lw', 'sw', 'jal', 'syscall', 'hcall']));
    expect(a.verdict).toMatch(/^ring32 is not classically virtualizable: pushf, popf, smsw are sensitive but unprivileged/);
    expect(analyzeIsa(rv32).virtualizable).toBe(true);
  });
});

describe('ring32 empirical prober', () => {
  const report = probeIsa(ring32, 10);
  const seen = (r: typeof report, n: string) => r.observations.find((o) => o.name === n)!;

  it('agrees with the table, and sees the critical instructions behave differently without trapping', () => {
    expect(report.mismatches).toEqual([]);
    expect(seen(report, 'popf')).toMatchObject({ privileged: false, controlSensitive: true, behaviorSensitive: true });
    expect(seen(report, 'pushf')).toMatchObject({ privileged: false, behaviorSensitive: true });
    expect(seen(report, 'smsw')).toMatchObject({ privileged: false, behaviorSensitive: true });
    expect(seen(report, 'lpsw')).toMatchObject({ privileged: true, controlSensitive: true });
    for (const n of ['add', 'lw', 'sw', 'beq', 'jalr', 'syscall']) {
      expect(seen(report, n)).toMatchObject({ privileged: false, controlSensitive: false, behaviorSensitive: false });
    }
  });

  it('catches POPF marked innocuous', () => {
    const r = probeIsa(withMeta('popf', { controlSensitive: false, behaviorSensitive: false }), 10);
    expect(r.mismatches.map((m) => [m.name, m.property]).sort()).toEqual([
      ['popf', 'behaviorSensitive'],
      ['popf', 'controlSensitive'],
    ]);
    expect(r.mismatches.find((m) => m.property === 'behaviorSensitive')!.why).toMatch(/popf/);
  });

  it('catches LPSW marked unprivileged', () => {
    const r = probeIsa(withMeta('lpsw', { privileged: false }), 10);
    expect(r.mismatches).toEqual([expect.objectContaining({ name: 'lpsw', property: 'privileged', metadata: false, observed: true })]);
  });

  it('catches SMSW marked innocuous, and a privileged instruction marked as never trapping', () => {
    expect(probeIsa(withMeta('smsw', { behaviorSensitive: false }), 10).mismatches).toEqual([
      expect.objectContaining({ name: 'smsw', property: 'behaviorSensitive', observed: true }),
    ]);
    expect(probeIsa(withMeta('add', { privileged: true }), 10).mismatches).toEqual([
      expect.objectContaining({ name: 'add', property: 'privileged', metadata: true, observed: false }),
    ]);
  });

  it('refuses an ISA it has no probe target for', () => {
    expect(() => probeIsa({ ...ring32, name: 'x86' })).toThrow(/no prober for ISA 'x86'/);
  });
});
