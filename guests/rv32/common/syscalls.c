/* syscalls.c - typed wrappers around the raw ecall helpers. */
#include "syscalls.h"

long sys_write(int fd, const void *buf, unsigned long len)
{
    return syscall3(SYS_write, fd, (long)buf, (long)len);
}

/*
 * Linux brk semantics: brk(0) (or any address the kernel refuses) returns
 * the current break; on success the new break is returned.
 */
long sys_brk(void *addr)
{
    return syscall1(SYS_brk, (long)addr);
}

void sys_exit(int status)
{
    for (;;)
        syscall1(SYS_exit, status);
}

void sys_exit_group(int status)
{
    for (;;)
        syscall1(SYS_exit_group, status);
}
