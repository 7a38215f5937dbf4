// Full architectural state of a hart, for comparing engines: registers, pc, privilege, every CSR
// readable in M-mode, the counters and a hash of RAM.

import { Hart, Priv, Stop } from '@vsim/isa';

export interface Snapshot {
  readonly x: number[];
  readonly pc: number;
  readonly priv: number;
  readonly csrs: Record<string, number>;
  readonly cycles: number;
  readonly instret: number;
  readonly ram: string;
  readonly stop: Stop;
  readonly exitCause: number;
  readonly exitTval: number;
}

/** Is `e` one of the library's control-flow signals (the TRAP a forbidden CSR read throws)? */
function isSignal(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'signal' in e && !(e instanceof Error);
}

/** Every CSR M-mode can read, by number (hex), read through hart.csrRead. */
export function readableCsrs(h: Hart): Record<string, number> {
  const out: Record<string, number> = {};
  const priv = h.priv;
  const saved = [h.trapCause, h.trapTval];
  h.priv = Priv.M;
  try {
    for (let num = 0; num < 0x1000; num++) {
      try {
        out[num.toString(16).padStart(3, '0')] = h.csrRead(num) >>> 0;
      } catch (e) {
        if (!isSignal(e)) throw e;
      }
    }
  } finally {
    h.priv = priv;
    [h.trapCause, h.trapTval] = saved;
  }
  return out;
}

/** FNV-1a (32-bit) over RAM, word by word, as hex. */
export function ramHash(h: Hart): string {
  const w = h.bus.i32;
  let x = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) {
    x ^= w[i];
    x = Math.imul(x, 0x01000193);
  }
  return (x >>> 0).toString(16).padStart(8, '0');
}

export function snapshot(h: Hart): Snapshot {
  return {
    x: Array.from(h.x.subarray(0, 32)),
    pc: h.pc >>> 0,
    priv: h.priv,
    csrs: readableCsrs(h),
    cycles: h.cycles,
    instret: h.instret,
    ram: ramHash(h),
    stop: h.stopReason,
    exitCause: h.exitCause,
    exitTval: h.exitTval >>> 0,
  };
}
