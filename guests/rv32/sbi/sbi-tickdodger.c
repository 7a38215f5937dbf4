/*
 * sbi-tickdodger - the guest that games tick-sampled CPU accounting, the
 * exploit Xen's Credit scheduler closed with precise accounting (commit
 * 78c9b2a64b; bench:sched part 5).
 *
 * Under tick sampling, the vCPU found running when a pCPU's 10 ms tick fires
 * is debited a whole tick of credit, and time between ticks is free.  This
 * guest reads the time CSR, computes where the next tick falls, works until
 * DODGE_BEFORE before it, then sleeps (SBI set_timer + wfi) until
 * DODGE_AFTER past it: it is never running at a tick, so it is never
 * debited, stays UNDER, and is BOOSTed at every wake-up, preempting CPU-bound
 * VMs.  Under precise accounting it pays for exactly what it runs.
 *
 * The tick grid: the scenario tells the guest where the ticks are, as
 * compile-time constants.  vsim's Credit policy ticks every TICK_PERIOD of
 * host time from t = 0 (credit.ts: nextTick starts at tickPeriod), and the
 * time CSR reads host virtual time, so the phase is 0.
 *
 * It first computes for WARMUP (as any program starting up does): a tick
 * catches it then, which puts it on Credit's active list, so that accounting
 * can make it OVER once it has overspent.  (A vCPU that is *never* running at
 * a tick is never made active, and so never OVER, under either accounting,
 * in credit.c as in vsim.)
 *
 * Output is independent of timing: a start line and an end line.  It ends
 * (SRST shutdown) after DODGES dodges, at least DODGES * 10 ms of time after
 * the warm-up (1.05 s in all when alone; ~13 s of qemu-system-riscv32).
 */
#include "sbi.h"

#define TICK_PERIOD  (10 * TICKS_PER_MS)   /* Credit's tick: tslice / 3        */
#define TICK_PHASE   0                     /* ticks at PHASE + k * PERIOD      */
#define DODGE_BEFORE (3 * TICKS_PER_MS / 10) /* stop working 0.3 ms before    */
#define DODGE_AFTER  (1 * TICKS_PER_MS / 10) /* ... and wake 0.1 ms after      */
#define WARMUP       (50 * TICKS_PER_MS)
#define DODGES       100

static volatile uint32_t sink;

/* One small unit of work (~a dozen instructions): an LCG step. */
static uint32_t step(uint32_t x)
{
    return x * 1664525u + 1013904223u;
}

/* The first tick strictly after t. */
static uint64_t next_tick(uint64_t t)
{
    return ((t - TICK_PHASE) / TICK_PERIOD + 1) * TICK_PERIOD + TICK_PHASE;
}

int main(unsigned long hartid)
{
    uint32_t x = 1, d;
    uint64_t end;

    (void)hartid;
    printf("sbi-tickdodger: %d ms of work, then sleeping across %d ticks\n",
           (int)(WARMUP / TICKS_PER_MS), DODGES);
    end = rdtime64() + WARMUP;
    while (rdtime64() < end)
        x = step(x);
    for (d = 0; d < DODGES; d++) {
        uint64_t now = rdtime64();
        uint64_t tick = next_tick(now);

        /* Too close to this tick to work before it: dodge the next one. */
        if (tick - now <= DODGE_BEFORE)
            tick += TICK_PERIOD;
        while (rdtime64() < tick - DODGE_BEFORE)
            x = step(x);
        sleep_ticks(tick + DODGE_AFTER - rdtime64());
    }
    sink = x;
    printf("sbi-tickdodger: done\n");
    return 0;
}
