/*
 * smp.h - the 2-hart build of the kernel (-DSMP): bring-up of the second
 * hart through the SBI HSM extension, IPIs through the SBI IPI extension.
 *
 * SBI v2.0 (riscv-sbi-doc): HSM is EID 0x48534D ("HSM"), FIDs hart_start 0,
 * hart_stop 1, hart_get_status 2; IPI is EID 0x735049 ("sPI"), FID 0
 * send_ipi(hart_mask, hart_mask_base) - the target takes a supervisor
 * software interrupt (sip.SSIP), which it clears itself.
 */
#ifndef SMP_H
#define SMP_H
#include <stdint.h>
#include "sbi.h"

#define SBI_EXT_HSM 0x48534D
#define SBI_EXT_IPI 0x735049

/* hart_get_status values (SBI v2.0 table "HSM hart states"). */
#define SBI_HSM_STARTED       0
#define SBI_HSM_STOPPED       1
#define SBI_HSM_START_PENDING 2
#define SBI_HSM_STOP_PENDING  3

#define SBI_ERR_ALREADY_AVAILABLE (-6)

static inline long sbi_hart_start(uint32_t hartid, uint32_t start_addr, uint32_t opaque) {
    return sbi_call3(SBI_EXT_HSM, 0, (long)hartid, (long)start_addr, (long)opaque, 0);
}

static inline void __attribute__((noreturn)) sbi_hart_stop(void) {
    sbi_call3(SBI_EXT_HSM, 1, 0, 0, 0, 0);
#ifdef PARAVIRT
    for (;;) { }                        /* hart_stop does not return; no privileged wfi deprivileged */
#else
    for (;;) __asm__ volatile("wfi");   /* hart_stop does not return on success */
#endif
}

/* The state (SBI_HSM_*) of `hartid`, or a negative SBI error. */
static inline long sbi_hart_get_status(uint32_t hartid) {
    long value = 0;
    long err = sbi_call3(SBI_EXT_HSM, 2, (long)hartid, 0, 0, &value);
    return err != 0 ? err : value;
}

static inline long sbi_send_ipi(uint32_t hart_mask, uint32_t hart_mask_base) {
    return sbi_call3(SBI_EXT_IPI, 0, (long)hart_mask, (long)hart_mask_base, 0, 0);
}

/* Runs the SMP phase on the boot hart; returns once the other hart has stopped. */
void smp_boot(uint32_t hartid);

#endif
