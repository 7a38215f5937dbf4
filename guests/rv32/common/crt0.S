/*
 * crt0.S - process entry point for rv32 Linux user programs.
 *
 * The kernel (or the simulator's loader) jumps to _start with the initial
 * process stack laid out as the Linux ELF ABI specifies:
 *
 *     sp + 0                  argc
 *     sp + 4                  argv[0] ... argv[argc-1]
 *     sp + 4 + 4*argc         NULL
 *                             envp[0] ... NULL
 *                             auxv pairs ... AT_NULL
 *
 * All other registers are ignored (a0 may hold an rtld fini pointer, which a
 * static program does not need).  We set up gp for linker relaxation, align
 * the stack, call main(argc, argv, envp) and pass its result to exit().
 */
    .section .text.start, "ax", @progbits
    .globl  _start
    .type   _start, @function
_start:
    /* gp must be loaded without relaxation, otherwise the assembler would
       happily rewrite this into a gp-relative access of itself. */
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop

    lw      a0, 0(sp)           /* argc                          */
    addi    a1, sp, 4           /* argv = sp + 4                 */
    slli    a2, a0, 2
    add     a2, a2, a1
    addi    a2, a2, 4           /* envp = argv + argc + 1        */
    andi    sp, sp, -16         /* psABI: 16-byte aligned stack  */
    call    main
    call    exit                /* exit(main's return value)     */
1:  j       1b                  /* not reached                   */
    .size   _start, . - _start
