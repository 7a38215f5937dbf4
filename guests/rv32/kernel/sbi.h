/* sbi.h - the SBI calls the kernel makes (ecall to the M-mode firmware). */
#ifndef SBI_H
#define SBI_H
#include <stdint.h>

#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_DBCN 0x4442434E
#define SBI_EXT_SRST 0x53525354

static inline long sbi_call3(long eid, long fid, long a0, long a1, long a2, long *value) {
    register long r0 __asm__("a0") = a0;
    register long r1 __asm__("a1") = a1;
    register long r2 __asm__("a2") = a2;
    register long r6 __asm__("a6") = fid;
    register long r7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
    if (value) *value = r1;
    return r0;
}

static inline void sbi_set_timer(uint64_t when) {
    sbi_call3(SBI_EXT_TIME, 0, (long)(uint32_t)when, (long)(uint32_t)(when >> 32), 0, 0);
}

/* DBCN console_write of the whole buffer (repeats while short). */
static inline void sbi_console_write(const char *buf, uint32_t len) {
    while (len > 0) {
        long n = 0;
        if (sbi_call3(SBI_EXT_DBCN, 0, (long)len, (long)(uint32_t)buf, 0, &n) != 0 || n <= 0) return;
        buf += n;
        len -= (uint32_t)n;
    }
}

static inline void __attribute__((noreturn)) sbi_shutdown(int failure) {
    sbi_call3(SBI_EXT_SRST, 0, 0, failure ? 1 : 0, 0, 0);
#ifdef PARAVIRT
    for (;;) { }                     /* not reached; no privileged wfi in the deprivileged build */
#else
    for (;;) __asm__ volatile("wfi");
#endif
}
#endif
