// Popek–Goldberg equivalence on a real guest kernel (guests/rv32/kernel): the same unmodified
// kernel binary — which programs the timer, preempts U-mode tasks and serves their system calls —
// prints byte for byte what it prints natively (on the bare machine under its own firmware,
// guests/rv32/expected/native-kernel-*.txt), whether it runs in S-mode calling the hypervisor by
// SBI, deprivileged with its sensitive instructions trapping (trap-and-emulate), or deprivileged
// with them translated into calls (binary translation); its paravirtualized build prints the same
// while running deprivileged without executing a single privileged instruction (every exit is a
// hypercall or a trap of its tasks), and masks interrupts without exiting at all.

import { existsSync, readFileSync } from 'fs';
import { resolve } from 'path';
import { runEmbedded, SimSpec, VmSpec } from '@vsim/control';

const GUESTS = resolve(__dirname, '../../../guests/rv32');
const WORKLOADS = ['cpu', 'syscall', 'timer', 'io', 'nnull', 'nsyscall', 'ntimer', 'nmask', 'ncsr'];

/** A run's VM result and its exits (traps and hypercalls, not calls from translated code) by handler, from the event log. */
async function runCounting(s: SimSpec) {
  const { result, log } = await runEmbedded(s);
  const exits: Record<string, number> = {};
  for (const e of log.all()) {
    if ((e.kind === 'trap' || e.kind === 'hypercall') && e.path !== 'translated') exits[e.cause] = (exits[e.cause] ?? 0) + 1;
  }
  return { vm: result.vms[0], endNs: result.hosts[0].endNs, exits };
}
const total = (exits: Record<string, number>) => Object.values(exits).reduce((a, n) => a + n, 0);

function spec(image: string, technique: VmSpec['technique'], trapPath: SimSpec['trapPath'] = 'split'): SimSpec {
  return {
    name: 'kernel',
    seed: 1,
    durationNs: 5e9,
    trapPath,
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus: 1, clockHz: 1e9, quantumNs: 10_000 }],
    vms: [
      {
        id: 'k',
        host: 'h0',
        vcpus: 1,
        memoryBytes: 8 << 20,
        image: `${GUESTS}/bin/${image}`,
        args: [],
        kind: 'kernel',
        engine: 'bt',
        technique,
        sched: {},
      },
    ],
  };
}

describe.each(WORKLOADS)('guest kernel, %s workload', (w) => {
  const golden = `${GUESTS}/expected/native-kernel-${w}.txt`;
  const run = (image: string, technique: VmSpec['technique']) => runCounting(spec(image, technique));

  it('prints exactly its native output under paravirt, trap-and-emulate and binary translation', async () => {
    const expected = existsSync(golden) ? readFileSync(golden, 'utf8') : undefined;
    const runs = {
      s: await run(`kernel-${w}.elf`, 'paravirt'),
      tae: await run(`kernel-${w}.elf`, 'trap-and-emulate'),
      bt: await run(`kernel-${w}.elf`, 'binary-translation'),
      pv: await run(`kernel-pv-${w}.elf`, 'paravirt'),
    };
    const results = { s: runs.s.vm, tae: runs.tae.vm, bt: runs.bt.vm, pv: runs.pv.vm };
    for (const [name, vm] of Object.entries(results)) {
      expect({ name, state: vm.state }).toEqual({ name, state: 'halted' });
      expect({ name, console: vm.console }).toEqual({ name, console: expected ?? results.s.console });
    }
    expect(results.s.console).toMatch(/memory checksum/);
    // Trap-and-emulate exits on every sensitive instruction; translation calls instead of exiting.
    const exits = (vm: typeof results.s) =>
      Object.entries(vm.exits)
        .filter(([k]) => k.startsWith('tae.'))
        .reduce((a, [, n]) => a + n, 0);
    expect(exits(results.tae)).toBeGreaterThan(0);
    expect(exits(results.s)).toBe(0);
    // The paravirtual kernel: only hypercalls (pv.*, and sbi.* for console and shutdown) and the
    // delivery of its tasks' traps and its timer events; no privileged instruction was emulated.
    const pv = runs.pv.exits;
    expect(
      Object.keys(pv).filter(
        (k) => !/^(pv\.(register_shared_info|set_callback|iret|set_timer|block|event_check|multicall|inject|irq\.timer)|sbi\.(dbcn|srst)\.)/.test(k),
      ),
    ).toEqual([]);
    expect(pv['pv.register_shared_info']).toBe(1);
    // And it exits less than the trap-and-emulated unmodified kernel.
    expect(total(pv)).toBeLessThan(total(runs.tae.exits));
  }, 120_000);
});

describe('paravirtual kernel', () => {
  const run = (image: string, technique: VmSpec['technique'], trapPath: SimSpec['trapPath'] = 'split') =>
    runCounting(spec(image, technique, trapPath));
  const iterations = (console: string) => Number(/bench: \w+ x (\d+)/.exec(console)![1]);

  it('masks and unmasks interrupts with no exit (shared info page), where trap-and-emulate exits on each', async () => {
    const pvNull = await run('kernel-pv-nnull.elf', 'paravirt');
    const pvMask = await run('kernel-pv-nmask.elf', 'paravirt');
    const taeNull = await run('kernel-nnull.elf', 'trap-and-emulate');
    const taeMask = await run('kernel-nmask.elf', 'trap-and-emulate');
    const n = iterations(pvMask.vm.console);
    expect(n).toBeGreaterThanOrEqual(1000);
    expect(pvMask.exits).toEqual(pvNull.exits);
    expect(pvMask.exits['pv.event_check']).toBeUndefined();
    // One disable (csrc sie) and one enable (csrs sie) per iteration.
    expect(total(taeMask.exits) - total(taeNull.exits)).toBe(2 * n);
  }, 60_000);

  it('batches timer programming into multicalls and a system call costs two exits (trap + iret)', async () => {
    const pvNull = (await run('kernel-pv-nnull.elf', 'paravirt')).exits;
    const pvTimer = await run('kernel-pv-ntimer.elf', 'paravirt');
    const pvSys = await run('kernel-pv-nsyscall.elf', 'paravirt');
    const n = iterations(pvTimer.vm.console);
    const multicalls = pvTimer.exits['pv.multicall'] - pvNull['pv.multicall'];
    expect(multicalls).toBeGreaterThan(0);
    expect(multicalls).toBeLessThanOrEqual(Math.ceil(n / 7));
    expect(total(pvSys.exits) - total(pvNull)).toBe(2 * iterations(pvSys.vm.console));
  }, 60_000);

  it('gives identical results on the split and remote trap paths', async () => {
    // cpu: timer events delivered through the shared page, set timer + iret multicalls;
    // io: set timer + block multicalls restarted after the wake-up (continuations).
    for (const [image, handler] of [
      ['kernel-pv-cpu.elf', 'pv.irq.timer'],
      ['kernel-pv-io.elf', 'pv.multicall'],
    ]) {
      const split = await run(image, 'paravirt', 'split');
      expect(split.exits[handler]).toBeGreaterThan(0);
      const remote = await run(image, 'paravirt', 'remote');
      expect(remote.vm.console).toBe(split.vm.console);
      expect(remote.exits).toEqual(split.exits);
      expect(remote.endNs).toBe(split.endNs);
    }
  }, 120_000);
});
