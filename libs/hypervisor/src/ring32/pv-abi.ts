// The paravirtual interface of the ring32 kernel's PV build (guests/ring32/kernel.s, `.ifdef PV`):
// the kernel runs in ring 1 and never executes a privileged or critical instruction. It calls the
// hypervisor with HCALL, the operation and its arguments in the shared page (`pv_shared`, found by
// its symbol), and keeps its interrupt flag there too, as Xen's shared info page does. This file is
// the ABI both sides agree on; the routines are in paravirt.ts.

export const PV_SHARED_SYMBOL = 'pv_shared';

/** Hypercall numbers (SH_OP). */
export const HC = { SET_TVEC: 1, SET_TIMER: 2, GET_TIME: 3, WRITE: 4, SHUTDOWN: 5, RETURN: 6, IRQ_PENDING: 7 } as const;
export const HC_NAMES: Record<number, string> = {
  1: 'set_tvec',
  2: 'set_timer',
  3: 'get_time',
  4: 'write',
  5: 'shutdown',
  6: 'return',
  7: 'irq_pending',
};

/** Shared page layout (byte offsets), as kernel.s defines them. */
export const SH = {
  OP: 0,
  A0: 4,
  A1: 8,
  RET: 12,
  VIF: 16,
  PENDING: 20,
  CAUSE: 24,
  EPC: 28,
  PPSW: 32,
  RPSW: 36,
  RPC: 40,
  VRING: 44,
} as const;

/** The bytes of the shared page the routines read and write (SH_VRING is the last word). */
export const SHARED_PAGE_BYTES = 48;

/** Longest console write one hypercall takes (as MAX_WINDOW for rv32's console). */
export const MAX_WRITE = 4096;
