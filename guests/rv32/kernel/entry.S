/*
 * entry.S - kernel entry (S-mode) and the trap entry/exit.
 *
 * The firmware mret's to _start (0x80200000) in S-mode with a0 = hartid.
 * We set gp, the kernel stack, sscratch = 0 ("in the kernel"), clear .bss
 * and call kmain(hartid), which never returns.
 *
 * Trap entry (stvec, direct mode), Linux style: while a task runs in
 * U-mode, sscratch holds the address of its trap frame (struct frame in
 * kernel.h: x[i] at 4*i, x[2] = user sp, pc at 128); in the kernel it is 0.
 * The kernel runs with sstatus.SIE = 0 and is never interrupted, so a trap
 * with sscratch = 0 is a kernel bug (kernel_fault).  From U-mode: save all
 * 31 registers and sepc in the frame, switch to the (empty) kernel stack,
 * call ktrap(frame, scause, stval), which returns the frame of the task to
 * run next; return_to_user restores it and srets.  Privileged instructions
 * here, per trap: csrrw sscratch (x1), csrr sscratch/sepc/scause/stval,
 * csrw sscratch (x2), csrw sepc, sret.
 *
 * PARAVIRT (HV_XENPV in hv.h): no privileged instruction.  The hypervisor enters trap_entry
 * (registered with PV_SET_CALLBACK) with sp = the frame given to the last
 * iret (0 if the trap is from the kernel) and the trap's cause, epc, tval
 * and interrupted sp in the shared info page (hv.h); return_to_user is
 * the iret hypercall in hv.c.
 */
#include "hv.h"
    .section .text.init, "ax", @progbits
    .globl  _start
    .type   _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, _kstack_top
#ifndef HV_XENPV
    csrw    sscratch, zero
#endif
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:  call    kmain
3:  j       3b
    .size   _start, . - _start

    .text
    .p2align 2
    .globl  trap_entry
    .type   trap_entry, @function
trap_entry:
#ifndef HV_XENPV
    csrrw   sp, sscratch, sp        /* sp = frame, sscratch = user sp */
#endif
    beqz    sp, kernel_trap
    sw      x1,   4(sp)
    sw      x3,  12(sp)
    sw      x4,  16(sp)
    sw      x5,  20(sp)
    sw      x6,  24(sp)
    sw      x7,  28(sp)
    sw      x8,  32(sp)
    sw      x9,  36(sp)
    sw      x10, 40(sp)
    sw      x11, 44(sp)
    sw      x12, 48(sp)
    sw      x13, 52(sp)
    sw      x14, 56(sp)
    sw      x15, 60(sp)
    sw      x16, 64(sp)
    sw      x17, 68(sp)
    sw      x18, 72(sp)
    sw      x19, 76(sp)
    sw      x20, 80(sp)
    sw      x21, 84(sp)
    sw      x22, 88(sp)
    sw      x23, 92(sp)
    sw      x24, 96(sp)
    sw      x25, 100(sp)
    sw      x26, 104(sp)
    sw      x27, 108(sp)
    sw      x28, 112(sp)
    sw      x29, 116(sp)
    sw      x30, 120(sp)
    sw      x31, 124(sp)
#ifdef HV_XENPV
    .option push
    .option norelax                 /* no gp-relative la: gp is still the user's */
    la      t0, hv_shared
    .option pop
    lw      t1, HV_SH_SP(t0)
    sw      t1,   8(sp)             /* user sp */
    lw      t1, HV_SH_EPC(t0)
    sw      t1, 128(sp)             /* user pc */
    mv      a0, sp
    lw      a1, HV_SH_CAUSE(t0)
    lw      a2, HV_SH_TVAL(t0)
    .option push
    .option norelax
    la      gp, __global_pointer$   /* never trust the user's gp */
    .option pop
#ifdef SMP
    li      tp, 0                   /* the tasks' vCPU (hv.c finds its area by tp); the frame keeps theirs */
#endif
    la      sp, _kstack_top
    call    ktrap
    tail    return_to_user          /* hv.c: the iret hypercall */
#else
    csrr    t0, sscratch
    sw      t0,   8(sp)             /* user sp */
    csrr    t0, sepc
    sw      t0, 128(sp)             /* user pc */
    csrw    sscratch, zero          /* now in the kernel */
    mv      a0, sp
    .option push
    .option norelax
    la      gp, __global_pointer$   /* never trust the user's gp */
    .option pop
    la      sp, _kstack_top
    csrr    a1, scause
    csrr    a2, stval
    call    ktrap
    /* fall through with a0 = frame to resume */
    .globl  return_to_user
return_to_user:
    csrw    sscratch, a0
    lw      t0, 128(a0)
    csrw    sepc, t0
    mv      sp, a0
    lw      x1,   4(sp)
    lw      x3,  12(sp)
    lw      x4,  16(sp)
    lw      x5,  20(sp)
    lw      x6,  24(sp)
    lw      x7,  28(sp)
    lw      x8,  32(sp)
    lw      x9,  36(sp)
    lw      x10, 40(sp)
    lw      x11, 44(sp)
    lw      x12, 48(sp)
    lw      x13, 52(sp)
    lw      x14, 56(sp)
    lw      x15, 60(sp)
    lw      x16, 64(sp)
    lw      x17, 68(sp)
    lw      x18, 72(sp)
    lw      x19, 76(sp)
    lw      x20, 80(sp)
    lw      x21, 84(sp)
    lw      x22, 88(sp)
    lw      x23, 92(sp)
    lw      x24, 96(sp)
    lw      x25, 100(sp)
    lw      x26, 104(sp)
    lw      x27, 108(sp)
    lw      x28, 112(sp)
    lw      x29, 116(sp)
    lw      x30, 120(sp)
    lw      x31, 124(sp)
    lw      sp,   8(sp)
    sret
#endif
    .size   trap_entry, . - trap_entry

kernel_trap:
#ifdef HV_XENPV
    .option push
    .option norelax
    la      t0, hv_shared
    .option pop
    lw      sp, HV_SH_SP(t0)        /* back to the kernel sp */
    lw      a0, HV_SH_CAUSE(t0)
    lw      a1, HV_SH_EPC(t0)
    lw      a2, HV_SH_TVAL(t0)
#else
    csrrw   sp, sscratch, sp        /* back to the kernel sp, sscratch = 0 */
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
#endif
    call    kernel_fault            /* does not return */
4:  j       4b

    .bss
    .p2align 4
    .space  8192
    .globl  _kstack_top
_kstack_top:
