/*
 * sbi-tamper - a VM that tampers with the platform (isolation tests): SBI
 * calls with garbage arguments, each of which must fail cleanly with an
 * SBI error (or be ignored) without harming anyone, then stores to the
 * device addresses a board keeps its timer (CLINT mtimecmp) and UART at.
 * Those are not this VM's: the first store must raise a store access fault
 * (cause 7), and the hypervisor stops this VM there.
 */
#include "sbi.h"

static void show(const char *what, struct sbiret r)
{
    printf("%s: error %ld value %ld\n", what, r.error, r.value);
}

int main(unsigned long hartid)
{
    (void)hartid;
    printf("sbi-tamper: garbage SBI calls\n");
    show("unknown extension", sbi_ecall(0x7fffffff, 0, 1, 2, 3, 4, 5, 6));
    show("BASE fid 99", sbi_ecall(SBI_EXT_BASE, 99, 0, 0, 0, 0, 0, 0));
    show("DBCN fid 7", sbi_ecall(SBI_EXT_DBCN, 7, 0, 0, 0, 0, 0, 0));
    /* console_write of memory that is not the VM's, and of a huge length */
    show("console_write at 0x1000", sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, 16, 0x1000, 0, 0, 0, 0));
    show("console_write above 4 GiB", sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, 16, 0x80000000, 1, 0, 0, 0));
    show("console_write 0 bytes", sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, 0, 0, 0, 0, 0, 0));
    show("SRST type 77", sbi_ecall(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, 77, 0, 0, 0, 0, 0));
    show("TIME fid 5", sbi_ecall(SBI_EXT_TIME, 5, 0, 0, 0, 0, 0, 0));
    /* a timer in the past, then none: harmless to anyone but this VM */
    show("set_timer(0)", sbi_set_timer(0));
    show("set_timer(never)", sbi_set_timer(SBI_TIMER_NEVER));
    printf("sbi-tamper: storing to the CLINT's mtimecmp\n");
    *(volatile uint32_t *)0x02004000 = 0;
    printf("sbi-tamper: storing to the UART\n");
    *(volatile uint8_t *)0x10000000 = 'X';
    printf("sbi-tamper: still alive after writing to devices!\n");
    return 1;
}
