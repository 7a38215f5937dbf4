/*
 * exitcode.c - prints one line and exits with status 42 via exit_group(2),
 * so that exit status propagation can be tested.
 *
 * argv: ignored.
 */
#include "libc.h"

int main(void)
{
    puts("exiting with status 42");
    sys_exit_group(42);
}
