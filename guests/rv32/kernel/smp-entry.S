/*
 * smp-entry.S - entry of the secondary hart and the kernel-mode trap
 * vector of the SMP phase (-DSMP builds only).
 *
 * smp_secondary_entry: where SBI HSM hart_start sends the second hart, in
 * S-mode with a0 = hartid, a1 = opaque (here: the top of its stack),
 * satp = 0, sstatus.SIE = 0.  tp holds the hart id for the whole SMP phase.
 *
 * smp_trap_entry: during the SMP phase both harts run in S-mode and take
 * the IPI (a supervisor software interrupt) in S-mode: save the
 * caller-saved registers on the current stack, smp_trap(scause, sepc,
 * stval), restore, sret.
 */
    .text
    .p2align 2
    .globl  smp_secondary_entry
    .type   smp_secondary_entry, @function
smp_secondary_entry:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    mv      sp, a1
    mv      tp, a0
    la      t0, smp_trap_entry
    csrw    stvec, t0
    call    smp_secondary           /* does not return */
1:  j       1b
    .size   smp_secondary_entry, . - smp_secondary_entry

    .p2align 2
    .globl  smp_trap_entry
    .type   smp_trap_entry, @function
smp_trap_entry:
    addi    sp, sp, -64
    sw      ra,  0(sp)
    sw      t0,  4(sp)
    sw      t1,  8(sp)
    sw      t2, 12(sp)
    sw      a0, 16(sp)
    sw      a1, 20(sp)
    sw      a2, 24(sp)
    sw      a3, 28(sp)
    sw      a4, 32(sp)
    sw      a5, 36(sp)
    sw      a6, 40(sp)
    sw      a7, 44(sp)
    sw      t3, 48(sp)
    sw      t4, 52(sp)
    sw      t5, 56(sp)
    sw      t6, 60(sp)
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    smp_trap
    lw      ra,  0(sp)
    lw      t0,  4(sp)
    lw      t1,  8(sp)
    lw      t2, 12(sp)
    lw      a0, 16(sp)
    lw      a1, 20(sp)
    lw      a2, 24(sp)
    lw      a3, 28(sp)
    lw      a4, 32(sp)
    lw      a5, 36(sp)
    lw      a6, 40(sp)
    lw      a7, 44(sp)
    lw      t3, 48(sp)
    lw      t4, 52(sp)
    lw      t5, 56(sp)
    lw      t6, 60(sp)
    addi    sp, sp, 64
    sret
    .size   smp_trap_entry, . - smp_trap_entry
