/*
 * libc.c - implementation of the libc subset declared in libc.h.
 *
 * Compiled with -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns
 * so that GCC neither assumes a hosted libc nor turns the loops below into
 * calls to themselves.
 */
#include "libc.h"

/* ---------------------------------------------------------------- string */

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    /* Word copy when both pointers are 4-byte aligned. */
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
        for (; n >= 4; n -= 4, d += 4, s += 4)
            *(uint32_t *)d = *(const uint32_t *)s;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)                 /* overlapping, copy backwards */
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    if (((uintptr_t)d & 3) == 0) {
        uint32_t w = (unsigned char)c * 0x01010101u;
        for (; n >= 4; n -= 4, d += 4)
            *(uint32_t *)d = w;
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

/* ---------------------------------------------------------------- stdlib */

int atoi(const char *s)
{
    int neg = 0, v = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '-' || *s == '+')
        neg = (*s++ == '-');
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return neg ? -v : v;
}

/*
 * malloc: a bump allocator on top of brk(2).  The heap starts at the initial
 * program break and only ever grows; free() does nothing.  Blocks are 16-byte
 * aligned.  Returns NULL when the kernel refuses to move the break.
 */
static uintptr_t heap_cur, heap_end;

void *malloc(size_t n)
{
    uintptr_t p, want;

    if (heap_end == 0)
        heap_cur = heap_end = (uintptr_t)sys_brk(0);

    p = (heap_cur + 15) & ~(uintptr_t)15;
    if (p + n < p)
        return NULL;                /* size overflows the address space */
    if (p + n > heap_end) {
        /* Grow in 64 KiB steps to keep the number of brk calls small. */
        want = (p + n + 0xffff) & ~(uintptr_t)0xffff;
        if ((uintptr_t)sys_brk((void *)want) != want)
            return NULL;
        heap_end = want;
    }
    heap_cur = p + n;
    return (void *)p;
}

void *calloc(size_t count, size_t size)
{
    size_t n = count * size;
    void *p = malloc(n);

    if (p)
        memset(p, 0, n);
    return p;
}

void free(void *p)
{
    (void)p;
}

void exit(int status)
{
    sys_exit(status);
}

/* ----------------------------------------------------------------- stdio */

/* Output buffer local to one printf call; flushed when full and at the end. */
struct outbuf {
    char buf[256];
    unsigned len;
    int total;
};

static void out_flush(struct outbuf *o)
{
    if (o->len)
        sys_write(1, o->buf, o->len);
    o->len = 0;
}

static void out_char(struct outbuf *o, char c)
{
    if (o->len == sizeof o->buf)
        out_flush(o);
    o->buf[o->len++] = c;
    o->total++;
}

/* Emit string s of length n padded to `width` (left-justified if `left`). */
static void out_field(struct outbuf *o, const char *s, int n, int width,
                      int left, char pad)
{
    int fill = width > n ? width - n : 0;

    /* With zero padding a leading '-' goes before the zeros. */
    if (pad == '0' && n > 0 && *s == '-') {
        out_char(o, *s++);
        n--;
    }
    if (!left)
        while (fill--)
            out_char(o, pad);
    while (n--)
        out_char(o, *s++);
    if (left)
        while (fill-- > 0)
            out_char(o, ' ');
}

/* Convert v to text in base 10 or 16; returns a pointer into tmp[]. */
static char *utoa(uint32_t v, unsigned base, int upper, char *end)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;

    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

int vprintf(const char *fmt, va_list ap)
{
    struct outbuf o;
    char tmp[16];
    char *end = tmp + sizeof tmp;

    o.len = 0;
    o.total = 0;
    for (; *fmt; fmt++) {
        int left = 0, width = 0;
        char pad = ' ';
        const char *s;

        if (*fmt != '%') {
            out_char(&o, *fmt);
            continue;
        }
        fmt++;
        for (;; fmt++) {            /* flags */
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        if (left)
            pad = ' ';
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l')         /* long == int on ilp32 */
            fmt++;

        switch (*fmt) {
        case 'd':
        case 'i': {
            int32_t v = va_arg(ap, int32_t);
            s = utoa(v < 0 ? -(uint32_t)v : (uint32_t)v, 10, 0, end);
            if (v < 0)
                *(char *)--s = '-';
            out_field(&o, s, (int)(end - s), width, left, pad);
            break;
        }
        case 'u':
            s = utoa(va_arg(ap, uint32_t), 10, 0, end);
            out_field(&o, s, (int)(end - s), width, left, pad);
            break;
        case 'x':
        case 'X':
            s = utoa(va_arg(ap, uint32_t), 16, *fmt == 'X', end);
            out_field(&o, s, (int)(end - s), width, left, pad);
            break;
        case 'p':
            out_char(&o, '0');
            out_char(&o, 'x');
            s = utoa((uintptr_t)va_arg(ap, void *), 16, 0, end);
            out_field(&o, s, (int)(end - s), 8, 0, '0');
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            out_field(&o, s, (int)strlen(s), width, left, ' ');
            break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            out_field(&o, tmp, 1, width, left, ' ');
            break;
        case '%':
            out_char(&o, '%');
            break;
        case '\0':                  /* stray '%' at end of format */
            fmt--;
            break;
        default:                    /* unknown conversion: print verbatim */
            out_char(&o, '%');
            out_char(&o, *fmt);
            break;
        }
    }
    out_flush(&o);
    return o.total;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    return printf("%s\n", s);
}

int putchar(int c)
{
    char ch = (char)c;

    sys_write(1, &ch, 1);
    return (unsigned char)c;
}
