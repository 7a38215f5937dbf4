/* kernel.h - the small S-mode kernel: tasks, trap frame, system calls. */
#ifndef KERNEL_H
#define KERNEL_H
#include <stdint.h>
#include <stdarg.h>

/* System call numbers (a7), Linux-like where Linux has one. */
#define SYS_GETPID 172
#define SYS_WRITE  64
#define SYS_YIELD  124
#define SYS_SLEEP  101   /* a0 = milliseconds */
#define SYS_EXIT   93

/* time ticks at 10 MHz */
#define TICKS_PER_MS 10000u

/* The trap frame: x[i] at 4*i (x[0] unused, x[2] = sp), pc at 128 (entry.S). */
struct frame {
    uint32_t x[32];
    uint32_t pc;
};

/* A workload: its tasks (run in U-mode), its tick. */
struct task_def {
    const char *name;
    void (*entry)(uint32_t arg);
    uint32_t arg;
};
struct workload {
    const char *name;
    uint32_t tick_us;                 /* timer period */
    uint32_t report_preemption;       /* print whether tasks were preempted (when it is certain) */
    uint32_t ntasks;
    const struct task_def *tasks;
    const uint8_t *data;              /* region checksummed at the end */
    uint32_t data_len;
    void (*kernel_bench)(void);       /* run by kmain before the tasks (nanobenchmarks), or 0 */
};
extern const struct workload workload;

/* Formatting shared by kernel and user code (pure functions). */
uint32_t vfmt(char *buf, uint32_t size, const char *fmt, va_list ap);
uint32_t fmt(char *buf, uint32_t size, const char *fmt, ...);
uint32_t fnv1a(uint32_t h, const void *p, uint32_t len);

/* User side (U-mode): system call wrappers. */
static inline long syscall3(long n, long a0, long a1, long a2) {
    register long r0 __asm__("a0") = a0;
    register long r1 __asm__("a1") = a1;
    register long r2 __asm__("a2") = a2;
    register long r7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
    return r0;
}
static inline long u_getpid(void) { return syscall3(SYS_GETPID, 0, 0, 0); }
/* fd 1: kept and printed at the end; fd 2: only counted and hashed. */
static inline long u_write_fd(int fd, const void *buf, uint32_t len) { return syscall3(SYS_WRITE, fd, (long)buf, (long)len); }
static inline long u_write(const void *buf, uint32_t len) { return u_write_fd(1, buf, len); }
static inline void u_yield(void) { syscall3(SYS_YIELD, 0, 0, 0); }
static inline void u_sleep(uint32_t ms) { syscall3(SYS_SLEEP, (long)ms, 0, 0); }
static inline void __attribute__((noreturn)) u_exit(int code) {
    syscall3(SYS_EXIT, code, 0, 0);
    for (;;) { }
}
void u_printf(const char *fmt, ...);

#endif
