/*
 * sbi-probe - handles one illegal instruction and goes on, as a kernel
 * probing for an extension does: it executes one instruction of a vendor
 * extension (the custom-0 opcode, which no hart of the virtual platform
 * implements), takes the illegal-instruction exception in its own handler
 * (scause 2, sepc = the probe, stval = the instruction word), notes that
 * the extension is absent, skips the probe and finishes its work.
 *
 * Proves that the hypervisor redirects an illegal instruction it cannot
 * emulate into the guest kernel, as OpenSBI's sbi_trap_redirect does
 * (libs/hypervisor/src/illegal.ts), rather than stopping the VM.
 * (The qemu shim, sbi/qemu, redirects nothing: there it stops at the
 * probe.)
 */
#include "sbi.h"

/* custom-0 (opcode 0x0b), R-type: a0 = probe(a0, a1). */
#define PROBE_INSN 0x00b5050bu

static volatile uint32_t probes_trapped, trapped_cause, trapped_tval, trapped_pc;

static int on_exception(uint32_t scause, uint32_t sepc, uint32_t stval)
{
    if (scause != 2 || probes_trapped != 0)
        return 0;               /* anything else: the runtime's default */
    probes_trapped++;
    trapped_cause = scause;
    trapped_pc = sepc;
    trapped_tval = stval;
    return 1;                   /* skip the probe (sepc + 4) */
}

extern char probe_insn[];

int main(unsigned long hartid)
{
    uint32_t a0, sum = 0, i;

    (void)hartid;
    printf("sbi-probe: probing for a vendor extension\n");
    sbi_set_exception_handler(on_exception);
    __asm__ volatile("mv    a0, %1\n"
                     "mv    a1, %2\n"
                     ".globl probe_insn\n"
                     "probe_insn: .word 0x00b5050b\n"
                     "mv    %0, a0\n"
                     : "=r"(a0) : "r"(40), "r"(2) : "a0", "a1", "memory");
    printf("sbi-probe: %s (%u trap, scause %u, stval 0x%08x, at the probe: %s)\n",
           probes_trapped ? "absent" : "present", probes_trapped, trapped_cause,
           trapped_tval, trapped_pc == (uint32_t)probe_insn ? "yes" : "no");
    printf("sbi-probe: a0 after the skipped probe: %u\n", a0);
    for (i = 1; i <= 1000; i++)
        sum += i * i;
    printf("sbi-probe: going on without it: sum of squares 1..1000 = %u\n", sum);
    return !(probes_trapped == 1 && trapped_tval == PROBE_INSN && a0 == 40);
}
