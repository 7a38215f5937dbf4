/*
 * test_macros.h - shared boilerplate for the bare-machine tests
 * (preprocessed assembly, riscv-tests "env/p" style).
 *
 * Conventions:
 *   - The hart starts in M-mode at _start = 0x80000000.
 *   - gp (x3) holds the number of the sub-test currently running
 *     (TESTNUM).  Tests must not use gp for anything else.
 *   - RVTEST_PASS writes 1 to tohost; RVTEST_FAIL writes (TESTNUM << 1) | 1.
 *     The simulator stops as soon as tohost becomes non-zero.  The upper
 *     word (tohost+4) is written with 0 afterwards so that qemu's HTIF
 *     (-machine spike) also sees the command and exits with status TESTNUM.
 */
#ifndef TEST_MACROS_H
#define TEST_MACROS_H

#define TESTNUM gp

#define MSTATUS_SIE   0x00000002
#define MSTATUS_MIE   0x00000008
#define MSTATUS_SPIE  0x00000020
#define MSTATUS_MPIE  0x00000080
#define MSTATUS_SPP   0x00000100
#define MSTATUS_MPP   0x00001800
#define MSTATUS_MPP_S 0x00000800

#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_ILLEGAL_INSN     2
#define CAUSE_BREAKPOINT       3
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_USER_ECALL       8
#define CAUSE_SUPERVISOR_ECALL 9
#define CAUSE_MACHINE_ECALL    11
#define IRQ_S_SOFT             1
#define IRQ_M_TIMER            7
#define INTERRUPT_BIT          0x80000000

#define CLINT_BASE     0x02000000
#define CLINT_MTIMECMP 0x02004000   /* hart 0, 64-bit */
#define CLINT_MTIME    0x0200BFF8   /* 64-bit */

/*
 * Reset code shared by all tests: clear all registers' relevant state,
 * point mtvec at `trap_vector` (which each test defines), set up a stack,
 * and make sure S/U-mode can access memory on harts that implement PMP
 * (writing the PMP CSRs is skipped harmlessly if they do not exist: a
 * temporary mtvec jumps over them on an illegal-instruction trap).
 */
#define RVTEST_CODE_BEGIN                                               \
    .section .text.init, "ax", @progbits;                               \
    .globl _start;                                                      \
_start:                                                                 \
    li      TESTNUM, 0;                                                 \
    la      t0, 1f;                                                     \
    csrw    mtvec, t0;                                                  \
    li      t0, -1;                                                     \
    csrw    pmpaddr0, t0;      /* NAPOT, whole address space */         \
    li      t0, 0x1f;                                                   \
    csrw    pmpcfg0, t0;       /* A=NAPOT, R|W|X */                     \
    .balign 4;                                                          \
1:  la      t0, 1f;                                                     \
    csrw    mtvec, t0;                                                  \
    csrwi   satp, 0;           /* bare addressing (may be absent) */    \
    .balign 4;                                                          \
1:  csrwi   mie, 0;                                                     \
    csrwi   medeleg, 0;                                                 \
    csrwi   mideleg, 0;                                                 \
    csrwi   mstatus, 0;                                                 \
    la      sp, _stack_top;                                             \
    la      t0, trap_vector;                                            \
    csrw    mtvec, t0;                                                  \
    j       test_start;                                                 \
    .text;                                                              \
test_start:

#define RVTEST_PASS                                                     \
    fence;                                                              \
    li      a0, 1;                                                      \
    j       write_tohost

#define RVTEST_FAIL                                                     \
    fence;                                                              \
    slli    a0, TESTNUM, 1;                                             \
    ori     a0, a0, 1;                                                  \
    j       write_tohost

#define RVTEST_CODE_END                                                 \
write_tohost:                                                           \
    la      t5, tohost;                                                 \
    sw      a0, 0(t5);                                                  \
    sw      zero, 4(t5);                                                \
1:  j       1b;                                                         \
fail:                                                                   \
    RVTEST_FAIL;                                                        \
pass:                                                                   \
    RVTEST_PASS;

#define RVTEST_DATA_BEGIN                                               \
    .pushsection .tohost, "aw", @progbits;                              \
    .balign 64;                                                         \
    .globl tohost;                                                      \
    .type tohost, @object;                                              \
    .size tohost, 8;                                                    \
tohost: .word 0, 0;                                                     \
    .balign 64;                                                         \
    .globl fromhost;                                                    \
    .type fromhost, @object;                                            \
    .size fromhost, 8;                                                  \
fromhost: .word 0, 0;                                                   \
    .popsection;                                                        \
    .data;                                                              \
    .balign 16;

#define RVTEST_DATA_END

/* Begin sub-test n: record its number for failure reporting. */
#define TEST_BEGIN(n) li TESTNUM, n

/* Branch to `fail` unless register r == immediate value v (clobbers t6). */
#define CHECK_EQ(r, v)                                                  \
    li      t6, v;                                                      \
    bne     r, t6, fail

/* Check that CSR `csr` == v (clobbers t5, t6). */
#define CHECK_CSR(csr, v)                                               \
    csrr    t5, csr;                                                    \
    li      t6, v;                                                      \
    bne     t5, t6, fail

#endif
