// Full architectural state of a hart, for comparing engines: registers, pc, privilege, every CSR
// readable in M-mode, the counters and a hash of RAM.

import { BUDGET_STOP, Engine, EngineHart, Hart, Priv, Stop, StopRecord } from '@vsim/isa';

const lastStops = new WeakMap<object, StopRecord>();

/** Makes the engine remember the record of its last stop, for lastStop(hart) (tests read it after the run). */
export function recordingStops<E extends Engine<EngineHart>>(engine: E): E {
  const run = engine.run.bind(engine);
  engine.run = (budget: number) => {
    const stop = run(budget);
    lastStops.set(engine.hart, stop);
    return stop;
  };
  return engine;
}

/** The stop record of the last run of an engine made by recordingStops, as the trap's fields. */
export function lastStop(h: object): { stop: Stop; exitCause: number; exitTval: number; exitInterrupt: boolean } {
  const r = lastStops.get(h) ?? BUDGET_STOP;
  return r.kind === Stop.Trap
    ? { stop: r.kind, exitCause: r.cause, exitTval: r.tval, exitInterrupt: r.interrupt }
    : { stop: r.kind, exitCause: 0, exitTval: 0, exitInterrupt: false };
}

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
    ...(({ stop, exitCause, exitTval }) => ({ stop, exitCause, exitTval }))(lastStop(h)),
  };
}
