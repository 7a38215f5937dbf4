/*
 * hv.h - the kernel's privileged operations: interrupt enable/disable,
 * timer, idle, trap vector, return to user.  Every privileged thing the
 * kernel's C code does goes through these functions (the trap entry/exit
 * in entry.S is the only other place that touches S-mode CSRs).
 *
 * Two builds from one source:
 *  - native (default): the operations are static inline and compile to
 *    the CSR instructions / wfi / SBI ecalls at each call site, like an
 *    unmodified kernel; entry.S uses sscratch/sepc/scause/stval and sret.
 *  - PARAVIRT: the kernel runs deprivileged (in U-mode) and executes no
 *    privileged instruction at all, Xen-PV style.  The operations are out
 *    of line in hv.c and become hypercalls (ecall, a7 = PV_EID, a6 = the
 *    operation; the ABI is documented in libs/hypervisor/src/pv.ts):
 *      set_trap_vector -> PV_SET_CALLBACK    (Xen's set_callbacks)
 *      return_to_user  -> PV_IRET            (Xen's iret; replaces sret)
 *      set_timer       -> PV_SET_TIMER       (Xen's set_timer_op)
 *      idle            -> PV_BLOCK           (Xen's SCHEDOP_block)
 *    Operations that need not take effect at once (callback, timer) are
 *    queued in a batch and issued as one PV_MULTICALL (Xen's
 *    HYPERVISOR_multicall) together with the next iret or block, which
 *    are the points where the kernel lets anything observe them (it is
 *    never interrupted).  So a tick costs one exit for "set timer +
 *    iret", idling one for "set timer + block", and user-mode init one
 *    for "set callback + set timer + iret".
 *    Interrupt masking costs no exit: the mask lives in a shared info page
 *    (struct hv_shared_info, registered by PV_REGISTER_SHARED_INFO at boot)
 *    - Xen's evtchn_upcall_mask / evtchn_upcall_pending.  The hypervisor
 *    reads the mask before injecting the timer interrupt; if it is set it
 *    raises the pending byte instead, and the kernel, on unmasking, makes
 *    a PV_EVENT_CHECK hypercall only if that byte is set.  The trap's
 *    cause, epc, tval and interrupted sp are also delivered there.
 */
#ifndef HV_H
#define HV_H

#define SSTATUS_SIE  (1u << 1)
#define SSTATUS_SPIE (1u << 5)
#define SSTATUS_SPP  (1u << 8)
#define SIE_STIE     (1u << 5)
#define SIP_STIP     (1u << 5)

/*
 * PARAVIRT is orthogonal to SMP: the 2-hart build (-DSMP, smp.c) is
 * deprivileged too.  Each vCPU then has its own shared info area (Xen's
 * vcpu_info: mask, pending, trap info, iret frame, multicall entries),
 * hv_shared[hart], registered by that vCPU's first PV_REGISTER_SHARED_INFO
 * (the secondary registers its own when it starts).  The hv_* functions
 * act on the calling vCPU's area (the hart id is in tp for the whole SMP
 * phase; tasks run on hart 0 only).  An IPI is a software-interrupt event:
 * masked, it only raises the target's pending byte; unmasked, it is
 * delivered by upcall at the target's next PV_EVENT_CHECK (the kernel is
 * never interrupted asynchronously, so the callback treats it like a
 * function call: hv_wait_event, smp-entry.S).
 */
#ifdef PARAVIRT
#define HV_XENPV 1
#endif
#ifdef SMP
#define HV_NCPUS 2
#else
#define HV_NCPUS 1
#endif

/* Hypercall ABI (libs/hypervisor/src/pv.ts has the same numbers). */
#define PV_EID   0x0A767370   /* SBI firmware-specific extension range, "\nvsp" */
#define PV_ABI_VERSION 1
#define PV_REGISTER_SHARED_INFO 0   /* a0 = address of struct hv_shared_info */
#define PV_SET_CALLBACK         1   /* a0 = trap entry */
#define PV_IRET                 2   /* a0 = frame to trap into next time; regs from shared->iret */
#define PV_SET_TIMER            3   /* a0, a1 = absolute time, low and high words */
#define PV_BLOCK                4   /* until an event is pending; result 1 = timer pending */
#define PV_EVENT_CHECK          5   /* deliver a pending event (after unmasking) */
#define PV_MULTICALL            6   /* a0 = first entry, a1 = count, in shared->mc */

/* Shared info page layout (byte offsets used by entry.S and the hypervisor). */
#define HV_SH_MASK     0
#define HV_SH_PENDING  1
#define HV_SH_CAUSE    4
#define HV_SH_EPC      8
#define HV_SH_TVAL    12
#define HV_SH_SP      16
#define HV_SH_IRET    32
#define HV_SH_MC     164
#define HV_MC_MAX      8
#define HV_SH_SIZE   292            /* one vCPU's area: HV_SH_MC + 16 * HV_MC_MAX */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include "sbi.h"

#define csr_read(csr) ({ uint32_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "rK"(v) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "rK"(v) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "rK"(v) : "memory")

/* Counters of privileged operations (read from memory by tests / hosts). */
struct hv_counts {
    uint32_t irq_enable, irq_disable, set_timer, idle, trap_vector;
    uint32_t hypercalls, multicalls, batched;   /* PARAVIRT only */
};
extern struct hv_counts hv_counts;

#ifdef HV_XENPV
/* One queued operation of a multicall (Xen's multicall_entry_t, shortened). */
struct hv_multicall_entry {
    uint32_t op, result, arg0, arg1;
};

struct hv_shared_info {
    volatile uint8_t upcall_mask;     /* 1 = events masked; written by the kernel only */
    volatile uint8_t upcall_pending;  /* an event waits; written by the hypervisor */
    uint8_t pad0[2];
    uint32_t cause, epc, tval, sp;    /* of the trap being delivered (hypervisor) */
    uint32_t pad1[3];
    uint32_t iret[33];                /* x[0..31], pc: the frame PV_IRET restores */
    struct hv_multicall_entry mc[HV_MC_MAX];
};
extern struct hv_shared_info hv_shared[HV_NCPUS];   /* one area per vCPU */

#define HV_FN        /* out of line, in hv.c */
void hv_set_trap_vector(void (*entry)(void));
void hv_user_mode_init(void);
void hv_irq_enable(void);
void hv_irq_disable(void);
int hv_irq_enabled(void);
void hv_set_timer(uint64_t when);
int hv_idle(void);
#ifdef SMP
void hv_wait_event(void);
#endif
#else
#define HV_FN static inline __attribute__((always_inline))
#define HV_IMPL
#endif

#if defined(HV_IMPL) && !defined(HV_XENPV)
/* Direct S-mode trap vector (stvec). */
HV_FN void hv_set_trap_vector(void (*entry)(void)) {
    hv_counts.trap_vector++;
    csr_write(stvec, (uint32_t)entry);
}

/* sret goes to U-mode (sstatus.SPP = 0) with interrupts on (SPIE = 1). */
HV_FN void hv_user_mode_init(void) {
    csr_clear(sstatus, SSTATUS_SPP);
    csr_set(sstatus, SSTATUS_SPIE);
}

/*
 * Interrupts on: the supervisor timer (sie.STIE).  The kernel itself
 * always runs with sstatus.SIE = 0 (it is never interrupted).
 * PARAVIRT: a store of 0 to the shared page's upcall_mask, no exit.
 */
HV_FN void hv_irq_enable(void) {
    hv_counts.irq_enable++;
    csr_set(sie, SIE_STIE);
}

HV_FN void hv_irq_disable(void) {
    hv_counts.irq_disable++;
    csr_clear(sie, SIE_STIE);
}

/* Whether the timer interrupt is enabled: a privileged-register read (sie). */
HV_FN int hv_irq_enabled(void) {
    return (csr_read(sie) & SIE_STIE) != 0;
}

/* One-shot timer at absolute `time` value `when`; clears a pending one. */
HV_FN void hv_set_timer(uint64_t when) {
    hv_counts.set_timer++;
    sbi_set_timer(when);
}

/*
 * Idle until an interrupt is pending (wfi with sstatus.SIE = 0: the hart
 * wakes but takes no trap), then report whether it is the timer.
 * PARAVIRT: a block hypercall; the pending flag is then read from the
 * shared info page (upcall_pending) instead of sip.
 */
HV_FN int hv_idle(void) {
    hv_counts.idle++;
    __asm__ volatile("wfi" ::: "memory");
    return (csr_read(sip) & SIP_STIP) != 0;
}
#endif
#endif /* __ASSEMBLER__ */

#endif
