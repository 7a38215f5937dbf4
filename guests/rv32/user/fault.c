/*
 * fault.c - prints a line, then executes an illegal instruction (the
 * all-zeroes word, which is defined to be illegal in every RISC-V encoding).
 * Used to test fault reporting: under qemu-riscv32 the process dies with
 * SIGILL; a simulator should report an illegal-instruction trap with
 * mtval/stval = 0 at the address of the `.word 0`.
 *
 * argv: ignored.
 */
#include "libc.h"

int main(void)
{
    puts("about to execute an illegal instruction");
    __asm__ volatile(".word 0");
    puts("ERROR: still alive after illegal instruction");
    return 1;
}
