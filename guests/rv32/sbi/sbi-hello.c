/*
 * sbi-hello - greets over the SBI debug console (DBCN), probes every SBI
 * extension the hypervisor implements plus one that does not exist, prints
 * the spec version and checks the error codes of a few calls, then returns
 * 0 if every check passed (crt0 then shuts the VM down with SRST, reason
 * none; else reason 1, system failure).
 *
 * Output (deterministic; no implementation-specific values are printed:
 * impl ID/version and mvendorid/marchid/mimpid are only checked for
 * SBI_SUCCESS):
 *   Hello from S-mode, hart 0!
 *   SBI spec version 2.0
 *   ...
 * Then checks that an SBI call and a legacy call preserve every register
 * they must (printing a mask of the changed ones: 0).  Uses DBCN
 * console_write (printf), console_write_byte and legacy console_putchar.
 * ~20 K instructions.
 */
#include "sbi.h"

static const struct {
    long eid;
    const char *name;
} extensions[] = {
    { SBI_EXT_BASE, "BASE" },
    { SBI_EXT_TIME, "TIME" },
    { SBI_EXT_DBCN, "DBCN" },
    { SBI_EXT_SRST, "SRST" },
    { SBI_EXT_LEGACY_CONSOLE_PUTCHAR, "legacy console_putchar" },
    { SBI_EXT_LEGACY_SHUTDOWN, "legacy shutdown" },
    { 0x12345678, "nonexistent" },              /* no such extension */
};

#define N_EXT (sizeof extensions / sizeof extensions[0])

static int failures;

/*
 * Makes an SBI call with every register it must preserve (SBI v2.0: all
 * but a0 and a1; legacy calls: all but a0) set to a known value and returns
 * a mask of those that changed: bit n = register xn.  Checks a1 too if
 * `legacy`.  One asm block, so the compiler cannot keep anything live in
 * those registers across the ecall.
 */
#define SET(r, v) "li " #r ", " #v "\n"
#define CHK(r, v, n)                                                        \
    "li a0, " #v "\n xor " #r ", " #r ", a0\n snez " #r ", " #r "\n"      \
    "slli " #r ", " #r ", " #n "\n or a1, a1, " #r "\n"

static uint32_t ecall_clobbers(long eid, long fid, long arg0, int legacy)
{
    register long a0 __asm__("a0") = arg0;
    register long a1 __asm__("a1") = legacy;
    register long a6 __asm__("a6") = fid;
    register long a7 __asm__("a7") = eid;

    __asm__ volatile(
        "addi sp, sp, -16\n sw a6, 0(sp)\n sw a7, 4(sp)\n sw a1, 8(sp)\n"
        SET(a1, 0xa1a1a1a1) SET(a2, 0xa2a2a2a2) SET(a3, 0xa3a3a3a3)
        SET(a4, 0xa4a4a4a4) SET(a5, 0xa5a5a5a5)
        SET(t0, 0x70707070) SET(t1, 0x71717171) SET(t2, 0x72727272)
        SET(t3, 0x73737373) SET(t4, 0x74747474) SET(t5, 0x75757575)
        SET(t6, 0x76767676)
        SET(s2, 0x52525252) SET(s3, 0x53535353) SET(s4, 0x54545454)
        SET(s5, 0x55555555) SET(s6, 0x56565656) SET(s7, 0x57575757)
        SET(s8, 0x58585858) SET(s9, 0x59595959) SET(s10, 0x5a5a5a5a)
        SET(s11, 0x5b5b5b5b)
        "ecall\n"
        /* a1 = (legacy && a1 changed) << 11; then OR in the others. */
        "li a0, 0xa1a1a1a1\n xor a1, a1, a0\n snez a1, a1\n"
        "lw a0, 8(sp)\n and a1, a1, a0\n slli a1, a1, 11\n"
        "lw a0, 0(sp)\n xor a6, a6, a0\n snez a6, a6\n slli a6, a6, 16\n"
        "or a1, a1, a6\n"
        "lw a0, 4(sp)\n xor a7, a7, a0\n snez a7, a7\n slli a7, a7, 17\n"
        "or a1, a1, a7\n"
        CHK(a2, 0xa2a2a2a2, 12) CHK(a3, 0xa3a3a3a3, 13)
        CHK(a4, 0xa4a4a4a4, 14) CHK(a5, 0xa5a5a5a5, 15)
        CHK(t0, 0x70707070, 5) CHK(t1, 0x71717171, 6) CHK(t2, 0x72727272, 7)
        CHK(t3, 0x73737373, 28) CHK(t4, 0x74747474, 29)
        CHK(t5, 0x75757575, 30) CHK(t6, 0x76767676, 31)
        CHK(s2, 0x52525252, 18) CHK(s3, 0x53535353, 19)
        CHK(s4, 0x54545454, 20) CHK(s5, 0x55555555, 21)
        CHK(s6, 0x56565656, 22) CHK(s7, 0x57575757, 23)
        CHK(s8, 0x58585858, 24) CHK(s9, 0x59595959, 25)
        CHK(s10, 0x5a5a5a5a, 26) CHK(s11, 0x5b5b5b5b, 27)
        "addi sp, sp, 16\n"
        : "+r"(a0), "+r"(a1), "+r"(a6), "+r"(a7)
        :
        : "a2", "a3", "a4", "a5", "t0", "t1", "t2", "t3", "t4", "t5", "t6",
          "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
          "memory");
    return (uint32_t)a1;
}
#undef SET
#undef CHK

static void check(const char *what, struct sbiret r, long want_error)
{
    int ok = r.error == want_error;

    printf("%-24s error %ld: %s\n", what, r.error, ok ? "ok" : "WRONG");
    failures += !ok;
}

int main(unsigned long hartid)
{
    static const char msg[] = "console_write: 29 bytes here\n";
    struct sbiret r;
    unsigned i;
    uint32_t mask;
    const char *p;

    printf("Hello from S-mode, hart %lu!\n", hartid);

    r = sbi_get_spec_version();
    printf("SBI spec version %ld.%ld (error %ld)\n",
           (r.value >> 24) & 0x7f, r.value & 0xffffff, r.error);
    failures += r.error != SBI_SUCCESS;

    check("get_impl_id", sbi_get_impl_id(), SBI_SUCCESS);
    check("get_impl_version", sbi_get_impl_version(), SBI_SUCCESS);
    check("get_mvendorid", sbi_get_mvendorid(), SBI_SUCCESS);
    check("get_marchid", sbi_get_marchid(), SBI_SUCCESS);
    check("get_mimpid", sbi_get_mimpid(), SBI_SUCCESS);

    for (i = 0; i < N_EXT; i++) {
        r = sbi_probe_extension(extensions[i].eid);
        printf("probe 0x%08lx %-22s %s\n", extensions[i].eid,
               extensions[i].name, r.error ? "ERROR" : r.value ? "yes" : "no");
        failures += r.error != SBI_SUCCESS;
    }

    /* Unknown extensions and functions: SBI_ERR_NOT_SUPPORTED (-2). */
    check("unknown extension", sbi_ecall(0x12345678, 0, 0, 0, 0, 0, 0, 0),
          SBI_ERR_NOT_SUPPORTED);
    check("unknown BASE function", sbi_ecall(SBI_EXT_BASE, 99, 0, 0, 0, 0, 0, 0),
          SBI_ERR_NOT_SUPPORTED);
    /* A console_write from memory outside the VM's RAM must be refused
       with SBI_ERR_INVALID_PARAM (-3), not read from the host. */
    check("console_write @0x1000",
          sbi_debug_console_write(16, (const void *)0x1000),
          SBI_ERR_INVALID_PARAM);

    /* DBCN console_write returns the number of bytes written in a1. */
    r = sbi_debug_console_write(sizeof msg - 1, msg);
    printf("console_write returned error %ld, value %ld\n", r.error, r.value);
    failures += r.error != SBI_SUCCESS || r.value != (long)sizeof msg - 1;

    for (p = "console_write_byte works\n"; *p; p++)
        failures += sbi_debug_console_write_byte((uint8_t)*p).error != SBI_SUCCESS;

    /* Register preservation across calls (a changed register is a bug). */
    mask = ecall_clobbers(SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0);
    printf("registers changed by get_spec_version: 0x%08x\n", mask);
    failures += mask != 0;
    printf("legacy console_putchar: ");
    mask = ecall_clobbers(SBI_EXT_LEGACY_CONSOLE_PUTCHAR, 0x5a5a, '+', 1);
    printf(" registers changed: 0x%08x\n", mask);
    failures += mask != 0;

    printf("%d failures; shutting down\n", failures);
    return failures != 0;
}
