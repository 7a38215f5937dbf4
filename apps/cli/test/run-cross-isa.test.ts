// `vsim run examples/cross-isa.yaml` as a user runs it: ring32 and rv32 guests on hosts of both ISAs,
// the emulated ones listed with their expansion factor, and the ring32 kernel under plain
// trap-and-emulate diagnosed (the critical instructions that did not trap) in the summary.

import { spawnSync } from 'child_process';
import { join, resolve } from 'path';

const ROOT = resolve(__dirname, '../../..');
const VSIM = join(ROOT, 'apps/cli/bin/vsim.js');

describe('vsim run examples/cross-isa.yaml', () => {
  it('prints every VM halted, the emulated ones with their factor, and why trap-and-emulate diverges', () => {
    const r = spawnSync(process.execPath, [VSIM, 'run', 'examples/cross-isa.yaml'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const vm of [
      'r32k-native',
      'r32k-native-emu',
      'r32k-cp',
      'r32k-cp-emu',
      'r32k-tae',
      'rvk-native',
      'rvk-native-emu',
      'rv-checksum',
      'rv-checksum-emu',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^${vm}\\s+(rv|r32)\\s+halted\\(0\\)`, 'm'));
    }
    expect(r.stdout).toContain('  r32k-native-emu: ring32 on host rv (rv32), ×14');
    expect(r.stdout).toContain('  rv-checksum-emu: rv32 on host r32 (ring32), ×8');
    expect(r.stdout).toContain('r32k-tae: trap-and-emulate DIVERGES from native at console line 2');
    expect(r.stdout).toMatch(/r32k-tae: POPF at 0x[0-9a-f]{8} left IF unchanged in ring 1/);
    expect(r.stdout).toMatch(/r32k-tae: SMSW at 0x[0-9a-f]{8} revealed the real ring 1/);
    // The code-patched kernel is not diagnosed: only plain trap-and-emulate is.
    expect(r.stdout).not.toContain('r32k-cp: trap-and-emulate');
  });
});
