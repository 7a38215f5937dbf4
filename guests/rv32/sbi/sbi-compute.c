/*
 * sbi-compute - a CPU-bound guest: counts the primes below
 * SEGMENTS * 2^17 with a segmented sieve of Eratosthenes (one 128 KiB
 * segment at a time), printing a progress line every 4 segments and, at
 * the end, the prime count and an FNV-1a-style checksum of all the primes;
 * then returns 0 (SRST shutdown, reason none).  Never sleeps and makes no
 * SBI call between progress lines: used to show CPU sharing between VMs.
 *
 * Cost is linear in SEGMENTS (a compile-time constant): about 2.1 M
 * instructions per segment, ~41 M for the default 20 segments
 * (primes below 2621440).
 */
#include "sbi.h"

#ifndef SEGMENTS
#define SEGMENTS 20
#endif
#define SEG_SIZE (1u << 17)                     /* numbers per segment   */
#define LIMIT    ((uint32_t)SEGMENTS * SEG_SIZE) /* sieve [0, LIMIT)     */
#define BASE_MAX 2048                           /* base primes below     */
#define PROGRESS 4                              /* segments per line     */

_Static_assert((uint64_t)BASE_MAX * BASE_MAX >= LIMIT, "BASE_MAX too small");

static uint8_t seg[SEG_SIZE];                   /* 1 = composite         */
static uint8_t small[BASE_MAX];
static uint32_t base_primes[BASE_MAX / 2];
static uint32_t n_base;

/* The primes below BASE_MAX, with a plain sieve. */
static void find_base_primes(void)
{
    uint32_t i, j;

    for (i = 2; i < BASE_MAX; i++) {
        if (small[i])
            continue;
        base_primes[n_base++] = i;
        for (j = i * i; j < BASE_MAX; j += i)
            small[j] = 1;
    }
}

int main(unsigned long hartid)
{
    uint32_t s, k, count = 0, hash = 2166136261u;

    (void)hartid;
    printf("sbi-compute: counting primes below %u in %d segments\n",
           LIMIT, SEGMENTS);
    find_base_primes();

    for (s = 0; s < SEGMENTS; s++) {
        uint32_t lo = s * SEG_SIZE, hi = lo + SEG_SIZE;

        memset(seg, 0, sizeof seg);
        for (k = 0; k < n_base; k++) {
            uint32_t p = base_primes[k], m;

            if (p * p >= hi)
                break;
            m = (lo + p - 1) / p * p;           /* first multiple >= lo  */
            if (m < p * p)
                m = p * p;
            for (m -= lo; m < SEG_SIZE; m += p)
                seg[m] = 1;
        }
        for (k = s == 0 ? 2 : 0; k < SEG_SIZE; k++) {
            if (!seg[k]) {
                count++;
                hash = (hash ^ (lo + k)) * 16777619u;
            }
        }
        if ((s + 1) % PROGRESS == 0 || s + 1 == SEGMENTS)
            printf("[%2u/%d] primes below %7u: %u\n", s + 1, SEGMENTS, hi,
                   count);
    }

    printf("pi(%u) = %u, checksum 0x%08x\n", LIMIT, count, hash);
    return 0;
}
