/*
 * hv.c - the paravirtual build's hypercall layer (see hv.h): compiled with
 * PARAVIRT, it implements the privileged operations as hypercalls, with a
 * batch of queued operations issued as one multicall, and the shared info
 * page.  In the native build it only holds the counters.
 */
#include "hv.h"

struct hv_counts hv_counts;

#ifdef HV_XENPV
#include <stddef.h>
#include "kernel.h"

/* The layout entry.S and the hypervisor (pv.ts) rely on. */
_Static_assert(offsetof(struct hv_shared_info, upcall_pending) == HV_SH_PENDING, "shared info layout");
_Static_assert(offsetof(struct hv_shared_info, cause) == HV_SH_CAUSE, "shared info layout");
_Static_assert(offsetof(struct hv_shared_info, epc) == HV_SH_EPC, "shared info layout");
_Static_assert(offsetof(struct hv_shared_info, tval) == HV_SH_TVAL, "shared info layout");
_Static_assert(offsetof(struct hv_shared_info, sp) == HV_SH_SP, "shared info layout");
_Static_assert(offsetof(struct hv_shared_info, iret) == HV_SH_IRET, "shared info layout");
_Static_assert(offsetof(struct hv_shared_info, mc) == HV_SH_MC, "shared info layout");
_Static_assert(sizeof(struct hv_multicall_entry) == 16, "multicall entry layout");
_Static_assert(sizeof(struct hv_shared_info) == HV_SH_SIZE, "shared info layout (smp-entry.S indexes by hart)");

/* Page-aligned, like Xen's shared_info; zero (events unmasked) until boot sets the mask. */
struct hv_shared_info hv_shared[HV_NCPUS] __attribute__((aligned(4096)));

/*
 * The domain builder's mark: a kernel that defines this symbol speaks the
 * hypercall ABI of this version and is started deprivileged (Xen reads
 * the same kind of declaration from a PV kernel's ELF notes).
 */
const uint32_t vsim_pv_abi __attribute__((used)) = PV_ABI_VERSION;

static uint32_t batch_len[HV_NCPUS];     /* entries queued in the vCPU's mc */
static int registered[HV_NCPUS];

/* The calling vCPU: the hart id, in tp during the SMP phase (0 otherwise: tasks run on hart 0). */
static inline uint32_t cpu(void) {
#ifdef SMP
    uint32_t tp;
    __asm__ volatile("mv %0, tp" : "=r"(tp));
    return tp;
#else
    return 0;
#endif
}
#define SELF (&hv_shared[cpu()])

static long hypercall(long op, long a0, long a1, long *a1_out) {
    register long r0 __asm__("a0") = a0;
    register long r1 __asm__("a1") = a1;
    register long r6 __asm__("a6") = op;
    register long r7 __asm__("a7") = PV_EID;
    /* a0/a1 in and out: a restarted multicall gets its arguments rewritten (continuation). */
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r6), "r"(r7) : "memory");
    hv_counts.hypercalls++;
    if (a1_out) *a1_out = r1;
    return r0;
}

/* Issues the batch as one multicall (or the single operation as a plain hypercall). */
static void flush(void) {
    uint32_t n = batch_len[cpu()];
    if (n == 0) return;
    batch_len[cpu()] = 0;      /* before the call: a multicall ending in iret does not return */
    hv_counts.multicalls++;
    hypercall(PV_MULTICALL, 0, (long)n, 0);
}

/* Queues an operation; keeps one slot free for the iret or block that ends a batch. */
#ifdef SMP
/*
 * PV_EVENT_CHECK that may deliver an IPI right here, in the kernel: the
 * hypervisor enters the callback (smp_trap_entry) with epc = the
 * instruction after this ecall, and the callback returns there by a plain
 * jump.  So, as across a call, every caller-saved register is clobbered.
 * The queued operations (a new callback) go first.
 */
static void event_check(void) {
    flush();
    register long r0 __asm__("a0") = 0;
    register long r1 __asm__("a1") = 0;
    register long r6 __asm__("a6") = PV_EVENT_CHECK;
    register long r7 __asm__("a7") = PV_EID;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1), "+r"(r6), "+r"(r7)
                     : : "memory", "ra", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "a2", "a3", "a4", "a5");
    hv_counts.hypercalls++;
}
#endif

static void queue(uint32_t op, uint32_t arg0, uint32_t arg1) {
    if (batch_len[cpu()] >= HV_MC_MAX - 1) flush();
    struct hv_multicall_entry *e = &SELF->mc[batch_len[cpu()]++];
    e->op = op;
    e->result = 0;
    e->arg0 = arg0;
    e->arg1 = arg1;
    hv_counts.batched++;
}

void hv_set_trap_vector(void (*entry)(void)) {
    hv_counts.trap_vector++;
    if (!registered[cpu()]) {
        /* Masked until the kernel enables interrupts, as sie = 0 at reset. */
        SELF->upcall_mask = 1;
        hypercall(PV_REGISTER_SHARED_INFO, (long)SELF, 0, 0);
        registered[cpu()] = 1;
    }
    queue(PV_SET_CALLBACK, (uint32_t)entry, 0);
}

/* Nothing to do: iret always returns to the task, with events as the mask says. */
void hv_user_mode_init(void) {
}

void hv_irq_enable(void) {
    hv_counts.irq_enable++;
    SELF->upcall_mask = 0;
    __asm__ volatile("" ::: "memory");
    /* An event arrived while masked: have it delivered (Xen's guests do the same). */
#ifdef SMP
    if (SELF->upcall_pending) event_check();
#else
    if (SELF->upcall_pending) hypercall(PV_EVENT_CHECK, 0, 0, 0);
#endif
}

void hv_irq_disable(void) {
    hv_counts.irq_disable++;
    SELF->upcall_mask = 1;
    __asm__ volatile("" ::: "memory");
}

/* Read from the shared page, as Xen's PV Linux reads upcall_mask for save_fl: no exit. */
int hv_irq_enabled(void) {
    return SELF->upcall_mask == 0;
}

void hv_set_timer(uint64_t when) {
    hv_counts.set_timer++;
    queue(PV_SET_TIMER, (uint32_t)when, (uint32_t)(when >> 32));
}

/* Queued operations + block, one exit (restarted by the hypervisor until an event is pending). */
int hv_idle(void) {
    hv_counts.idle++;
    queue(PV_BLOCK, 0, 0);
    flush();
    return SELF->upcall_pending != 0;
}

#ifdef SMP
/*
 * Wait for an event with events unmasked (the SMP phase's wait for an
 * IPI; replaces wfi + a window of sstatus.SIE): block until one is
 * pending, then have it delivered through the callback.
 */
void hv_wait_event(void) {
    if (!SELF->upcall_pending) {
        queue(PV_BLOCK, 0, 0);
        flush();
    }
    if (SELF->upcall_pending) event_check();
}
#endif

/*
 * Return to the task whose frame is `f` (replaces entry.S's sret path):
 * its registers go to the shared page, and the iret - with the queued
 * operations, as one multicall - restores them.
 */
void __attribute__((noreturn)) return_to_user(struct frame *f) {
    const uint32_t *src = (const uint32_t *)f;
    for (uint32_t i = 0; i < 33; i++) SELF->iret[i] = src[i];
    if (batch_len[cpu()] == 0) {
        hypercall(PV_IRET, (long)f, 0, 0);
    } else {
        queue(PV_IRET, (uint32_t)f, 0);
        flush();
    }
    for (;;) { }   /* not reached: iret does not return */
}
#endif
