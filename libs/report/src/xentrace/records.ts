// Xen's trace record ids and layout, from xen/include/public/trace.h, xen/common/sched/core.c and
// the TRACE calls of xen/common/sched/credit.c and credit2.c (what docs/xentrace.md lists).
//
// A record (struct t_rec) is a 32-bit header — event id in bits 0-27, the number of 32-bit data
// words in bits 28-30, bit 31 set when a 64-bit TSC follows — then the TSC (low word first) if
// any, then the data words; little-endian. A trace file is a sequence of per-pCPU windows, each a
// TRC_TRACE_CPU_CHANGE record without TSC whose two words are the pCPU and the byte length of the
// records that follow it, all of that pCPU (xenalyze's scan_for_new_pcpu / process_cpu_change).

export const TRC_HD_CYCLE_FLAG = 0x80000000;
export const TRACE_EXTRA_SHIFT = 28;
export const TRACE_EXTRA_MAX = 7;
export const TRC_EVENT_MASK = 0x0fffffff;

/** TRC_GEN + 3: a window of one pCPU's records: [cpu, window_size]. */
export const TRC_TRACE_CPU_CHANGE = 0x0001f003;

/** TRC_SCHED_MIN + 1, | old << 8 | new << 4: [vcpu | dom << 16] (core.c trace_runstate_change). */
export const TRC_SCHED_RUNSTATE_CHANGE = 0x00021001;
/** TRC_SCHED_VERBOSE + n (core.c). */
export const TRC_SCHED_WAKE = 0x00028004;
export const TRC_SCHED_BLOCK = 0x00028006;
export const TRC_SCHED_ADJDOM = 0x00028009;
export const TRC_SCHED_SWITCH = 0x0002800a;
export const TRC_SCHED_SWITCH_INFPREV = 0x0002800e;
export const TRC_SCHED_SWITCH_INFNEXT = 0x0002800f;
export const TRC_SCHED_SHUTDOWN_CODE = 0x00028010;

/** TRC_SCHED_CLASS_EVT(_c, _e) = TRC_SCHED_CLASS | (_c << 9) + _e (trace.h). */
export function schedClassEvent(scheduler: number, e: number): number {
  return (0x00022000 | ((scheduler << 9) & 0x0e00)) + (e & 0x1ff);
}
export const TRC_SCHED_CSCHED = 0;
export const TRC_SCHED_CSCHED2 = 1;
/** credit.c */
export const TRC_CSCHED_STOLEN_UNIT = schedClassEvent(TRC_SCHED_CSCHED, 4);
export const TRC_CSCHED_TICKLE = schedClassEvent(TRC_SCHED_CSCHED, 6);
export const TRC_CSCHED_BOOST_START = schedClassEvent(TRC_SCHED_CSCHED, 7);
export const TRC_CSCHED_BOOST_END = schedClassEvent(TRC_SCHED_CSCHED, 8);
/** credit2.c */
export const TRC_CSCHED2_TICKLE = schedClassEvent(TRC_SCHED_CSCHED2, 6);
export const TRC_CSCHED2_CREDIT_RESET = schedClassEvent(TRC_SCHED_CSCHED2, 7);

/** public/vcpu.h runstates. */
export const RUNSTATE = { running: 0, runnable: 1, blocked: 2, offline: 3 } as const;
export type Runstate = keyof typeof RUNSTATE;

/** The idle domain's id (DOMID_IDLE); its vCPU n is pCPU n's idle vCPU. */
export const DOMID_IDLE = 0x7fff;

/** SCHEDOP_shutdown reasons (public/sched.h). */
export const SHUTDOWN_POWEROFF = 0;
export const SHUTDOWN_CRASH = 3;

export function runstateChange(from: Runstate, to: Runstate): number {
  return TRC_SCHED_RUNSTATE_CHANGE | (RUNSTATE[from] << 8) | (RUNSTATE[to] << 4);
}

/** One decoded record. */
export interface XenRecord {
  readonly cpu: number;
  readonly event: number;
  /** The TSC, if the record carries one. */
  readonly tsc?: bigint;
  readonly data: readonly number[];
}
