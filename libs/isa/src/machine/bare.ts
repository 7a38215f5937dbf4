// A bare machine in the style of the standard RISC-V test environments (riscv-tests `env/p`): one
// hart starting in M-mode at the ELF entry, RAM at 0x80000000, a CLINT, and the `tohost` word the
// program writes to report: 1 is success, (n << 1) | 1 is failure of test n. A write-only console
// at 0x10000000 (QEMU virt's UART THR) collects what firmware prints.

import { Bus } from '../memory/bus';
import { Clint } from '../memory/clint';
import { Console } from '../memory/console';
import { parseElf32, loadElf32, ElfImage, ElfError } from '../elf/elf32';
import { Hart, HartOptions } from '../rv32/hart';
import { Priv } from '../rv32/csr';
import { Stop } from '../rv32/signals';
import { Engine, EngineName } from '../engines/engine';
import { createEngine } from '../engines';
import { rv32 } from '../rv32';

export const BARE_RAM_BASE = 0x80000000;
export const BARE_RAM_SIZE = 16 * 1024 * 1024;

export interface BareOptions extends HartOptions {
  engine?: EngineName;
  ramSize?: number;
  /** Called with the bytes written to the console device (one byte per call); they are kept in `consoleOutput` either way. */
  console?: (bytes: Uint8Array) => void;
}

export interface BareResult {
  /** 'pass' (tohost = 1), 'fail' (tohost = n<<1|1), 'deadlock' (wfi with no timer armed), 'budget' (ran out). */
  readonly outcome: 'pass' | 'fail' | 'deadlock' | 'budget';
  /** The failing test number, for 'fail'. */
  readonly failedTest?: number;
  readonly tohost: number;
  readonly instructions: number;
  readonly cycles: number;
}

export class BareMachine {
  readonly bus: Bus;
  readonly hart: Hart;
  readonly engine: Engine;
  readonly image: ElfImage;
  readonly console: Console;
  private tohostValue = 0;

  constructor(elf: Uint8Array | ElfImage, opts: BareOptions = {}) {
    this.image = elf instanceof Uint8Array ? parseElf32(elf) : elf;
    const tohost = this.image.symbols.get('tohost');
    if (tohost === undefined) throw new ElfError('no `tohost` symbol: a bare-machine program reports its result by writing to tohost');
    this.bus = new Bus(BARE_RAM_BASE, opts.ramSize ?? BARE_RAM_SIZE);
    loadElf32(this.image, this.bus);
    this.hart = new Hart(this.bus, opts);
    this.bus.attach(new Clint([this.hart]));
    const onConsole = opts.console;
    this.console = new Console(onConsole ? (b) => onConsole(Uint8Array.of(b)) : undefined);
    this.bus.attach(this.console);
    this.bus.watchWord(tohost, (v) => {
      if (v !== 0) {
        this.tohostValue = v;
        this.hart.requestStop(Stop.Halt);
      }
    });
    this.hart.priv = Priv.M;
    this.hart.pc = this.image.entry;
    this.hart.x[10] = this.hart.hartId; // a0 = hartid, as firmware hands it over
    this.engine = createEngine(opts.engine ?? 'bt', this.hart, rv32);
  }

  /** Runs until tohost is written or `maxCycles` pass. Idle time after wfi jumps to the next timer. */
  run(maxCycles = 10_000_000_000): BareResult {
    const h = this.hart;
    const end = h.cycles + maxCycles;
    for (;;) {
      if (h.cycles >= end) return this.result('budget');
      const stop = this.engine.run(end - h.cycles);
      if (stop === Stop.Halt) {
        const v = this.tohostValue;
        return this.result(v === 1 ? 'pass' : 'fail', v === 1 ? undefined : v >>> 1);
      }
      if (stop === Stop.Wfi) {
        const wait = h.cyclesUntilNextTimer();
        if (!Number.isFinite(wait)) return this.result('deadlock');
        h.cycles += Math.max(wait, 1);
      }
      // Stop.Trap cannot happen: exitMask is 0, every trap goes to the guest's handler.
    }
  }

  /** Everything written to the console device so far, as text. */
  get consoleOutput(): string {
    return this.console.output();
  }

  private result(outcome: BareResult['outcome'], failedTest?: number): BareResult {
    return { outcome, failedTest, tohost: this.tohostValue, instructions: this.hart.instret, cycles: this.hart.cycles };
  }
}
