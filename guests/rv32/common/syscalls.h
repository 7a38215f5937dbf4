/*
 * syscalls.h - the Linux system calls available to rv32 guest programs.
 *
 * The simulator implements exactly these four calls (RISC-V Linux generic
 * syscall numbers); any other number returns -ENOSYS.
 *
 * Calling convention: a7 = syscall number, a0..a5 = arguments,
 * result in a0 (negative errno on failure), raised with `ecall`.
 */
#ifndef GUEST_SYSCALLS_H
#define GUEST_SYSCALLS_H

#define SYS_write      64
#define SYS_exit       93
#define SYS_exit_group 94
#define SYS_brk        214

/* Raw system call with up to three arguments. */
static inline long syscall3(long n, long a, long b, long c)
{
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a1), "r"(a2), "r"(a7)
                     : "memory");
    return a0;
}

static inline long syscall1(long n, long a)
{
    register long a0 __asm__("a0") = a;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

/* Typed wrappers (syscalls.c). */
long sys_write(int fd, const void *buf, unsigned long len);
long sys_brk(void *addr);  /* returns the new (or unchanged) break */
__attribute__((noreturn)) void sys_exit(int status);
__attribute__((noreturn)) void sys_exit_group(int status);

#endif
