/*
 * sbi-wildjump - a VM that jumps out of its own RAM, to where another VM's
 * memory could be (isolation tests).  Every VM has its own guest-physical
 * address space: RAM at 0x80000000 of its own size and nothing else, so
 * fetching from 0x80000000 + 64 MiB (beyond this VM's RAM in the tests)
 * must raise an instruction access fault (cause 1) and stop this VM.
 */
#include "sbi.h"

#define ELSEWHERE 0x84000000u

int main(unsigned long hartid)
{
    (void)hartid;
    printf("sbi-wildjump: jumping to 0x%08x\n", ELSEWHERE);
    ((void (*)(void))ELSEWHERE)();
    printf("sbi-wildjump: came back!\n");
    return 1;
}
