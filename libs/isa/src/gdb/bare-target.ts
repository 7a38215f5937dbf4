// A single-hart bare machine as a gdb target, for debugging M-mode code (riscv-tests style
// programs, a guest kernel behind its firmware). Every trap normally goes to the program's own
// handler; while debugging, ebreak exits to the stub instead (as the debug spec's dcsr.ebreakm
// does), and an ebreak that is not one of gdb's breakpoints is handed on to the program's handler,
// so programs that use ebreak themselves behave as without gdb. The run ends when the program
// writes tohost (exit status 0 for pass, 1 for fail) or waits with nothing to wake it.

import { BareMachine } from '../machine/bare';
import { Cause } from '../rv32/causes';
import { Stop } from '../rv32/signals';
import { TargetStop } from './target';
import { Rv32HartTarget } from './hart-target';

export class BareMachineTarget extends Rv32HartTarget {
  /** Why the program ended, once it has: 'pass', 'fail' (tohost = n << 1 | 1) or 'deadlock'. */
  outcome: 'pass' | 'fail' | 'deadlock' | undefined;
  private readonly tohost: number;

  constructor(readonly machine: BareMachine) {
    super(machine.hart);
    if (machine.harts.length !== 1) throw new RangeError(`gdb debugs one hart; this machine has ${machine.harts.length}`);
    this.tohost = machine.image.symbols.get('tohost') as number; // BareMachine refuses images without one
    machine.hart.exitMask |= 1 << Cause.Breakpoint;
  }

  /** Gives ebreak back to the program's own handler (after gdb detaches). */
  release(): void {
    this.hart.exitMask &= ~(1 << Cause.Breakpoint);
  }

  resume(cycles: number, breakpoints: ReadonlySet<number>): TargetStop {
    const h = this.hart;
    const end = h.cycles + cycles;
    while (h.cycles < end) {
      const stop = this.machine.engine.run(end - h.cycles).kind;
      if (stop === Stop.Halt) {
        const v = h.bus.readU32(this.tohost);
        this.outcome = v === 1 ? 'pass' : 'fail';
        return { kind: 'exited', status: v === 1 ? 0 : 1 };
      }
      if (stop === Stop.Trap) {
        if (breakpoints.has(h.pc >>> 0)) return { kind: 'trap', signal: 5 };
        h.enterTrap(Cause.Breakpoint, h.pc, false); // the program's own ebreak (its mtval is its pc)
        if (cycles === 1) break; // a step that took the trap ends at the handler, as on hardware
      }
      if (stop === Stop.Wfi) {
        const wait = h.cyclesUntilNextTimer();
        if (!Number.isFinite(wait)) {
          this.outcome = 'deadlock';
          return { kind: 'exited', status: 1 };
        }
        h.cycles += Math.max(wait, 1);
      }
    }
    return { kind: 'budget' };
  }
}
