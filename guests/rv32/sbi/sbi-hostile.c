/*
 * sbi-hostile - a VM that tries to write outside its own RAM (used by
 * isolation tests).  Prints one line, then stores 0xdeadbeef to addresses
 * that are not its RAM, the first one being 0x00001000:
 *
 *   0x00001000  low memory (the boot ROM on many boards)
 *   0x02004000  where a CLINT keeps mtimecmp: the host's timer
 *   0x10000000  where the virt board has its UART
 *   0xffff0000  the top of the address space
 *
 * Each must raise a store access fault (cause 7, tval = the address).  The
 * hypervisor is expected to stop this VM at the first one and leave every
 * other VM untouched; the output is then just the first line.  Should it
 * deliver the fault to the guest instead, the exception handler below
 * notes it and goes on with the next address, so the output shows which
 * stores faulted; a store that does NOT fault is an isolation failure.
 */
#include "sbi.h"

static volatile uint32_t faults, last_cause;

static int on_exception(uint32_t scause, uint32_t sepc, uint32_t stval)
{
    (void)sepc;
    (void)stval;
    faults++;
    last_cause = scause;
    return 1;                   /* skip the faulting store */
}

/* Volatile targets: the stores stay ordered with the reads of `faults`. */
static volatile uint32_t *const targets[] = {
    (volatile uint32_t *)0x00001000,
    (volatile uint32_t *)0x02004000,
    (volatile uint32_t *)0x10000000,
    (volatile uint32_t *)0xffff0000,
};

int main(unsigned long hartid)
{
    unsigned i, bad = 0;

    (void)hartid;
    printf("sbi-hostile: storing outside my RAM, starting at %p\n",
           (void *)targets[0]);
    sbi_set_exception_handler(on_exception);
    for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        uint32_t before = faults;
        __asm__ volatile("" : : : "memory");
        *targets[i] = 0xdeadbeef;
        __asm__ volatile("" : : : "memory");
        if (faults != before) {
            printf("store to %p faulted, scause %u\n", (void *)targets[i],
                   last_cause);
        } else {
            printf("store to %p did NOT fault\n", (void *)targets[i]);
            bad++;
        }
    }
    printf("sbi-hostile: still alive, %u stores did not fault\n", bad);
    return 1;
}
