/*
 * sbi-storm-ebreak - a trap storm (isolation tests, docs/isolation.md).
 * Points stvec at a handler whose first instruction is `ebreak` and then
 * executes `ebreak`: every breakpoint exception enters the handler, which
 * takes the same exception again, over and over, making no progress.
 *
 * Breakpoints are delegated to the guest kernel.  In S-mode (paravirt) the
 * hardware delivers them with no exit at all: the storm burns only this
 * VM's own time.  Deprivileged (trap-and-emulate, binary translation) each
 * one exits to the hypervisor, which injects it back into the guest: the
 * hypervisor's trap-storm policy stops the VM.
 *
 * Bounded so that it also ends on a real machine (qemu, sbi/qemu/run.sh):
 * the handler counts its entries in sscratch and, after STORM_TRAPS of
 * them, goes on after the first ebreak (4 instructions per trap, far below
 * the 16 per exit the policy asks of a vCPU making progress).
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
        "    ebreak\n"                      /* traps again, and again ... */
        "1:  csrrw t0, sscratch, t0\n"
        "    j     storm_done\n");

int main(unsigned long hartid)
{
    (void)hartid;
    printf("sbi-storm-ebreak: entering a breakpoint storm\n");
    csr_write(sscratch, STORM_TRAPS);
    csr_write(stvec, (uint32_t)storm_vector);
    __asm__ volatile("ebreak\n"
                     ".globl storm_done\n"
                     "storm_done:" : : : "memory");
    printf("sbi-storm-ebreak: the storm ended after %u traps\n", STORM_TRAPS);
    return 1;
}
