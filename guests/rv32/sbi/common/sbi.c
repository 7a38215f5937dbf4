/*
 * sbi.c - SBI call wrappers, the console behind printf, time, sleep_ticks
 * and the C part of the trap handler (crt0.S saves the registers).
 *
 * Also provides the three "system calls" guests/rv32/common/libc.c is built
 * on (declared in common/syscalls.h), so its printf/malloc/exit work here
 * unchanged:
 *   sys_write(fd, buf, len)  -> the SBI console (fd is ignored)
 *   sys_brk(addr)            -> a heap between _end and the stack
 *   sys_exit(status)         -> SRST shutdown, reason = status ? 1 : 0
 */
#include "sbi.h"

/* ------------------------------------------------------------ wrappers */

struct sbiret sbi_get_spec_version(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0, 0, 0, 0);
}

struct sbiret sbi_get_impl_id(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_IMPL_ID, 0, 0, 0, 0, 0, 0);
}

struct sbiret sbi_get_impl_version(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_IMPL_VERSION, 0, 0, 0, 0, 0, 0);
}

struct sbiret sbi_probe_extension(long eid)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, eid, 0, 0, 0, 0, 0);
}

struct sbiret sbi_get_mvendorid(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_MVENDORID, 0, 0, 0, 0, 0, 0);
}

struct sbiret sbi_get_marchid(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_MARCHID, 0, 0, 0, 0, 0, 0);
}

struct sbiret sbi_get_mimpid(void)
{
    return sbi_ecall(SBI_EXT_BASE, SBI_BASE_GET_MIMPID, 0, 0, 0, 0, 0, 0);
}

struct sbiret sbi_set_timer(uint64_t stime_value)
{
    /* RV32: a0 = low 32 bits, a1 = high 32 bits. */
    return sbi_ecall(SBI_EXT_TIME, SBI_TIME_SET_TIMER, (long)(uint32_t)stime_value,
                     (long)(uint32_t)(stime_value >> 32), 0, 0, 0, 0);
}

struct sbiret sbi_debug_console_write(unsigned long num_bytes, const void *base)
{
    /* a1 = physical base address, low 32 bits; a2 = high bits (0 on RV32). */
    return sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, (long)num_bytes,
                     (long)(uintptr_t)base, 0, 0, 0, 0);
}

struct sbiret sbi_debug_console_write_byte(uint8_t byte)
{
    return sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE_BYTE, byte, 0, 0, 0, 0, 0);
}

struct sbiret sbi_system_reset(uint32_t reset_type, uint32_t reset_reason)
{
    return sbi_ecall(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, (long)reset_type,
                     (long)reset_reason, 0, 0, 0, 0);
}

long sbi_legacy_console_putchar(int ch)
{
    register long a0 __asm__("a0") = ch;
    register long a7 __asm__("a7") = SBI_EXT_LEGACY_CONSOLE_PUTCHAR;
    /* Legacy calls preserve every register but a0. */
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

void sbi_legacy_shutdown(void)
{
    register long a7 __asm__("a7") = SBI_EXT_LEGACY_SHUTDOWN;
    __asm__ volatile("ecall" : : "r"(a7) : "a0", "memory");
    for (;;)
        wfi();
}

/* -------------------------------------------------------------- console */

static enum sbi_console console_backend = SBI_CONSOLE_DBCN;

void sbi_console_use(enum sbi_console backend)
{
    console_backend = backend;
}

/* libc's output primitive.  Returns the bytes written or a negative error. */
long sys_write(int fd, const void *buf, unsigned long len)
{
    const char *p = buf;
    unsigned long done = 0;
    int idle = 0;

    (void)fd;
    if (console_backend == SBI_CONSOLE_LEGACY) {
        for (; done < len; done++)
            sbi_legacy_console_putchar((unsigned char)p[done]);
        return (long)done;
    }
    /* console_write may write fewer bytes than asked: go on with the rest
       (giving up if the console makes no progress at all). */
    while (done < len) {
        struct sbiret r = sbi_debug_console_write(len - done, p + done);
        if (r.error != SBI_SUCCESS)
            return done ? (long)done : r.error;
        if (r.value <= 0) {
            if (++idle == 1000)
                break;
            continue;
        }
        idle = 0;
        done += (unsigned long)r.value;
    }
    return (long)done;
}

/* ----------------------------------------------------------- brk, exit */

extern char _end[], _stack_top[], _stack_size[];   /* link.ld */
static uintptr_t cur_brk;

/* Linux brk semantics: returns the new break, or the old one if refused. */
long sys_brk(void *addr)
{
    uintptr_t lo = ((uintptr_t)_end + 15) & ~(uintptr_t)15;
    uintptr_t hi = (uintptr_t)_stack_top - (uintptr_t)_stack_size;
    uintptr_t a = (uintptr_t)addr;

    if (cur_brk == 0)
        cur_brk = lo;
    if (a >= lo && a <= hi) {
        if (a > cur_brk)
            memset((void *)cur_brk, 0, a - cur_brk);   /* new memory reads 0 */
        cur_brk = a;
    }
    return (long)cur_brk;
}

void sys_exit(int status)
{
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN,
                     status ? SBI_SRST_REASON_SYSFAIL : SBI_SRST_REASON_NONE);
    sbi_legacy_shutdown();      /* only if SRST failed */
}

/* ----------------------------------------------------------------- time */

uint64_t rdtime64(void)
{
    uint32_t hi, lo, hi2;

    do {
        __asm__ volatile("rdtimeh %0" : "=r"(hi));
        __asm__ volatile("rdtime %0" : "=r"(lo));
        __asm__ volatile("rdtimeh %0" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

volatile uint32_t sbi_timer_interrupts;
static sbi_timer_fn timer_fn;
static sbi_exception_fn exception_fn;

void sbi_set_timer_handler(sbi_timer_fn fn)
{
    timer_fn = fn;
}

void sbi_set_exception_handler(sbi_exception_fn fn)
{
    exception_fn = fn;
}

void sleep_ticks(uint64_t n)
{
    uint32_t seen = sbi_timer_interrupts;
    uint32_t sie_was_on = csr_read(sstatus) & SSTATUS_SIE;

    csr_clear(sstatus, SSTATUS_SIE);
    sbi_set_timer(rdtime64() + n);
    csr_set(sie, SIE_STIE);
    /*
     * wfi returns once the timer interrupt is pending (sie.STIE is set, so
     * it does even with sstatus.SIE = 0), or earlier for no reason at all;
     * opening sstatus.SIE for one instruction then lets the trap handler
     * take the interrupt (and disarm the timer).  Loop until it did.
     */
    while (sbi_timer_interrupts == seen) {
        wfi();
        csr_set(sstatus, SSTATUS_SIE);
        csr_clear(sstatus, SSTATUS_SIE);
    }
    if (sie_was_on)
        csr_set(sstatus, SSTATUS_SIE);
}

/* ---------------------------------------------------------------- traps */

void sbi_trap(uint32_t scause, uint32_t sepc, uint32_t stval);

/* Called by sbi_trap_entry (crt0.S) with the caller-saved registers saved. */
void sbi_trap(uint32_t scause, uint32_t sepc, uint32_t stval)
{
    if (scause == SCAUSE_S_TIMER) {
        sbi_timer_interrupts++;
        if (timer_fn)
            timer_fn();
        else
            sbi_set_timer(SBI_TIMER_NEVER);     /* clears the pending bit */
        return;
    }
    if (!(scause & SCAUSE_INTERRUPT) && exception_fn &&
        exception_fn(scause, sepc, stval)) {
        csr_write(sepc, sepc + 4);
        return;
    }
    printf("sbi-rt: unexpected trap: scause=0x%08x sepc=0x%08x stval=0x%08x\n",
           scause, sepc, stval);
    sys_exit(1);
}
