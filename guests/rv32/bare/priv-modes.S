/*
 * priv-modes.S - privilege modes, mret/sret, exception delegation.
 *
 *  1 (M) medeleg bit 8 is writable; mret to M with MPIE=1 sets MIE=1,
 *        MPIE=1, MPP=U
 *  2 (M) mret with MPIE=0 sets MIE=0, MPIE=1
 *  3 (M->S) mret with MPP=S enters S-mode; S-mode ecall is not delegated
 *        and traps to M: mcause 9, mepc = the ecall, mstatus.MPP = S
 *  4 (S) reading mscratch (an M-mode CSR) is an illegal instruction
 *        trapping to M: mcause 2, mtval = the instruction bits, MPP = S
 *  5 (S) sret with SPP=S, SPIE=1 stays in S and sets SIE=1, SPIE=1, SPP=U
 *  6 (S) sret with SPIE=0 sets SIE=0, SPIE=1
 *  7 (S->U) sret with SPP=U enters U-mode; U-mode ecall is delegated
 *        (medeleg bit 8): S handler sees scause 8, sepc = the ecall,
 *        stval 0, sstatus.SPP = U, and M sees nothing
 *  8 (U) reading mstatus is illegal: trap to M, mcause 2, MPP = U,
 *        mtval = instruction bits
 *  9 (U) reading sstatus is illegal as well (mcause 2)
 * 10 (U) mret and sret are illegal in U-mode (mcause 2 each)
 * 11 (U->M) a trap takes us back to M (handler "goto" mode); check the
 *        trap counts of both handlers
 * 12 (M) an M-mode ebreak is taken in M even when medeleg bit 3 is set
 *
 * M handler (mtvec): records mcause -> s10, mtval -> s11, mepc -> s8,
 * mstatus -> s7 and counts in s6.  s9 = 1: skip the instruction
 * (mepc += 4); s9 = 3: resume in M-mode at address s5; s9 = 0: fail.
 * S handler (stvec): records scause/stval/sepc/sstatus into the same
 * registers, counts in s4; s9 = 2: skip the instruction; else fail.
 * Both clear s9 and clobber t0 only.
 */
#include "test_macros.h"

#define EXPECT_M_SKIP  li s9, 1
#define EXPECT_S_SKIP  li s9, 2
#define EXPECT_M_GOTO(target)  la s5, target; li s9, 3

/* s7 holds a recorded status register: check (s7 & mask) == want. */
#define CHECK_FIELD(reg, mask, want)                                    \
    li      t1, mask;                                                   \
    and     t1, reg, t1;                                                \
    CHECK_EQ(t1, want)

/* After a skipped trap: check cause, epc == label and instruction bits. */
#define CHECK_TRAP(cause, insn_label)                                   \
    bnez    s9, fail;                                                   \
    CHECK_EQ(s10, cause);                                               \
    la      t6, insn_label;                                             \
    bne     s8, t6, fail

#define CHECK_TVAL_IS_INSN(insn_label)                                  \
    la      t1, insn_label;                                             \
    lw      t1, 0(t1);                                                  \
    bne     s11, t1, fail

RVTEST_CODE_BEGIN

    li      s9, 0
    li      s6, 0
    li      s4, 0
    la      t1, s_trap_vector
    csrw    stvec, t1

    /* ---- 1: medeleg, mret M->M restoring MIE */
    TEST_BEGIN(1)
    li      t1, 1 << CAUSE_USER_ECALL
    csrw    medeleg, t1
    csrr    t2, medeleg
    and     t2, t2, t1
    CHECK_EQ(t2, 1 << CAUSE_USER_ECALL)
    csrwi   mie, 0                  /* no interrupt sources enabled */
    li      t1, MSTATUS_MPP | MSTATUS_MPIE     /* MPP = M, MPIE = 1 */
    csrw    mstatus, t1
    la      t1, 1f
    csrw    mepc, t1
    mret
    j       fail
1:  csrr    t2, mstatus
    CHECK_FIELD(t2, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE,
                MSTATUS_MPIE | MSTATUS_MIE)

    /* ---- 2: mret with MPIE = 0 */
    TEST_BEGIN(2)
    li      t1, MSTATUS_MPP | MSTATUS_MIE      /* MPP = M, MPIE = 0 */
    csrw    mstatus, t1
    la      t1, 1f
    csrw    mepc, t1
    mret
    j       fail
1:  csrr    t2, mstatus
    CHECK_FIELD(t2, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE,
                MSTATUS_MPIE)

    /* ---- 3: enter S-mode; S-mode ecall goes to M */
    TEST_BEGIN(3)
    li      t1, MSTATUS_MPP_S
    csrw    mstatus, t1             /* MPP = S, everything else 0 */
    la      t1, s_mode_entry
    csrw    mepc, t1
    mret
    j       fail
s_mode_entry:
    EXPECT_M_SKIP
t3_ecall:
    ecall
    CHECK_TRAP(CAUSE_SUPERVISOR_ECALL, t3_ecall)
    CHECK_FIELD(s7, MSTATUS_MPP, MSTATUS_MPP_S)
    CHECK_EQ(s11, 0)
    CHECK_EQ(s6, 1)
    CHECK_EQ(s4, 0)

    /* ---- 4: S-mode may not touch M-mode CSRs */
    TEST_BEGIN(4)
    li      a2, 0x55
    EXPECT_M_SKIP
t4_insn:
    csrr    a2, mscratch
    CHECK_TRAP(CAUSE_ILLEGAL_INSN, t4_insn)
    CHECK_TVAL_IS_INSN(t4_insn)
    CHECK_FIELD(s7, MSTATUS_MPP, MSTATUS_MPP_S)
    CHECK_EQ(a2, 0x55)              /* rd not written */

    /* ---- 5: sret S->S restores SIE from SPIE */
    TEST_BEGIN(5)
    csrwi   sie, 0
    li      t1, MSTATUS_SPP | MSTATUS_SPIE     /* SPP = S, SPIE = 1, SIE = 0 */
    csrw    sstatus, t1
    la      t1, 1f
    csrw    sepc, t1
    sret
    j       fail
1:  csrr    t2, sstatus
    CHECK_FIELD(t2, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE,
                MSTATUS_SPIE | MSTATUS_SIE)

    /* ---- 6: sret with SPIE = 0 */
    TEST_BEGIN(6)
    li      t1, MSTATUS_SPP | MSTATUS_SIE      /* SPP = S, SPIE = 0 */
    csrw    sstatus, t1
    la      t1, 1f
    csrw    sepc, t1
    sret
    j       fail
1:  csrr    t2, sstatus
    CHECK_FIELD(t2, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE,
                MSTATUS_SPIE)

    /* ---- 7: enter U-mode; U-mode ecall is delegated to S */
    TEST_BEGIN(7)
    csrwi   sstatus, 0              /* SPP = U */
    la      t1, u_mode_entry
    csrw    sepc, t1
    sret
    j       fail
u_mode_entry:
    EXPECT_S_SKIP
t7_ecall:
    ecall
    CHECK_TRAP(CAUSE_USER_ECALL, t7_ecall)
    CHECK_EQ(s11, 0)                /* stval */
    CHECK_FIELD(s7, MSTATUS_SPP, 0) /* trap came from U */
    CHECK_EQ(s4, 1)                 /* taken by S ... */
    CHECK_EQ(s6, 2)                 /* ... and not by M */

    /* ---- 8: U-mode may not read M-mode CSRs */
    TEST_BEGIN(8)
    li      a2, 0x66
    EXPECT_M_SKIP
t8_insn:
    csrr    a2, mstatus
    CHECK_TRAP(CAUSE_ILLEGAL_INSN, t8_insn)
    CHECK_TVAL_IS_INSN(t8_insn)
    CHECK_FIELD(s7, MSTATUS_MPP, 0) /* trap came from U */
    CHECK_EQ(a2, 0x66)

    /* ---- 9: ... nor S-mode CSRs */
    TEST_BEGIN(9)
    EXPECT_M_SKIP
t9_insn:
    csrr    a2, sstatus
    CHECK_TRAP(CAUSE_ILLEGAL_INSN, t9_insn)
    CHECK_TVAL_IS_INSN(t9_insn)

    /* ---- 10: xRET is illegal in U-mode */
    TEST_BEGIN(10)
    EXPECT_M_SKIP
t10_mret:
    mret
    CHECK_TRAP(CAUSE_ILLEGAL_INSN, t10_mret)
    EXPECT_M_SKIP
t10_sret:
    sret
    CHECK_TRAP(CAUSE_ILLEGAL_INSN, t10_sret)
    CHECK_EQ(s6, 6)
    CHECK_EQ(s4, 1)

    /* ---- 11: back to M through a trap */
    TEST_BEGIN(11)
    EXPECT_M_GOTO(back_in_m)
    csrr    a2, mscratch            /* illegal in U: trap to M */
    j       fail
back_in_m:
    bnez    s9, fail
    csrr    t2, mscratch            /* would trap (and fail) if not in M */
    CHECK_EQ(s10, CAUSE_ILLEGAL_INSN)
    CHECK_EQ(s6, 7)
    CHECK_EQ(s4, 1)

    /* ---- 12: delegation never moves a trap to a lower mode */
    TEST_BEGIN(12)
    li      t1, (1 << CAUSE_USER_ECALL) | (1 << CAUSE_BREAKPOINT)
    csrw    medeleg, t1
    EXPECT_M_SKIP
t12_ebreak:
    ebreak
    CHECK_TRAP(CAUSE_BREAKPOINT, t12_ebreak)
    CHECK_EQ(s6, 8)
    CHECK_EQ(s4, 1)

    j       pass

/* ---------------------------------------------------------- handlers */
    .balign 4
trap_vector:
    addi    s6, s6, 1
    csrr    s10, mcause
    csrr    s11, mtval
    csrr    s8, mepc
    csrr    s7, mstatus
    li      t0, 1
    beq     s9, t0, 1f
    li      t0, 3
    beq     s9, t0, 2f
    j       fail
1:  li      s9, 0                   /* skip */
    addi    t0, s8, 4
    csrw    mepc, t0
    mret
2:  li      s9, 0                   /* resume in M at s5 */
    li      t0, MSTATUS_MPP
    csrs    mstatus, t0
    csrw    mepc, s5
    mret

    .balign 4
s_trap_vector:
    addi    s4, s4, 1
    csrr    s10, scause
    csrr    s11, stval
    csrr    s8, sepc
    csrr    s7, sstatus
    li      t0, 2
    bne     s9, t0, fail
    li      s9, 0
    addi    t0, s8, 4
    csrw    sepc, t0
    sret

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
