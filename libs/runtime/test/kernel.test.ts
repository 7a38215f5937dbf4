// Popek–Goldberg equivalence on a real guest kernel (guests/rv32/kernel): the same unmodified
// kernel binary — which programs the timer, preempts U-mode tasks and serves their system calls —
// prints byte for byte what it prints natively (on the bare machine under its own firmware,
// guests/rv32/expected/native-kernel-*.txt), whether it runs in S-mode calling the hypervisor by
// SBI, deprivileged with its sensitive instructions trapping (trap-and-emulate), or deprivileged
// with them translated into calls (binary translation); its paravirtualized build prints the same.

import { existsSync, readFileSync } from 'fs';
import { resolve } from 'path';
import { runEmbedded, SimSpec, VmSpec } from '@vsim/runtime';

const GUESTS = resolve(__dirname, '../../../guests/rv32');
const WORKLOADS = ['cpu', 'syscall', 'timer', 'io'];

function spec(image: string, technique: VmSpec['technique']): SimSpec {
  return {
    name: 'kernel', seed: 1, durationNs: 5e9, trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 }],
    vms: [{ id: 'k', host: 'h0', vcpus: 1, memoryBytes: 8 << 20, image: `${GUESTS}/bin/${image}`, args: [], kind: 'sbi', engine: 'bt', technique, sched: {} }],
  };
}

describe.each(WORKLOADS)('guest kernel, %s workload', (w) => {
  const golden = `${GUESTS}/expected/native-kernel-${w}.txt`;
  const run = async (image: string, technique: VmSpec['technique']) => (await runEmbedded(spec(image, technique))).result.vms[0];

  it('prints exactly its native output under paravirt, trap-and-emulate and binary translation', async () => {
    const expected = existsSync(golden) ? readFileSync(golden, 'utf8') : undefined;
    const results = {
      s: await run(`kernel-${w}.elf`, 'paravirt'),
      tae: await run(`kernel-${w}.elf`, 'trap-and-emulate'),
      bt: await run(`kernel-${w}.elf`, 'binary-translation'),
      pv: await run(`kernel-pv-${w}.elf`, 'paravirt'),
    };
    for (const [name, vm] of Object.entries(results)) {
      expect({ name, state: vm.state }).toEqual({ name, state: 'halted' });
      expect({ name, console: vm.console }).toEqual({ name, console: expected ?? results.s.console });
    }
    expect(results.s.console).toMatch(/memory checksum/);
    // Trap-and-emulate exits on every sensitive instruction; translation calls instead of exiting.
    const exits = (vm: typeof results.s) => Object.entries(vm.exits).filter(([k]) => k.startsWith('tae.')).reduce((a, [, n]) => a + n, 0);
    expect(exits(results.tae)).toBeGreaterThan(0);
    expect(exits(results.s)).toBe(0);
  }, 120_000);
});
