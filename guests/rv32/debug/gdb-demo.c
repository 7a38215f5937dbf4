/*
 * gdb-demo.c - the program the gdb stub tests debug (apps/cli/test/exec-gdb.test.ts).
 * Built with debug info at test time (not committed: the committed ELFs carry none), by
 * buildRv32DebugGuest in @vsim/testkit.
 *
 * main adds the squares of 1..3 to `counter` (7 at start, so 21 at the end) and exits
 * with status 3 if it got there.
 */
#include "libc.h"

int counter = 7;

static int square(int v)
{
    return v * v;
}

int main(void)
{
    for (int i = 1; i <= 3; i++)
        counter += square(i);
    printf("counter = %d\n", counter);
    return counter == 21 ? 3 : 1;
}
