// A hart's architectural state as plain data, for snapshots of a whole VM (libs/executor/src/snapshot):
// everything an engine needs to continue the hart elsewhere — registers, pc, privilege or ring, the
// CSRs or control registers, the counters, the LR reservation, timers, a stop requested and not yet
// reported — and nothing an engine rebuilds (decoded or translated code, the store screen). The
// field names are the proto's (libs/proto/proto/vsim/v1/snapshot.proto), so the executor converts
// without a mapping table.

import { Hart } from './rv32/hart';
import { Ring32Hart } from './ring32/hart';

/** rv32 scalar state, each a number (timer compares may be +Infinity: disarmed). */
const RV32_FIELDS = [
  'pc',
  'priv',
  'mstatus',
  'medeleg',
  'mideleg',
  'mie',
  'mip',
  'mtvec',
  'mepc',
  'mcause',
  'mtval',
  'mscratch',
  'mcounteren',
  'menvcfg',
  'menvcfgh',
  'stvec',
  'sepc',
  'scause',
  'stval',
  'sscratch',
  'scounteren',
  'mtimecmp',
  'stimecmp',
  'stimecmpLo',
  'stimecmpHi',
  'cycleOffset',
  'instretOffset',
  'reservation',
  'exitMask',
  'exitInterruptMask',
  'trapCause',
  'trapTval',
  'timeSkew',
  'xlateKey',
] as const;

const RING32_FIELDS = [
  'pc',
  'psw',
  'tvec',
  'epc',
  'cause',
  'tval',
  'scratch',
  'timecmp',
  'exitMask',
  'exitInterruptMask',
  'trapCause',
  'trapTval',
  'timeSkew',
  'xlateKey',
] as const;

/**
 * What both harts share: registers, counters, a pending stop (-1: none). (The exit a trap or an
 * interrupt stops the engine with is consumed within the slice: between run orders there is none.)
 */
export interface CommonHartState {
  x: number[];
  cycles: number;
  instret: number;
  stopRequested: number;
}

export type Rv32HartState = CommonHartState & Record<(typeof RV32_FIELDS)[number], number>;
export type Ring32HartState = CommonHartState & Record<(typeof RING32_FIELDS)[number], number> & { exitCode: number; hasExitCode: boolean };

type AnyHart = Hart | Ring32Hart;

function saveCommon(h: AnyHart): CommonHartState {
  return { x: Array.from(h.x.subarray(0, 32)), cycles: h.cycles, instret: h.instret, stopRequested: h.stopRequested };
}

function loadCommon(h: AnyHart, s: CommonHartState): void {
  if (s.x.length !== 32) throw new RangeError(`hart state: x has ${s.x.length} registers, expected 32`);
  h.x.set(s.x);
  h.x[0] = 0;
  h.ctr[0] = s.cycles;
  h.ctr[1] = s.instret;
  if (s.stopRequested !== -1) h.requestStop(s.stopRequested as Parameters<AnyHart['requestStop']>[0]);
  h.kick = true;
}

export function saveRv32Hart(h: Hart): Rv32HartState {
  const s = saveCommon(h) as Rv32HartState;
  for (const f of RV32_FIELDS) s[f] = h[f];
  return s;
}

/** Loads `s` into `h` (a hart of a freshly built VM with the same memory layout). */
export function loadRv32Hart(h: Hart, s: Rv32HartState): void {
  loadCommon(h, s);
  for (const f of RV32_FIELDS) (h as unknown as Record<string, number>)[f] = s[f];
  // The bus tracks reservations too, so another hart's store can cancel this one's.
  if (h.reservation !== -1) h.bus.reserve(h, h.reservation);
}

export function saveRing32Hart(h: Ring32Hart): Ring32HartState {
  const s = saveCommon(h) as Ring32HartState;
  for (const f of RING32_FIELDS) s[f] = h[f];
  s.hasExitCode = h.exitCode !== null;
  s.exitCode = h.exitCode ?? 0;
  return s;
}

export function loadRing32Hart(h: Ring32Hart, s: Ring32HartState): void {
  loadCommon(h, s);
  for (const f of RING32_FIELDS) (h as unknown as Record<string, number>)[f] = s[f];
  h.exitCode = s.hasExitCode ? s.exitCode : null;
}
