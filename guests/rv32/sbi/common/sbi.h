/*
 * sbi.h - the S-mode runtime of the paravirtual guest programs: SBI calls,
 * console, time, sleeping and the trap handler.
 *
 * The programs run in S-mode on a VM whose "firmware" is the hypervisor and
 * talk to it only through the RISC-V SBI (spec v2.0): `ecall` with
 * a7 = extension ID (EID), a6 = function ID (FID), a0..a5 = arguments;
 * the call returns a0 = error (0 = SBI_SUCCESS), a1 = value, and preserves
 * every other register.  Legacy (v0.1) calls take the EID in a7 only and
 * return a single value in a0.
 *
 * The C library subset of the Linux guests (guests/rv32/common/libc.h:
 * printf, string functions, malloc, exit) is reused as is: this runtime
 * provides the sys_write/sys_brk/sys_exit it is built on, over SBI (see
 * sbi.c).  printf therefore writes to the SBI console, and exit(status)
 * shuts the VM down.
 */
#ifndef GUEST_SBI_H
#define GUEST_SBI_H

#include "libc.h"   /* guests/rv32/common: fixed-width types, printf, ... */

/* ------------------------------------------------------------ SBI ABI */

struct sbiret {
    long error;     /* a0: SBI_SUCCESS or one of SBI_ERR_* */
    long value;     /* a1 */
};

/* Standard error codes (SBI v2.0, table 1). */
#define SBI_SUCCESS                 0
#define SBI_ERR_FAILED             -1
#define SBI_ERR_NOT_SUPPORTED      -2
#define SBI_ERR_INVALID_PARAM      -3
#define SBI_ERR_DENIED             -4
#define SBI_ERR_INVALID_ADDRESS    -5
#define SBI_ERR_ALREADY_AVAILABLE  -6
#define SBI_ERR_ALREADY_STARTED    -7
#define SBI_ERR_ALREADY_STOPPED    -8
#define SBI_ERR_NO_SHMEM           -9

/* Extension IDs. */
#define SBI_EXT_LEGACY_CONSOLE_PUTCHAR 0x01
#define SBI_EXT_LEGACY_SHUTDOWN        0x08
#define SBI_EXT_BASE                   0x10
#define SBI_EXT_TIME                   0x54494D45   /* "TIME" */
#define SBI_EXT_DBCN                   0x4442434E   /* "DBCN" */
#define SBI_EXT_SRST                   0x53525354   /* "SRST" */

/* BASE function IDs. */
#define SBI_BASE_GET_SPEC_VERSION   0
#define SBI_BASE_GET_IMPL_ID        1
#define SBI_BASE_GET_IMPL_VERSION   2
#define SBI_BASE_PROBE_EXTENSION    3
#define SBI_BASE_GET_MVENDORID      4
#define SBI_BASE_GET_MARCHID        5
#define SBI_BASE_GET_MIMPID         6

/* TIME, DBCN, SRST function IDs. */
#define SBI_TIME_SET_TIMER          0
#define SBI_DBCN_CONSOLE_WRITE      0
#define SBI_DBCN_CONSOLE_READ       1
#define SBI_DBCN_CONSOLE_WRITE_BYTE 2
#define SBI_SRST_SYSTEM_RESET       0

/* SRST reset types and reasons. */
#define SBI_SRST_TYPE_SHUTDOWN      0
#define SBI_SRST_TYPE_COLD_REBOOT   1
#define SBI_SRST_TYPE_WARM_REBOOT   2
#define SBI_SRST_REASON_NONE        0
#define SBI_SRST_REASON_SYSFAIL     1

/* The raw call: a7 = eid, a6 = fid, a0..a5 = arguments. */
static inline struct sbiret sbi_ecall(long eid, long fid, long arg0, long arg1,
                                      long arg2, long arg3, long arg4,
                                      long arg5)
{
    register long a0 __asm__("a0") = arg0;
    register long a1 __asm__("a1") = arg1;
    register long a2 __asm__("a2") = arg2;
    register long a3 __asm__("a3") = arg3;
    register long a4 __asm__("a4") = arg4;
    register long a5 __asm__("a5") = arg5;
    register long a6 __asm__("a6") = fid;
    register long a7 __asm__("a7") = eid;
    __asm__ volatile("ecall"
                     : "+r"(a0), "+r"(a1)
                     : "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7)
                     : "memory");
    return (struct sbiret){ a0, a1 };
}

/* Typed wrappers (sbi.c). */
struct sbiret sbi_get_spec_version(void);
struct sbiret sbi_get_impl_id(void);
struct sbiret sbi_get_impl_version(void);
struct sbiret sbi_probe_extension(long eid);   /* value: 0 = absent */
struct sbiret sbi_get_mvendorid(void);
struct sbiret sbi_get_marchid(void);
struct sbiret sbi_get_mimpid(void);
/*
 * Makes the S timer interrupt pending when time >= stime_value (at once if
 * that is already the case) and clears a pending one otherwise.
 * SBI_TIMER_NEVER disarms the timer.
 */
struct sbiret sbi_set_timer(uint64_t stime_value);
#define SBI_TIMER_NEVER 0xffffffffffffffffull
/* value: number of bytes written (may be fewer than num_bytes). */
struct sbiret sbi_debug_console_write(unsigned long num_bytes, const void *base);
struct sbiret sbi_debug_console_write_byte(uint8_t byte);
/* Returns only on failure. */
struct sbiret sbi_system_reset(uint32_t reset_type, uint32_t reset_reason);
/* Legacy v0.1 calls: EID in a7, no FID, result in a0. */
long sbi_legacy_console_putchar(int ch);
__attribute__((noreturn)) void sbi_legacy_shutdown(void);

/* --------------------------------------------------------------- console */

/*
 * What printf/puts/putchar (sys_write) use: DBCN console_write of the whole
 * buffer (the default), or one legacy console_putchar call per byte.
 */
enum sbi_console { SBI_CONSOLE_DBCN, SBI_CONSOLE_LEGACY };
void sbi_console_use(enum sbi_console backend);

/* ------------------------------------------------------------------ CSRs */

#define csr_read(csr) ({                                                   \
    uint32_t v_;                                                           \
    __asm__ volatile("csrr %0, " #csr : "=r"(v_) : : "memory");            \
    v_; })
#define csr_write(csr, val)                                                \
    __asm__ volatile("csrw " #csr ", %0" : : "rK"(val) : "memory")
#define csr_set(csr, bits)                                                 \
    __asm__ volatile("csrs " #csr ", %0" : : "rK"(bits) : "memory")
#define csr_clear(csr, bits)                                               \
    __asm__ volatile("csrc " #csr ", %0" : : "rK"(bits) : "memory")

#define SSTATUS_SIE         (1u << 1)
#define SIE_STIE            (1u << 5)
#define SIP_STIP            (1u << 5)
#define SCAUSE_INTERRUPT    0x80000000u
#define SCAUSE_S_TIMER      (SCAUSE_INTERRUPT | 5)

static inline void wfi(void)
{
    __asm__ volatile("wfi" : : : "memory");
}

/* ------------------------------------------------------------------ time */

/* The time CSR ticks at 10 MHz: 100 ns per tick. */
#define TIME_HZ        10000000u
#define TICKS_PER_MS   (TIME_HZ / 1000)
#define TICKS_PER_US   (TIME_HZ / 1000000)

/* The 64-bit time CSR (rdtimeh / rdtime / rdtimeh until consistent). */
uint64_t rdtime64(void);

/*
 * Sleep at least n ticks: arms the timer (set_timer(now + n)), enables
 * sie.STIE and waits with wfi (sstatus.SIE = 0 while waiting, opened
 * briefly after each wake-up so the interrupt is taken by the trap handler,
 * which disarms the timer).  Exactly one timer interrupt per call.  Must not
 * be used while a periodic timer handler is installed.
 */
void sleep_ticks(uint64_t n);

/* ----------------------------------------------------------------- traps */

/* S timer interrupts taken so far (by the trap handler). */
extern volatile uint32_t sbi_timer_interrupts;

/*
 * Called on each S timer interrupt, after counting it.  It must re-arm the
 * timer (sbi_set_timer with a later value) or disarm it
 * (sbi_set_timer(SBI_TIMER_NEVER)), otherwise the interrupt stays pending.
 * NULL (the default): disarm.
 */
typedef void (*sbi_timer_fn)(void);
void sbi_set_timer_handler(sbi_timer_fn fn);

/*
 * Called on a synchronous exception, if the hypervisor delivers it to the
 * guest at all (it may instead stop the VM).  Return non-zero to resume
 * after the faulting instruction (sepc + 4), 0 for the default: print the
 * trap and shut down with reason "system failure".
 */
typedef int (*sbi_exception_fn)(uint32_t scause, uint32_t sepc, uint32_t stval);
void sbi_set_exception_handler(sbi_exception_fn fn);

#endif
