/*
 * kernel.c - a small S-mode kernel: round-robin preemptive scheduling of
 * U-mode tasks on timer interrupts, system calls, console through the SBI.
 *
 * The kernel is entered only by traps from U-mode (entry.S) and always
 * runs with sstatus.SIE = 0 on one kernel stack that is empty at each
 * entry: ktrap() handles the trap and returns the trap frame of the task
 * to resume (the same one or, after a tick, an exit or a sleep, the next
 * ready one in round-robin order).  With no task ready it idles (hv_idle:
 * wfi) until the timer; when every task has exited it prints a summary and
 * shuts the machine down through the SBI.
 *
 * The timer ticks every workload.tick_us microseconds (time = 10 MHz),
 * always re-armed through SBI set_timer (hv_set_timer).  Sleeps end at the
 * first tick at or after their deadline.
 *
 * Determinism: everything printed is independent of where interrupts land
 * (instruction counts differ between engines, and between the native and
 * the paravirtual build): the tasks' console output is kept per task and
 * printed at the end in pid order; the counts printed are of things the
 * tasks do, never of ticks or switches (those go to `kstats`, in memory,
 * for hosts to read).
 */
#include "kernel.h"
#include "hv.h"
#ifdef SMP
#include "smp.h"
#endif

#define MAX_TASKS  4
#define STACK_SIZE 4096
#define LOG_SIZE   2048
#define RAM_BASE   0x80000000u
#define RAM_END    0x81000000u

#define SCAUSE_TIMER     0x80000005u
#define SCAUSE_ECALL_U   8u

enum { T_UNUSED, T_READY, T_SLEEPING, T_EXITED };

struct task {
    struct frame f;                 /* first: sscratch points here */
    uint32_t state, pid;
    uint64_t wake;
    int32_t exit_code;
    uint32_t syscalls, getpids, yields, sleeps;
    uint32_t writes, write_bytes, write_fnv;   /* every write, fd 1 and 2 */
    uint32_t log_len, log_dropped;  /* fd 1 text, printed at the end */
    char log[LOG_SIZE];
};

static struct task tasks[MAX_TASKS];
static uint8_t stacks[MAX_TASKS][STACK_SIZE] __attribute__((aligned(16)));
static uint32_t current;
static uint64_t tick_len, next_tick;

/* Schedule-dependent counters: not printed, read from memory by hosts. */
struct kstats {
    uint32_t traps, timer_irqs, syscalls, switches, preemptions, idle_wakeups;
} kstats;

extern void trap_entry(void);
extern void __attribute__((noreturn)) return_to_user(struct frame *f);

/* ------------------------------------------------------------ console */

static void kprintf(const char *f, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, f);
    uint32_t n = vfmt(buf, sizeof buf, f, ap);
    va_end(ap);
    sbi_console_write(buf, n);
}

static uint64_t rdtime(void) {
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("rdtimeh %0" : "=r"(hi));
        __asm__ volatile("rdtime %0" : "=r"(lo));
        __asm__ volatile("rdtimeh %0" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

/* ------------------------------------------------------------ the end */

static void __attribute__((noreturn)) finish(void) {
    hv_irq_disable();
    hv_set_timer(~0ull);
    kprintf("kernel: all %u tasks exited\n", workload.ntasks);
    int failed = 0;
    for (uint32_t i = 0; i < workload.ntasks; i++) {
        struct task *t = &tasks[i];
        kprintf("--- task %u (%s): exit %d, %u syscalls: getpid %u, write %u (%u bytes, fnv %08x), yield %u, sleep %u\n",
                t->pid, workload.tasks[i].name, t->exit_code, t->syscalls, t->getpids, t->writes,
                t->write_bytes, t->write_fnv, t->yields, t->sleeps);
        sbi_console_write(t->log, t->log_len);
        if (t->log_dropped) kprintf("(%u more bytes not kept)\n", t->log_dropped);
        if (t->exit_code != 0) failed = 1;
    }
    kprintf("kernel: memory checksum: fnv1a of %u bytes of task data = %08x\n",
            workload.data_len, fnv1a(2166136261u, workload.data, workload.data_len));
    kprintf("kernel: timer interrupts: %s\n", kstats.timer_irqs ? "yes" : "no");
    if (workload.report_preemption) kprintf("kernel: preemptions: %s\n", kstats.preemptions ? "yes" : "no");
    kprintf("kernel: shutdown%s\n", failed ? " (a task failed)" : "");
    sbi_shutdown(failed);
}

void __attribute__((noreturn)) kernel_fault(uint32_t scause, uint32_t sepc, uint32_t stval) {
    kprintf("kernel: trap in the kernel: scause=%08x sepc=%08x stval=%08x\n", scause, sepc, stval);
    sbi_shutdown(1);
}

/* ------------------------------------------------------------ scheduling */

/* Wake the sleepers that are due and re-arm the tick. */
static void timer_tick(void) {
    uint64_t now = rdtime();
    kstats.timer_irqs++;
    next_tick += tick_len;
    if (next_tick <= now) next_tick = now + tick_len;
    hv_set_timer(next_tick);        /* also clears the pending STIP */
    for (uint32_t i = 0; i < workload.ntasks; i++) {
        struct task *t = &tasks[i];
        if (t->state == T_SLEEPING && t->wake <= now) t->state = T_READY;
    }
}

/* The next ready task after `current`, round-robin (current itself last); idles if none. */
static struct frame *schedule(void) {
    for (;;) {
        uint32_t n = workload.ntasks, alive = 0;
        for (uint32_t k = 1; k <= n; k++) {
            uint32_t i = (current + k) % n;
            if (tasks[i].state == T_READY) {
                if (i != current) kstats.switches++;
                current = i;
                return &tasks[i].f;
            }
            if (tasks[i].state != T_EXITED) alive++;
        }
        if (alive == 0) finish();
        /* Everybody sleeps: wait for the tick. */
        if (hv_idle()) {
            kstats.idle_wakeups++;
            timer_tick();
        }
    }
}

/* ------------------------------------------------------------ system calls */

static void sys_write(struct task *t, uint32_t fd, uint32_t buf, uint32_t len) {
    struct frame *f = &t->f;
    if ((fd != 1 && fd != 2) || buf < RAM_BASE || buf >= RAM_END || len > RAM_END - buf) {
        f->x[10] = (uint32_t)-22;   /* -EINVAL */
        return;
    }
    const char *p = (const char *)buf;
    t->writes++;
    t->write_bytes += len;
    t->write_fnv = fnv1a(t->write_fnv, p, len);
    if (fd == 1) {
        for (uint32_t i = 0; i < len; i++) {
            if (t->log_len < LOG_SIZE) t->log[t->log_len++] = p[i];
            else t->log_dropped++;
        }
    }
    f->x[10] = len;
}

static struct frame *syscall(struct task *t) {
    struct frame *f = &t->f;
    f->pc += 4;
    t->syscalls++;
    kstats.syscalls++;
    switch (f->x[17]) {
    case SYS_GETPID:
        t->getpids++;
        f->x[10] = t->pid;
        return f;
    case SYS_WRITE:
        sys_write(t, f->x[10], f->x[11], f->x[12]);
        return f;
    case SYS_YIELD:
        t->yields++;
        f->x[10] = 0;
        return schedule();
    case SYS_SLEEP: {
        uint32_t ms = f->x[10];
        t->sleeps++;
        f->x[10] = 0;
        t->wake = rdtime() + (uint64_t)ms * TICKS_PER_MS;
        t->state = T_SLEEPING;
        return schedule();
    }
    case SYS_EXIT:
        t->state = T_EXITED;
        t->exit_code = (int32_t)f->x[10];
        return schedule();
    default:
        f->x[10] = (uint32_t)-38;   /* -ENOSYS */
        return f;
    }
}

struct frame *ktrap(struct frame *f, uint32_t scause, uint32_t stval) {
    struct task *t = (struct task *)f;
    kstats.traps++;
    if (scause == SCAUSE_TIMER) {
        timer_tick();
        kstats.preemptions++;
        return schedule();
    }
    if (scause == SCAUSE_ECALL_U) return syscall(t);
    kprintf("kernel: task %u killed: scause=%08x sepc=%08x stval=%08x\n", t->pid, scause, f->pc, stval);
    t->state = T_EXITED;
    t->exit_code = -1;
    return schedule();
}

/* ------------------------------------------------------------ boot */

/* Where a task's main function returns to (runs in U-mode). */
static void task_return(void) {
    u_exit(0);
}

void __attribute__((noreturn)) kmain(uint32_t hartid) {
    hv_set_trap_vector(trap_entry);
    kprintf("kernel: hart %u, workload %s: %u tasks, tick %u us\n", hartid, workload.name, workload.ntasks,
            workload.tick_us);
    if (workload.kernel_bench) workload.kernel_bench();
#ifdef SMP
    smp_boot(hartid);               /* the 2-hart phase; hart 0 then runs the tasks alone */
#endif
    uint32_t gp;
    __asm__("mv %0, gp" : "=r"(gp));
    for (uint32_t i = 0; i < workload.ntasks && i < MAX_TASKS; i++) {
        struct task *t = &tasks[i];
        t->pid = i + 1;
        t->state = T_READY;
        t->write_fnv = 2166136261u;
        t->f.pc = (uint32_t)workload.tasks[i].entry;
        t->f.x[1] = (uint32_t)task_return;
        t->f.x[2] = (uint32_t)&stacks[i][STACK_SIZE];
        t->f.x[3] = gp;
        t->f.x[10] = workload.tasks[i].arg;
    }
    tick_len = (uint64_t)workload.tick_us * (TICKS_PER_MS / 1000);
    hv_user_mode_init();
    hv_irq_enable();
    next_tick = rdtime() + tick_len;
    hv_set_timer(next_tick);
    current = 0;
    return_to_user(&tasks[0].f);
}
