// Trap-and-emulate, observed (diagnosis.ts): a critical instruction of the deprivileged kernel runs
// exactly as the hardware runs it in the real ring, and what differs from ring 0's behaviour is
// recorded; privileged ones trap as usual. This is the real machine watched, not a hypervisor
// routine: it runs in the hart's sensitive-instruction hook, on the node.

import { PSW, Ring32Cause, Ring32Hart, analyzeIsa, ring32 } from '@vsim/isa';
import type { CriticalObservation } from './types';

const SP = 14;
const CRITICAL: ReadonlySet<string> = new Set(analyzeIsa(ring32).critical);

export class CriticalObserver {
  private readonly observations = new Map<string, CriticalObservation>();

  /** Runs the instruction `w` at `pc` as the hardware does; `vring` is the kernel's virtual ring. */
  run(h: Ring32Hart, w: number, pc: number, vring: number): number {
    const d = ring32.instructions[ring32.decode(w)];
    h.hookCost = 0;
    if (!CRITICAL.has(d.name)) return h.raise(Ring32Cause.PrivilegedInstruction, w); // what the hardware does
    const x = h.x;
    const ring = h.psw & PSW.RING;
    if (d.name === 'pushf') {
      x[SP] = h.pushf(x[SP]);
      if (ring !== vring) this.observe(pc, 'PUSHF', `pushed the real ring ${ring} (the kernel runs in virtual ring ${vring})`);
    } else if (d.name === 'popf') {
      const val = h.ld32(x[SP] >>> 0);
      const before = h.psw;
      h.popf(val);
      x[SP] = (x[SP] + 4) | 0;
      if ((val & PSW.IF) !== (h.psw & PSW.IF)) {
        this.observe(
          pc,
          'POPF',
          `left IF unchanged in ring ${ring} (IF stays ${before & PSW.IF ? 1 : 0}, ring 0 would have set it to ${val & PSW.IF ? 1 : 0})`,
        );
      }
    } else {
      const rd = (w >>> 8) & 15;
      if (rd !== 0) x[rd] = h.psw;
      if (ring !== vring) this.observe(pc, 'SMSW', `revealed the real ring ${ring} (the kernel runs in virtual ring ${vring})`);
    }
    return (pc + 4) >>> 0;
  }

  /** What was observed, by pc. */
  all(): CriticalObservation[] {
    return [...this.observations.values()].sort((a, b) => a.pc - b.pc);
  }

  private observe(pc: number, name: string, effect: string): void {
    const key = `${pc}:${effect}`;
    const o = this.observations.get(key);
    if (o) o.count++;
    else this.observations.set(key, { pc, name, effect, count: 1 });
  }
}
