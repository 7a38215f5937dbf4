/*
 * sbi-ticker - timer interrupts preempting running code.  Enables
 * sstatus.SIE and sie.STIE, arms a periodic 500 us timer (set_timer,
 * re-armed by the handler at the previous deadline + 5000 ticks) and
 * computes in the foreground until the handler has counted TICKS = 50
 * interrupts (25 ms of VM time: ~25 M instructions at 100 instructions per
 * tick if the VM has the CPU to itself).  The handler then disarms the
 * timer.
 *
 * The foreground keeps eight words of state live in registers, so every
 * interrupt lands in the middle of the computation.  How far it gets in
 * 25 ms depends on scheduling, so its checksum is not printed; instead the
 * program recomputes the same number of steps with interrupts off and
 * prints whether both agree - they differ if an interrupt (the guest's
 * handler or the hypervisor's delivery and sret) corrupted a register.
 * Output is deterministic: the tick count (50) and "consistent".  The
 * check costs as many instructions again: ~48 M in all when run alone.
 */
#include "sbi.h"

#define PERIOD     (500 * TICKS_PER_US)     /* 5000 ticks = 500 us */
#define TICKS      50
#define MAX_STEPS  10000000u                /* give up: no timer?  */

static volatile uint32_t ticks;
static uint64_t next_deadline;

static void on_tick(void)
{
    if (++ticks < TICKS) {
        next_deadline += PERIOD;
        sbi_set_timer(next_deadline);
    } else {
        sbi_set_timer(SBI_TIMER_NEVER);
    }
}

struct state {
    uint32_t a, b, c, d, e, f, g, h;
};

/* One step of a register-heavy mix (all eight words change). */
static inline __attribute__((always_inline)) void step(struct state *s)
{
    s->a += s->b ^ (s->h >> 3);
    s->b = (s->b << 7 | s->b >> 25) + s->c;
    s->c ^= s->d * 0x9e3779b9u;
    s->d += s->e | 1;
    s->e = (s->e ^ s->f) + (s->a >> 11);
    s->f -= s->g ^ 0x5bd1e995u;
    s->g = (s->g << 13 | s->g >> 19) ^ s->h;
    s->h += s->a;
}

static const struct state seed = { 1, 2, 3, 4, 5, 6, 7, 8 };

static uint32_t digest(const struct state *s)
{
    return s->a ^ s->b ^ s->c ^ s->d ^ s->e ^ s->f ^ s->g ^ s->h;
}

int main(unsigned long hartid)
{
    struct state fg = seed, check = seed;
    uint32_t steps = 0, i;
    int ok;

    (void)hartid;
    printf("sbi-ticker: computing under a %u us periodic timer until %d ticks\n",
           PERIOD / TICKS_PER_US, TICKS);

    sbi_set_timer_handler(on_tick);
    next_deadline = rdtime64() + PERIOD;
    sbi_set_timer(next_deadline);
    csr_set(sie, SIE_STIE);
    csr_set(sstatus, SSTATUS_SIE);

    while (ticks < TICKS && steps < MAX_STEPS) {
        step(&fg);
        steps++;
    }

    csr_clear(sstatus, SSTATUS_SIE);
    csr_clear(sie, SIE_STIE);
    if (ticks < TICKS) {
        printf("timeout: only %u ticks after %u steps\n", ticks, steps);
        return 1;
    }

    for (i = 0; i < steps; i++)
        step(&check);
    ok = digest(&fg) == digest(&check) && memcmp(&fg, &check, sizeof fg) == 0;
    printf("ticks: %u (interrupts taken: %u)\n", ticks, sbi_timer_interrupts);
    printf("foreground ran: %s, checksum after preemption: %s\n",
           steps > 0 ? "yes" : "no", ok ? "consistent" : "CORRUPTED");
    return !ok;
}
