/*
 * sbi-fault - prints one line, then executes an illegal instruction (the
 * all-zero word) in S-mode.  Only this VM may be affected.  The qemu shim
 * stops it, reporting an illegal-instruction exception (cause 2, tval 0)
 * at the pc of the `.word 0`.  vsim's hypervisor, like OpenSBI, delivers
 * the exception to the guest's stvec instead: the runtime prints
 * "sbi-rt: unexpected trap: scause=0x00000002 ..." and shuts down with
 * reason "system failure".
 */
#include "sbi.h"

int main(unsigned long hartid)
{
    (void)hartid;
    printf("sbi-fault: about to execute an illegal instruction\n");
    __asm__ volatile(".globl illegal_insn\n"
                     "illegal_insn: .word 0" : : : "memory");
    printf("sbi-fault: still running after the illegal instruction!\n");
    return 1;
}
