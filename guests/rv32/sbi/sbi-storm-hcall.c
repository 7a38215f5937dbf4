/*
 * sbi-storm-hcall - a hypercall storm (isolation tests, docs/isolation.md):
 * SBI calls with garbage extension and function IDs in a tight loop, each
 * answered SBI_ERR_NOT_SUPPORTED, with a handful of instructions between
 * two calls.  The hypervisor's trap-storm policy stops the VM long before
 * the loop ends (it is bounded only so that it also ends on a real machine,
 * sbi/qemu/run.sh).
 */
#include "sbi.h"

#define STORM_CALLS 1000000

int main(unsigned long hartid)
{
    unsigned long i, unsupported = 0;

    (void)hartid;
    printf("sbi-storm-hcall: %u garbage SBI calls\n", STORM_CALLS);
    for (i = 0; i < STORM_CALLS; i++) {
        struct sbiret r = sbi_ecall(0x0badca11 + (long)(i & 7), (long)i, (long)i, -1, 0, 0, 0, 0);
        unsupported += r.error == SBI_ERR_NOT_SUPPORTED;
    }
    printf("sbi-storm-hcall: done, %lu not supported\n", unsupported);
    return 1;
}
