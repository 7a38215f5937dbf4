// The ring32 guest kernel (guests/ring32/kernel.s) under every technique against its native run
// (guests/ring32/expected/kernel.txt): plain trap-and-emulate diverges, and the diagnosis names the
// critical instruction responsible; code patching, binary translation and the paravirtual build
// print the native output byte for byte.

import { readFileSync } from 'fs';
import { resolve } from 'path';
import { Ring32Machine, assembleRing32, writeRing32Elf } from '@vsim/isa';
import { DEFAULT_EXPANSION_FACTORS, defaultRv32Guest, makeExpansionFactors, runOnHost } from '@vsim/executor';
import { buildRing32Kernel, preprocessRing32 as preprocess } from '@vsim/testkit';
import { diagnoseRing32, runRing32, Ring32Vm, Ring32VmResult } from '@vsim/hypervisor';

const EXPECTED = readFileSync(resolve(__dirname, '../../../guests/ring32/expected/kernel.txt'), 'latin1');
const kernel = buildRing32Kernel('kernel');
const pvKernel = buildRing32Kernel('kernel-pv');
const total = (r: Record<string, number>) => Object.values(r).reduce((a, n) => a + n, 0);
const byPrefix = (r: Record<string, number>, p: string) => total(Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith(p))));

describe('ring32 kernel', () => {
  const native = runRing32(kernel, { technique: 'native' });

  it('runs natively to its committed baseline, on every engine', () => {
    expect(native.outcome).toBe('exit');
    expect(native.exitCode).toBe(0);
    expect(native.console).toBe(EXPECTED);
    expect(native.console).toMatch(/running in ring 0\n/);
    expect(native.console).toMatch(/timer interrupt taken/);
    expect(native.console).toMatch(/task data checksum \(fnv1a\) [0-9a-f]{8}\n/);
    expect(native.console).toMatch(/preemptions: yes/);
    for (const engine of ['dispatch', 'indirect', 'direct', 'bt'] as const) {
      expect({ engine, console: new Ring32Machine(kernel, { engine }).run(1e9).console }).toEqual({ engine, console: EXPECTED });
    }
  });

  it('diverges under plain trap-and-emulate, and the diagnosis names the critical instructions', () => {
    const d = diagnoseRing32(kernel);
    expect(d.diverges).toBe(true);
    expect(d.trapAndEmulate.console).not.toBe(EXPECTED);
    expect(d.trapAndEmulate.console).toMatch(/running in ring 1\n/);
    expect(d.trapAndEmulate.console).toMatch(/NO timer interrupt/);
    expect(d.firstDifference).toEqual({ line: 2, native: 'kernel: running in ring 0', trapAndEmulate: 'kernel: running in ring 1' });
    // The POPF of the boot critical section, found by observation, at the address the assembler gave it.
    const popf = d.critical.find((o) => o.name === 'POPF');
    expect(popf).toBeDefined();
    expect(kernel.bytes[popf!.pc]).toBe(0x59); // the popf opcode
    expect(d.report).toMatch(new RegExp(`POPF at 0x${popf!.pc.toString(16).padStart(8, '0')} left IF unchanged in ring 1`));
    expect(d.critical.map((o) => o.name).sort()).toEqual(expect.arrayContaining(['POPF', 'PUSHF', 'SMSW']));
    // Observing does not change what the hardware does: the observed run equals the plain one.
    const plain = runRing32(kernel, { technique: 'trap-and-emulate', engine: 'dispatch' });
    expect(plain.console).toBe(d.trapAndEmulate.console);
    expect(plain.exits['r32.lpsw']).toBeGreaterThan(0);
    expect(plain.exits['r32.inject.syscall']).toBe(33);
  });

  const cured = (r: Ring32VmResult) => {
    expect(r.outcome).toBe('exit');
    expect(r.exitCode).toBe(0);
    expect(r.console).toBe(EXPECTED);
  };

  it('matches native byte for byte under code patching, patching lazily what only a computed jump reaches', () => {
    const r = runRing32(kernel, { technique: 'code-patching', engine: 'dispatch' });
    cured(r);
    const p = r.patching!;
    expect(p.criticalByName).toEqual({ pushf: 3, popf: 2, smsw: 1 });
    expect(p.indirectSites).toBe(1); // the system-call table's jalr
    expect(p.lazyScans).toBeGreaterThanOrEqual(4); // the four handlers behind it
    expect(r.exits['r32.patch.smsw']).toBe(3); // in getpid: reachable only through the table
    expect(r.exits['r32.patch.popf']).toBeGreaterThan(0);
    // Without patching on first execution, getpid's SMSW (behind the computed jump) runs unpatched.
    const staticOnly = runRing32(kernel, { technique: 'code-patching', lazyPatching: false });
    expect(staticOnly.console).toMatch(/system calls served outside ring 0: 3\n/);
    expect(staticOnly.patching!.criticalByName).toEqual({ pushf: 2, popf: 1 });
  });

  it('matches native under binary translation, with no exit for privileged or critical instructions', () => {
    const r = runRing32(kernel, { technique: 'binary-translation' });
    cured(r);
    expect(byPrefix(r.exits, 'r32.inject') + byPrefix(r.exits, 'r32.irq')).toBe(total(r.exits)); // only the guest's own traps exit
    expect(r.translatedCalls['r32.popf']).toBeGreaterThan(0);
    expect(r.translatedCalls['r32.lpsw']).toBeGreaterThan(0);
    const tae = runRing32(kernel, { technique: 'trap-and-emulate' });
    expect(total(r.exits)).toBeLessThan(total(tae.exits) / 5);
  });

  it('matches native with the paravirtual build, which executes no privileged or critical instruction', () => {
    const r = runRing32(pvKernel, { technique: 'paravirt' });
    cured(r);
    expect(r.hypercalls).toBeGreaterThan(0);
    for (const k of Object.keys(r.exits)) expect(k).toMatch(/^r32\.(hcall|irq|inject)\./);
    // The PV build has no privileged or critical instruction at all.
    const names = new Set<number>();
    for (let pc = 0; pc < pvKernel.symbols.get('sys_table')!; pc += 4) names.add(pvKernel.bytes[pc]);
    for (const op of [0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x58, 0x59, 0x5a]) expect(names.has(op)).toBe(false);
  });

  it("leaves the tasks' data identical in guest memory under every cure, deterministically, on every engine", () => {
    const dataOf = (technique: 'native' | 'code-patching' | 'binary-translation' | 'paravirt', engine: 'dispatch' | 'indirect' | 'direct' | 'bt') => {
      const image = technique === 'paravirt' ? pvKernel : kernel;
      const vm = new Ring32Vm(image, { technique, engine });
      const r = vm.run();
      const base = image.symbols.get('task_data')!;
      return { console: r.console, cycles: r.cycles, data: Buffer.from(vm.bus.readBytes(base, 3 * 256 * 4)).toString('hex') };
    };
    const ref = dataOf('native', 'bt');
    for (const technique of ['code-patching', 'paravirt'] as const) {
      for (const engine of ['dispatch', 'indirect', 'direct', 'bt'] as const) {
        const got = dataOf(technique, engine);
        expect({ technique, engine, console: got.console, data: got.data }).toEqual({ technique, engine, console: ref.console, data: ref.data });
      }
    }
    const bt = dataOf('binary-translation', 'bt');
    expect(bt.data).toBe(ref.data);
    // Same image, same technique: same cycles (no wall clock anywhere in the simulated result).
    expect(dataOf('code-patching', 'direct').cycles).toBe(dataOf('code-patching', 'dispatch').cycles);
  });

  it('runs the committed ELF images (guests/ring32/bin) as the source builds them', () => {
    const bin = resolve(__dirname, '../../../guests/ring32/bin');
    const elf = readFileSync(`${bin}/kernel.elf`);
    expect(Buffer.from(writeRing32Elf(kernel)).equals(elf)).toBe(true);
    expect(Buffer.from(writeRing32Elf(pvKernel)).equals(readFileSync(`${bin}/kernel-pv.elf`))).toBe(true);
    expect(runRing32(elf, { technique: 'code-patching' }).console).toBe(EXPECTED);
    expect(runRing32(readFileSync(`${bin}/kernel-pv.elf`), { technique: 'paravirt' }).console).toBe(EXPECTED);
  });

  it('code patching: a task that runs patched kernel code gets the ring-3 behaviour, as natively', () => {
    // A tiny kernel whose task calls the kernel's (patched) flag-saving helper from ring 3.
    const src = `
_start: la sp, 0x8000
        la r1, trap
        mtcr tvec, r1
        call save_flags          ; ring 0: patched, emulated
        la r1, psw_task
        lpsw 0(r1)
trap:   mfcr r2, cause
        li r3, 8
        bne r2, r3, bad
        lw r1, 0(sp)             ; what the task's pushf stored
        andi r1, r1, 3
        addi r1, r1, '0'
        out 0x10, r1
        li r1, '\\n'
        out 0x10, r1
        out 0x20, r0
bad:    li r1, '!'
        out 0x10, r1
        li r1, 1
        out 0x20, r1
save_flags:
        pushf
        ret
task:   call save_flags
        syscall
.align 8
psw_task: .word 0x7, task
`;
    const img = assembleRing32(src);
    const native = runRing32(img, { technique: 'native' });
    expect(native.console).toBe('3\n');
    const cp = runRing32(img, { technique: 'code-patching' });
    expect(cp.console).toBe(native.console);
    expect(cp.exits['r32.patch.user.pushf']).toBe(1);
    expect(cp.exits['r32.patch.pushf']).toBe(1);
  });

  it('emulates HLT (waiting for the virtual timer) the same under every technique', () => {
    // Three ticks, each awaited with HLT, counted by the interrupt handler; the time read after the
    // wait must be past the compare value.
    const src = `
_start: la sp, 0x8000
        la r1, trap
        mtcr tvec, r1
        li r7, 0
again:  mfcr r1, time
        addi r1, r1, 50
        mv r8, r1
        mtcr timecmp, r1
        sti
wait:   hlt
        beq r7, r9, wait         ; r9: ticks seen before this wait
        cli
        mfcr r1, time
        sltu r1, r1, r8
        bnez r1, early
        mv r9, r7
        li r1, 'T'
        out 0x10, r1
        li r1, 3
        bne r7, r1, again
        out 0x20, r0
early:  li r1, 'E'
        out 0x10, r1
        out 0x20, r0
trap:   addi r7, r7, 1
        li r1, -1
        mtcr timecmp, r1
        iret
`;
    const img = assembleRing32(src);
    const native = runRing32(img, { technique: 'native' });
    expect(native.console).toBe('TTT');
    for (const technique of ['trap-and-emulate', 'code-patching', 'binary-translation'] as const) {
      const r = runRing32(img, { technique });
      expect({ technique, console: r.console, outcome: r.outcome }).toEqual({ technique, console: 'TTT', outcome: 'exit' });
    }
  });

  it('preprocesses .ifdef/.else/.endif and reports unbalanced ones with the line', () => {
    expect(preprocess('a\n.ifdef X\nb\n.else\nc\n.endif\nd', new Set(['X']))).toBe('a\n\nb\n\n\n\nd');
    expect(preprocess('.ifndef X\nb\n.endif', new Set(['X']))).toBe('\n\n');
    expect(() => preprocess('.ifdef X\nb', new Set())).toThrow(/^1:1: .ifdef without .endif/);
    expect(() => preprocess('.endif', new Set())).toThrow(/^1:1: .endif without/);
    expect(() => assembleRing32(preprocess('.ifdef PV\n.else\n  bogus r1\n.endif', new Set()))).toThrow(/^3:/);
  });
});

describe('vCPUs of another ISA', () => {
  const root = resolve(__dirname, '../../..');
  const rv = defaultRv32Guest(root);
  const r32 = { isa: 'ring32' as const, image: kernel };

  it("run by emulation on another ISA's host with identical output, charged the engine's expansion factor", () => {
    for (const engine of ['dispatch', 'bt'] as const) {
      const same = runOnHost(r32, 'ring32', engine);
      const cross = runOnHost(r32, 'rv32', engine);
      expect(same.execution).toBe('direct');
      expect(cross.execution).toBe('emulation');
      expect(cross.console).toBe(EXPECTED);
      expect(cross.console).toBe(same.console);
      expect(same.chargedCycles).toBe(same.directCycles);
      expect(cross.chargedCycles).toBe(cross.directCycles * DEFAULT_EXPANSION_FACTORS[engine]);
    }
    const same = runOnHost(rv, 'rv32', 'bt');
    const cross = runOnHost(rv, 'ring32', 'dispatch');
    expect(cross.console).toBe(same.console);
    expect(cross.exitCode).toBe(0);
    expect(cross.chargedCycles / same.chargedCycles).toBeCloseTo(DEFAULT_EXPANSION_FACTORS.dispatch, 6);
  });

  it('runs in host slices, emulated at an expansion factor, with the same output', () => {
    for (const technique of ['native', 'code-patching'] as const) {
      const direct = runRing32(kernel, { technique });
      const vm = new Ring32Vm(kernel, { technique, engine: 'direct', expansion: 4 });
      let out = '';
      let stop = 'budget';
      for (let i = 0; i < 10_000 && stop === 'budget'; i++) {
        stop = vm.runSlice(10_000);
        out += vm.drainConsole();
      }
      expect({ technique, stop, out }).toEqual({ technique, stop: 'exit', out: EXPECTED });
      // The guest's cycles on the engine cost 4x; the hypervisor's exits (most of code patching's cycles) do not scale.
      if (technique === 'native') {
        expect(vm.hart.cycles).toBeGreaterThan(3.5 * direct.cycles);
        expect(vm.hart.cycles).toBeLessThan(4.5 * direct.cycles);
      } else {
        expect(vm.hart.cycles).toBeGreaterThan(direct.cycles + 2 * direct.instructions);
      }
    }
  });

  it("has expansion factors ordered as the engines' measured speed, adjustable with clear errors", () => {
    const f = DEFAULT_EXPANSION_FACTORS;
    expect(f.bt).toBeLessThan(f.indirect);
    expect(f.indirect).toBeLessThanOrEqual(f.direct);
    expect(f.direct).toBeLessThan(f.dispatch);
    expect(makeExpansionFactors({ bt: 6 }).bt).toBe(6);
    expect(() => makeExpansionFactors({ jit: 2 })).toThrow(/costs\.expansion\.jit: unknown engine/);
    expect(() => makeExpansionFactors({ bt: 0.5 })).toThrow(/costs\.expansion\.bt: expected a number/);
  });
});
