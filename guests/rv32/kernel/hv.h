/*
 * hv.h - the kernel's privileged operations: interrupt enable/disable,
 * timer, idle, trap vector.  Every privileged thing the kernel's C code
 * does goes through these functions (the trap entry/exit in entry.S is the
 * only other place that touches S-mode CSRs).
 *
 * Two builds from one source:
 *  - native (default): the operations are static inline and compile to
 *    the CSR instructions / wfi / SBI ecalls at each call site, like an
 *    unmodified kernel;
 *  - PARAVIRT: the same operations, out of line in hv.c, one function per
 *    operation (a hypercall each, later), batched where natural (idle =
 *    wait + "is the timer pending"; user_mode_init = SPP + SPIE).
 *    For now the bodies still execute the CSR operations: the hypervisor
 *    side of paravirtualization comes later.
 */
#ifndef HV_H
#define HV_H

#include <stdint.h>
#include "sbi.h"

#define SSTATUS_SIE  (1u << 1)
#define SSTATUS_SPIE (1u << 5)
#define SSTATUS_SPP  (1u << 8)
#define SIE_STIE     (1u << 5)
#define SIP_STIP     (1u << 5)

#define csr_read(csr) ({ uint32_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "rK"(v) : "memory")
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "rK"(v) : "memory")
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "rK"(v) : "memory")

/* Counters of privileged operations (read from memory by tests / hosts). */
struct hv_counts {
    uint32_t irq_enable, irq_disable, set_timer, idle, trap_vector;
};
extern struct hv_counts hv_counts;

#ifdef PARAVIRT
#define HV_FN        /* out of line, in hv.c */
void hv_set_trap_vector(void (*entry)(void));
void hv_user_mode_init(void);
void hv_irq_enable(void);
void hv_irq_disable(void);
void hv_set_timer(uint64_t when);
int hv_idle(void);
#else
#define HV_FN static inline __attribute__((always_inline))
#define HV_IMPL
#endif

#ifdef HV_IMPL
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
 * PARAVIRT: this becomes a store of 0 to the "events masked" byte of a
 * page shared with the hypervisor (Xen's shared info page,
 * evtchn_upcall_mask), no trap; likewise hv_irq_disable stores 1.
 */
HV_FN void hv_irq_enable(void) {
    hv_counts.irq_enable++;
    csr_set(sie, SIE_STIE);
}

HV_FN void hv_irq_disable(void) {
    hv_counts.irq_disable++;
    csr_clear(sie, SIE_STIE);
}

/* One-shot timer at absolute `time` value `when`; clears a pending one. */
HV_FN void hv_set_timer(uint64_t when) {
    hv_counts.set_timer++;
    sbi_set_timer(when);
}

/*
 * Idle until an interrupt is pending (wfi with sstatus.SIE = 0: the hart
 * wakes but takes no trap), then report whether it is the timer.
 * PARAVIRT: a "block" hypercall; the pending flag will then be read from
 * the shared info page (evtchn_upcall_pending) instead of sip.
 */
HV_FN int hv_idle(void) {
    hv_counts.idle++;
    __asm__ volatile("wfi" ::: "memory");
    return (csr_read(sip) & SIP_STIP) != 0;
}
#endif

#endif
