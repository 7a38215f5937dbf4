/*
 * smp.c - the 2-hart build of the kernel (-DSMP, workload "smp"), linked
 * instead of workloads.c.
 *
 * SMP phase (smp_boot, on the boot hart, before the tasks start): hart 0
 * starts hart 1 through SBI HSM hart_start; both harts, in S-mode, do
 * SMP_ROUNDS increments of a shared counter under a spinlock (AMOSWAP.W,
 * acquire/release) plus one LR/SC atomic add each round; hart 1 then sends
 * hart 0 an IPI (SBI send_ipi, "done") and waits for one back; hart 0 waits
 * for it, prints the results and acknowledges with an IPI; hart 1 sends a
 * last IPI ("stopping") and calls HSM hart_stop; hart 0 waits for that IPI,
 * then polls HSM hart_get_status until hart 1 is stopped (politely: a
 * pause between polls, so that a 1-pCPU host's trap-storm policy does not
 * take the wait for an attack).  IPIs arrive as supervisor software
 * interrupts (sip.SSIP), taken through smp_trap_entry and cleared by the
 * target.
 *
 * PARAVIRT: the same, deprivileged (hv.h): each hart registers its own
 * shared info area and the callback smp_trap_entry (hv_set_trap_vector),
 * the area's mask byte plays sstatus.SIE (events are masked from
 * registration and unmasked only while waiting for an IPI: one that came
 * while masked raised the pending byte and is delivered on unmasking), a
 * wait blocks and then has the event delivered (hv_wait_event), and the
 * hypervisor acknowledges the IPI it delivers (no sip to clear).
 *
 * Then the kernel goes on as usual on hart 0: two U-mode tasks increment a
 * second shared counter under an LR/SC spinlock, preempted by the timer.
 *
 * Determinism: everything printed, and all of `smp_data` (checksummed at
 * the end), depends only on what the harts do, never on how they
 * interleave: only hart 0 prints, the shared data is updated with
 * commutative operations under the lock, and each IPI is waited for
 * before the next is sent (hart 0 takes two, hart 1 one).  Interleaving-dependent figures (lock spins) go to `smp_stats`.
 */
#include "kernel.h"
#include "hv.h"
#include "smp.h"

#define SMP_ROUNDS   3000
#define TASK_ROUNDS  2000
#define NHARTS       2
#define SIP_SSIP     (1u << 1)
#define SIE_SSIE     (1u << 1)
#define SCAUSE_SSI   0x80000001u
#define HART1_STACK  4096

/* What is checksummed at the end: identical under every interleaving. */
static struct smp_data {
    uint32_t lock;                  /* spinlock of the S-mode phase (amoswap) */
    uint32_t counter;               /* incremented under `lock` */
    uint32_t sum;                   /* sum of mix(hart, i), under `lock` */
    uint32_t hist[16];              /* histogram of mix(), under `lock` */
    uint32_t lrsc_count;            /* lr/sc atomic adds, no lock */
    uint32_t done[NHARTS];          /* hart finished its rounds */
    uint32_t ipis[NHARTS];          /* IPIs each hart took */
    uint32_t task_lock;             /* U-mode spinlock (lr/sc) */
    uint32_t task_counter;          /* incremented by the tasks under task_lock */
    uint32_t task_done[2];
} smp_data __attribute__((aligned(16)));

/* Interleaving-dependent, not printed: read from memory by hosts. */
struct smp_stats {
    uint32_t lock_spins[NHARTS], task_lock_spins;
} smp_stats;

static uint8_t hart1_stack[HART1_STACK] __attribute__((aligned(16)));

extern void trap_entry(void);
extern void smp_trap_entry(void);
extern void smp_secondary_entry(void);
void kernel_fault(uint32_t scause, uint32_t sepc, uint32_t stval);

static void kprint(const char *f, ...) {
    char buf[160];
    va_list ap;
    va_start(ap, f);
    uint32_t n = vfmt(buf, sizeof buf, f, ap);
    va_end(ap);
    sbi_console_write(buf, n);
}

static inline uint32_t hart_id(void) {
    uint32_t tp;
    __asm__ volatile("mv %0, tp" : "=r"(tp));
    return tp;
}

/* ------------------------------------------------------------ atomics */

/* Test-and-set spinlock on AMOSWAP.W with acquire / release ordering. */
static void amo_lock(uint32_t *lock, uint32_t *spins) {
    uint32_t old;
    for (;;) {
        __asm__ volatile("amoswap.w.aq %0, %2, (%1)" : "=r"(old) : "r"(lock), "r"(1u) : "memory");
        if (old == 0) return;
        while (*(volatile uint32_t *)lock != 0) (*spins)++;
    }
}

static void amo_unlock(uint32_t *lock) {
    __asm__ volatile("amoswap.w.rl zero, zero, (%0)" :: "r"(lock) : "memory");
}

/* *p += v with an LR/SC loop. */
static void lrsc_add(uint32_t *p, uint32_t v) {
    uint32_t t, fail;
    __asm__ volatile("1: lr.w %0, (%2)\n"
                     "   add %0, %0, %3\n"
                     "   sc.w %1, %0, (%2)\n"
                     "   bnez %1, 1b"
                     : "=&r"(t), "=&r"(fail) : "r"(p), "r"(v) : "memory");
}

/* Spinlock on LR/SC (usable in U-mode too): returns the failed attempts. */
static uint32_t lrsc_lock(uint32_t *lock) {
    uint32_t t, spins = 0;
    for (;;) {
        __asm__ volatile("1: lr.w.aq %0, (%1)\n"
                         "   bnez %0, 2f\n"
                         "   sc.w %0, %2, (%1)\n"
                         "2:"
                         : "=&r"(t) : "r"(lock), "r"(1u) : "memory");
        if (t == 0) return spins;
        spins++;
    }
}

static void lrsc_unlock(uint32_t *lock) {
    __asm__ volatile("fence rw, w\n sw zero, 0(%0)" :: "r"(lock) : "memory");
}

static uint32_t mix(uint32_t hart, uint32_t i) {
    uint32_t x = (hart + 1) * 2654435761u ^ i * 40503u;
    return x ^ (x >> 15);
}

/* ------------------------------------------------------------ the S-mode phase */

/* The rounds both harts do, concurrently. */
static void smp_work(uint32_t hart) {
    for (uint32_t i = 0; i < SMP_ROUNDS; i++) {
        uint32_t m = mix(hart, i);
        amo_lock(&smp_data.lock, &smp_stats.lock_spins[hart]);
        uint32_t c = *(volatile uint32_t *)&smp_data.counter;
        for (volatile int k = 0; k < 4; k++) { }      /* widen the window a lost update would need */
        smp_data.counter = c + 1;
        smp_data.sum += m;
        smp_data.hist[m & 15]++;
        amo_unlock(&smp_data.lock);
        lrsc_add(&smp_data.lrsc_count, 1);
    }
    smp_data.done[hart] = 1;
}

/*
 * Wait for an IPI without a lost wake-up: with sstatus.SIE = 0, wfi returns
 * once SSIP is pending (sie.SSIE = 1) but takes no trap; opening SIE for
 * one instruction then takes it through smp_trap_entry.
 */
static void wait_for_ipi(uint32_t hart, uint32_t n) {
    while (*(volatile uint32_t *)&smp_data.ipis[hart] < n) {
#ifdef HV_XENPV
        /* The mask byte plays sstatus.SIE: open only while waiting.  An IPI that came while it was
           set raised the pending byte; unmasking sees it and has it delivered (event check). */
        hv_irq_enable();
        if (*(volatile uint32_t *)&smp_data.ipis[hart] < n) hv_wait_event();
        hv_irq_disable();
#else
        __asm__ volatile("wfi" ::: "memory");
        csr_set(sstatus, SSTATUS_SIE);
        csr_clear(sstatus, SSTATUS_SIE);
#endif
    }
}

/*
 * Which interrupts the SMP phase takes: IPIs only (sie.SSIE).  PARAVIRT: the
 * hypervisor watches IPIs from a vCPU's registration on, and the mask byte,
 * set at registration, is only opened while waiting (wait_for_ipi).
 */
static void ipis_on(void) {
#ifndef HV_XENPV
    csr_set(sie, SIE_SSIE);
#endif
}

static void ipis_off(void) {
#ifndef HV_XENPV
    csr_clear(sie, SIE_SSIE);
#endif
}

/* The SMP phase's trap vector (PARAVIRT: this vCPU's callback, registering its shared info first). */
static void smp_vector(void (*entry)(void)) {
#ifdef HV_XENPV
    hv_set_trap_vector(entry);
#else
    csr_write(stvec, (uint32_t)entry);
#endif
}

/* Kernel-mode traps of the SMP phase: only the IPI is expected. */
void smp_trap(uint32_t scause, uint32_t sepc, uint32_t stval) {
    if (scause != SCAUSE_SSI) kernel_fault(scause, sepc, stval);
#ifndef HV_XENPV
    csr_clear(sip, SIP_SSIP);       /* the target acknowledges the IPI */
#endif
    smp_data.ipis[hart_id()]++;
}

/* Hart 1, from smp_secondary_entry. */
void __attribute__((noreturn)) smp_secondary(uint32_t hart) {
#ifdef HV_XENPV
    smp_vector(smp_trap_entry);     /* its own shared info area and callback */
#endif
    ipis_on();
    smp_work(hart);
    sbi_send_ipi(1u << 0, 0);       /* "done" to hart 0 */
    wait_for_ipi(hart, 1);          /* hart 0's acknowledgement */
    sbi_send_ipi(1u << 0, 0);       /* "stopping" */
    sbi_hart_stop();
}

void smp_boot(uint32_t hart) {
    __asm__ volatile("mv tp, %0" :: "r"(hart));
    uint32_t other = hart ^ 1;
    smp_vector(smp_trap_entry);
    ipis_on();
    long err = sbi_hart_start(other, (uint32_t)smp_secondary_entry, (uint32_t)&hart1_stack[HART1_STACK]);
    kprint("smp: hart %u starts hart %u (sbi hsm hart_start): %s\n", hart, other, err == 0 ? "ok" : "failed");
    if (err != 0) return;
    err = sbi_hart_start(other, (uint32_t)smp_secondary_entry, (uint32_t)&hart1_stack[HART1_STACK]);
    kprint("smp: starting it again: error %d%s\n", (int)err, err == SBI_ERR_ALREADY_AVAILABLE ? " (already available)" : "");
    smp_work(hart);
    kprint("smp: hart %u: %u locked increments done\n", hart, SMP_ROUNDS);
    wait_for_ipi(hart, 1);
    kprint("smp: hart %u took an ipi from hart %u (hart %u done: %s)\n", hart, other, other, smp_data.done[other] ? "yes" : "no");
    kprint("smp: counter %u (expected %u), lr/sc counter %u, sum %08x\n", smp_data.counter, NHARTS * SMP_ROUNDS,
           smp_data.lrsc_count, smp_data.sum);
    sbi_send_ipi(1u << other, 0);   /* acknowledge: hart 1 stops */
    wait_for_ipi(hart, 2);          /* "stopping" */
    long st;
    while ((st = sbi_hart_get_status(other)) != SBI_HSM_STOPPED && st >= 0) {
        for (volatile int k = 0; k < 200; k++) { }
    }
    kprint("smp: hart %u status: %s\n", other, st == SBI_HSM_STOPPED ? "stopped" : "error");
    kprint("smp: ipis taken: hart 0 %u, hart 1 %u\n", smp_data.ipis[0], smp_data.ipis[1]);
    ipis_off();
    smp_vector(trap_entry);
}

/* ------------------------------------------------------------ the U-mode tasks (hart 0) */

static void task_smp(uint32_t arg) {
    long pid = u_getpid();
    uint32_t spins = 0;
    for (uint32_t i = 0; i < TASK_ROUNDS; i++) {
        spins += lrsc_lock(&smp_data.task_lock);
        uint32_t c = *(volatile uint32_t *)&smp_data.task_counter;
        for (volatile uint32_t k = 0; k < arg; k++) { }
        smp_data.task_counter = c + 1;
        lrsc_unlock(&smp_data.task_lock);
        if (i % 500 == 499) u_yield();
    }
    smp_stats.task_lock_spins += spins;
    smp_data.task_done[pid - 1] = 1;
    /* Which task ends last depends on where ticks land: the final task_counter is in the checksum only. */
    u_printf("smp-task %d: %u locked increments done\n", (int)pid, TASK_ROUNDS);
}

static const struct task_def defs[] = {
    { "smp-a", task_smp, 3 }, { "smp-b", task_smp, 5 },
};

const struct workload workload = {
    .name = "smp",
    .tick_us = 100,
    .report_preemption = 0,
    .ntasks = sizeof defs / sizeof defs[0],
    .tasks = defs,
    .data = (const uint8_t *)&smp_data,
    .data_len = sizeof smp_data,
};
