/*
 * atomics.c - the A extension: LR/SC and every AMO*.W instruction.
 *
 * argv: ignored.
 *
 * Each AMO is applied to a memory word and the program prints the value
 * returned in rd (the old memory value) and the new memory value.  LR/SC is
 * exercised as: a successful lr/sc pair, an sc with no reservation, an sc
 * right after a successful sc (the reservation is consumed), and an atomic
 * increment built from an lr/sc retry loop.  Exit status is the number of
 * failed checks.
 */
#include "libc.h"

static volatile uint32_t word;
static int failures;

static void check(const char *what, uint32_t got, uint32_t want)
{
    printf("%-28s %08x %s\n", what, got, got == want ? "ok" : "FAIL");
    if (got != want)
        failures++;
}

#define AMO(op)                                                             \
    static uint32_t op##_w(volatile uint32_t *p, uint32_t v)                \
    {                                                                       \
        uint32_t old;                                                       \
        __asm__ volatile(#op ".w %0, %2, (%1)"                              \
                         : "=r"(old)                                        \
                         : "r"(p), "r"(v)                                   \
                         : "memory");                                       \
        return old;                                                         \
    }

AMO(amoswap)
AMO(amoadd)
AMO(amoxor)
AMO(amoand)
AMO(amoor)
AMO(amomin)
AMO(amomax)
AMO(amominu)
AMO(amomaxu)

/* Also check the .aq/.rl/.aqrl encodings decode and behave the same. */
static uint32_t amoadd_aqrl(volatile uint32_t *p, uint32_t v)
{
    uint32_t old;
    __asm__ volatile("amoadd.w.aqrl %0, %2, (%1)"
                     : "=r"(old) : "r"(p), "r"(v) : "memory");
    return old;
}

static uint32_t lr_w(volatile uint32_t *p)
{
    uint32_t v;
    __asm__ volatile("lr.w %0, (%1)" : "=r"(v) : "r"(p) : "memory");
    return v;
}

/* Returns sc.w's rd: 0 on success, non-zero (1 on all known harts) on
 * failure. */
static uint32_t sc_w(volatile uint32_t *p, uint32_t v)
{
    uint32_t r;
    __asm__ volatile("sc.w %0, %2, (%1)"
                     : "=r"(r) : "r"(p), "r"(v) : "memory");
    return r;
}

static uint32_t atomic_inc(volatile uint32_t *p)
{
    uint32_t old, fail;
    __asm__ volatile("1: lr.w.aq %0, (%2)\n"
                     "   addi    %1, %0, 1\n"
                     "   sc.w.rl %1, %1, (%2)\n"
                     "   bnez    %1, 1b\n"
                     : "=&r"(old), "=&r"(fail)
                     : "r"(p)
                     : "memory");
    return old;
}

/* Apply one AMO, print and check old/new values. */
#define TEST_AMO(op, init, operand, want_new)                               \
    do {                                                                    \
        word = (init);                                                      \
        uint32_t old_ = op##_w(&word, (operand));                           \
        check(#op ".w old", old_, (init));                                  \
        check(#op ".w new", word, (want_new));                              \
    } while (0)

int main(void)
{
    uint32_t v, r;
    int i;

    puts("== AMOs");
    TEST_AMO(amoswap, 0x11111111, 0x22222222, 0x22222222);
    TEST_AMO(amoadd, 0xFFFFFFFF, 2, 1);
    TEST_AMO(amoxor, 0xF0F0F0F0, 0xFF00FF00, 0x0FF00FF0);
    TEST_AMO(amoand, 0xF0F0F0F0, 0xFF00FF00, 0xF000F000);
    TEST_AMO(amoor, 0xF0F0F0F0, 0xFF00FF00, 0xFFF0FFF0);
    TEST_AMO(amomin, 0xFFFFFFFE, 5, 0xFFFFFFFE);          /* -2 < 5   */
    TEST_AMO(amomin, 5, 0x80000000, 0x80000000);
    TEST_AMO(amomax, 0xFFFFFFFE, 5, 5);
    TEST_AMO(amomax, 0x80000000, 0x7FFFFFFF, 0x7FFFFFFF);
    TEST_AMO(amominu, 0xFFFFFFFE, 5, 5);                  /* unsigned */
    TEST_AMO(amominu, 0, 0xFFFFFFFF, 0);
    TEST_AMO(amomaxu, 0xFFFFFFFE, 5, 0xFFFFFFFE);
    TEST_AMO(amomaxu, 0x7FFFFFFF, 0x80000000, 0x80000000);

    word = 100;
    check("amoadd.w.aqrl old", amoadd_aqrl(&word, 23), 100);
    check("amoadd.w.aqrl new", word, 123);

    /* amoswap with rd = x0 is a plain atomic store. */
    word = 1;
    __asm__ volatile("amoswap.w x0, %1, (%0)"
                     : : "r"(&word), "r"(0xABCD) : "memory");
    check("amoswap.w x0 new", word, 0xABCD);

    puts("== LR/SC");
    word = 0x5A5A5A5A;
    v = lr_w(&word);
    r = sc_w(&word, v + 1);
    check("lr.w value", v, 0x5A5A5A5A);
    check("sc.w after lr.w (0=ok)", r, 0);
    check("memory after sc.w", word, 0x5A5A5A5B);

    r = sc_w(&word, 0xDEAD);
    check("sc.w again, no reservation", r != 0, 1);
    check("memory unchanged", word, 0x5A5A5A5B);

    word = 0;
    for (i = 0; i < 1000; i++)
        atomic_inc(&word);
    check("lr/sc increment x1000", word, 1000);

    printf("atomics: %d failure(s)\n", failures);
    return failures;
}
