/*
 * dirty.c - dirties memory pages at a steady rate, for the live-migration
 * bench (bench/migrate.ts): pre-copy converges or not depending on how fast
 * a guest writes pages compared with what the link sends.
 *
 * argv[1]: working set in 4 KiB pages P (default 256, 1 MiB), from malloc.
 * argv[2]: spin iterations between two page writes G (default 1000; each
 *          iteration is ~3 instructions, so ~3 G instructions per page).
 * argv[3]: passes over the working set (default 4).
 * Every write goes to the next page of the working set, round robin, so
 * the pages dirtied per ms is (instructions per ms) / (3 G + ~10), capped
 * by P per pass (every page is written once, without spinning, first).  Prints the sum of the first word of every page (P x
 * passes) at the end.
 */
#include "libc.h"

#define PAGE 4096

int main(int argc, char **argv)
{
    int pages = argc > 1 ? atoi(argv[1]) : 256;
    int gap = argc > 2 ? atoi(argv[2]) : 1000;
    int passes = argc > 3 ? atoi(argv[3]) : 4;
    volatile uint32_t *mem;
    uint32_t sum = 0;
    int n, p, i;

    if (pages < 1 || gap < 0 || passes < 1) {
        printf("dirty: bad arguments\n");
        return 2;
    }
    mem = malloc((size_t)pages * PAGE);
    if (!mem) {
        printf("dirty: no memory for %d pages\n", pages);
        return 1;
    }
    printf("dirty: %d pages, gap %d, %d passes\n", pages, gap, passes);
    /* The whole working set in use from the start (a migration's round 1 sends it all). */
    for (p = 0; p < pages; p++)
        mem[p * (PAGE / 4)] = 1;
    for (n = 0; n < passes; n++) {
        for (p = 0; p < pages; p++) {
            mem[p * (PAGE / 4)] += (uint32_t)(n + 1);
            for (i = 0; i < gap; i++)
                __asm__ volatile("" ::: "memory");
        }
    }
    for (p = 0; p < pages; p++)
        sum += mem[p * (PAGE / 4)];
    printf("dirty: sum %u\n", sum);
    return 0;
}
