// Paravirtual guests end to end: S-mode programs that reach the hypervisor only through SBI calls
// run as VMs sharing a host, on every engine, and print exactly what they print on QEMU with a
// reference SBI implementation (guests/rv32/expected/sbi-*.txt, .end).

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { ENGINE_NAMES, parseElf32 } from '@vsim/isa';
import { runEmbedded, SimSpec, VmSpec } from '@vsim/control';

const GUESTS = resolve(__dirname, '../../../guests/rv32');
const NAMES = ['hello', 'compute', 'sleeper', 'ticker', 'fault', 'hostile'];

function sbiVm(name: string, engine: VmSpec['engine'], technique: VmSpec['technique'] = 'paravirt'): VmSpec {
  return {
    id: name,
    host: 'h0',
    vcpus: 1,
    memoryBytes: 4 << 20,
    image: `${GUESTS}/bin/sbi-${name}.elf`,
    args: [],
    kind: 'kernel',
    engine,
    technique,
    sched: {},
  };
}

function spec(engine: VmSpec['engine'], over: Partial<SimSpec> = {}, technique: VmSpec['technique'] = 'paravirt'): SimSpec {
  return {
    name: 'sbi',
    seed: 1,
    durationNs: 500e6,
    trapPath: 'split',
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus: 2, clockHz: 1e9, quantumNs: 10_000 }],
    vms: NAMES.map((n) => sbiVm(n, engine, technique)),
    ...over,
  };
}

const expected = (name: string, ext: string) => readFileSync(`${GUESTS}/expected/sbi-${name}.${ext}`, 'utf8');

describe('SBI guests on the runtime', () => {
  it.each(ENGINE_NAMES)('print what they print on QEMU, and end the same way (engine %s)', async (engine) => {
    const { result } = await runEmbedded(spec(engine));
    for (const name of NAMES) {
      const vm = result.vms.find((v) => v.id === name)!;
      const end = expected(name, 'end').trim();
      const redirected = end.startsWith('exception mcause=2 ');
      if (!redirected) expect({ name, console: vm.console }).toEqual({ name, console: expected(name, 'txt') });
      if (end === 'legacy shutdown') {
        expect(vm.state).toBe('halted');
        expect(vm.exits['sbi.legacy.shutdown']).toBe(1);
      } else if (end.startsWith('shutdown')) {
        expect(vm.state).toBe('halted');
        expect(`shutdown reason=${vm.exitStatus}`).toBe(end);
      } else if (redirected) {
        // The qemu shim stops the VM at an illegal instruction; vsim's hypervisor redirects it to the
        // guest kernel, as OpenSBI does (libs/hypervisor/src/illegal.ts): the guest's runtime reports the same
        // cause, pc and instruction and shuts down with reason 1 (system failure).
        const m = /mepc=(0x[0-9a-f]+) mtval=(0x[0-9a-f]+)/.exec(end)!;
        expect({ name, console: vm.console, state: vm.state, exitStatus: vm.exitStatus }).toEqual({
          name,
          console: `${expected(name, 'txt')}sbi-rt: unexpected trap: scause=0x00000002 sepc=${m[1]} stval=${m[2]}\n`,
          state: 'halted',
          exitStatus: 1,
        });
      } else {
        const m = /mcause=(\d+) mepc=0x([0-9a-f]+) mtval=0x([0-9a-f]+)/.exec(end)!;
        expect(vm.state).toBe('faulted');
        expect(vm.fault).toContain(`at pc 0x${m[2].replace(/^0+/, '')}`);
      }
    }
  });

  it('gives the same event-log hash on every engine and on both trap paths', async () => {
    const hashes = new Set<string>();
    for (const engine of ENGINE_NAMES) hashes.add((await runEmbedded(spec(engine))).result.eventLogHash);
    hashes.add((await runEmbedded(spec('bt', { trapPath: 'remote' }))).result.eventLogHash);
    expect(hashes.size).toBe(1);
  });

  it('blocks a sleeping guest in wfi until its timer fires, and counts its hypercalls', async () => {
    const { result } = await runEmbedded(spec('bt'));
    const sleeper = result.vms.find((v) => v.id === 'sleeper')!;
    expect(sleeper.blockedNs).toBeGreaterThanOrEqual(19e6); // 20 sleeps of 1 ms, minus rounding to the quantum
    expect(sleeper.exits['sbi.time.set_timer']).toBe(40);
    const ticker = result.vms.find((v) => v.id === 'ticker')!;
    expect(ticker.exits['sbi.time.set_timer']).toBeGreaterThanOrEqual(50);
  });

  // Popek–Goldberg equivalence: the same unmodified guests, run deprivileged with their sensitive
  // instructions trapping to the hypervisor, see exactly the machine they saw in S-mode.
  it.each(ENGINE_NAMES)('under trap-and-emulate print exactly what they print in S-mode (engine %s)', async (engine) => {
    const pv = await runEmbedded(spec(engine));
    const tae = await runEmbedded(spec(engine, {}, 'trap-and-emulate'));
    for (const name of NAMES) {
      const a = pv.result.vms.find((v) => v.id === name)!;
      const b = tae.result.vms.find((v) => v.id === name)!;
      expect({ name, console: b.console, state: b.state, exitStatus: b.exitStatus }).toEqual({
        name,
        console: a.console,
        state: a.state,
        exitStatus: a.exitStatus,
      });
    }
    const ticker = tae.result.vms.find((v) => v.id === 'ticker')!;
    // Every timer interrupt was injected by the hypervisor and every sret emulated.
    expect(ticker.exits['tae.irq.timer']).toBe(50);
    expect(ticker.exits['tae.sret']).toBe(50);
    const sleeper = tae.result.vms.find((v) => v.id === 'sleeper')!;
    expect(sleeper.exits['tae.wfi']).toBe(20);
    expect(sleeper.blockedNs).toBeGreaterThanOrEqual(19e6);
  });

  it("under binary translation print the same, with the kernel's sensitive instructions turned into calls, not exits", async () => {
    const pv = await runEmbedded(spec('bt'));
    const tae = await runEmbedded(spec('bt', {}, 'trap-and-emulate'));
    const bt = await runEmbedded(spec('bt', {}, 'binary-translation'));
    for (const name of NAMES) {
      const a = pv.result.vms.find((v) => v.id === name)!;
      const b = bt.result.vms.find((v) => v.id === name)!;
      expect({ name, console: b.console, state: b.state }).toEqual({ name, console: a.console, state: a.state });
    }
    const translated = bt.log.all().filter((e) => e.path === 'translated');
    expect(translated.length).toBeGreaterThan(200); // ticker: 50 x (sret + scause/sepc/stval reads) ...
    expect(translated.every((e) => e.cause.startsWith('tae.'))).toBe(true);
    // The same work costs the guest far less virtual time than trapping for each instruction.
    const cost = (r: typeof bt, vm: string) =>
      r.log
        .all()
        .filter((e) => e.vm === vm && e.cause.startsWith('tae.csr'))
        .reduce((a, e) => a + e.value, 0);
    expect(cost(bt, 'ticker')).toBeLessThan(cost(tae, 'ticker') / 5);
  });

  // An illegal instruction the hypervisor cannot emulate is redirected into the guest kernel, as
  // OpenSBI does (libs/hypervisor/src/illegal.ts): sbi-probe handles one, skips it and runs to completion.
  it.each(['paravirt', 'trap-and-emulate', 'binary-translation'] as const)(
    'redirect an illegal instruction to the guest kernel, which handles it and goes on (%s)',
    async (technique) => {
      const { result, log } = await runEmbedded(spec('bt', { vms: [sbiVm('probe', 'bt', technique)] }));
      const vm = result.vms[0];
      expect({ console: vm.console, state: vm.state, exitStatus: vm.exitStatus }).toEqual({
        console:
          `${expected('probe', 'txt')}` +
          'sbi-probe: absent (1 trap, scause 2, stval 0x00b5050b, at the probe: yes)\n' +
          'sbi-probe: a0 after the skipped probe: 40\n' +
          'sbi-probe: going on without it: sum of squares 1..1000 = 333833500\n',
        state: 'halted',
        exitStatus: 0,
      });
      // One exit, routed to an interpreter routine, which entered the kernel's handler (crt0's
      // sbi_trap_entry); the guest itself checks scause, sepc (= the probe) and stval.
      const redirects = log.all().filter((e) => e.cause === 'illegal-instruction');
      const entry = parseElf32(new Uint8Array(readFileSync(`${GUESTS}/bin/sbi-probe.elf`))).symbols.get('sbi_trap_entry')!;
      expect(redirects.map((e) => ({ kind: e.kind, route: e.route, path: e.path, detail: e.detail }))).toEqual([
        { kind: 'trap', route: 'interpreter', path: 'local', detail: `redirected to stvec 0x${entry.toString(16)}` },
      ]);
      expect(vm.exits['illegal-instruction']).toBe(1);
    },
  );
});
