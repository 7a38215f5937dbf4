/*
 * workloads.c - the U-mode tasks, one workload per kernel build, chosen at
 * compile time with -DWORKLOAD_CPU, _SYSCALL, _TIMER or _IO.  Every task
 * runs in U-mode on its own stack and only talks to the kernel through
 * system calls; what it prints depends only on its own computation.  The
 * tasks write their results into `task_data`, which the kernel checksums
 * at the end.
 *
 *  cpu      3 tasks, CPU-bound: 100 rounds of FNV-1a + Adler-32 over a 4 KiB
 *           slice each, mutating it; 200 us tick (preemption)
 *  syscall  3 tasks: 5000 getpid each, a 6-byte write to fd 2 every 8th,
 *           a line to fd 1 every 1250; 1 ms tick (the nsyscall nanobenchmark
 *           measures one system call alone)
 *  timer    3 tasks: 1600 short bursts each ending in yield, a 1 ms sleep
 *           every 100th; 20 us tick (timer-heavy)
 *  io       4 tasks: 30 "requests" each: sleep 1-3 ms (waiting for the
 *           device), then process a 1 KiB block; 100 us tick; mostly idle
 *
 * Nanobenchmarks in the style of Adams & Agesen (ASPLOS 2006): one
 * operation repeated NANO_ITERATIONS times, by the kernel before the
 * tasks start (kernel_bench) or by one U-mode task; the same loops with
 * empty bodies are the baseline (nnull) that bench:virt subtracts.
 *  nnull     both loops empty
 *  nsyscall  the task: getpid round trips
 *  ntimer    the kernel: program the timer (hv_set_timer)
 *  nmask     the kernel: interrupt disable + enable pair
 *  ncsr      the kernel: read a privileged register (sie, through
 *            hv_irq_enabled; the paravirtual build reads the mask byte of
 *            the shared info page instead, as Xen's PV Linux does for
 *            save_fl)
 */
#include "kernel.h"
#include "hv.h"

#define SLICE 4096
static uint8_t task_data[4 * SLICE] __attribute__((aligned(16)));
static uint32_t *const results = (uint32_t *)&task_data[4 * SLICE - 64];

static __attribute__((unused)) void fill(uint8_t *p, uint32_t n, uint32_t seed) {
    for (uint32_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static __attribute__((unused)) uint32_t adler32(const uint8_t *p, uint32_t n) {
    uint32_t a = 1, b = 0;
    for (uint32_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (b << 16) | a;
}

/* A burst of pure computation (~8 instructions per step). */
static __attribute__((unused)) uint32_t spin(uint32_t x, uint32_t steps) {
    for (uint32_t i = 0; i < steps; i++) x = (x ^ (x << 5)) + (x >> 3) + i;
    return x;
}

#if defined(WORKLOAD_CPU)
#define NAME "cpu"
#define TICK_US 200
#define REPORT_PREEMPTION 1
#define ROUNDS 100
static void task_cpu(uint32_t arg) {
    long pid = u_getpid();
    uint8_t *slice = &task_data[(pid - 1) * SLICE];
    uint32_t len = SLICE;
    fill(slice, len, arg);
    uint32_t h = 0, a = 0;
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        h = fnv1a(2166136261u ^ r, slice, len);
        a = adler32(slice, len);
        for (uint32_t i = 0; i < len; i += 4) slice[i] ^= (uint8_t)(h >> (i & 24)) + (uint8_t)r;
        if (r % 25 == 0) u_printf("cpu %d: round %u fnv %08x adler %08x\n", (int)pid, r, h, a);
    }
    results[pid] = h ^ a;
    u_printf("cpu %d: done, result %08x\n", (int)pid, h ^ a);
}
static const struct task_def defs[] = {
    { "cpu-a", task_cpu, 1 }, { "cpu-b", task_cpu, 2 }, { "cpu-c", task_cpu, 3 },
};

#elif defined(WORKLOAD_SYSCALL)
#define NAME "syscall"
#define TICK_US 1000
#define REPORT_PREEMPTION 1
#define CALLS 5000
static void task_syscall(uint32_t arg) {
    uint32_t sum = arg;
    char rec[6];
    for (uint32_t i = 1; i <= CALLS; i++) {
        long pid = u_getpid();
        sum = sum * 31u + (uint32_t)pid + i;
        if (i % 8 == 0) {
            for (int k = 0; k < 6; k++) rec[k] = (char)('a' + ((sum >> (4 * k)) & 15));
            if (u_write_fd(2, rec, 6) != 6) u_exit(2);   /* fd 2: hashed, not printed */
        }
        if (i % 1250 == 0) u_printf("syscall %d: %u calls, sum %08x\n", (int)pid, i, sum);
    }
    results[u_getpid()] = sum;
}
static const struct task_def defs[] = {
    { "sys-a", task_syscall, 11 }, { "sys-b", task_syscall, 22 }, { "sys-c", task_syscall, 33 },
};

#elif defined(WORKLOAD_TIMER)
#define NAME "timer"
#define TICK_US 20
#define REPORT_PREEMPTION 1
#define BURSTS 1600
static void task_timer(uint32_t arg) {
    long pid = u_getpid();
    uint32_t x = arg;
    for (uint32_t i = 1; i <= BURSTS; i++) {
        x = spin(x, 200 + 50 * (uint32_t)pid);
        if (i % 100 == 0) {
            u_sleep(1);
            u_printf("timer %d: burst %u x %08x\n", (int)pid, i, x);
        } else {
            u_yield();
        }
    }
    results[pid] = x;
}
static const struct task_def defs[] = {
    { "tmr-a", task_timer, 5 }, { "tmr-b", task_timer, 6 }, { "tmr-c", task_timer, 7 },
};

#elif defined(WORKLOAD_IO)
#define NAME "io"
#define TICK_US 100
#define REPORT_PREEMPTION 0   /* bursts are shorter than a tick: may or may not be preempted */
#define REQUESTS 30
static void task_io(uint32_t arg) {
    long pid = u_getpid();
    uint8_t *block = &task_data[(pid - 1) * 1024 * 3];
    uint32_t h = 2166136261u;
    for (uint32_t r = 1; r <= REQUESTS; r++) {
        u_sleep(1 + (r + (uint32_t)pid) % 3);           /* wait for the "device" */
        fill(block, 1024, arg * 1000 + r);               /* the "data arrived" */
        h = fnv1a(h, block, 1024);
        uint32_t rec[2] = { r, h };
        u_write_fd(2, rec, 8);
        if (r % 10 == 0) u_printf("io %d: %u requests, fnv %08x\n", (int)pid, r, h);
    }
    results[pid] = h;
}
static const struct task_def defs[] = {
    { "io-a", task_io, 1 }, { "io-b", task_io, 2 }, { "io-c", task_io, 3 }, { "io-d", task_io, 4 },
};

#elif defined(WORKLOAD_NNULL) || defined(WORKLOAD_NSYSCALL) || defined(WORKLOAD_NTIMER) || \
    defined(WORKLOAD_NMASK) || defined(WORKLOAD_NCSR)
#define TICK_US 100000           /* longer than any run: no tick disturbs the measurement */
#define REPORT_PREEMPTION 0
#define NANO_ITERATIONS 2000
#define KERNEL_BENCH kernel_nano
/* An empty loop body the compiler must keep. */
#define KEEP() __asm__ volatile("" ::: "memory")
#if defined(WORKLOAD_NNULL)
#define NAME "nnull"
#elif defined(WORKLOAD_NSYSCALL)
#define NAME "nsyscall"
#define USER_OP() (void)u_getpid()
#elif defined(WORKLOAD_NTIMER)
#define NAME "ntimer"
/* Far in the future (2^40 ticks, ~30 hours): kmain arms the real tick afterwards. */
#define KERNEL_OP(i) hv_set_timer((1ull << 40) + (i))
#elif defined(WORKLOAD_NMASK)
#define NAME "nmask"
#define KERNEL_OP(i) do { hv_irq_disable(); hv_irq_enable(); } while (0)
#else
#define NAME "ncsr"
static volatile uint32_t csr_sink;
#define KERNEL_OP(i) csr_sink += (uint32_t)hv_irq_enabled()
#endif
#ifndef USER_OP
#define USER_OP() KEEP()
#endif
#ifndef KERNEL_OP
#define KERNEL_OP(i) KEEP()
#endif
static void kernel_nano(void) {
    for (uint32_t i = 0; i < NANO_ITERATIONS; i++) {
        KERNEL_OP(i);
        KEEP();
    }
}
static void task_nano(uint32_t arg) {
    for (uint32_t i = 0; i < NANO_ITERATIONS; i++) {
        USER_OP();
        KEEP();
    }
    results[1] = arg;
    u_printf("bench: %s x %u\n", NAME, (uint32_t)NANO_ITERATIONS);
}
static const struct task_def defs[] = {
    { "nano", task_nano, 1 },
};

#else
#error "define one of WORKLOAD_CPU, _SYSCALL, _TIMER, _IO, _NNULL, _NSYSCALL, _NTIMER, _NMASK, _NCSR"
#endif

#ifndef KERNEL_BENCH
#define KERNEL_BENCH 0
#endif

const struct workload workload = {
    .name = NAME,
    .tick_us = TICK_US,
    .report_preemption = REPORT_PREEMPTION,
    .ntasks = sizeof defs / sizeof defs[0],
    .tasks = defs,
    .data = task_data,
    .data_len = sizeof task_data,
    .kernel_bench = KERNEL_BENCH,
};
