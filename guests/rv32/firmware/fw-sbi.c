/*
 * fw-sbi.c - the native firmware's M-mode trap handler: an SBI implementation
 * (spec v2.0 subset: BASE, TIME, DBCN, SRST, legacy console_putchar and
 * shutdown) on real hardware devices, plus timer forwarding.
 *
 * Devices: the CLINT at 0x02000000 (mtimecmp +0x4000, mtime +0xbff8) and a
 * write-only console at 0x10000000 (a byte stored at offset 0 is output,
 * like QEMU virt's UART THR).  Shutdown writes the 64-bit `tohost` word:
 * 1 for a shutdown with reason 0 (or a legacy shutdown), 3 otherwise, 5 for
 * an unexpected trap; the bare machine stops at that store.
 *
 * Harts (FW_HARTS): hart 0 enters the kernel; the others park in M-mode
 * (fw_park) until HSM hart_start.  HSM (hart_start, hart_stop,
 * hart_get_status) and IPI (send_ipi) work as in OpenSBI: a start or an
 * IPI writes the target's CLINT msip; an IPI's machine software interrupt
 * is forwarded to the kernel as sip.SSIP (mideleg delegates it), which the
 * kernel clears itself.
 *
 * Timer (no Sstc, like OpenSBI on a hart without it): set_timer writes
 * mtimecmp, clears mip.STIP and enables mie.MTIE; when the M timer
 * interrupt fires, the handler sets mip.STIP (delegated: the kernel sees a
 * supervisor timer interrupt) and disables MTIE until the next set_timer.
 */
#include <stdint.h>

#define CLINT_MTIMECMP_LO ((volatile uint32_t *)0x02004000)
#define CLINT_MTIMECMP_HI ((volatile uint32_t *)0x02004004)
#define CLINT_MSIP        ((volatile uint32_t *)0x02000000)   /* one word per hart */
#define CONSOLE_THR       ((volatile uint8_t *)0x10000000)
#define RAM_BASE          0x80000000u
#define RAM_END           0x81000000u   /* BareMachine: 16 MiB */

#define MIP_SSIP (1u << 1)
#define MIP_STIP (1u << 5)
#define MIE_MSIE (1u << 3)
#define MIE_MTIE (1u << 7)

#define FW_HARTS 2                      /* harts the firmware serves (fw-entry.S: stacks) */

#define SBI_SUCCESS            0
#define SBI_ERR_NOT_SUPPORTED  (-2)
#define SBI_ERR_INVALID_PARAM  (-3)
#define SBI_ERR_ALREADY_AVAILABLE (-6)

#define EID_LEGACY_PUTCHAR  0x01
#define EID_LEGACY_SHUTDOWN 0x08
#define EID_BASE            0x10
#define EID_TIME            0x54494D45
#define EID_DBCN            0x4442434E
#define EID_SRST            0x53525354
#define EID_HSM             0x48534D
#define EID_IPI             0x735049

/* HSM hart states (SBI v2.0). */
#define HSM_STARTED       0
#define HSM_STOPPED       1
#define HSM_START_PENDING 2

/* The 64-bit tohost/fromhost words, as two 32-bit halves each. */
volatile uint32_t tohost[2] __attribute__((section(".tohost"), aligned(8)));
volatile uint32_t fromhost[2] __attribute__((section(".tohost"), aligned(8)));

#define csr_read(csr) ({ uint32_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "rK"(v))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "rK"(v))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "rK"(v))

static void putc_(char c) { *CONSOLE_THR = (uint8_t)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void puthex(uint32_t v) {
    puts_("0x");
    for (int i = 28; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]);
}

static void __attribute__((noreturn)) halt(uint32_t code) {
    tohost[0] = code;
    tohost[1] = 0;
    for (;;) __asm__ volatile("wfi");
}

/* This hart's mtimecmp (8 bytes per hart). */
static void set_mtimecmp(uint32_t lo, uint32_t hi) {
    uint32_t h = csr_read(mhartid);
    CLINT_MTIMECMP_HI[2 * h] = 0xffffffffu;   /* never briefly in the past */
    CLINT_MTIMECMP_LO[2 * h] = lo;
    CLINT_MTIMECMP_HI[2 * h] = hi;
}

/* HSM state of each hart, and where hart_start sends it. */
static volatile uint32_t hsm_state[FW_HARTS] = { HSM_STARTED, HSM_STOPPED };
static volatile uint32_t hsm_addr[FW_HARTS], hsm_opaque[FW_HARTS];
/* An IPI is waiting to be forwarded as SSIP (msip also wakes parked harts). */
static volatile uint32_t ipi_pending[FW_HARTS];

void fw_park_hart(uint32_t hartid) __attribute__((noreturn));
void fw_enter_smode(uint32_t addr, uint32_t hartid, uint32_t opaque) __attribute__((noreturn));

void fw_init(void) {
    set_mtimecmp(0xffffffffu, 0xffffffffu);
    csr_set(mie, MIE_MSIE);             /* IPIs */
}

/*
 * A parked hart (at reset, or after hart_stop): wfi until hart_start names it.
 * The state is already STOPPED (statically, or set by hart_stop): writing it
 * here would lose a hart_start that came before this hart got here.
 */
void __attribute__((noreturn)) fw_park(uint32_t hartid) {
    set_mtimecmp(0xffffffffu, 0xffffffffu);
    csr_write(mie, MIE_MSIE);           /* wfi wakes on msip; mstatus.MIE = 0: no trap */
    csr_clear(mip, MIP_SSIP | MIP_STIP);
    for (;;) {
        __asm__ volatile("wfi");
        CLINT_MSIP[hartid] = 0;
        if (hsm_state[hartid] == HSM_START_PENDING) break;
    }
    ipi_pending[hartid] = 0;
    hsm_state[hartid] = HSM_STARTED;
    fw_enter_smode(hsm_addr[hartid], hartid, hsm_opaque[hartid]);
}

/* Counters, for a summary a host can read from memory after the run. */
struct fw_stats {
    uint32_t ecalls, set_timer, console_bytes, timer_irqs;
} fw_stats;

static long probe(long eid) {
    switch (eid) {
    case EID_BASE: case EID_TIME: case EID_DBCN: case EID_SRST:
    case EID_LEGACY_PUTCHAR: case EID_LEGACY_SHUTDOWN: case EID_HSM: case EID_IPI:
        return 1;
    }
    return 0;
}

/* x[i] = register i of the interrupted hart (x[0] unused). */
static void sbi_call(uint32_t *x) {
    uint32_t eid = x[17], fid = x[16];
    long err = SBI_SUCCESS, val = 0;
    __atomic_fetch_add(&fw_stats.ecalls, 1, __ATOMIC_RELAXED);
    switch (eid) {
    case EID_LEGACY_PUTCHAR:
        putc_((char)x[10]);
        fw_stats.console_bytes++;
        x[10] = 0;
        return;                         /* a1 preserved */
    case EID_LEGACY_SHUTDOWN:
        halt(1);
    case EID_BASE:
        switch (fid) {
        case 0: val = 0x02000000; break;        /* v2.0 */
        case 1: val = 0x76736d; break;          /* impl id: "vsm" */
        case 2: val = 1; break;
        case 3: val = probe((long)x[10]); break;
        case 4: case 5: case 6: val = 0; break;
        default: err = SBI_ERR_NOT_SUPPORTED;
        }
        break;
    case EID_TIME:
        if (fid != 0) { err = SBI_ERR_NOT_SUPPORTED; break; }
        fw_stats.set_timer++;
        set_mtimecmp(x[10], x[11]);
        csr_clear(mip, MIP_STIP);
        csr_set(mie, MIE_MTIE);         /* fires at once if already due */
        break;
    case EID_DBCN:
        if (fid == 0) {                 /* console_write(n, lo, hi) */
            uint32_t n = x[10], lo = x[11], hi = x[12];
            if (hi != 0 || lo < RAM_BASE || lo >= RAM_END || n > RAM_END - lo) {
                err = SBI_ERR_INVALID_PARAM;
                break;
            }
            for (uint32_t i = 0; i < n; i++) putc_(((const char *)lo)[i]);
            fw_stats.console_bytes += n;
            val = (long)n;
        } else if (fid == 2) {          /* console_write_byte */
            putc_((char)x[10]);
            fw_stats.console_bytes++;
        } else {
            err = SBI_ERR_NOT_SUPPORTED;
        }
        break;
    case EID_SRST:
        if (fid != 0 || x[10] != 0) { err = SBI_ERR_NOT_SUPPORTED; break; }   /* shutdown only */
        halt(x[11] == 0 ? 1 : 3);
    case EID_HSM:
        if (fid == 0) {                 /* hart_start(hartid, start_addr, opaque) */
            uint32_t h = x[10];
            if (h >= FW_HARTS) { err = SBI_ERR_INVALID_PARAM; break; }
            uint32_t expected = HSM_STOPPED;
            hsm_addr[h] = x[11];        /* only read once the state says START_PENDING */
            hsm_opaque[h] = x[12];
            if (!__atomic_compare_exchange_n(&hsm_state[h], &expected, HSM_START_PENDING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                err = SBI_ERR_ALREADY_AVAILABLE;
                break;
            }
            CLINT_MSIP[h] = 1;          /* wake it */
        } else if (fid == 1) {          /* hart_stop() */
            uint32_t h = csr_read(mhartid);
            hsm_state[h] = HSM_STOPPED;
            fw_park_hart(h);
        } else if (fid == 2) {          /* hart_get_status(hartid) */
            if (x[10] >= FW_HARTS) { err = SBI_ERR_INVALID_PARAM; break; }
            val = (long)hsm_state[x[10]];
        } else {
            err = SBI_ERR_NOT_SUPPORTED;
        }
        break;
    case EID_IPI: {
        if (fid != 0) { err = SBI_ERR_NOT_SUPPORTED; break; }
        uint32_t mask = x[10], base = x[11];
        if (base == 0xffffffffu) { mask = (1u << FW_HARTS) - 1; base = 0; }   /* every hart */
        for (uint32_t i = 0; i < 32; i++) if ((mask >> i) & 1 && base + i >= FW_HARTS) err = SBI_ERR_INVALID_PARAM;
        if (err != SBI_SUCCESS) break;
        for (uint32_t i = 0; i < 32; i++) {
            if (!((mask >> i) & 1)) continue;
            ipi_pending[base + i] = 1;
            CLINT_MSIP[base + i] = 1;
        }
        break;
    }
    default:
        err = SBI_ERR_NOT_SUPPORTED;
    }
    x[10] = (uint32_t)err;
    x[11] = (uint32_t)val;
}

void fw_trap(uint32_t *x) {
    uint32_t mcause = csr_read(mcause);
    if (mcause == 0x80000003u) {        /* M software (an IPI): forward to S as SSIP */
        uint32_t h = csr_read(mhartid);
        CLINT_MSIP[h] = 0;
        if (ipi_pending[h]) {
            ipi_pending[h] = 0;
            csr_set(mip, MIP_SSIP);
        }
        return;
    }
    if (mcause == 0x80000007u) {        /* M timer: forward to S as STIP */
        fw_stats.timer_irqs++;
        csr_clear(mie, MIE_MTIE);
        csr_set(mip, MIP_STIP);
        return;
    }
    if (mcause == 9) {                  /* ecall from S: SBI */
        sbi_call(x);
        csr_write(mepc, csr_read(mepc) + 4);
        return;
    }
    puts_("firmware: unexpected trap mcause=");
    puthex(mcause);
    puts_(" mepc=");
    puthex(csr_read(mepc));
    puts_(" mtval=");
    puthex(csr_read(mtval));
    putc_('\n');
    halt(5);
}
