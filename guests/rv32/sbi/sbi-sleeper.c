/*
 * sbi-sleeper - an I/O-bound guest: ROUNDS rounds of { a little work
 * (~50 K instructions), then sleep 1 ms }.  Each sleep arms the timer with
 * SBI set_timer(now + 10000 ticks), enables sie.STIE and waits with wfi;
 * the timer interrupt is taken by the stvec trap handler, which counts it
 * (see sleep_ticks in common/sbi.c).  A VM executing wfi is descheduled by
 * the hypervisor until its timer fires, so this guest uses little CPU.
 *
 * All output goes through the legacy (v0.1) console_putchar, one ecall per
 * byte, and the program ends with the legacy shutdown call.  It prints a
 * line per round, the number of wake-ups (= ROUNDS), the number of sleeps
 * that ended early (= 0) and the work checksum; ~1.05 M instructions in all
 * (plus 20 ms asleep).
 */
#include "sbi.h"

#define ROUNDS      20
#define SLEEP_TICKS (1 * TICKS_PER_MS)
#define WORK_ITERS  2560                /* 20 instructions each: ~51 K */

static uint32_t buf[256];

/* A little deterministic work: an LCG stirred through a small table. */
static uint32_t work(uint32_t x)
{
    uint32_t i, acc = 0;

    for (i = 0; i < WORK_ITERS; i++) {
        x = x * 1103515245u + 12345u;
        buf[i & 255] ^= x >> 7;
        acc = (acc << 5 | acc >> 27) + buf[(i * 7) & 255];
    }
    return acc ^ x;
}

int main(unsigned long hartid)
{
    uint32_t r, result = 1, early = 0;

    (void)hartid;
    sbi_console_use(SBI_CONSOLE_LEGACY);
    printf("sbi-sleeper: %d rounds of work + 1 ms sleep\n", ROUNDS);
    for (r = 0; r < ROUNDS; r++) {
        uint64_t deadline;

        result = work(result);
        printf("round %2u: work 0x%08x, sleeping\n", r + 1, result);
        deadline = rdtime64() + SLEEP_TICKS;
        sleep_ticks(SLEEP_TICKS);
        if (rdtime64() < deadline)
            early++;
    }
    printf("wake-ups: %u, early wake-ups: %u, work result: 0x%08x\n",
           sbi_timer_interrupts, early, result);
    sbi_legacy_shutdown();
}
