/*
 * sbi-storm-illegal - an endless storm of illegal instructions (isolation
 * tests, docs/isolation.md).  Points stvec at a handler that goes straight
 * back to the illegal instruction that trapped (the all-zero word at
 * `illegal_insn`), then executes it: every illegal-instruction exception
 * enters the handler, which executes the same word again, over and over,
 * making no progress.
 *
 * An illegal instruction is not delegated to the guest kernel: it exits to
 * the hypervisor, which cannot emulate it and redirects it to stvec, as
 * OpenSBI's sbi_trap_redirect does (libs/hypervisor/src/illegal.ts)
 * - in S-mode (paravirt) by writing the hart's S-mode trap state,
 * deprivileged (trap-and-emulate, binary translation) as a virtual
 * exception.  Each redirection is a futile exit: the hypervisor's
 * trap-storm policy stops the VM.
 *
 * Bounded so that it also ends on a machine that redirects illegal
 * instructions: the handler counts its entries in sscratch and, after
 * STORM_TRAPS of them, goes on after the storm.  (The qemu shim,
 * sbi/qemu, redirects nothing: it stops the VM at the first one.)
 */
#include "sbi.h"

#define STORM_TRAPS 2000000

void storm_vector(void);
__asm__(".align 2\n"
        ".globl storm_vector\n"
        "storm_vector:\n"
        "    csrrw t0, sscratch, t0\n"      /* t0 <-> sscratch: the count */
        "    addi  t0, t0, -1\n"
        "    beqz  t0, 1f\n"
        "    csrrw t0, sscratch, t0\n"
        "    j     illegal_insn\n"          /* the same illegal word again ... */
        "1:  csrrw t0, sscratch, t0\n"
        "    j     storm_done\n");

int main(unsigned long hartid)
{
    (void)hartid;
    printf("sbi-storm-illegal: entering a storm of illegal instructions\n");
    csr_write(sscratch, STORM_TRAPS);
    csr_write(stvec, (uint32_t)storm_vector);
    __asm__ volatile(".globl illegal_insn\n"
                     "illegal_insn: .word 0\n"
                     ".globl storm_done\n"
                     "storm_done:" : : : "memory");
    printf("sbi-storm-illegal: the storm ended after %u traps\n", STORM_TRAPS);
    return 1;
}
