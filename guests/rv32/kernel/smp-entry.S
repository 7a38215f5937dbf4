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
 *
 * PARAVIRT (HV_XENPV in hv.h): no privileged instruction.  The secondary
 * registers its own shared info area and callback from C (smp_secondary,
 * hv_set_trap_vector).  smp_trap_entry is the callback of the SMP phase:
 * the hypervisor enters it only from the PV_EVENT_CHECK hypercall of
 * hv.c's event_check (a kernel-mode event, sp = 0), with the trap's
 * cause, epc (the instruction after that ecall), tval and the kernel sp
 * in this vCPU's area hv_shared[tp].  That call clobbers the caller-saved
 * registers, so only epc needs keeping: smp_trap(cause, epc, tval), then
 * a jump back to epc.
 */
#include "hv.h"
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
#ifndef HV_XENPV
    la      t0, smp_trap_entry
    csrw    stvec, t0
#endif
    call    smp_secondary           /* does not return */
1:  j       1b
    .size   smp_secondary_entry, . - smp_secondary_entry

    .p2align 2
    .globl  smp_trap_entry
    .type   smp_trap_entry, @function
smp_trap_entry:
#ifdef HV_XENPV
    la      t0, hv_shared
    beqz    tp, 1f
    addi    t0, t0, HV_SH_SIZE      /* hv_shared[1] (HV_NCPUS = 2) */
1:  lw      sp, HV_SH_SP(t0)        /* back to the kernel sp */
    lw      a0, HV_SH_CAUSE(t0)
    lw      a1, HV_SH_EPC(t0)
    lw      a2, HV_SH_TVAL(t0)
    addi    sp, sp, -16
    sw      a1, 0(sp)
    call    smp_trap
    lw      t0, 0(sp)
    addi    sp, sp, 16
    jr      t0                      /* resume after the event check */
#else
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
#endif
    .size   smp_trap_entry, . - smp_trap_entry
