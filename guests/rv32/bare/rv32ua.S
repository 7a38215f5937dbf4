/*
 * rv32ua.S - RV32A: LR/SC and the AMO*.W instructions.
 *
 *  1 sc.w with no reservation ever made fails, memory unchanged
 *  2 lr.w / sc.w succeed (rd = 0), memory updated
 *  3 a second sc.w after a successful one fails (reservation consumed)
 *  4 lr/sc retry loop (atomic increment x10)
 *  5 amoswap.w  6 amoadd.w  7 amoxor.w  8 amoand.w  9 amoor.w
 * 10 amomin.w  11 amomax.w  12 amominu.w  13 amomaxu.w
 * 14 aliasing: rd == rs2, rd == x0, .aq/.rl variants
 * 15 misaligned amoadd.w traps with mcause 6 (store/AMO address
 *    misaligned) or 7 (store/AMO access fault), mtval = address
 */
#include "test_macros.h"

/* mem = init; rd = op(mem, src); check rd == init and mem == want.
 * s0 = address of `word`. */
#define TEST_AMO(op, init, src, want)                                   \
    li      a0, init;                                                   \
    sw      a0, 0(s0);                                                  \
    li      a1, src;                                                    \
    op      a2, a1, (s0);                                               \
    CHECK_EQ(a2, init);                                                 \
    lw      a3, 0(s0);                                                  \
    CHECK_EQ(a3, want)

RVTEST_CODE_BEGIN

    la      s0, word
    li      s9, 0                   /* no trap expected */

    /* ---- 1: sc.w without any reservation */
    TEST_BEGIN(1)
    li      a0, 0x11111111
    sw      a0, 0(s0)
    li      a1, 0x22222222
    sc.w    a2, a1, (s0)
    beqz    a2, fail                /* must fail: rd != 0 */
    lw      a3, 0(s0)
    CHECK_EQ(a3, 0x11111111)

    /* ---- 2: lr.w / sc.w pair succeeds */
    TEST_BEGIN(2)
    lr.w    a0, (s0)
    CHECK_EQ(a0, 0x11111111)
    addi    a0, a0, 1
    sc.w    a2, a0, (s0)
    bnez    a2, fail                /* rd == 0 on success */
    lw      a3, 0(s0)
    CHECK_EQ(a3, 0x11111112)

    /* ---- 3: the reservation is gone after an sc.w */
    TEST_BEGIN(3)
    lr.w    a0, (s0)
    sc.w    a2, a0, (s0)            /* succeeds, consumes reservation */
    bnez    a2, fail
    li      a1, 0x33333333
    sc.w    a2, a1, (s0)            /* no reservation any more */
    beqz    a2, fail
    lw      a3, 0(s0)
    CHECK_EQ(a3, 0x11111112)

    /* ---- 4: atomic increment loop */
    TEST_BEGIN(4)
    sw      zero, 0(s0)
    li      a4, 10
1:  lr.w.aq a0, (s0)
    addi    a0, a0, 1
    sc.w.rl a2, a0, (s0)
    bnez    a2, 1b
    addi    a4, a4, -1
    bnez    a4, 1b
    lw      a3, 0(s0)
    CHECK_EQ(a3, 10)

    TEST_BEGIN(5)
    TEST_AMO(amoswap.w, 0x11111111, 0x22222222, 0x22222222)
    TEST_BEGIN(6)
    TEST_AMO(amoadd.w, 0xffffffff, 2, 1)
    TEST_AMO(amoadd.w, 0x7fffffff, 1, 0x80000000)
    TEST_BEGIN(7)
    TEST_AMO(amoxor.w, 0xf0f0f0f0, 0xff00ff00, 0x0ff00ff0)
    TEST_BEGIN(8)
    TEST_AMO(amoand.w, 0xf0f0f0f0, 0xff00ff00, 0xf000f000)
    TEST_BEGIN(9)
    TEST_AMO(amoor.w, 0xf0f0f0f0, 0xff00ff00, 0xfff0fff0)
    TEST_BEGIN(10)
    TEST_AMO(amomin.w, 0xfffffffe, 5, 0xfffffffe)      /* -2 < 5 */
    TEST_AMO(amomin.w, 5, 0x80000000, 0x80000000)
    TEST_AMO(amomin.w, 7, 7, 7)
    TEST_BEGIN(11)
    TEST_AMO(amomax.w, 0xfffffffe, 5, 5)
    TEST_AMO(amomax.w, 0x80000000, 0x7fffffff, 0x7fffffff)
    TEST_BEGIN(12)
    TEST_AMO(amominu.w, 0xfffffffe, 5, 5)              /* unsigned */
    TEST_AMO(amominu.w, 0, 0xffffffff, 0)
    TEST_BEGIN(13)
    TEST_AMO(amomaxu.w, 0xfffffffe, 5, 0xfffffffe)
    TEST_AMO(amomaxu.w, 0x7fffffff, 0x80000000, 0x80000000)

    /* ---- 14: operand aliasing and ordering bits */
    TEST_BEGIN(14)
    li      a0, 100
    sw      a0, 0(s0)
    li      a1, 23
    amoadd.w a1, a1, (s0)           /* rd == rs2: adds the old a1 (23) */
    CHECK_EQ(a1, 100)
    lw      a3, 0(s0)
    CHECK_EQ(a3, 123)
    li      a1, 0xabcd
    amoswap.w zero, a1, (s0)        /* rd == x0: atomic store */
    bnez    zero, fail
    lw      a3, 0(s0)
    CHECK_EQ(a3, 0xabcd)
    li      a1, 1
    amoadd.w.aqrl a2, a1, (s0)
    CHECK_EQ(a2, 0xabcd)
    amoor.w.aq a2, a1, (s0)
    CHECK_EQ(a2, 0xabce)
    amoxor.w.rl a2, a1, (s0)
    CHECK_EQ(a2, 0xabcf)
    lw      a3, 0(s0)
    CHECK_EQ(a3, 0xabce)

    /* ---- 15: misaligned AMO traps */
    TEST_BEGIN(15)
    addi    a1, s0, 2               /* word + 2: misaligned */
    li      s9, 1                   /* trap expected */
    li      a2, 0x5555
    li      a0, 1
    amoadd.w a2, a0, (a1)           /* must trap; handler skips it */
    bnez    s9, fail                /* handler clears s9 */
    CHECK_EQ(a2, 0x5555)            /* rd not written */
    li      t0, 6
    beq     s10, t0, 1f
    li      t0, 7
    bne     s10, t0, fail
1:  bne     s11, a1, fail           /* mtval = faulting address */
    lw      a3, 0(s0)
    CHECK_EQ(a3, 0xabce)            /* memory untouched */

    j       pass

/*
 * Trap handler: only legal while s9 != 0.  Records mcause in s10 and mtval
 * in s11, clears s9 and skips the trapping (4-byte) instruction.
 */
    .balign 4
trap_vector:
    beqz    s9, fail
    li      s9, 0
    csrr    s10, mcause
    csrr    s11, mtval
    csrr    t0, mepc
    addi    t0, t0, 4
    csrw    mepc, t0
    mret

RVTEST_CODE_END

RVTEST_DATA_BEGIN
    .balign 8
word:
    .word   0, 0
RVTEST_DATA_END
