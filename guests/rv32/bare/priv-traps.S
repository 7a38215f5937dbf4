/*
 * priv-traps.S - M-mode exception handling.
 *
 *  1 CSR instructions on mscratch (csrrw/csrrs/csrrc and the immediate
 *    forms return the old value; rs1 = x0 / uimm = 0 do not write)
 *  2 ecall from M: mcause 11, mepc = the ecall, mtval 0; at trap entry
 *    mstatus.MPP = M and MIE = 0; mret sets MPP = U, MPIE = 1
 *  3 illegal instruction (custom-0 opcode word): mcause 2, mtval = the bits
 *  4 illegal instruction: write to read-only CSR mhartid: mcause 2
 *  5 misaligned loads (lw at +1, lh at +3): mcause 4, mtval = address
 *  6 misaligned store (sw at +2): mcause 6, mtval = address
 *  7 load access fault at 0x0 (lw) and 0x10 (lbu): mcause 5, mtval = address
 *  8 store access fault at 0x0: mcause 7
 *  9 ebreak: mcause 3, mepc = the ebreak
 * 10 instruction access fault: jump to 0x0: mcause 1, mepc = 0
 * 11 mhartid reads 0; exactly 11 traps were taken
 *
 * Handler protocol: s9 = 0 (no trap expected: fail), 1 (skip the 4-byte
 * trapping instruction via mepc += 4), 2 (resume at ra).  The handler stores
 * mcause -> s10, mtval -> s11, mepc -> s8, mstatus -> s7, counts traps in
 * s6 and clears s9.  It clobbers t0 only.
 */
#include "test_macros.h"

/* Expect an exception from the next instruction, check cause and mepc. */
#define EXPECT_TRAP  li s9, 1
#define CHECK_TRAP(cause, insn_label)                                   \
    bnez    s9, fail;                                                   \
    CHECK_EQ(s10, cause);                                               \
    la      t6, insn_label;                                             \
    bne     s8, t6, fail

RVTEST_CODE_BEGIN

    li      s9, 0
    li      s6, 0
    la      s0, data

    /* ---- 1: CSR read/modify/write semantics */
    TEST_BEGIN(1)
    li      a0, 0x12345678
    csrw    mscratch, a0
    li      a1, 0x0000ffff
    csrrw   a2, mscratch, a1        /* swap */
    CHECK_EQ(a2, 0x12345678)
    li      a1, 0xf0000000
    csrrs   a2, mscratch, a1        /* set bits */
    CHECK_EQ(a2, 0x0000ffff)
    li      a1, 0x000000ff
    csrrc   a2, mscratch, a1        /* clear bits */
    CHECK_EQ(a2, 0xf000ffff)
    csrrs   a2, mscratch, zero      /* pure read */
    CHECK_EQ(a2, 0xf000ff00)
    csrrwi  a2, mscratch, 0x15
    CHECK_EQ(a2, 0xf000ff00)
    csrrsi  a2, mscratch, 0x0a
    CHECK_EQ(a2, 0x15)
    csrrci  a2, mscratch, 0x01
    CHECK_EQ(a2, 0x1f)
    csrrci  a2, mscratch, 0         /* uimm 0: no write */
    CHECK_EQ(a2, 0x1e)
    CHECK_CSR(mscratch, 0x1e)
    csrrw   zero, mscratch, s0      /* rd = x0: write only */
    csrr    a2, mscratch
    bne     a2, s0, fail

    /* ---- 2: ecall from M-mode */
    TEST_BEGIN(2)
    csrwi   mstatus, 0
    EXPECT_TRAP
t2_ecall:
    ecall
    CHECK_TRAP(CAUSE_MACHINE_ECALL, t2_ecall)
    CHECK_EQ(s11, 0)                /* mtval = 0 for ecall */
    li      t1, MSTATUS_MPP | MSTATUS_MIE | MSTATUS_MPIE
    and     t2, s7, t1
    CHECK_EQ(t2, MSTATUS_MPP)       /* in handler: MPP = M, MIE = MPIE = 0 */
    csrr    t2, mstatus
    and     t2, t2, t1
    CHECK_EQ(t2, MSTATUS_MPIE)      /* after mret: MPP = U, MPIE = 1 */
    CHECK_EQ(s6, 1)

    /* ---- 3: illegal instruction, reserved (custom-0) opcode */
    TEST_BEGIN(3)
    EXPECT_TRAP
t3_insn:
    .word   0x1234500b
    CHECK_TRAP(CAUSE_ILLEGAL_INSN, t3_insn)
    CHECK_EQ(s11, 0x1234500b)       /* mtval = instruction bits */

    /* ---- 4: illegal instruction, write to a read-only CSR */
    TEST_BEGIN(4)
    EXPECT_TRAP
t4_insn:
    csrw    mhartid, a0
    CHECK_TRAP(CAUSE_ILLEGAL_INSN, t4_insn)
    la      t1, t4_insn
    lw      t1, 0(t1)               /* the instruction word itself */
    bne     s11, t1, fail

    /* ---- 5: misaligned loads */
    TEST_BEGIN(5)
    li      a2, 0x77
    EXPECT_TRAP
t5_lw:
    lw      a2, 1(s0)
    CHECK_TRAP(CAUSE_MISALIGNED_LOAD, t5_lw)
    addi    t1, s0, 1
    bne     s11, t1, fail           /* mtval = effective address */
    CHECK_EQ(a2, 0x77)              /* rd not written */
    EXPECT_TRAP
t5_lh:
    lh      a2, 3(s0)
    CHECK_TRAP(CAUSE_MISALIGNED_LOAD, t5_lh)
    addi    t1, s0, 3
    bne     s11, t1, fail
    lh      a2, 2(s0)               /* aligned: fine */
    CHECK_EQ(a2, 0xffffdead)

    /* ---- 6: misaligned store */
    TEST_BEGIN(6)
    EXPECT_TRAP
t6_sw:
    sw      zero, 2(s0)
    CHECK_TRAP(6, t6_sw)
    addi    t1, s0, 2
    bne     s11, t1, fail
    lw      a2, 0(s0)               /* memory unchanged */
    CHECK_EQ(a2, 0xdeadbeef)

    /* ---- 7: load access fault on unmapped addresses */
    TEST_BEGIN(7)
    li      a2, 0x77
    EXPECT_TRAP
t7_lw:
    lw      a2, 0(zero)
    CHECK_TRAP(CAUSE_LOAD_ACCESS, t7_lw)
    CHECK_EQ(s11, 0)
    CHECK_EQ(a2, 0x77)
    li      a1, 0x10
    EXPECT_TRAP
t7_lbu:
    lbu     a2, 0(a1)
    CHECK_TRAP(CAUSE_LOAD_ACCESS, t7_lbu)
    CHECK_EQ(s11, 0x10)

    /* ---- 8: store access fault */
    TEST_BEGIN(8)
    li      a1, 0x20
    EXPECT_TRAP
t8_sw:
    sw      a1, -0x20(a1)           /* address 0x0 */
    CHECK_TRAP(7, t8_sw)
    CHECK_EQ(s11, 0)

    /* ---- 9: ebreak */
    TEST_BEGIN(9)
    EXPECT_TRAP
t9_ebreak:
    ebreak
    CHECK_TRAP(CAUSE_BREAKPOINT, t9_ebreak)

    /* ---- 10: instruction access fault */
    TEST_BEGIN(10)
    li      s9, 2                   /* resume at ra */
    la      ra, t10_back
    li      a1, 0
    jr      a1                      /* fetch from 0x0 faults */
    j       fail
t10_back:
    bnez    s9, fail
    CHECK_EQ(s10, 1)                /* instruction access fault */
    CHECK_EQ(s8, 0)                 /* mepc = faulting pc */

    /* ---- 11: misc */
    TEST_BEGIN(11)
    CHECK_CSR(mhartid, 0)
    CHECK_EQ(s6, 11)                /* exactly 11 traps so far */

    j       pass

    .balign 4
trap_vector:
    beqz    s9, fail                /* unexpected trap */
    addi    s6, s6, 1
    csrr    s10, mcause
    csrr    s11, mtval
    csrr    s8, mepc
    csrr    s7, mstatus
    addi    s9, s9, -1
    bnez    s9, 1f
    addi    t0, s8, 4               /* s9 was 1: skip the instruction */
    csrw    mepc, t0
    mret
1:  li      s9, 0                   /* s9 was 2: resume at ra */
    csrw    mepc, ra
    mret

RVTEST_CODE_END

RVTEST_DATA_BEGIN
data:
    .word   0xdeadbeef, 0
RVTEST_DATA_END
