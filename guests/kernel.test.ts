// The rv32 guest kernel (guests/rv32/kernel) behind the native M-mode firmware
// (guests/rv32/firmware) on the bare machine: every native-kernel-<w>.elf must
// shut down cleanly (tohost = 1) on all four engines with exactly the console
// output of expected/native-kernel-<w>.txt (hand-checked golden files). The
// paravirtualized build runs deprivileged on hypercalls and has no native
// image (libs/control/test/kernel.test.ts checks it under the hypervisor).
//
// To regenerate the golden files after changing the kernel (then read them!):
//   UPDATE_KERNEL_EXPECTED=1 npx jest guests/kernel.test.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BareMachine, ENGINE_NAMES, EngineName } from '@vsim/isa';

const RV32 = path.join(__dirname, 'rv32');
const BIN = path.join(RV32, 'bin');
const EXPECTED = path.join(RV32, 'expected');
const WORKLOADS = ['cpu', 'syscall', 'timer', 'io', 'nnull', 'nsyscall', 'ntimer', 'nmask', 'ncsr'];
const MAX_CYCLES = 500_000_000;

function run(elf: string, engine: EngineName) {
  const bytes: number[] = [];
  const m = new BareMachine(fs.readFileSync(path.join(BIN, elf)), { engine, console: (b) => bytes.push(...b) });
  const result = m.run(MAX_CYCLES);
  const text = Buffer.from(bytes).toString('utf8');
  // The callback and the collected output agree.
  expect(m.consoleOutput).toBe(text);
  return { result, text };
}

describe('guest kernel on the native firmware (bare machine)', () => {
  for (const w of WORKLOADS) {
    describe(w, () => {
      const goldenPath = path.join(EXPECTED, `native-kernel-${w}.txt`);
      if (process.env.UPDATE_KERNEL_EXPECTED === '1') {
        it('regenerates the golden file (dispatch engine)', () => {
          const { result, text } = run(`native-kernel-${w}.elf`, 'dispatch');
          expect(result.outcome).toBe('pass');
          fs.writeFileSync(goldenPath, text);
        });
        return;
      }
      const golden = fs.readFileSync(goldenPath, 'utf8');

      for (const engine of ENGINE_NAMES) {
        it(`native-kernel-${w}.elf on ${engine}`, () => {
          const { result, text } = run(`native-kernel-${w}.elf`, engine);
          expect(result.outcome).toBe('pass');
          expect(text).toBe(golden);
        });
      }
    });
  }

  it('golden files look complete', () => {
    for (const w of WORKLOADS) {
      const golden = fs.readFileSync(path.join(EXPECTED, `native-kernel-${w}.txt`), 'utf8');
      expect(golden).toMatch(new RegExp(`^kernel: hart 0, workload ${w}: `));
      expect(golden).toMatch(/kernel: all \d+ tasks exited\n/);
      expect(golden).not.toMatch(/exit [1-9-]|killed|trap in the kernel|firmware:/);
      expect(golden.endsWith('kernel: shutdown\n')).toBe(true);
    }
  });
});
