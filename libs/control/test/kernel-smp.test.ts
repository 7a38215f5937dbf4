// SMP guests (issue 4, item 6): the 2-hart build of the guest kernel (guests/rv32/kernel/smp.c) —
// hart 0 starts hart 1 through SBI HSM, both increment a shared counter under an AMOSWAP spinlock
// and with LR/SC, and they signal each other with IPIs through SBI send_ipi — prints byte for byte
// its native output (2 harts on the bare machine under the firmware,
// guests/rv32/expected/native-kernel-smp.txt) under paravirt, trap-and-emulate and binary
// translation, on a 2-pCPU host (the vCPUs really interleave) and on a 1-pCPU host (they take
// turns), on both trap paths; the paravirtual build prints the same, truly paravirtualized (Xen-PV
// style, libs/hypervisor/src/pv.ts): deprivileged, one shared info area per vCPU, IPIs as events that respect
// the target's mask byte, no privileged instruction. The final counter and the checksum of the
// shared data are in the output.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { RunOrder, TrapAction, TrapRequest, VcpuState } from '@vsim/proto';
import { BareMachine, ENGINE_NAMES, EngineName } from '@vsim/isa';
import { handleTrap, SBI_EXT } from '@vsim/hypervisor';
import { HostExecutor, VmInstance } from '@vsim/executor';
import { runEmbedded, SimSpec, simSpecFromScenario, VmSpec } from '@vsim/control';
import { loadScenario } from '@vsim/scenario';

const GUESTS = resolve(__dirname, '../../../guests/rv32');
const GOLDEN = readFileSync(`${GUESTS}/expected/native-kernel-smp.txt`, 'utf8');

function spec(image: string, technique: VmSpec['technique'], pcpus: number, trapPath: 'split' | 'remote' = 'split'): SimSpec {
  return {
    name: 'kernel-smp',
    seed: 1,
    durationNs: 2e9,
    trapPath,
    scheduler: { policy: 'round-robin', params: { timeslice: 10e6 } },
    hosts: [{ id: 'h0', pcpus, clockHz: 1e9, quantumNs: 10_000 }],
    vms: [
      {
        id: 'k',
        host: 'h0',
        vcpus: 2,
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

const run = async (image: string, technique: VmSpec['technique'], pcpus: number, trapPath: 'split' | 'remote' = 'split') =>
  runEmbedded(spec(image, technique, pcpus, trapPath));

describe('the SMP guest kernel natively (2 harts on the bare machine)', () => {
  it("prints its golden output, whatever the harts' interleaving", () => {
    const instructions = new Set<number>();
    for (const quantumCycles of [97, 1000, 20_000]) {
      const m = new BareMachine(readFileSync(`${GUESTS}/bin/native-kernel-smp.elf`), { harts: 2, quantumCycles });
      const r = m.run(2_000_000_000);
      expect({ quantumCycles, outcome: r.outcome, console: m.consoleOutput }).toEqual({ quantumCycles, outcome: 'pass', console: GOLDEN });
      instructions.add(r.instructions);
    }
    // The interleavings really differed (lock spins, polls), the output did not.
    expect(instructions.size).toBe(3);
    expect(GOLDEN).toMatch(/smp: counter 6000 \(expected 6000\), lr\/sc counter 6000/);
    expect(GOLDEN).toMatch(/smp: ipis taken: hart 0 2, hart 1 1/);
    expect(GOLDEN).toMatch(/kernel: memory checksum: .* = [0-9a-f]{8}\n/);
  });

  it('runs deterministically: all four engines retire the same instructions and print the same', () => {
    const once = (engine: EngineName) => {
      const m = new BareMachine(readFileSync(`${GUESTS}/bin/native-kernel-smp.elf`), { harts: 2, engine });
      return { result: m.run(2_000_000_000), console: m.consoleOutput };
    };
    const first = once('dispatch');
    expect(first.console).toBe(GOLDEN);
    for (const engine of ENGINE_NAMES) expect({ engine, ...once(engine) }).toEqual({ engine, ...first });
  });

  it('deadlocks, rather than hangs, when the machine has one hart: hart 0 waits for an IPI nobody sends', () => {
    const m = new BareMachine(readFileSync(`${GUESTS}/bin/native-kernel-smp.elf`), { harts: 1 });
    expect(m.run(2_000_000_000).outcome).toBe('deadlock');
    expect(m.consoleOutput).toMatch(/smp: hart 0: 3000 locked increments done\n$/);
  });
});

describe.each([2, 1])('the SMP guest kernel on a %d-pCPU host', (pcpus) => {
  it.each([
    ['kernel-smp.elf', 'paravirt'],
    ['kernel-smp.elf', 'trap-and-emulate'],
    ['kernel-smp.elf', 'binary-translation'],
    ['kernel-pv-smp.elf', 'paravirt'],
  ] as const)('%s under %s prints exactly its native output', async (image, technique) => {
    const { result, log } = await run(image, technique, pcpus);
    const vm = result.vms[0];
    expect({ state: vm.state, fault: vm.fault, console: vm.console }).toEqual({ state: 'halted', fault: undefined, console: GOLDEN });
    // The cross-vCPU work went through the hypervisor: HSM and IPI calls, and (deprivileged) the
    // injected virtual software interrupts, one per IPI.
    expect(vm.exits['sbi.hsm.hart_start']).toBe(2);
    expect(vm.exits['sbi.hsm.hart_stop']).toBe(1);
    expect(vm.exits['sbi.ipi.send_ipi']).toBe(3);
    expect(vm.exits['tae.irq.software'] ?? 0).toBe(technique === 'paravirt' ? 0 : 3);
    const kinds = log
      .all()
      .filter((e) => e.vm === 'k')
      .map((e) => e.kind);
    expect(kinds.filter((k) => k === 'ipi')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'hart-start')).toHaveLength(1);
    // vCPU 1 is offline, never given a pCPU, until vCPU 0 starts it: not at time 0 with the pCPUs free.
    // (The hart-start event can carry a later time than the iteration that applied it: a vCPU's
    // clock runs ahead of its host's by the cost it overran its quantum with.)
    const firstRun = log.all().find((e) => e.vm === 'k' && e.vcpu === 1 && e.kind === 'schedule')!;
    expect(firstRun.timeNs).toBeGreaterThan(0);
    // Both vCPUs ran.
    expect(vm.instructions).toBeGreaterThan(2 * 3000 * 10);
  });
});

describe.each([2, 1])('the paravirtual SMP kernel (kernel-pv-smp.elf) on a %d-pCPU host', (pcpus) => {
  it("runs deprivileged with no privileged-instruction exit: only hypercalls, SBI HSM/IPI calls and its tasks' traps", async () => {
    const { result, log } = await run('kernel-pv-smp.elf', 'paravirt', pcpus);
    const vm = result.vms[0];
    expect({ state: vm.state, fault: vm.fault, console: vm.console }).toEqual({ state: 'halted', fault: undefined, console: GOLDEN });
    // Every exit is a PV hypercall, an SBI call (console, HSM, IPI, shutdown), an event (timer) or a
    // task's trap delivered to the kernel (pv.inject): nothing was emulated, nothing faulted.
    const names = Object.keys(vm.exits);
    expect(names.filter((n) => !/^(pv\.|sbi\.)/.test(n))).toEqual([]);
    expect(names.filter((n) => n.startsWith('sbi.') && !/^sbi\.(dbcn|hsm|ipi|srst)\./.test(n))).toEqual([]);
    expect(vm.exits['pv.inject']).toBeGreaterThan(0);
    // Each vCPU registered its own shared info area (Xen's vcpu_info) ...
    const k = log.all().filter((e) => e.vm === 'k');
    const calls = (cause: string) => k.filter((e) => e.kind === 'hypercall' && e.cause === cause);
    expect(calls('pv.register_shared_info').map((e) => e.vcpu)).toEqual([0, 1]);
    // ... and took its IPIs as events delivered by the event-check hypercall (hart 0 two, hart 1 one),
    // each in the log with its cause and route.
    const delivered = calls('pv.event_check').filter((e) => e.detail === 'ipi delivered');
    expect(delivered.map((e) => [e.vcpu, e.route])).toEqual([
      [0, 'interpreter'],
      [1, 'interpreter'],
      [0, 'interpreter'],
    ]);
    expect(vm.exits['sbi.ipi.send_ipi']).toBe(3);
    expect(calls('sbi.ipi.send_ipi').every((e) => e.route === 'interpreter')).toBe(true);
    // The mask byte is respected: an IPI to a vCPU with events masked (busy in its locked rounds)
    // only raised its pending byte, and was delivered when it unmasked to wait, by the event check,
    // without blocking first. Where the IPIs land depends on the pCPUs (the run is deterministic):
    // on 2 pCPUs hart 1's "done" reaches hart 0 still masked; on 1 pCPU hart 0 is already waiting.
    const held = k.filter((e) => e.kind === 'ipi' && /masked: pending/.test(e.detail));
    expect(held.map((e) => e.vcpu)).toEqual(pcpus === 2 ? [0] : []);
    for (const h of held) {
      const after = k.filter(
        (e) => e.vcpu === h.vcpu && e.timeNs >= h.timeNs && (e.kind === 'block' || (e.kind === 'hypercall' && e.cause === 'pv.event_check')),
      );
      expect([after[0].kind, after[0].detail]).toEqual(['hypercall', 'ipi delivered']);
    }
    expect(calls('sbi.hsm.hart_start').every((e) => e.route === 'allocator')).toBe(true);
  });

  it('gives the same event log on the split and the remote trap path', async () => {
    const split = await run('kernel-pv-smp.elf', 'paravirt', pcpus, 'split');
    const remote = await run('kernel-pv-smp.elf', 'paravirt', pcpus, 'remote');
    expect(remote.result.vms[0].console).toBe(GOLDEN);
    expect(remote.result.eventLogHash).toBe(split.result.eventLogHash);
  });
});

describe('the paravirtual SMP kernel on its vCPUs', () => {
  it('both vCPUs are deprivileged paravirtual vCPUs: in real U-mode, each with its own virtual state', () => {
    const image = readFileSync(`${GUESTS}/bin/kernel-pv-smp.elf`);
    const vm = new VmInstance({ id: 'k', kind: 'kernel', technique: 'paravirt', vcpus: 2, memoryBytes: 8 << 20, image, args: [], engine: 'bt' }, 1e9);
    expect(vm.vcpus.map((v) => [v.hart.priv, v.vstate?.paravirt, v.vstate?.sharedInfo])).toEqual([
      [0, true, 0],
      [0, true, 0],
    ]);
    expect(vm.vcpus[0].vstate).not.toBe(vm.vcpus[1].vstate);
  });
});

describe('the SMP kernel as a native VM (technique native: its firmware, 2 harts, no hypervisor)', () => {
  it.each([2, 1])('prints its golden output on a %d-pCPU host', async (pcpus) => {
    const { result, log } = await run('native-kernel-smp.elf', 'native', pcpus);
    const vm = result.vms[0];
    expect({ state: vm.state, console: vm.console }).toEqual({ state: 'halted', console: GOLDEN });
    expect(Object.keys(vm.exits)).toEqual([]); // the firmware handled every SBI call itself
    // Hart 1 parked in wfi until hart 0's msip store (HSM start), and they woke each other by IPI.
    expect(log.all().filter((e) => e.vm === 'k' && e.kind === 'wake' && /interrupt from vCPU/.test(e.detail)).length).toBeGreaterThanOrEqual(2);
  });
});

describe('SMP guests and scheduler swaps', () => {
  // vCPU 1 is offline before hart 0 starts it (~45 µs) and after it stops itself (~360 µs).
  it.each([20_000, 400_000])('a swap to Credit at %d ns keeps the offline vCPU: the run still prints its native output', async (at) => {
    const base = spec('kernel-smp.elf', 'trap-and-emulate', 2);
    const { result } = await runEmbedded({ ...base, actions: [{ kind: 'swapScheduler', at, scheduler: { policy: 'credit', params: {} } }] });
    expect({ state: result.vms[0].state, console: result.vms[0].console }).toEqual({ state: 'halted', console: GOLDEN });
  });
});

describe('examples/smp-kernel.yaml', () => {
  it('runs the 2-vCPU kernel under three techniques side by side (Credit, 2 pCPUs): every console is the native one', async () => {
    const { result } = await runEmbedded(simSpecFromScenario(loadScenario(resolve(__dirname, '../../../examples/smp-kernel.yaml'))));
    expect(result.vms.map((vm) => [vm.id, vm.state, vm.console === GOLDEN])).toEqual([
      ['paravirt', 'halted', true],
      ['tae', 'halted', true],
      ['bt', 'halted', true],
    ]);
  });
});

describe('SMP determinism across trap paths', () => {
  it('trap-and-emulate on 2 pCPUs gives the same event log on the split and the remote path', async () => {
    const split = await run('kernel-smp.elf', 'trap-and-emulate', 2, 'split');
    const remote = await run('kernel-smp.elf', 'trap-and-emulate', 2, 'remote');
    expect(remote.result.vms[0].console).toBe(GOLDEN);
    expect(remote.result.eventLogHash).toBe(split.result.eventLogHash);
  });
});

describe('SBI HSM and IPI routines', () => {
  const A0 = 10;
  const call = (eid: number, fid: number, args: number[], hartStates: number[], vcpu = 0) => {
    const x = new Array(32).fill(0);
    args.forEach((a, i) => (x[A0 + i] = a | 0));
    x[16] = fid;
    x[17] = eid;
    return handleTrap(TrapRequest.fromPartial({ vm: 'k', vcpu, cause: 9, pc: 0x80200000, kind: 'kernel', x, hartStates }), undefined);
  };
  const a0 = (r: ReturnType<typeof call>) => r.writes.find((w) => w.reg === A0)?.value;

  it('hart_start starts a stopped hart, refuses a started one (-6) and an unknown one (-3)', () => {
    const ok = call(SBI_EXT.HSM, 0, [1, 0x80201000, 0x1234], [0, 1]);
    expect(a0(ok)).toBe(0);
    expect(ok.hartStart).toEqual({ vcpu: 1, startAddr: 0x80201000, opaque: 0x1234 });
    expect(ok.handler).toBe('sbi.hsm.hart_start');
    const again = call(SBI_EXT.HSM, 0, [1, 0x80201000, 0], [0, 0]);
    expect([a0(again), again.hartStart]).toEqual([-6, undefined]);
    expect(a0(call(SBI_EXT.HSM, 0, [2, 0x80201000, 0], [0, 1]))).toBe(-3);
  });

  it('hart_get_status reports each hart, hart_stop stops the caller', () => {
    const st = call(SBI_EXT.HSM, 2, [1], [0, 1]);
    expect([a0(st), st.writes.find((w) => w.reg === 11)?.value]).toEqual([0, 1]);
    expect(a0(call(SBI_EXT.HSM, 2, [5], [0, 1]))).toBe(-3);
    const stop = call(SBI_EXT.HSM, 1, [], [0, 0], 1);
    expect([stop.hartStop, stop.action]).toEqual([true, TrapAction.TRAP_ACTION_RESUME]);
  });

  it('send_ipi targets the harts of the mask, every hart with base -1, and rejects unknown ones', () => {
    expect(call(SBI_EXT.IPI, 0, [0b10, 0], [0, 0]).ipiVcpus).toBe(0b10);
    expect(call(SBI_EXT.IPI, 0, [0b1, 1], [0, 0]).ipiVcpus).toBe(0b10);
    expect(call(SBI_EXT.IPI, 0, [0, -1], [0, 0, 1]).ipiVcpus).toBe(0b111);
    const bad = call(SBI_EXT.IPI, 0, [0b100, 0], [0, 0]);
    expect([a0(bad), bad.ipiVcpus]).toEqual([-3, 0]);
  });
});

describe('offline vCPUs', () => {
  const setup = {
    id: 'k',
    kind: 'kernel' as const,
    technique: 'trap-and-emulate' as const,
    vcpus: 2,
    memoryBytes: 8 << 20,
    image: readFileSync(`${GUESTS}/bin/kernel-smp.elf`),
    args: [],
    engine: 'bt' as const,
  };

  it('an SBI VM boots on vCPU 0; the others are offline until started (HSM)', () => {
    const vm = new VmInstance(setup, 1e9);
    expect(vm.vcpus.map((v) => v.state)).toEqual([VcpuState.VCPU_STATE_RUNNABLE, VcpuState.VCPU_STATE_OFFLINE]);
  });

  it('a run order that names an offline vCPU runs nothing on it, reports it offline and ends at the first quantum', async () => {
    const exec = new HostExecutor(
      { sim: 's', id: 'h0', pcpus: 2, clockHz: 1e9, quantumNs: 10_000, trapPath: 'split' },
      {
        local: (req) => handleTrap(req, undefined),
        remote: async (req) => handleTrap(req, { id: 'k', kind: 'kernel', brkStart: 0, brk: 0, brkMax: 0 }),
        exitCost: 0,
      },
    );
    exec.createVm(setup);
    const report = await exec.run(
      RunOrder.fromPartial({
        sim: 's',
        host: 'h0',
        seq: 1,
        nowNs: 0,
        untilNs: 1_000_000,
        pcpus: [
          { pcpu: 0, vm: 'k', vcpu: 0 },
          { pcpu: 1, vm: 'k', vcpu: 1 },
        ],
      }),
    );
    const byVcpu = new Map(report.vcpus.map((r) => [r.vcpu, r]));
    expect(byVcpu.get(1)).toMatchObject({ state: VcpuState.VCPU_STATE_OFFLINE, ranNs: 0, instructions: 0 });
    expect(byVcpu.get(0)!.instructions).toBeGreaterThan(0);
    expect(report.nowNs).toBe(10_000);
  });
});
