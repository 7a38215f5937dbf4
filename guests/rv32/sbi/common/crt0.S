/*
 * crt0.S - entry point and trap entry of the S-mode (SBI) guest programs.
 *
 * The hypervisor (the VM's "firmware") starts the vCPU at _start, the first
 * word of RAM (0x80000000), in S-mode with a0 = hartid and a1 = 0 (no device
 * tree).  No other register, including sp, is assumed.  We set up gp, the
 * stack (top of the first 1 MiB of RAM), stvec, clear .bss, call
 * main(hartid) and end with an SBI system reset (shutdown) whose reason is
 * 0 (no reason) if main returned 0, else 1 (system failure).
 *
 * Only S-mode instructions and CSRs are used: sstatus, sie, stvec, scause,
 * sepc, stval, sret, ecall, wfi.
 */
#define SBI_EXT_SRST            0x53525354
#define SBI_EXT_LEGACY_SHUTDOWN 0x08

    .section .text.init, "ax", @progbits
    .globl  _start
    .type   _start, @function
_start:
    /* gp must be loaded without relaxation, else the assembler would turn
       this into a gp-relative access of itself. */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, _stack_top

    /* No interrupts until the program asks for them. */
    csrci   sstatus, 2          /* sstatus.SIE = 0                 */
    csrw    sie, zero
    la      t0, sbi_trap_entry
    csrw    stvec, t0           /* direct mode: every trap there   */

    /* Clear .bss (word aligned by link.ld).  a0 (hartid) is kept. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    call    main                /* main(hartid)                    */

    /* SRST system_reset(type = 0 shutdown, reason = main ? 1 : 0). */
    snez    a1, a0
    li      a0, 0
    li      a6, 0
    li      a7, SBI_EXT_SRST
    ecall
    /* Not reached: a successful shutdown does not return.  Try the
       legacy shutdown, then idle forever. */
    li      a7, SBI_EXT_LEGACY_SHUTDOWN
    ecall
3:  wfi
    j       3b
    .size   _start, . - _start

/*
 * Trap entry (stvec, direct mode).  Interrupts can arrive at any
 * instruction, so every caller-saved register is saved here; the C handler
 * preserves the callee-saved ones.  There is no U-mode, so the interrupted
 * sp is always a valid S-mode stack (the psABI has no red zone).
 *
 *   void sbi_trap(uint32_t scause, uint32_t sepc, uint32_t stval);
 *
 * sbi_trap may write sepc (to skip a faulting instruction) before we sret.
 */
    .text
    .p2align 2
    .globl  sbi_trap_entry
    .type   sbi_trap_entry, @function
sbi_trap_entry:
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
    call    sbi_trap

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
    .size   sbi_trap_entry, . - sbi_trap_entry
