/* fmt.c - tiny printf-style formatting (%s %c %d %u %x, width and 0 flag), used in S and U mode. */
#include "kernel.h"

static void put(char *buf, uint32_t size, uint32_t *n, char c) {
    if (*n + 1 < size) buf[*n] = c;
    (*n)++;
}

uint32_t vfmt(char *buf, uint32_t size, const char *f, va_list ap) {
    uint32_t n = 0;
    for (; *f; f++) {
        if (*f != '%') { put(buf, size, &n, *f); continue; }
        f++;
        char pad = ' ';
        uint32_t width = 0;
        if (*f == '0') { pad = '0'; f++; }
        while (*f >= '0' && *f <= '9') width = width * 10 + (uint32_t)(*f++ - '0');
        char tmp[12];
        uint32_t len = 0;
        const char *s = tmp;
        switch (*f) {
        case 's': s = va_arg(ap, const char *); while (s[len]) len++; break;
        case 'c': tmp[0] = (char)va_arg(ap, int); len = 1; break;
        case 'd': case 'u': case 'x': {
            uint32_t v = va_arg(ap, uint32_t), base = *f == 'x' ? 16 : 10;
            int neg = *f == 'd' && (int32_t)v < 0;
            if (neg) v = -v;
            char rev[12];
            uint32_t k = 0;
            do { rev[k++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
            if (neg) rev[k++] = '-';
            while (k) tmp[len++] = rev[--k];
            break;
        }
        case '%': tmp[0] = '%'; len = 1; break;
        default: tmp[0] = '?'; len = 1; break;
        }
        for (uint32_t i = len; i < width; i++) put(buf, size, &n, pad);
        for (uint32_t i = 0; i < len; i++) put(buf, size, &n, s[i]);
    }
    if (size) buf[n < size ? n : size - 1] = 0;
    return n < size ? n : size - 1;
}

uint32_t fmt(char *buf, uint32_t size, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    uint32_t n = vfmt(buf, size, f, ap);
    va_end(ap);
    return n;
}

uint32_t fnv1a(uint32_t h, const void *p, uint32_t len) {
    const uint8_t *b = p;
    for (uint32_t i = 0; i < len; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

/* U-mode printf: format on the user stack, one write system call. */
void u_printf(const char *f, ...) {
    char buf[160];
    va_list ap;
    va_start(ap, f);
    uint32_t n = vfmt(buf, sizeof buf, f, ap);
    va_end(ap);
    u_write(buf, n);
}
