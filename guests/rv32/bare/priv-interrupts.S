/*
 * priv-interrupts.S - interrupts: CLINT machine timer, supervisor software
 * interrupt delegation, WFI, and the exact point at which a pending
 * interrupt is taken once it becomes enabled.
 *
 * CLINT (SiFive layout): mtimecmp (hart 0) at 0x02004000, mtime at
 * 0x0200BFF8, both 64-bit (accessed as two 32-bit words).
 *
 *  1 timer: mtimecmp = mtime + 100, MTIE and MIE on, spin; the handler
 *    sees mcause 0x80000007 and an mepc inside the spin loop; writing
 *    mtimecmp = ~0 clears mip.MTIP
 *  2 pending (mtimecmp = 0) but mstatus.MIE = 0: not taken while spinning,
 *    mip.MTIP reads 1; taken exactly at the instruction after the
 *    `csrs mstatus` that sets MIE (a counter incremented right after the
 *    csrs is still 0 in the handler and mepc is that instruction)
 *  3 the same with MIE = 1 but mie.MTIE = 0, enabled by `csrs mie`
 *  4 wfi with MTIE enabled, MIE = 0 and the timer already pending returns
 *    (no trap is taken); wfi in a loop wakes up once a future timer fires
 *  5 supervisor software interrupt: with mideleg bit 1 set, setting
 *    mip.SSIP from M-mode is not taken in M; after mret to S-mode (SIE=1,
 *    sie.SSIE=1) it is taken by the S handler at the very first S
 *    instruction: scause 0x80000001, sepc = that instruction
 *  6 (S) setting sip.SSIP from S is taken at the next instruction
 *  7 (S) with sstatus.SIE = 0 a pending SSIP waits; `csrs sstatus, SIE`
 *    takes it at the next instruction
 *  8 (S) a machine timer interrupt is taken in S-mode even though
 *    mstatus.MIE = 0 (M interrupts are always enabled below M):
 *    mcause 0x80000007, mstatus.MPP = S, mepc = the instruction after the
 *    ecall through which M armed the timer
 *  9 (S->M) ecall back to M; final trap counts
 *
 * M handler: records mcause -> s10, mepc -> s8, mstatus -> s7, the
 * counter a3 -> s3, counts in s6.  Timer interrupt: sets mtimecmp = ~0 and
 * s2 = 1.  Ecall from S with a7 = 1: sets mie.MTIE and mtimecmp = 0 and
 * returns after the ecall; with a7 = 0 and s5 != 0: resumes in M-mode at
 * s5.  Anything else fails.  S handler: records scause/sepc/sstatus/a3
 * likewise, counts in s4, clears sip.SSIP; only interrupts are expected.
 * Handlers clobber t0/t1 only.
 */
#include "test_macros.h"

#define MIP_SSIP 0x002
#define MIP_MTIP 0x080
#define MIE_SSIE 0x002
#define MIE_MTIE 0x080

/* a0/a1 = mtime (lo/hi), read consistently.  Clobbers t2. */
#define READ_MTIME                                                      \
    li      t2, CLINT_MTIME;                                            \
1:  lw      a1, 4(t2);                                                  \
    lw      a0, 0(t2);                                                  \
    lw      t3, 4(t2);                                                  \
    bne     a1, t3, 1b

/* mtimecmp = hi:lo without passing through an earlier value.
 * Clobbers t2, t3. */
#define WRITE_MTIMECMP(lo, hi)                                          \
    li      t2, CLINT_MTIMECMP;                                         \
    li      t3, -1;                                                     \
    sw      t3, 4(t2);                                                  \
    sw      lo, 0(t2);                                                  \
    sw      hi, 4(t2)

/* mtimecmp = mtime + delta.  Clobbers a0, a1, t2, t3. */
#define SET_TIMER_DELTA(delta)                                          \
    READ_MTIME;                                                         \
    addi    t3, a0, delta;                                              \
    sltu    a0, t3, a0;             /* carry */                         \
    add     a1, a1, a0;                                                 \
    mv      a0, t3;                                                     \
    WRITE_MTIMECMP(a0, a1)

/* mip bit check: branch to fail unless (mip & bit) == want */
#define CHECK_MIP(bit, want)                                            \
    csrr    t1, mip;                                                    \
    andi    t1, t1, bit;                                                \
    CHECK_EQ(t1, want)

RVTEST_CODE_BEGIN

    li      s2, 0
    li      s4, 0
    li      s5, 0
    li      s6, 0
    li      a3, 0
    la      t1, s_trap_vector
    csrw    stvec, t1
    li      t1, -1                  /* timer off: mtimecmp = ~0 */
    WRITE_MTIMECMP(t1, t1)
    csrwi   mip, 0

    /* ---- 1: machine timer interrupt */
    TEST_BEGIN(1)
    CHECK_MIP(MIP_MTIP, 0)
    li      t1, MIE_MTIE
    csrw    mie, t1
    csrsi   mstatus, MSTATUS_MIE
    li      a4, 20000000            /* timeout */
    SET_TIMER_DELTA(100)
t1_spin:
    bnez    s2, t1_done
    addi    a4, a4, -1
    bnez    a4, t1_spin
t1_spin_end:
    j       fail                    /* timed out */
t1_done:
    CHECK_EQ(s10, INTERRUPT_BIT | IRQ_M_TIMER)
    la      t1, t1_spin
    bltu    s8, t1, fail            /* mepc in [t1_spin, t1_spin_end) */
    la      t1, t1_spin_end
    bgeu    s8, t1, fail
    li      t1, MSTATUS_MPP | MSTATUS_MPIE
    and     t1, s7, t1
    CHECK_EQ(t1, MSTATUS_MPP | MSTATUS_MPIE)   /* from M, MIE was 1 */
    CHECK_MIP(MIP_MTIP, 0)          /* handler disarmed the timer */
    CHECK_EQ(s6, 1)

    /* ---- 2: pending but globally disabled, then enabled */
    TEST_BEGIN(2)
    csrci   mstatus, MSTATUS_MIE
    li      s2, 0
    WRITE_MTIMECMP(zero, zero)      /* fires immediately */
    li      a4, 1000
1:  addi    a4, a4, -1
    bnez    a4, 1b
    CHECK_MIP(MIP_MTIP, MIP_MTIP)   /* pending ... */
    bnez    s2, fail                /* ... but not taken */
    li      a3, 0
    csrsi   mstatus, MSTATUS_MIE
t2_next:
    addi    a3, a3, 1
    addi    a3, a3, 1
    CHECK_EQ(s2, 1)
    CHECK_EQ(s3, 0)                 /* nothing after the csrs ran first */
    la      t1, t2_next
    bne     s8, t1, fail
    CHECK_EQ(a3, 2)
    CHECK_EQ(s6, 2)

    /* ---- 3: pending but masked in mie, then unmasked */
    TEST_BEGIN(3)
    csrwi   mie, 0                  /* MIE stays 1 */
    li      s2, 0
    WRITE_MTIMECMP(zero, zero)
    li      a4, 1000
1:  addi    a4, a4, -1
    bnez    a4, 1b
    CHECK_MIP(MIP_MTIP, MIP_MTIP)
    bnez    s2, fail
    li      a3, 0
    li      t1, MIE_MTIE
    csrs    mie, t1
t3_next:
    addi    a3, a3, 1
    addi    a3, a3, 1
    CHECK_EQ(s2, 1)
    CHECK_EQ(s3, 0)
    la      t1, t3_next
    bne     s8, t1, fail
    CHECK_EQ(a3, 2)
    CHECK_EQ(s6, 3)

    /* ---- 4: wfi */
    TEST_BEGIN(4)
    csrci   mstatus, MSTATUS_MIE    /* wfi must still wake up */
    li      s2, 0
    WRITE_MTIMECMP(zero, zero)      /* already pending */
    wfi
    CHECK_MIP(MIP_MTIP, MIP_MTIP)
    bnez    s2, fail                /* no trap: MIE = 0 */
    SET_TIMER_DELTA(200)
    li      a4, 20000000
1:  wfi                             /* (may also be a no-op) */
    csrr    t1, mip
    andi    t1, t1, MIP_MTIP
    bnez    t1, 2f
    addi    a4, a4, -1
    bnez    a4, 1b
    j       fail                    /* timer never fired */
2:  bnez    s2, fail
    li      t1, -1
    WRITE_MTIMECMP(t1, t1)
    CHECK_MIP(MIP_MTIP, 0)
    CHECK_EQ(s6, 3)

    /* ---- 5: delegated supervisor software interrupt */
    TEST_BEGIN(5)
    csrwi   mie, MIE_SSIE
    csrwi   mideleg, MIP_SSIP
    csrr    t1, mideleg
    andi    t1, t1, MIP_SSIP
    CHECK_EQ(t1, MIP_SSIP)
    li      t1, MSTATUS_MPP_S | MSTATUS_SIE    /* MIE = 0, MPIE = 0 */
    csrw    mstatus, t1
    csrsi   mip, MIP_SSIP           /* pending, delegated: not taken in M */
    li      a4, 100
1:  addi    a4, a4, -1
    bnez    a4, 1b
    CHECK_EQ(s4, 0)
    CHECK_MIP(MIP_SSIP, MIP_SSIP)
    li      a3, 0
    csrsi   mstatus, MSTATUS_MIE    /* even with MIE = 1 */
    li      a4, 100
1:  addi    a4, a4, -1
    bnez    a4, 1b
    CHECK_EQ(s4, 0)
    CHECK_EQ(s6, 3)
    la      t1, t5_s_entry
    csrw    mepc, t1
    mret                            /* to S with SIE = 1 */
    j       fail
t5_s_entry:
    addi    a3, a3, 1               /* the interrupt comes first */
    CHECK_EQ(s4, 1)
    CHECK_EQ(s10, INTERRUPT_BIT | IRQ_S_SOFT)
    la      t1, t5_s_entry
    bne     s8, t1, fail
    CHECK_EQ(s3, 0)
    CHECK_EQ(a3, 1)
    li      t1, MSTATUS_SPP | MSTATUS_SPIE
    and     t1, s7, t1
    CHECK_EQ(t1, MSTATUS_SPP | MSTATUS_SPIE)   /* from S, SIE was 1 */
    csrr    t1, sip
    andi    t1, t1, MIP_SSIP
    CHECK_EQ(t1, 0)                 /* handler cleared it */

    /* ---- 6: SSIP raised from S-mode itself */
    TEST_BEGIN(6)
    li      a3, 0
    csrsi   sip, MIP_SSIP
t6_next:
    addi    a3, a3, 1
    CHECK_EQ(s4, 2)
    CHECK_EQ(s10, INTERRUPT_BIT | IRQ_S_SOFT)
    la      t1, t6_next
    bne     s8, t1, fail
    CHECK_EQ(s3, 0)

    /* ---- 7: SSIP pending with sstatus.SIE = 0 */
    TEST_BEGIN(7)
    csrci   sstatus, MSTATUS_SIE
    csrsi   sip, MIP_SSIP
    li      a4, 100
1:  addi    a4, a4, -1
    bnez    a4, 1b
    CHECK_EQ(s4, 2)
    li      a3, 0
    csrsi   sstatus, MSTATUS_SIE
t7_next:
    addi    a3, a3, 1
    CHECK_EQ(s4, 3)
    la      t1, t7_next
    bne     s8, t1, fail
    CHECK_EQ(s3, 0)

    /* ---- 8: machine timer while in S-mode, mstatus.MIE = 0 */
    TEST_BEGIN(8)
    /* mstatus.MIE is 0 (the mret into S copied MPIE = 0 into it) and mie
       is M-only, so ask M through an ecall with a7 = 1 to set mie.MTIE and
       make the timer pending (mtimecmp = 0).  M returns to the instruction
       after the ecall, where the interrupt must be taken at once because
       machine interrupts are always enabled while running below M. */
    li      s2, 0
    li      a3, 0
    li      a7, 1
    ecall
t8_next:
    addi    a3, a3, 1
    CHECK_EQ(s2, 1)
    CHECK_EQ(s10, INTERRUPT_BIT | IRQ_M_TIMER)
    la      t1, t8_next
    bne     s8, t1, fail
    CHECK_EQ(s3, 0)
    li      t1, MSTATUS_MPP | MSTATUS_MPIE
    and     t1, s7, t1
    CHECK_EQ(t1, MSTATUS_MPP_S)     /* from S, and MIE was 0 there */

    /* ---- 9: back to M */
    TEST_BEGIN(9)
    la      s5, t9_in_m
    li      a7, 0
    ecall
    j       fail
t9_in_m:
    csrr    t1, mscratch            /* M-only: proves we are in M */
    CHECK_EQ(s4, 3)                 /* S handler: tests 5, 6, 7 */
    CHECK_EQ(s6, 6)                 /* M: tests 1, 2, 3, 8 (ecall+timer), 9 */

    j       pass

/* ---------------------------------------------------------- handlers */
    .balign 4
trap_vector:
    addi    s6, s6, 1
    mv      s3, a3
    csrr    s10, mcause
    csrr    s8, mepc
    csrr    s7, mstatus
    li      t0, INTERRUPT_BIT | IRQ_M_TIMER
    beq     s10, t0, m_timer
    li      t0, CAUSE_SUPERVISOR_ECALL
    bne     s10, t0, fail
    bnez    a7, m_arm_timer
    beqz    s5, fail
    li      t0, MSTATUS_MPP         /* resume in M-mode at s5 */
    csrs    mstatus, t0
    csrw    mepc, s5
    li      s5, 0
    mret
m_arm_timer:                        /* ecall, a7 = 1: arm expired timer */
    li      a7, 0
    li      t0, CLINT_MTIMECMP
    sw      zero, 0(t0)             /* hi is ~0 here, so lo first is safe */
    sw      zero, 4(t0)
    li      t0, MIE_MTIE
    csrs    mie, t0
    addi    t0, s8, 4
    csrw    mepc, t0
    mret
m_timer:                            /* disarm: mtimecmp = ~0 */
    li      t0, CLINT_MTIMECMP
    li      t1, -1
    sw      t1, 4(t0)
    sw      t1, 0(t0)
    li      s2, 1
    mret

    .balign 4
s_trap_vector:
    addi    s4, s4, 1
    mv      s3, a3
    csrr    s10, scause
    csrr    s8, sepc
    csrr    s7, sstatus
    bgez    s10, fail               /* only interrupts are expected */
    csrci   sip, MIP_SSIP
    sret

RVTEST_CODE_END

RVTEST_DATA_BEGIN
RVTEST_DATA_END
