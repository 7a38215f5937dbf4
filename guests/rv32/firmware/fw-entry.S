/*
 * fw-entry.S - reset entry and M-mode trap entry of the native firmware.
 *
 * A minimal M-mode "SBI firmware" (what OpenSBI is on real boards): it
 * starts at 0x80000000 in M-mode, sets up trap delegation like OpenSBI,
 * and mret's into the S-mode kernel linked at 0x80200000 with a0 = hartid,
 * a1 = 0 (no device tree).  Every hart starts here; only hart 0 enters
 * the kernel, the others park until the kernel starts them (SBI HSM).  Its trap handler (fw.c) implements the SBI
 * subset the kernel uses and forwards the M timer interrupt to the kernel
 * as STIP (no Sstc: menvcfgh.STCE = 0).
 */
#define MSTATUS_MPP_MASK  (3 << 11)
#define MSTATUS_MPP_S     (1 << 11)
/* medeleg: misaligned fetch (0), breakpoint (3), ecall from U (8),
   instruction/load/store page faults (12, 13, 15), like OpenSBI. */
#define FW_MEDELEG ((1 << 0) | (1 << 3) | (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15))
/* mideleg: SSIP (1), STIP (5), SEIP (9). */
#define FW_MIDELEG ((1 << 1) | (1 << 5) | (1 << 9))
#define KERNEL_BASE 0x80200000

    .section .text.init, "ax", @progbits
    .globl  _fw_start
    .type   _fw_start, @function
_fw_start:
    /* Every hart starts here: hart h gets the h-th 4 KiB stack from the top. */
    csrr    t0, mhartid
    slli    t0, t0, 12
    la      sp, _fw_stack_top
    sub     sp, sp, t0
    csrw    mscratch, sp            /* the trap entry swaps sp with it  */
    la      t0, fw_trap_entry
    csrw    mtvec, t0               /* direct mode                      */
    csrw    mie, zero               /* MTIE only while a timer is armed */
    li      t0, FW_MEDELEG
    csrw    medeleg, t0
    li      t0, FW_MIDELEG
    csrw    mideleg, t0
    li      t0, 7
    csrw    mcounteren, t0          /* cycle, time, instret readable    */
    csrw    menvcfgh, zero          /* no Sstc: set_timer uses mtimecmp */
    csrw    satp, zero
    /* PMP: one NAPOT entry, RWX over everything.  vsim's PMP protects
       nothing, but qemu refuses an mret to S-mode without a PMP rule. */
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    csrr    a0, mhartid
    bnez    a0, fw_park_hart        /* secondary harts wait for HSM hart_start */
    call    fw_init                 /* disarm the timer, banner         */
    /* mret to the kernel in S-mode, interrupts off (MPIE = 0). */
    li      t0, MSTATUS_MPP_MASK | (1 << 7)
    csrc    mstatus, t0
    li      t0, MSTATUS_MPP_S
    csrs    mstatus, t0
    li      t0, KERNEL_BASE
    csrw    mepc, t0
    csrr    a0, mhartid
    li      a1, 0
    mret
    .size   _fw_start, . - _fw_start

/*
 * fw_park_hart(hartid): reset this hart's M-mode stack (also when called
 * from the trap handler, for HSM hart_stop) and park it in fw_park until
 * an HSM hart_start, which leaves through fw_enter_smode.
 */
    .globl  fw_park_hart
    .type   fw_park_hart, @function
fw_park_hart:
    slli    t0, a0, 12
    la      sp, _fw_stack_top
    sub     sp, sp, t0
    csrw    mscratch, sp
    call    fw_park                 /* does not return */
    .size   fw_park_hart, . - fw_park_hart

/*
 * fw_enter_smode(addr, hartid, opaque): mret to addr in S-mode with
 * a0 = hartid, a1 = opaque, interrupts off (SBI HSM hart_start).
 */
    .globl  fw_enter_smode
    .type   fw_enter_smode, @function
fw_enter_smode:
    csrw    mepc, a0
    li      t0, MSTATUS_MPP_MASK | (1 << 7)
    csrc    mstatus, t0
    li      t0, MSTATUS_MPP_S
    csrs    mstatus, t0
    csrw    satp, zero
    mv      a0, a1
    mv      a1, a2
    mret
    .size   fw_enter_smode, . - fw_enter_smode

/*
 * M-mode trap entry.  Traps come from S or U (the firmware itself never
 * traps), with any sp: swap in the firmware stack from mscratch, save all
 * 31 registers in a frame (x[i] at 4*i; x2 = the interrupted sp), call
 * fw_trap(frame), restore and mret.
 */
    .text
    .p2align 2
    .globl  fw_trap_entry
    .type   fw_trap_entry, @function
fw_trap_entry:
    csrrw   sp, mscratch, sp        /* sp = fw stack, mscratch = old sp */
    addi    sp, sp, -128
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
    csrr    t0, mscratch
    sw      t0,   8(sp)             /* interrupted sp                   */
    mv      a0, sp
    call    fw_trap
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
    addi    sp, sp, 128
    csrrw   sp, mscratch, sp        /* sp = interrupted sp, mscratch = fw stack */
    mret
    .size   fw_trap_entry, . - fw_trap_entry

    .bss
    .p2align 4
_fw_stack:
    .space  4096 * 2                /* FW_HARTS (fw-sbi.c) stacks */
_fw_stack_top:
