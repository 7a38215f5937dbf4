/*
 * rv32ui-basic.S - RV32I base integer instructions.
 *
 *  1 add/sub/addi, wrap-around        7 stores sb/sh/sw (read back with lw)
 *  2 and/or/xor + immediate forms     8 branches, taken and not taken
 *  3 shifts, register shamt masking   9 jal/jalr link values, jalr clears bit 0
 *  4 slt/sltu/slti/sltiu              10 writes to x0 are discarded
 *  5 lui/auipc                        11 a loop (sum 1..100)
 *  6 loads lb/lbu/lh/lhu/lw with sign extension
 */
#include "test_macros.h"

RVTEST_CODE_BEGIN

    /* ---- 1: add/sub/addi */
    TEST_BEGIN(1)
    li      a0, 0x7fffffff
    li      a1, 1
    add     a2, a0, a1
    CHECK_EQ(a2, 0x80000000)        /* signed overflow wraps */
    sub     a2, a1, a0
    CHECK_EQ(a2, 0x80000002)
    addi    a2, a0, -2048
    CHECK_EQ(a2, 0x7ffff7ff)
    addi    a2, zero, 2047
    CHECK_EQ(a2, 2047)
    li      a0, -1
    addi    a2, a0, 1
    CHECK_EQ(a2, 0)
    sub     a2, zero, a1
    CHECK_EQ(a2, -1)

    /* ---- 2: logic */
    TEST_BEGIN(2)
    li      a0, 0xff00ff00
    li      a1, 0x0ff00ff0
    and     a2, a0, a1
    CHECK_EQ(a2, 0x0f000f00)
    or      a2, a0, a1
    CHECK_EQ(a2, 0xfff0fff0)
    xor     a2, a0, a1
    CHECK_EQ(a2, 0xf0f0f0f0)
    andi    a2, a0, -256            /* imm sign-extends to 0xffffff00 */
    CHECK_EQ(a2, 0xff00ff00)
    ori     a2, a1, 0x70f
    CHECK_EQ(a2, 0x0ff00fff)
    xori    a2, a0, -1              /* not */
    CHECK_EQ(a2, 0x00ff00ff)

    /* ---- 3: shifts */
    TEST_BEGIN(3)
    li      a0, 0x80000001
    slli    a2, a0, 1
    CHECK_EQ(a2, 0x00000002)
    srli    a2, a0, 31
    CHECK_EQ(a2, 1)
    srai    a2, a0, 31
    CHECK_EQ(a2, -1)
    srai    a2, a0, 4
    CHECK_EQ(a2, 0xf8000000)
    li      a1, 0x21                /* only the low 5 bits count: 1 */
    sll     a2, a0, a1
    CHECK_EQ(a2, 2)
    srl     a2, a0, a1
    CHECK_EQ(a2, 0x40000000)
    sra     a2, a0, a1
    CHECK_EQ(a2, 0xc0000000)
    li      a1, -1                  /* shamt 31 */
    sll     a2, a0, a1
    CHECK_EQ(a2, 0x80000000)
    slli    a2, a0, 0
    CHECK_EQ(a2, 0x80000001)

    /* ---- 4: set-less-than */
    TEST_BEGIN(4)
    li      a0, -1
    li      a1, 1
    slt     a2, a0, a1
    CHECK_EQ(a2, 1)                 /* -1 < 1 signed */
    sltu    a2, a0, a1
    CHECK_EQ(a2, 0)                 /* 0xffffffff > 1 unsigned */
    slt     a2, a1, a1
    CHECK_EQ(a2, 0)
    slti    a2, a0, 0
    CHECK_EQ(a2, 1)
    sltiu   a2, a1, -1              /* imm sign-extends, compared unsigned */
    CHECK_EQ(a2, 1)
    sltiu   a2, zero, 1             /* seqz */
    CHECK_EQ(a2, 1)
    sltu    a2, zero, a1            /* snez */
    CHECK_EQ(a2, 1)

    /* ---- 5: lui/auipc */
    TEST_BEGIN(5)
    lui     a0, 0x12345
    CHECK_EQ(a0, 0x12345000)
    lui     a0, 0xfffff
    CHECK_EQ(a0, 0xfffff000)
1:  auipc   a0, 0
    la      a1, 1b
    bne     a0, a1, fail
2:  auipc   a0, 1                   /* pc + 0x1000 */
    la      a1, 2b
    sub     a0, a0, a1
    CHECK_EQ(a0, 0x1000)

    /* ---- 6: loads with sign/zero extension */
    TEST_BEGIN(6)
    la      s0, load_data           /* bytes: 81 7f 02 f3 | 34 12 ff ff */
    lb      a0, 0(s0)
    CHECK_EQ(a0, 0xffffff81)
    lbu     a0, 0(s0)
    CHECK_EQ(a0, 0x81)
    lb      a0, 1(s0)
    CHECK_EQ(a0, 0x7f)
    lb      a0, 3(s0)
    CHECK_EQ(a0, 0xfffffff3)
    lh      a0, 0(s0)
    CHECK_EQ(a0, 0x7f81)
    lh      a0, 2(s0)
    CHECK_EQ(a0, 0xfffff302)
    lhu     a0, 2(s0)
    CHECK_EQ(a0, 0xf302)
    lw      a0, 0(s0)
    CHECK_EQ(a0, 0xf3027f81)
    lw      a0, 4(s0)
    CHECK_EQ(a0, 0xffff1234)
    lh      a0, 6(s0)
    CHECK_EQ(a0, -1)
    addi    s1, s0, 8
    lw      a0, -8(s1)              /* negative offset */
    CHECK_EQ(a0, 0xf3027f81)

    /* ---- 7: stores */
    TEST_BEGIN(7)
    la      s0, store_data
    sw      zero, 0(s0)
    sw      zero, 4(s0)
    li      a0, 0xdeadbeef
    sb      a0, 0(s0)               /* only the low byte */
    lw      a1, 0(s0)
    CHECK_EQ(a1, 0x000000ef)
    sb      a0, 3(s0)
    lw      a1, 0(s0)
    CHECK_EQ(a1, 0xef0000ef)
    sh      a0, 4(s0)
    sh      a0, 6(s0)
    lw      a1, 4(s0)
    CHECK_EQ(a1, 0xbeefbeef)
    sw      a0, 0(s0)
    lw      a1, 0(s0)
    CHECK_EQ(a1, 0xdeadbeef)
    lbu     a1, 2(s0)               /* little-endian */
    CHECK_EQ(a1, 0xad)

    /* ---- 8: branches */
    TEST_BEGIN(8)
    li      a0, -1
    li      a1, 1
    li      a2, 0                   /* bitmask of taken branches */
    beq     a0, a0, 1f
    j       fail
1:  beq     a0, a1, fail
    bne     a0, a1, 1f
    j       fail
1:  bne     a1, a1, fail
    blt     a0, a1, 1f              /* -1 < 1 */
    j       fail
1:  blt     a1, a0, fail
    blt     a1, a1, fail
    bge     a1, a0, 1f
    j       fail
1:  bge     a1, a1, 1f              /* equal: taken */
    j       fail
1:  bge     a0, a1, fail
    bltu    a1, a0, 1f              /* 1 < 0xffffffff */
    j       fail
1:  bltu    a0, a1, fail
    bgeu    a0, a1, 1f
    j       fail
1:  bgeu    a1, a0, fail
    /* backward branch */
    li      a3, 3
1:  addi    a3, a3, -1
    addi    a2, a2, 1
    bnez    a3, 1b
    CHECK_EQ(a2, 3)

    /* ---- 9: jal/jalr */
    TEST_BEGIN(9)
1:  jal     ra, 2f
3:  j       fail                    /* jal must not fall through */
2:  la      a0, 3b
    bne     ra, a0, fail            /* link = address of next insn */
    la      a0, 4f
    addi    a0, a0, 1               /* odd target: bit 0 is cleared */
    jalr    t0, 0(a0)
5:  j       fail
4:  la      a1, 5b
    bne     t0, a1, fail
    la      a0, 6f - 4
    jalr    t1, 4(a0)               /* offset added to rs1 */
    j       fail
6:  la      a0, 7f
    jalr    a0, 0(a0)               /* rd == rs1: target uses old value */
8:  j       fail
7:  la      a1, 8b
    bne     a0, a1, fail
    jal     zero, 1f                /* j: no link */
    j       fail
1:

    /* ---- 10: x0 is hard-wired to zero */
    TEST_BEGIN(10)
    li      zero, 123
    addi    x0, x0, 5
    la      t0, load_data
    lw      x0, 0(t0)               /* load result discarded */
    bnez    x0, fail
    mv      a0, x0
    bnez    a0, fail

    /* ---- 11: a loop: sum of 1..100 */
    TEST_BEGIN(11)
    li      a0, 0
    li      a1, 100
1:  add     a0, a0, a1
    addi    a1, a1, -1
    bnez    a1, 1b
    CHECK_EQ(a0, 5050)

    j       pass

/* No traps are expected in this test. */
    .balign 4
trap_vector:
    j       fail

RVTEST_CODE_END

RVTEST_DATA_BEGIN
load_data:
    .byte   0x81, 0x7f, 0x02, 0xf3, 0x34, 0x12, 0xff, 0xff
store_data:
    .word   0, 0
RVTEST_DATA_END
