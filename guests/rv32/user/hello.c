/*
 * hello.c - prints a greeting and its command line, exits with status 0.
 *
 * argv: any; every argument is echoed back.
 */
#include "libc.h"

int main(int argc, char **argv)
{
    int i;

    puts("Hello from rv32 guest!");
    printf("argc = %d\n", argc);
    for (i = 0; i < argc; i++)
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
    if (argv[argc] != NULL) {
        puts("argv is not NULL-terminated!");
        return 1;
    }
    return 0;
}
