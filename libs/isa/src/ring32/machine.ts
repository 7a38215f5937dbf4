// The standard ring32 machine: RAM at 0, one processor starting in ring 0 with interrupts off, a
// console on port 0x10 and the power-off port 0x20. It runs an assembled image until the program
// writes its exit code, halts with no timer armed (deadlock), or runs out of budget.

import { Bus } from '../memory/bus';
import { Console } from '../memory/console';
import { Stop, TrapExit } from '../rv32/signals';
import { Engine, EngineName } from '../engines/engine';
import { createEngine } from '../engines';
import { PORT, RING32_RAM_BASE } from './arch';
import { Ring32Hart, Ring32HartOptions } from './hart';
import { ring32 } from '.';
import { AssembledImage } from './asm';
import { ElfImage, loadElf32 } from '../elf/elf32';
import { parseRing32Elf } from './elf';

export const RING32_RAM_SIZE = 1024 * 1024;

export interface Ring32MachineOptions extends Ring32HartOptions {
  engine?: EngineName;
  ramSize?: number;
}

export interface Ring32RunResult {
  /** 'exit' (the program wrote the exit port), 'deadlock' (HLT with no timer armed), 'budget', or 'trap' (an exit the host asked for). */
  readonly outcome: 'exit' | 'deadlock' | 'budget' | 'trap';
  readonly exitCode: number | null;
  readonly console: string;
  readonly instructions: number;
  readonly cycles: number;
  /** outcome 'trap': the exit the host asked for (cause, tval, interrupt). */
  readonly trap?: TrapExit;
}

export class Ring32Machine {
  readonly bus: Bus;
  readonly hart: Ring32Hart;
  readonly engine: Engine<Ring32Hart>;
  readonly console = new Console(undefined, 0);

  /** Runs an assembled image, a parsed ring32 ELF, or the bytes of one. */
  constructor(image: AssembledImage | ElfImage | Uint8Array, opts: Ring32MachineOptions = {}) {
    const ramSize = opts.ramSize ?? RING32_RAM_SIZE;
    this.bus = new Bus(RING32_RAM_BASE, ramSize);
    if (image instanceof Uint8Array) image = parseRing32Elf(image);
    if ('segments' in image) {
      loadElf32(image, this.bus);
    } else {
      if (image.origin < RING32_RAM_BASE || image.origin + image.bytes.length > RING32_RAM_BASE + ramSize) {
        throw new RangeError(
          `image 0x${image.origin.toString(16)}+${image.bytes.length} does not fit in RAM (0x${RING32_RAM_BASE.toString(16)}+${ramSize})`,
        );
      }
      this.bus.writeBytes(image.origin, image.bytes);
    }
    this.hart = new Ring32Hart(this.bus, opts);
    this.hart.pc = image.entry;
    this.hart.attachPort(PORT.CONSOLE, { in: () => 0, out: (v) => this.console.store(0, 1, v & 0xff) });
    this.engine = createEngine(opts.engine ?? 'bt', this.hart, ring32);
  }

  /** Runs for at most `maxCycles`; HLT skips idle time to the next timer interrupt. */
  run(maxCycles = 1e9): Ring32RunResult {
    const h = this.hart;
    const end = h.cycles + maxCycles;
    let outcome: Ring32RunResult['outcome'] = 'budget';
    let trap: TrapExit | undefined;
    while (h.cycles < end) {
      const record = this.engine.run(end - h.cycles);
      const stop = record.kind;
      if (stop === Stop.Halt) {
        outcome = 'exit';
        break;
      }
      if (record.kind === Stop.Trap) {
        trap = record;
        outcome = 'trap';
        break;
      }
      if (stop === Stop.Wfi) {
        const wait = h.cyclesUntilNextTimer();
        if (!Number.isFinite(wait)) {
          outcome = 'deadlock';
          break;
        }
        h.cycles = Math.min(end, h.cycles + wait);
      }
    }
    return { outcome, exitCode: h.exitCode, console: this.console.output(), instructions: h.instret, cycles: h.cycles, trap };
  }
}
