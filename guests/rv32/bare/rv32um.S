/*
 * rv32um.S - RV32M multiply/divide.
 *
 *  1 mul (low 32 bits, signs)             5 divu
 *  2 mulh (signed x signed, high)         6 rem/remu
 *  3 mulhsu / mulhu                       7 division by zero
 *  4 div (rounds toward zero)             8 INT_MIN / -1 overflow
 *  9 rd aliases a source operand
 */
#include "test_macros.h"

/* rd = op(a, b); fail unless rd == want.  Uses a0..a2. */
#define TEST_RR(op, a, b, want)                                         \
    li      a0, a;                                                      \
    li      a1, b;                                                      \
    op      a2, a0, a1;                                                 \
    CHECK_EQ(a2, want)

RVTEST_CODE_BEGIN

    TEST_BEGIN(1)
    TEST_RR(mul, 6, 7, 42)
    TEST_RR(mul, -6, 7, -42)
    TEST_RR(mul, -6, -7, 42)
    TEST_RR(mul, 0x12345678, 0x9abcdef0, 0x242d2080)
    TEST_RR(mul, 0x80000000, -1, 0x80000000)
    TEST_RR(mul, 0xffffffff, 0xffffffff, 1)
    TEST_RR(mul, 0x10000, 0x10000, 0)

    TEST_BEGIN(2)
    TEST_RR(mulh, 6, 7, 0)
    TEST_RR(mulh, -6, 7, -1)
    TEST_RR(mulh, -1, -1, 0)
    TEST_RR(mulh, 0x80000000, 0x80000000, 0x40000000)
    TEST_RR(mulh, 0x7fffffff, 0x7fffffff, 0x3fffffff)
    TEST_RR(mulh, 0x80000000, 0x7fffffff, 0xc0000000)
    TEST_RR(mulh, 0x12345678, 0x9abcdef0, 0xf8cc93d6)
    TEST_RR(mulh, 0x10000, 0x10000, 1)

    TEST_BEGIN(3)
    /* mulhsu: rs1 signed, rs2 unsigned */
    TEST_RR(mulhsu, -1, 0xffffffff, 0xffffffff)  /* -(2^32-1) >> 32 = -1 */
    TEST_RR(mulhsu, 2, 0xffffffff, 1)
    TEST_RR(mulhsu, 0x80000000, 0x80000000, 0xc0000000)
    TEST_RR(mulhsu, 0x9abcdef0, 0x12345678, 0xf8cc93d6)
    TEST_RR(mulhsu, -2, 1, 0xffffffff)
    TEST_RR(mulhsu, 0, 0xffffffff, 0)
    /* mulhu: both unsigned */
    TEST_RR(mulhu, 0xffffffff, 0xffffffff, 0xfffffffe)
    TEST_RR(mulhu, 0x80000000, 0x80000000, 0x40000000)
    TEST_RR(mulhu, 0x12345678, 0x9abcdef0, 0x0b00ea4e)
    TEST_RR(mulhu, -1, 2, 1)
    TEST_RR(mulhu, 0xffff, 0xffff, 0)

    TEST_BEGIN(4)
    TEST_RR(div, 20, 6, 3)
    TEST_RR(div, -20, 6, -3)                /* truncates toward zero */
    TEST_RR(div, 20, -6, -3)
    TEST_RR(div, -20, -6, 3)
    TEST_RR(div, -7, 2, -3)
    TEST_RR(div, 0x80000000, 1, 0x80000000)
    TEST_RR(div, 0x80000000, 2, 0xc0000000)

    TEST_BEGIN(5)
    TEST_RR(divu, 20, 6, 3)
    TEST_RR(divu, -20, 6, 715827879)        /* 0xffffffec / 6 */
    TEST_RR(divu, 20, -6, 0)
    TEST_RR(divu, 0x80000000, 0xffffffff, 0)
    TEST_RR(divu, 0xffffffff, 1, 0xffffffff)

    TEST_BEGIN(6)
    TEST_RR(rem, 20, 6, 2)
    TEST_RR(rem, -20, 6, -2)                /* sign follows dividend */
    TEST_RR(rem, 20, -6, 2)
    TEST_RR(rem, -20, -6, -2)
    TEST_RR(remu, 20, 6, 2)
    TEST_RR(remu, -20, 6, 2)                /* 0xffffffec % 6 = 2 */
    TEST_RR(remu, 20, -6, 20)
    TEST_RR(remu, 0x80000000, 0xffffffff, 0x80000000)

    TEST_BEGIN(7)
    /* x / 0: quotient all ones, remainder = dividend */
    TEST_RR(div, 20, 0, -1)
    TEST_RR(div, -20, 0, -1)
    TEST_RR(div, 0, 0, -1)
    TEST_RR(divu, 20, 0, 0xffffffff)
    TEST_RR(divu, 0, 0, 0xffffffff)
    TEST_RR(rem, 20, 0, 20)
    TEST_RR(rem, -20, 0, -20)
    TEST_RR(rem, 0x80000000, 0, 0x80000000)
    TEST_RR(remu, 20, 0, 20)
    TEST_RR(remu, 0xfffffffe, 0, 0xfffffffe)

    TEST_BEGIN(8)
    /* signed overflow: quotient INT_MIN, remainder 0 */
    TEST_RR(div, 0x80000000, -1, 0x80000000)
    TEST_RR(rem, 0x80000000, -1, 0)
    /* close but not overflow */
    TEST_RR(div, 0x80000001, -1, 0x7fffffff)
    TEST_RR(rem, 0x80000001, -1, 0)

    TEST_BEGIN(9)
    li      a0, 13
    li      a1, 5
    mul     a0, a0, a1              /* rd == rs1 */
    CHECK_EQ(a0, 65)
    div     a1, a0, a1              /* rd == rs2 */
    CHECK_EQ(a1, 13)
    rem     a0, a0, a0              /* all three the same */
    CHECK_EQ(a0, 0)
    mul     a2, zero, a1
    CHECK_EQ(a2, 0)
    div     zero, a1, a1            /* result discarded */
    bnez    zero, fail

    j       pass

    .balign 4
trap_vector:
    j       fail

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
