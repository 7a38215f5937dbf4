/*
 * brk.c - grows the heap with brk(2) and malloc, fills and verifies it.
 *
 * argv: ignored.
 *
 * Only relative facts are printed (the initial break address differs
 * between kernels/simulators).  Checks: brk(0) returns the current break;
 * growing by 1 MiB in 64 KiB steps succeeds and the memory reads back what
 * was written (and is zero-filled when new); brk below the initial break is
 * refused (returns the current break); shrinking back works; malloc returns
 * distinct, aligned, usable blocks.  Exit status is the number of failures.
 */
#include "libc.h"

#define STEP (64 * 1024)
#define STEPS 16

static int failures;

/* Fill pattern: depends on the offset from the initial break only, so the
 * checksum does not depend on where the kernel put the heap. */
static uint32_t pattern(uintptr_t offset)
{
    return (uint32_t)offset * 2654435761u ^ 0xA5A5A5A5u;
}

static void check(const char *what, int ok)
{
    printf("%-44s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok)
        failures++;
}

int main(void)
{
    uintptr_t start = (uintptr_t)sys_brk(0), cur = start;
    uint32_t sum = 0, nonzero = 0;
    uint32_t *p;
    uintptr_t i;
    int s;

    check("brk(0) is non-zero", start != 0);
    check("brk(0) again returns the same break", (uintptr_t)sys_brk(0) == start);

    for (s = 0; s < STEPS; s++) {
        uintptr_t want = cur + STEP;
        uintptr_t got = (uintptr_t)sys_brk((void *)want);
        if (got != want) {
            printf("step %d: brk returned %d bytes off the request\n", s,
                   (int)(got - want));
            failures++;
            break;
        }
        /* Freshly mapped memory must be zero; then fill it. */
        for (p = (uint32_t *)cur; (uintptr_t)p < want; p++) {
            nonzero |= *p;
            *p = pattern((uintptr_t)p - start);
        }
        cur = want;
    }
    check("grew heap by 1 MiB in 16 steps", cur - start == STEP * STEPS);
    check("new heap memory was zero-filled", nonzero == 0);
    check("brk(0) reports the grown break", (uintptr_t)sys_brk(0) == cur);

    for (i = start; i < cur; i += 4) {
        uint32_t w = *(uint32_t *)i;
        if (w != pattern(i - start))
            failures++;
        sum = (sum ^ w) * 0x01000193u;
    }
    printf("heap checksum %08x\n", sum);

    check("brk below the initial break is refused",
          (uintptr_t)sys_brk((void *)(start - 4096)) == cur);
    check("shrinking back to the initial break works",
          (uintptr_t)sys_brk((void *)start) == start);

    /* malloc grows the break on its own from here. */
    {
        uint8_t *a = malloc(100), *b = malloc(200000), *c = malloc(3);
        uint32_t h = 0;
        int k;

        check("malloc returned three non-NULL blocks", a && b && c);
        check("blocks are 16-byte aligned",
              (((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) & 15) == 0);
        check("blocks do not overlap", a + 100 <= b && b + 200000 <= c);
        memset(a, 0x11, 100);
        for (k = 0; k < 200000; k++)
            b[k] = (uint8_t)(k * 7);
        memcpy(c, "ok", 3);
        for (k = 0; k < 200000; k++)
            h = h * 33 + b[k];
        check("malloc'd memory holds data", a[99] == 0x11 && c[0] == 'o');
        printf("malloc block hash %08x\n", h);
        check("break moved past the last block",
              (uintptr_t)sys_brk(0) >= (uintptr_t)(c + 3));
    }

    printf("brk: %d failure(s)\n", failures);
    return failures;
}
