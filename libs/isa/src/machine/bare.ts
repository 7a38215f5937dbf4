// A bare machine in the style of the standard RISC-V test environments (riscv-tests `env/p`): one
// hart starting in M-mode at the ELF entry, RAM at 0x80000000, a CLINT, and the `tohost` word the
// program writes to report: 1 is success, (n << 1) | 1 is failure of test n. A write-only console
// at 0x10000000 (QEMU virt's UART THR) collects what firmware prints.
//
// With `harts: N` (SMP) every hart starts at the entry in M-mode with a0 = its hart id, sharing
// RAM and the CLINT (msip and mtimecmp per hart). The harts are interleaved deterministically:
// round robin, each runs `quantumCycles` of virtual time per turn, so they advance in step; a hart
// in wfi sits out its turns until an enabled interrupt is pending (another hart's msip store, its
// timer), and when every hart waits, time jumps to the earliest timer.

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
  /** Harts sharing the machine (default 1). */
  harts?: number;
  /** SMP: virtual cycles each hart runs per round-robin turn (default DEFAULT_QUANTUM_CYCLES). */
  quantumCycles?: number;
}

/** SMP turn length: 1 µs at the default 1 GHz clock, short next to the firmware's and kernels' waits. */
export const DEFAULT_QUANTUM_CYCLES = 1000;

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
  /** Hart 0 (the boot hart) and its engine. */
  readonly hart: Hart;
  readonly engine: Engine;
  readonly harts: readonly Hart[];
  readonly engines: readonly Engine[];
  private readonly quantum: number;
  readonly image: ElfImage;
  readonly console: Console;
  private tohostValue = 0;

  constructor(elf: Uint8Array | ElfImage, opts: BareOptions = {}) {
    this.image = elf instanceof Uint8Array ? parseElf32(elf) : elf;
    const tohost = this.image.symbols.get('tohost');
    if (tohost === undefined) throw new ElfError('no `tohost` symbol: a bare-machine program reports its result by writing to tohost');
    this.bus = new Bus(BARE_RAM_BASE, opts.ramSize ?? BARE_RAM_SIZE);
    loadElf32(this.image, this.bus);
    const n = opts.harts ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 32) throw new RangeError(`harts: ${n} is not a hart count from 1 to 32`);
    this.quantum = opts.quantumCycles ?? DEFAULT_QUANTUM_CYCLES;
    if (!(this.quantum >= 1)) throw new RangeError(`quantumCycles: ${this.quantum} is not a positive cycle count`);
    this.harts = Array.from({ length: n }, (_, i) => new Hart(this.bus, { ...opts, hartId: (opts.hartId ?? 0) + i }));
    this.hart = this.harts[0];
    this.bus.attach(new Clint(this.harts));
    const onConsole = opts.console;
    this.console = new Console(onConsole ? (b) => onConsole(Uint8Array.of(b)) : undefined);
    this.bus.attach(this.console);
    this.bus.watchWord(tohost, (v) => {
      if (v !== 0) {
        this.tohostValue = v;
        for (const h of this.harts) h.requestStop(Stop.Halt);
      }
    });
    for (const h of this.harts) {
      h.priv = Priv.M;
      h.pc = this.image.entry;
      h.x[10] = h.hartId; // a0 = hartid, as firmware hands it over
    }
    this.engines = this.harts.map((h) => createEngine(opts.engine ?? 'bt', h, rv32));
    this.engine = this.engines[0];
  }

  /** Runs until tohost is written or `maxCycles` pass. Idle time after wfi jumps to the next timer. */
  run(maxCycles = 10_000_000_000): BareResult {
    if (this.harts.length > 1) return this.runSmp(maxCycles);
    const h = this.hart;
    const end = h.cycles + maxCycles;
    for (;;) {
      if (h.cycles >= end) return this.result('budget');
      const stop = this.engine.run(end - h.cycles).kind;
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

  /** Several harts, round robin in turns of `quantum` cycles (see the header). */
  private runSmp(maxCycles: number): BareResult {
    const harts = this.harts;
    const waiting = harts.map(() => false);
    let t = Math.max(...harts.map((h) => h.cycles));
    const end = t + maxCycles;
    for (;;) {
      if (t >= end) return this.result('budget');
      const turnEnd = Math.min(t + this.quantum, end);
      for (let i = 0; i < harts.length; i++) {
        const h = harts[i];
        if (waiting[i]) {
          h.updateTimers();
          if ((h.mip & h.mie) === 0) {
            h.cycles = Math.max(h.cycles, turnEnd); // idle through its turn, in step with the others
            continue;
          }
          waiting[i] = false;
        }
        while (h.cycles < turnEnd) {
          const stop = this.engines[i].run(turnEnd - h.cycles).kind;
          if (stop === Stop.Halt) {
            const v = this.tohostValue;
            return this.result(v === 1 ? 'pass' : 'fail', v === 1 ? undefined : v >>> 1);
          }
          if (stop === Stop.Wfi) {
            waiting[i] = true;
            h.cycles = Math.max(h.cycles, turnEnd);
            break;
          }
          if (stop === Stop.Budget) break;
        }
      }
      t = turnEnd;
      const stuck = (h: Hart, i: number) => {
        h.updateTimers();
        return waiting[i] && (h.mip & h.mie) === 0;
      };
      if (harts.every(stuck)) {
        // Nobody can run before a timer fires (an msip store needs a running hart): skip to it.
        const wake = Math.min(...harts.map((h) => h.cycles + h.cyclesUntilNextTimer()));
        if (!Number.isFinite(wake)) return this.result('deadlock');
        if (wake > t) {
          t = wake;
          for (const h of harts) h.cycles = Math.max(h.cycles, wake);
        }
      }
    }
  }

  /** Everything written to the console device so far, as text. */
  get consoleOutput(): string {
    return this.console.output();
  }

  private result(outcome: BareResult['outcome'], failedTest?: number): BareResult {
    const instructions = this.harts.reduce((n, h) => n + h.instret, 0);
    return { outcome, failedTest, tohost: this.tohostValue, instructions, cycles: this.hart.cycles };
  }
}
