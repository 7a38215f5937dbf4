; A ring32 guest kernel (libs/isa/docs/ring32.md), the same shape as guests/rv32/kernel: it runs in
; ring 0, installs its trap vector, programs the timer, preempts three ring-3 tasks round-robin,
; serves their system calls (exit, write, yield, getpid) and prints through the console port.
;
; It is written the way an IA-32 kernel is, which is what makes it hard to virtualize:
;   - it masks interrupts in critical sections with PUSHF / CLI ... POPF (POPF restores IF);
;   - it checks the ring it runs in with PUSHF, and getpid sanity-checks it with SMSW.
; Deprivileged (trap-and-emulate), POPF silently leaves IF alone and PUSHF/SMSW reveal the real
; ring: the console output differs from the native run. libs/hypervisor/src/ring32 cures it by code
; patching, binary translation, or the paravirtual build.
;
; One source, two builds: `.ifdef PV` selects the paravirtual build (libs/testkit/src/ring32-kernel.ts
; preprocesses the conditionals), which calls the hypervisor with HCALL instead of executing
; privileged or critical instructions, and keeps its interrupt flag in the shared page (no exit to
; mask interrupts, like Xen's shared info page). Hypercall ABI: op and arguments in the shared page
; (pv_shared), then `hcall`; see libs/hypervisor/src/ring32/paravirt.ts.
;
; Output is independent of timing (and so of the technique): tasks' writes are buffered per task
; and printed when all tasks are done, with a checksum of the tasks' data.

.equ CONSOLE, 0x10
.equ EXIT, 0x20
.equ NTASKS, 3
.equ TICK, 40               ; timer period in ticks (4,000 cycles at 100 cycles per tick)
.equ BOOT_TICK, 20          ; the boot self-test's timer, in ticks
.equ BOOT_POLLS, 20000      ; how long the boot self-test waits for that tick
.equ WORDS, 256             ; words of data per task
.equ ROUNDS, 6

; system calls (r1 = number, r2, r3 = arguments; result in r1)
.equ SYS_EXIT, 0
.equ SYS_WRITE, 1
.equ SYS_YIELD, 2
.equ SYS_GETPID, 3
.equ NSYS, 4

; task control block: saved r1..r15 at 4*i, then the PSW/pc pair LPSW loads
.equ T_PSW, 64
.equ T_PC, 68
.equ T_STATE, 72            ; 0 = done, 1 = runnable
.equ T_OUTLEN, 76
.equ T_EXIT, 80
.equ T_SYSCALLS, 84
.equ TCB_SIZE, 96
.equ OUTBUF, 512
.equ USER_PSW, 0x7          ; ring 3, IF set

; hypercalls of the paravirtual build (libs/hypervisor/src/ring32/paravirt.ts)
.equ HC_SET_TVEC, 1
.equ HC_SET_TIMER, 2
.equ HC_GET_TIME, 3
.equ HC_WRITE, 4
.equ HC_SHUTDOWN, 5
.equ HC_RETURN, 6
.equ HC_IRQ_PENDING, 7
; shared page fields (offsets from pv_shared)
.equ SH_OP, 0
.equ SH_A0, 4
.equ SH_A1, 8
.equ SH_RET, 12
.equ SH_VIF, 16             ; the virtual interrupt flag (1 = enabled)
.equ SH_PENDING, 20         ; an interrupt arrived while SH_VIF was 0
.equ SH_CAUSE, 24
.equ SH_EPC, 28
.equ SH_PPSW, 32            ; the virtual PSW before the trap (ring in bits 1:0, IF in bit 2)
.equ SH_RPSW, 36            ; HC_RETURN: PSW and pc to continue with (what LPSW would load)
.equ SH_RPC, 40
.equ SH_VRING, 44           ; the virtual ring

_start:
        la      sp, kstack_top
        la      r1, trap_entry
.ifdef PV
        sw      r1, pv_shared+SH_A0(r0)
        li      r1, HC_SET_TVEC
        sw      r1, pv_shared+SH_OP(r0)
        hcall
.else
        mtcr    tvec, r1
.endif
        la      r1, tcbs                        ; the boot context is TCB 0
        sw      r1, cur_tcb(r0)
        la      r1, msg_banner
        call    puts
        call    flush

        ; Sanity check: which ring are we in? (PUSHF reveals the real ring.)
        la      r1, msg_ring
        call    puts
.ifdef PV
        lw      r1, pv_shared+SH_VRING(r0)
.else
        pushf
        lw      r1, 0(sp)
        addi    sp, sp, 4
.endif
        andi    r1, r1, 3
        call    putdec
        li      r1, '\n'
        call    putc
        call    flush

        ; Boot self-test: enable interrupts, then set the tasks up in a critical section
        ; (PUSHF / CLI ... POPF) that also arms the timer, and wait for its tick with interrupts
        ; on again — which they are only if POPF restored IF.
.ifdef PV
        li      r1, 1
        sw      r1, pv_shared+SH_VIF(r0)
.else
        sti
.endif
.ifdef PV
        lw      r1, pv_shared+SH_VIF(r0)
        addi    sp, sp, -4
        sw      r1, 0(sp)
        sw      r0, pv_shared+SH_VIF(r0)
.else
        pushf
        cli
.endif
        call    read_time
        addi    r1, r1, BOOT_TICK
        call    set_timer
        call    setup_tasks
.ifdef PV
        lw      r1, 0(sp)
        addi    sp, sp, 4
        sw      r1, pv_shared+SH_VIF(r0)
        call    pv_check_pending
.else
        popf                                    ; the critical instruction: restores IF
.endif
        li      r2, BOOT_POLLS
boot_wait:
        lw      r1, boot_ticks(r0)
        bnez    r1, boot_ticked
        addi    r2, r2, -1
        bnez    r2, boot_wait
        la      r1, msg_notick
        j       boot_report
boot_ticked:
        la      r1, msg_tick
boot_report:
        call    puts
        call    flush
.ifdef PV
        sw      r0, pv_shared+SH_VIF(r0)
.else
        cli
.endif

        ; Start the first task: timer on, then LPSW its PSW (ring 3, IF set) and pc.
        call    read_time
        addi    r1, r1, TICK
        call    set_timer
        la      r1, tcbs+TCB_SIZE
        sw      r1, cur_tcb(r0)
        j       resume

; ---------------------------------------------------------------- trap entry

; Every trap and interrupt: save the interrupted context into the current TCB, then dispatch.
trap_entry:
        sw      r13, tmp13(r0)
        lw      r13, cur_tcb(r0)
        sw      r1, 4(r13)
        sw      r2, 8(r13)
        sw      r3, 12(r13)
        sw      r4, 16(r13)
        sw      r5, 20(r13)
        sw      r6, 24(r13)
        sw      r7, 28(r13)
        sw      r8, 32(r13)
        sw      r9, 36(r13)
        sw      r10, 40(r13)
        sw      r11, 44(r13)
        sw      r12, 48(r13)
        sw      r14, 56(r13)
        sw      r15, 60(r13)
        lw      r1, tmp13(r0)
        sw      r1, 52(r13)
        la      sp, kstack_top
.ifdef PV
        lw      r1, pv_shared+SH_EPC(r0)
        lw      r2, pv_shared+SH_CAUSE(r0)
.else
        mfcr    r1, epc
        mfcr    r2, cause
.endif
        sw      r1, T_PC(r13)
        blt     r2, r0, interrupt               ; bit 31: an interrupt
        li      r3, 8
        beq     r2, r3, syscall_entry
        ; anything else is a fault of the task: report it and end the task
        la      r1, msg_fault
        call    puts
        mv      r1, r2
        call    putdec
        la      r1, msg_at
        call    puts
        lw      r1, T_PC(r13)
        call    puthex
        li      r1, '\n'
        call    putc
        call    flush
        li      r1, -1
        sw      r1, T_EXIT(r13)
        j       task_done

interrupt:
        la      r1, tcbs
        bne     r13, r1, preempt
        ; the boot self-test's tick, taken in ring 0: count it, disarm the timer, and continue the
        ; boot context in ring 0 with interrupts on (what IRET would do; resume uses LPSW)
        li      r1, 1
        sw      r1, boot_ticks(r0)
        li      r1, -1
        call    set_timer
        li      r1, 0x4                         ; ring 0, IF set
        sw      r1, T_PSW(r13)
        j       resume

preempt:
        lw      r1, preemptions(r0)
        addi    r1, r1, 1
        sw      r1, preemptions(r0)
        call    read_time
        addi    r1, r1, TICK
        call    set_timer
        j       schedule

; System calls dispatch through a table: the handlers are reachable only by this computed jump.
syscall_entry:
        lw      r1, T_PC(r13)
        addi    r1, r1, 4
        sw      r1, T_PC(r13)
        lw      r1, T_SYSCALLS(r13)
        addi    r1, r1, 1
        sw      r1, T_SYSCALLS(r13)
        lw      r1, 4(r13)                      ; the task's r1: the call number
        sltiu   r2, r1, NSYS
        beqz    r2, sys_bad
        shli    r1, r1, 2
        la      r2, sys_table
        add     r2, r2, r1
        lw      r2, 0(r2)
        jalr    r0, 0(r2)

sys_bad:
        li      r1, -1
        sw      r1, 4(r13)
        j       resume

; ---------------------------------------------------------------- scheduling

; Round robin: the next runnable task after the current one; when none is left, finish.
schedule:
        li      r4, NTASKS
        mv      r5, r13
sched_next:
        addi    r5, r5, TCB_SIZE
        la      r1, tcbs+TCB_SIZE*(NTASKS+1)
        bltu    r5, r1, sched_check
        la      r5, tcbs+TCB_SIZE
sched_check:
        lw      r1, T_STATE(r5)
        bnez    r1, sched_found
        addi    r4, r4, -1
        bnez    r4, sched_next
        j       all_done
sched_found:
        sw      r5, cur_tcb(r0)
        ; fall through

; Continue the current TCB: registers back, then PSW and pc in one LPSW (System/370 style), which
; needs no register: its operand is an absolute address.
resume:
        lw      r13, cur_tcb(r0)
        lw      r1, T_PSW(r13)
        sw      r1, resume_psw(r0)
        lw      r1, T_PC(r13)
        sw      r1, resume_pc(r0)
.ifdef PV
        lw      r1, resume_psw(r0)
        sw      r1, pv_shared+SH_RPSW(r0)
        lw      r1, resume_pc(r0)
        sw      r1, pv_shared+SH_RPC(r0)
        li      r1, HC_RETURN
        sw      r1, pv_shared+SH_OP(r0)
.endif
        lw      r1, 4(r13)
        lw      r2, 8(r13)
        lw      r3, 12(r13)
        lw      r4, 16(r13)
        lw      r5, 20(r13)
        lw      r6, 24(r13)
        lw      r7, 28(r13)
        lw      r8, 32(r13)
        lw      r9, 36(r13)
        lw      r10, 40(r13)
        lw      r11, 44(r13)
        lw      r12, 48(r13)
        lw      r14, 56(r13)
        lw      r15, 60(r13)
        lw      r13, 52(r13)
.ifdef PV
        hcall
.else
        lpsw    resume_psw(r0)
.endif

task_done:
        sw      r0, T_STATE(r13)
        j       schedule

; ---------------------------------------------------------------- system calls

sys_exit:
        lw      r1, 8(r13)
        sw      r1, T_EXIT(r13)
        j       task_done

; write(r2 = address, r3 = length): appended to the task's buffer, printed at the end.
; The critical section is the IA-32 idiom again, here with interrupts already off.
sys_write:
        lw      r2, 8(r13)
        lw      r3, 12(r13)
.ifdef PV
        lw      r1, pv_shared+SH_VIF(r0)
        addi    sp, sp, -4
        sw      r1, 0(sp)
        sw      r0, pv_shared+SH_VIF(r0)
.else
        pushf
        cli
.endif
        lw      r4, T_OUTLEN(r13)
        la      r5, outbufs
        la      r1, tcbs+TCB_SIZE
        sub     r1, r13, r1
        li      r6, TCB_SIZE
        divu    r1, r1, r6
        shli    r1, r1, 9                       ; * OUTBUF
        add     r5, r5, r1
        mv      r6, r3
sys_write_loop:
        beqz    r3, sys_write_end
        li      r1, OUTBUF
        bgeu    r4, r1, sys_write_end
        lbu     r1, 0(r2)
        add     r7, r5, r4
        sb      r1, 0(r7)
        addi    r4, r4, 1
        addi    r2, r2, 1
        addi    r3, r3, -1
        j       sys_write_loop
sys_write_end:
        sw      r4, T_OUTLEN(r13)
        sub     r6, r6, r3
        sw      r6, 4(r13)
.ifdef PV
        lw      r1, 0(sp)
        addi    sp, sp, 4
        sw      r1, pv_shared+SH_VIF(r0)
        call    pv_check_pending
.else
        popf
.endif
        j       resume

sys_yield:
        sw      r0, 4(r13)
        j       schedule

; getpid also sanity-checks the ring the kernel runs in (SMSW): a call served outside ring 0 is counted.
sys_getpid:
.ifdef PV
        lw      r1, pv_shared+SH_VRING(r0)
.else
        smsw    r1
.endif
        andi    r1, r1, 3
        beqz    r1, sys_getpid_ok
        lw      r1, ring_errors(r0)
        addi    r1, r1, 1
        sw      r1, ring_errors(r0)
sys_getpid_ok:
        la      r1, tcbs
        sub     r1, r13, r1
        li      r2, TCB_SIZE
        divu    r1, r1, r2
        sw      r1, 4(r13)
        j       resume

; ---------------------------------------------------------------- the end

all_done:
        li      r1, -1
        call    set_timer
        la      r1, msg_done
        call    puts
        call    flush
        li      r7, 1
        la      r8, tcbs+TCB_SIZE
        la      r9, outbufs
report_task:
        la      r1, msg_task
        call    puts
        mv      r1, r7
        call    putdec
        la      r1, msg_exit
        call    puts
        lw      r1, T_EXIT(r8)
        call    putdec
        la      r1, msg_syscalls
        call    puts
        lw      r1, T_SYSCALLS(r8)
        call    putdec
        la      r1, msg_bytes
        call    puts
        lw      r1, T_OUTLEN(r8)
        call    putdec
        li      r1, '\n'
        call    putc
        call    flush
        lw      r10, T_OUTLEN(r8)
        mv      r11, r9
report_out:
        beqz    r10, report_next
        lbu     r1, 0(r11)
        call    putc
        addi    r11, r11, 1
        addi    r10, r10, -1
        j       report_out
report_next:
        call    flush
        addi    r7, r7, 1
        addi    r8, r8, TCB_SIZE
        addi    r9, r9, OUTBUF
        li      r1, NTASKS
        bge     r1, r7, report_task

        ; fnv1a over every byte of the tasks' data
        la      r2, task_data
        li      r3, NTASKS*WORDS*4
        li      r1, 0x811c9dc5
        li      r4, 0x01000193
fnv_loop:
        lbu     r5, 0(r2)
        xor     r1, r1, r5
        mul     r1, r1, r4
        addi    r2, r2, 1
        addi    r3, r3, -1
        bnez    r3, fnv_loop
        mv      r7, r1
        la      r1, msg_checksum
        call    puts
        mv      r1, r7
        call    puthex
        li      r1, '\n'
        call    putc
        la      r1, msg_preempt
        call    puts
        la      r1, msg_yes
        lw      r2, preemptions(r0)
        bnez    r2, checksum_yes
        la      r1, msg_no
checksum_yes:
        call    puts
        la      r1, msg_ringerr
        call    puts
        lw      r1, ring_errors(r0)
        call    putdec
        li      r1, '\n'
        call    putc
        la      r1, msg_shutdown
        call    puts
        call    flush
.ifdef PV
        sw      r0, pv_shared+SH_A0(r0)
        li      r1, HC_SHUTDOWN
        sw      r1, pv_shared+SH_OP(r0)
        hcall
.else
        out     EXIT, r0
.endif
halt_forever:
        j       halt_forever

; ---------------------------------------------------------------- helpers (clobber r1..r6)

; set_timer(r1 = absolute tick, or -1 to disarm)
set_timer:
.ifdef PV
        sw      r1, pv_shared+SH_A0(r0)
        li      r1, HC_SET_TIMER
        sw      r1, pv_shared+SH_OP(r0)
        hcall
.else
        mtcr    timecmp, r1
.endif
        ret

; read_time() -> r1
read_time:
.ifdef PV
        li      r1, HC_GET_TIME
        sw      r1, pv_shared+SH_OP(r0)
        hcall
        lw      r1, pv_shared+SH_RET(r0)
.else
        mfcr    r1, time
.endif
        ret

.ifdef PV
; After setting the virtual IF to 1: take an interrupt that came while it was 0.
pv_check_pending:
        lw      r1, pv_shared+SH_VIF(r0)
        beqz    r1, pv_check_done
        lw      r1, pv_shared+SH_PENDING(r0)
        beqz    r1, pv_check_done
        li      r1, HC_IRQ_PENDING
        sw      r1, pv_shared+SH_OP(r0)
        hcall
pv_check_done:
        ret
.endif

; Three tasks, runnable, each with its stack and the PSW it starts with.
setup_tasks:
        la      r2, tcbs+TCB_SIZE
        la      r3, task_stacks+1024
        li      r4, NTASKS
setup_loop:
        li      r1, USER_PSW
        sw      r1, T_PSW(r2)
        la      r1, task_main
        sw      r1, T_PC(r2)
        li      r1, 1
        sw      r1, T_STATE(r2)
        sw      r3, 56(r2)
        addi    r2, r2, TCB_SIZE
        addi    r3, r3, 1024
        addi    r4, r4, -1
        bnez    r4, setup_loop
        ret

; putc(r1): appends one byte to the console buffer.
putc:
        lw      r2, kout_len(r0)
        la      r3, kout
        add     r3, r3, r2
        sb      r1, 0(r3)
        addi    r2, r2, 1
        sw      r2, kout_len(r0)
        ret

; puts(r1 = NUL-terminated string)
puts:
        addi    sp, sp, -4
        sw      lr, 0(sp)
        mv      r4, r1
puts_loop:
        lbu     r1, 0(r4)
        beqz    r1, puts_done
        call    putc
        addi    r4, r4, 1
        j       puts_loop
puts_done:
        lw      lr, 0(sp)
        addi    sp, sp, 4
        ret

; puthex(r1): eight hex digits.
puthex:
        addi    sp, sp, -4
        sw      lr, 0(sp)
        mv      r4, r1
        li      r5, 28
puthex_loop:
        shr     r1, r4, r5
        andi    r1, r1, 15
        la      r6, hexdigits
        add     r6, r6, r1
        lbu     r1, 0(r6)
        call    putc
        addi    r5, r5, -4
        bge     r5, r0, puthex_loop
        lw      lr, 0(sp)
        addi    sp, sp, 4
        ret

; putdec(r1): signed decimal.
putdec:
        addi    sp, sp, -16
        sw      lr, 12(sp)
        mv      r4, r1
        bge     r4, r0, putdec_pos
        li      r1, '-'
        call    putc
        sub     r4, r0, r4
putdec_pos:
        mv      r5, sp                          ; digits go below sp+12, least significant first
        li      r6, 10
putdec_digit:
        remu    r1, r4, r6
        addi    r1, r1, '0'
        sb      r1, 0(r5)
        addi    r5, r5, 1
        divu    r4, r4, r6
        bnez    r4, putdec_digit
putdec_out:
        addi    r5, r5, -1
        lbu     r1, 0(r5)
        call    putc
        bne     r5, sp, putdec_out
        lw      lr, 12(sp)
        addi    sp, sp, 16
        ret

; flush(): the console buffer to the console port (one hypercall in the paravirtual build).
flush:
        lw      r2, kout_len(r0)
.ifdef PV
        la      r1, kout
        sw      r1, pv_shared+SH_A0(r0)
        sw      r2, pv_shared+SH_A1(r0)
        li      r1, HC_WRITE
        sw      r1, pv_shared+SH_OP(r0)
        hcall
.else
        la      r3, kout
flush_loop:
        beqz    r2, flush_done
        lbu     r1, 0(r3)
        out     CONSOLE, r1
        addi    r3, r3, 1
        addi    r2, r2, -1
        j       flush_loop
flush_done:
.endif
        sw      r0, kout_len(r0)
        ret

; ---------------------------------------------------------------- the tasks (ring 3)

; Each task fills its 256 words with a generator seeded by its pid, then mixes them for ROUNDS
; rounds, writing a line with the round's hash after each and yielding every other round.
task_main:
        li      r1, SYS_GETPID
        syscall
        mv      r10, r1                         ; pid
        la      r11, task_data
        addi    r1, r10, -1
        shli    r1, r1, 10                      ; * WORDS*4
        add     r11, r11, r1                    ; this task's data
        li      r1, 0x9e3779b9
        mul     r2, r1, r10                     ; generator state
        li      r3, 1103515245
        li      r4, WORDS
        mv      r5, r11
task_fill:
        mul     r2, r2, r3
        addi    r2, r2, 12345
        sw      r2, 0(r5)
        addi    r5, r5, 4
        addi    r4, r4, -1
        bnez    r4, task_fill
        li      r12, 1                          ; round
task_round:
        li      r4, WORDS-1
        addi    r5, r11, 4
        lw      r6, 0(r11)                      ; previous word
        li      r7, 0                           ; round hash
task_mix:
        lw      r1, 0(r5)
        shli    r2, r6, 7
        shri    r3, r6, 25
        or      r2, r2, r3
        xor     r1, r1, r2
        add     r1, r1, r12
        sw      r1, 0(r5)
        mv      r6, r1
        shli    r2, r7, 5
        add     r7, r7, r2
        xor     r7, r7, r1
        addi    r5, r5, 4
        addi    r4, r4, -1
        bnez    r4, task_mix
        ; "task P round R hash HHHHHHHH\n" in a buffer on the stack
        addi    sp, sp, -32
        mv      r8, sp
        la      r1, umsg_task
        call    ustrcpy
        addi    r1, r10, '0'
        sb      r1, 0(r8)
        addi    r8, r8, 1
        la      r1, umsg_round
        call    ustrcpy
        addi    r1, r12, '0'
        sb      r1, 0(r8)
        addi    r8, r8, 1
        la      r1, umsg_hash
        call    ustrcpy
        mv      r1, r7
        call    uhex
        li      r1, '\n'
        sb      r1, 0(r8)
        addi    r8, r8, 1
        mv      r2, sp
        sub     r3, r8, sp
        li      r1, SYS_WRITE
        syscall
        addi    sp, sp, 32
        andi    r1, r12, 1
        bnez    r1, task_noyield
        li      r1, SYS_YIELD
        syscall
task_noyield:
        addi    r12, r12, 1
        li      r1, ROUNDS
        bge     r1, r12, task_round
        li      r1, SYS_EXIT
        mv      r2, r10
        syscall
task_dead:
        j       task_dead

; ustrcpy(r1 = string) to r8, advancing r8 (user code)
ustrcpy:
        lbu     r2, 0(r1)
        beqz    r2, ustrcpy_done
        sb      r2, 0(r8)
        addi    r1, r1, 1
        addi    r8, r8, 1
        j       ustrcpy
ustrcpy_done:
        ret

; uhex(r1) to r8, advancing r8 (user code)
uhex:
        li      r3, 28
uhex_loop:
        shr     r2, r1, r3
        andi    r2, r2, 15
        la      r4, hexdigits
        add     r4, r4, r2
        lbu     r2, 0(r4)
        sb      r2, 0(r8)
        addi    r8, r8, 1
        addi    r3, r3, -4
        bge     r3, r0, uhex_loop
        ret

; ---------------------------------------------------------------- read-only data

.align 4
sys_table:
        .word   sys_exit, sys_write, sys_yield, sys_getpid
hexdigits:
        .ascii  "0123456789abcdef"
msg_banner:     .asciz "kernel: ring32, 3 tasks, round robin, tick 40\n"
msg_ring:       .asciz "kernel: running in ring "
msg_tick:       .asciz "kernel: boot self-test: timer interrupt taken with interrupts re-enabled\n"
msg_notick:     .asciz "kernel: boot self-test: NO timer interrupt (interrupts still masked)\n"
msg_fault:      .asciz "kernel: task fault, cause "
msg_at:         .asciz " at "
msg_done:       .asciz "kernel: all tasks exited\n"
msg_task:       .asciz "--- task "
msg_exit:       .asciz ": exit "
msg_syscalls:   .asciz ", syscalls "
msg_bytes:      .asciz ", bytes written "
msg_checksum:   .asciz "kernel: task data checksum (fnv1a) "
msg_preempt:    .asciz "kernel: preemptions: "
msg_yes:        .asciz "yes\n"
msg_no:         .asciz "no\n"
msg_ringerr:    .asciz "kernel: system calls served outside ring 0: "
msg_shutdown:   .asciz "kernel: shutdown\n"
umsg_task:      .asciz "task "
umsg_round:     .asciz " round "
umsg_hash:      .asciz " hash "

; ---------------------------------------------------------------- kernel data (below 32 KiB: absolute addressing)

.org 0x3000
cur_tcb:        .word 0
tmp13:          .word 0
boot_ticks:     .word 0
preemptions:    .word 0
ring_errors:    .word 0
kout_len:       .word 0
.align 8
resume_psw:     .word 0
resume_pc:      .word 0
.align 256
pv_shared:      .space 256
tcbs:           .space TCB_SIZE*(NTASKS+1)
kout:           .space 256
.align 1024
kstack:         .space 1024
kstack_top:
outbufs:        .space OUTBUF*NTASKS
task_stacks:    .space 1024*NTASKS
.align 1024
task_data:      .space NTASKS*WORDS*4
