/*
 * shim.c - a minimal M-mode SBI implementation for qemu-system-riscv32's
 * `virt` board, used only to cross-check the SBI guests (run.sh): it plays
 * the part of the vsim hypervisor for ONE VM.  Not part of vsim.
 *
 *   VM RAM      0x80000000, 1 MiB; PMP gives S-mode access to it and to
 *               nothing else, so any other address faults.
 *   Entry       S-mode at 0x80000000, a0 = hartid, a1 = 0.
 *   Delegation  only the S timer interrupt (mideleg.STIP); every exception
 *               traps here.  An ecall from S is an SBI call; any other
 *               exception stops the VM ("exception ..." report).
 *   Timer       SBI set_timer programs the CLINT's mtimecmp; when it
 *               fires (M timer interrupt) the shim raises mip.STIP, and
 *               clears it on the next set_timer.  rdtime is allowed
 *               (mcounteren.TM).  qemu's mtime runs at 10 MHz.
 *   Console     the virt board's 16550 UART at 0x10000000.
 *   End         the SiFive test device at 0x100000 makes qemu exit:
 *               0 = shutdown (reason none, or legacy shutdown),
 *               1 = shutdown (reason system failure), 3 = the VM took an
 *               exception, 4 = reboot requested.
 *
 * Just before exiting, the shim prints one report line, preceded by a
 * \x02 byte so it can be told apart from the guest's output:
 *   "\x02shim: shutdown reason=0 instret=12345\n"
 *   "\x02shim: legacy shutdown instret=12345\n"
 *   "\x02shim: exception mcause=2 mepc=0x800012cc mtval=0x00000000 instret=..\n"
 * instret (minstret, meaningful with -icount) counts the guest's and the
 * shim's instructions.
 */
#include <stdint.h>

#define UART            ((volatile uint8_t *)0x10000000)
#define UART_THR        0
#define UART_LSR        5
#define UART_LSR_THRE   0x20
#define TEST_DEV        ((volatile uint32_t *)0x00100000)
#define CLINT_MTIMECMP  ((volatile uint32_t *)0x02004000)   /* hart 0 */

#define VM_RAM_BASE     0x80000000u
#define VM_RAM_SIZE     0x00100000u
#define VM_ENTRY        VM_RAM_BASE

#define MIP_STIP        (1u << 5)
#define MIP_MTIP        (1u << 7)
#define MSTATUS_MPP_S   (1u << 11)

#define SBI_SUCCESS             0
#define SBI_ERR_NOT_SUPPORTED  -2
#define SBI_ERR_INVALID_PARAM  -3

#define csr_read(csr) ({ uint32_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" : : "rK"(v))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" : : "rK"(v))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" : : "rK"(v))

uint32_t shim_init(void);
void shim_trap(uint32_t *regs);

static void putc_(char c)
{
    while (!(UART[UART_LSR] & UART_LSR_THRE))
        ;
    UART[UART_THR] = (uint8_t)c;
}

static void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

static void putu(uint32_t v)
{
    char b[11], *p = b + sizeof b;

    *--p = 0;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts_(p);
}

static void putx(uint32_t v)
{
    int i;

    puts_("0x");
    for (i = 28; i >= 0; i -= 4)
        putc_("0123456789abcdef"[(v >> i) & 15]);
}

static void put_instret(void)
{
    uint32_t hi, lo;

    do {
        hi = csr_read(minstreth);
        lo = csr_read(minstret);
    } while (hi != csr_read(minstreth));
    puts_(" instret=");
    if (hi) {                       /* never in practice: print in hex */
        putx(hi);
        puts_(":");
        putx(lo);
    } else {
        putu(lo);
    }
    puts_("\n");
}

__attribute__((noreturn)) static void finish(uint32_t code)
{
    *TEST_DEV = code == 0 ? 0x5555 : 0x3333 | (code << 16);
    for (;;)
        __asm__ volatile("wfi");
}

uint32_t shim_init(void)
{
    /* S-mode may touch its 1 MiB of RAM and nothing else (NAPOT, RWX). */
    csr_write(pmpaddr0, (VM_RAM_BASE >> 2) | ((VM_RAM_SIZE >> 3) - 1));
    csr_write(pmpcfg0, 0x1f);
    CLINT_MTIMECMP[1] = 0xffffffff;
    CLINT_MTIMECMP[0] = 0xffffffff;
    csr_write(medeleg, 0);
    csr_write(mideleg, MIP_STIP);
    csr_write(mie, 0);
    csr_write(mip, 0);
    csr_write(mcounteren, 2);           /* time only */
    csr_write(mstatus, MSTATUS_MPP_S);  /* mret -> S, MIE/SIE/SPIE = 0 */
    return VM_ENTRY;
}

static long probe(uint32_t eid)
{
    switch (eid) {
    case 0x01: case 0x08:
    case 0x10: case 0x54494D45: case 0x4442434E: case 0x53525354:
        return 1;
    default:
        return 0;
    }
}

/* An ecall from S-mode: regs[10..17] = a0..a7. */
static void sbi_call(uint32_t *regs)
{
    uint32_t eid = regs[17], fid = regs[16], a0 = regs[10], a1 = regs[11],
             a2 = regs[12];
    long err = SBI_SUCCESS, val = 0;

    switch (eid) {
    case 0x01:                              /* legacy console_putchar */
        putc_((char)a0);
        regs[10] = 0;
        return;                             /* legacy: only a0 changes */
    case 0x08:                              /* legacy shutdown */
        puts_("\x02shim: legacy shutdown");
        put_instret();
        finish(0);
    case 0x10:                              /* BASE */
        switch (fid) {
        case 0: val = 0x02000000; break;    /* v2.0 */
        case 1: val = 0x7ffe; break;        /* an unassigned impl ID */
        case 2: val = 1; break;
        case 3: val = probe(a0); break;
        case 4: val = (long)csr_read(mvendorid); break;
        case 5: val = (long)csr_read(marchid); break;
        case 6: val = (long)csr_read(mimpid); break;
        default: err = SBI_ERR_NOT_SUPPORTED;
        }
        break;
    case 0x54494D45:                        /* TIME */
        if (fid != 0) {
            err = SBI_ERR_NOT_SUPPORTED;
            break;
        }
        CLINT_MTIMECMP[1] = 0xffffffff;     /* no spurious match midway */
        CLINT_MTIMECMP[0] = a0;
        CLINT_MTIMECMP[1] = a1;
        csr_clear(mip, MIP_STIP);
        csr_set(mie, MIP_MTIP);             /* fires at once if in the past */
        break;
    case 0x4442434E:                        /* DBCN */
        if (fid == 0) {                     /* console_write */
            uint32_t n = a0, base = a1, i;
            if (a2 != 0 || base < VM_RAM_BASE || n > VM_RAM_SIZE ||
                base - VM_RAM_BASE > VM_RAM_SIZE - n) {
                err = SBI_ERR_INVALID_PARAM;
                break;
            }
            for (i = 0; i < n; i++)
                putc_(((const char *)base)[i]);
            val = (long)n;
        } else if (fid == 1) {              /* console_read: nothing to read */
            val = 0;
        } else if (fid == 2) {              /* console_write_byte */
            putc_((char)a0);
        } else {
            err = SBI_ERR_NOT_SUPPORTED;
        }
        break;
    case 0x53525354:                        /* SRST */
        if (fid != 0) {
            err = SBI_ERR_NOT_SUPPORTED;
            break;
        }
        if (a0 > 2 || a1 > 1) {
            err = SBI_ERR_INVALID_PARAM;
            break;
        }
        if (a0 == 0) {
            puts_("\x02shim: shutdown reason=");
            putu(a1);
            put_instret();
            finish(a1 ? 1 : 0);
        }
        puts_("\x02shim: reboot type=");
        putu(a0);
        put_instret();
        finish(4);
    default:
        err = SBI_ERR_NOT_SUPPORTED;
    }
    regs[10] = (uint32_t)err;
    regs[11] = (uint32_t)val;
}

void shim_trap(uint32_t *regs)
{
    uint32_t cause = csr_read(mcause);

    if (cause == 0x80000007u) {             /* M timer: hand it to S */
        csr_clear(mie, MIP_MTIP);
        csr_set(mip, MIP_STIP);
        return;
    }
    if (cause == 9) {                       /* ecall from S */
        csr_write(mepc, csr_read(mepc) + 4);
        sbi_call(regs);
        return;
    }
    puts_("\x02shim: exception mcause=");
    putu(cause);
    puts_(" mepc=");
    putx(csr_read(mepc));
    puts_(" mtval=");
    putx(csr_read(mtval));
    put_instret();
    finish(3);
}
