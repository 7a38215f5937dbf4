// `vsim isa analyze` as a user runs it.

import { spawnSync } from 'child_process';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '../../..');

function vsim(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'apps/cli/bin/vsim.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vsim isa analyze', () => {
  it('finds rv32 classically virtualizable and its metadata confirmed by the prober', () => {
    const r = vsim('isa', 'analyze', '--samples', '8', 'rv32');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/critical:\s+\(none\)/);
    expect(r.stdout).toContain('rv32 is classically virtualizable');
    expect(r.stdout).toMatch(/^ {2}mret\s+observed privileged, control-sensitive/m);
    expect(r.stdout).toContain('metadata confirmed');
  });

  it('finds ring32 not classically virtualizable, names its critical instructions, and the prober agrees', () => {
    const r = vsim('isa', 'analyze', '--samples', '8', 'ring32');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/critical:\s+pushf popf smsw$/m);
    expect(r.stdout).toMatch(/^ {2}why popf is critical: .*outside ring 0 it silently leaves IF and the ring alone instead of trapping$/m);
    expect(r.stdout).toContain('ring32 is not classically virtualizable: pushf, popf, smsw are sensitive but unprivileged');
    expect(r.stdout).toMatch(/^ {2}popf\s+observed control-sensitive, behaviour-sensitive$/m);
    expect(r.stdout).toMatch(/^ {2}lpsw\s+observed privileged, control-sensitive$/m);
    expect(r.stdout).toContain('metadata confirmed');
  });

  it('rejects an unknown ISA with a usage error', () => {
    const r = vsim('isa', 'analyze', 'x86');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown ISA 'x86'/);
  });
});
