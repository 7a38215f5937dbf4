/*
 * mext.c - M extension corner cases.
 *
 * argv: ignored.
 *
 * Part 1 runs every M instruction (inline asm, so the compiler cannot fold
 * or avoid anything) over all pairs of a set of interesting operands and
 * prints the raw results in hex, so the output can be diffed against qemu.
 * Part 2 spells out the architecturally defined corner cases
 * (division by zero, INT_MIN / -1) and checks them.  Part 3 checks that
 * compiler-generated code (64-bit products, C division) agrees with part 1.
 * Exit status is the number of failed checks.
 */
#include "libc.h"

#define INT_MIN_ ((int32_t)0x80000000)

#define RTYPE(op)                                                           \
    static uint32_t op##_(uint32_t a, uint32_t b)                           \
    {                                                                       \
        uint32_t r;                                                         \
        __asm__ volatile(#op " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));     \
        return r;                                                           \
    }

RTYPE(mul)
RTYPE(mulh)
RTYPE(mulhsu)
RTYPE(mulhu)
RTYPE(div)
RTYPE(divu)
RTYPE(rem)
RTYPE(remu)

static const uint32_t vals[] = {
    0, 1, 0xFFFFFFFF /* -1 */, 7, 0xFFFFFFF9 /* -7 */,
    0x80000000 /* INT_MIN */, 0x7FFFFFFF /* INT_MAX */, 0xDEADBEEF,
};
#define NVALS (int)(sizeof vals / sizeof vals[0])

static int failures;

static void check(const char *what, uint32_t got, uint32_t want)
{
    printf("%-34s = %08x %s\n", what, got, got == want ? "ok" : "FAIL");
    if (got != want) {
        printf("    expected %08x\n", want);
        failures++;
    }
}

int main(void)
{
    uint32_t hash = 0;
    int i, j;

    puts("== part 1: a b | mul mulh mulhsu mulhu | div divu rem remu");
    for (i = 0; i < NVALS; i++) {
        for (j = 0; j < NVALS; j++) {
            uint32_t a = vals[i], b = vals[j];
            uint32_t r[8] = {
                mul_(a, b), mulh_(a, b), mulhsu_(a, b), mulhu_(a, b),
                div_(a, b), divu_(a, b), rem_(a, b), remu_(a, b),
            };
            int k;

            printf("%08x %08x | %08x %08x %08x %08x | %08x %08x %08x %08x\n",
                   a, b, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
            for (k = 0; k < 8; k++)
                hash = (hash ^ r[k]) * 0x01000193u;
        }
    }
    printf("part 1 hash = %08x\n", hash);

    puts("== part 2: defined corner cases");
    check("div 1234 / 0", div_(1234, 0), 0xFFFFFFFF);
    check("div -1234 / 0", div_((uint32_t)-1234, 0), 0xFFFFFFFF);
    check("divu 1234 / 0", divu_(1234, 0), 0xFFFFFFFF);
    check("rem 1234 % 0", rem_(1234, 0), 1234);
    check("rem -1234 % 0", rem_((uint32_t)-1234, 0), (uint32_t)-1234);
    check("remu 0xdeadbeef % 0", remu_(0xDEADBEEF, 0), 0xDEADBEEF);
    check("div INT_MIN / -1", div_(0x80000000, 0xFFFFFFFF), 0x80000000);
    check("rem INT_MIN % -1", rem_(0x80000000, 0xFFFFFFFF), 0);
    check("divu INT_MIN / 0xffffffff", divu_(0x80000000, 0xFFFFFFFF), 0);
    check("remu INT_MIN % 0xffffffff", remu_(0x80000000, 0xFFFFFFFF),
          0x80000000);
    check("div -7 / 2 (truncates)", div_((uint32_t)-7, 2), (uint32_t)-3);
    check("rem -7 % 2 (sign of dividend)", rem_((uint32_t)-7, 2),
          (uint32_t)-1);
    check("rem 7 % -2", rem_(7, (uint32_t)-2), 1);
    check("mulh -1 * -1", mulh_(0xFFFFFFFF, 0xFFFFFFFF), 0);
    check("mulhu 0xffffffff * 0xffffffff", mulhu_(0xFFFFFFFF, 0xFFFFFFFF),
          0xFFFFFFFE);
    check("mulhsu -1 * 0xffffffff", mulhsu_(0xFFFFFFFF, 0xFFFFFFFF),
          0xFFFFFFFF);
    check("mulhsu 2 * 0xffffffff", mulhsu_(2, 0xFFFFFFFF), 1);
    check("mulh INT_MIN * INT_MIN", mulh_(0x80000000, 0x80000000),
          0x40000000);
    check("mulhsu INT_MIN * 0x80000000", mulhsu_(0x80000000, 0x80000000),
          0xC0000000);
    check("mulhu INT_MIN * INT_MIN", mulhu_(0x80000000, 0x80000000),
          0x40000000);
    check("mul 0x12345678 * 0x9abcdef0", mul_(0x12345678, 0x9ABCDEF0),
          0x242D2080);
    check("mulh 0x12345678 * 0x9abcdef0", mulh_(0x12345678, 0x9ABCDEF0),
          0xF8CC93D6);
    check("mulhu 0x12345678 * 0x9abcdef0", mulhu_(0x12345678, 0x9ABCDEF0),
          0x0B00EA4E);
    check("mulhsu 0x9abcdef0 * 0x12345678", mulhsu_(0x9ABCDEF0, 0x12345678),
          0xF8CC93D6);

    puts("== part 3: compiler-generated code agrees");
    {
        /* volatile keeps the compiler from constant folding. */
        volatile int32_t sa, sb;
        volatile uint32_t ua, ub;
        int bad = 0;

        for (i = 0; i < NVALS; i++) {
            for (j = 0; j < NVALS; j++) {
                sa = (int32_t)vals[i];
                sb = (int32_t)vals[j];
                ua = vals[i];
                ub = vals[j];
                if ((uint32_t)(((int64_t)sa * sb) >> 32) != mulh_(ua, ub))
                    bad++;
                if ((uint32_t)(((uint64_t)ua * ub) >> 32) != mulhu_(ua, ub))
                    bad++;
                if ((uint32_t)(((int64_t)sa * (int64_t)(uint64_t)ub) >> 32) !=
                    mulhsu_(ua, ub))
                    bad++;
                if (ua * ub != mul_(ua, ub))
                    bad++;
                if (ub != 0) {       /* C division by zero is undefined */
                    if (ua / ub != divu_(ua, ub) || ua % ub != remu_(ua, ub))
                        bad++;
                    if (!(sa == INT_MIN_ && sb == -1) &&
                        ((uint32_t)(sa / sb) != div_(ua, ub) ||
                         (uint32_t)(sa % sb) != rem_(ua, ub)))
                        bad++;
                }
            }
        }
        printf("C vs asm mismatches: %d\n", bad);
        failures += bad;
    }

    printf("mext: %d failure(s)\n", failures);
    return failures;
}
