/*
 * shim.S - entry and trap vector of the M-mode SBI shim (see shim.c).
 * Loaded at 0x80800000 by qemu's generic loader, which starts hart 0 here.
 */
    .section .text.init, "ax", @progbits
    .globl  _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, shim_stack_top
    csrw    mscratch, sp            /* M stack for traps */
    la      t0, shim_trap_entry
    csrw    mtvec, t0
    call    shim_init               /* returns the guest entry in a0 */
    csrw    mepc, a0
    csrr    a0, mhartid             /* a0 = hartid, a1 = 0 (no DT) */
    li      a1, 0
    /* Nothing else is handed over: clear the remaining registers. */
    li      ra, 0
    li      sp, 0
    li      gp, 0
    li      tp, 0
    li      t0, 0
    li      t1, 0
    li      t2, 0
    li      s0, 0
    li      s1, 0
    li      a2, 0
    li      a3, 0
    li      a4, 0
    li      a5, 0
    li      a6, 0
    li      a7, 0
    li      s2, 0
    li      s3, 0
    li      s4, 0
    li      s5, 0
    li      s6, 0
    li      s7, 0
    li      s8, 0
    li      s9, 0
    li      s10, 0
    li      s11, 0
    li      t3, 0
    li      t4, 0
    li      t5, 0
    li      t6, 0
    mret                            /* mstatus.MPP = S (shim_init) */

/* Every trap of the guest comes here (nothing is delegated but STIP). */
    .text
    .p2align 2
shim_trap_entry:
    csrrw   sp, mscratch, sp        /* sp = M stack, mscratch = guest sp */
    addi    sp, sp, -128
    .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sw      x\r, \r*4(sp)
    .endr
    csrr    t0, mscratch
    sw      t0, 2*4(sp)             /* guest sp */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    mv      a0, sp
    call    shim_trap               /* shim_trap(uint32_t regs[32]) */
    .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    lw      x\r, \r*4(sp)
    .endr
    addi    sp, sp, 128
    csrrw   sp, mscratch, sp
    mret

    .bss
    .p2align 4
    .space  8192
shim_stack_top:
