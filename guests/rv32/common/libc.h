/*
 * libc.h - the tiny freestanding C library subset used by the rv32 guests.
 *
 * Everything here is built on the four system calls in syscalls.h.  There is
 * no stdio buffering across calls: every printf()/puts() ends with a write(2)
 * of its own output, so output is never lost when a program faults or exits.
 */
#ifndef GUEST_LIBC_H
#define GUEST_LIBC_H

#include <stdarg.h>   /* freestanding headers provided by the compiler */
#include <stddef.h>
#include "syscalls.h"

/*
 * Fixed-width types.  Defined here instead of taken from <stdint.h>
 * because the bare-metal toolchain makes int32_t a `long`, which would make
 * every "%d"/"%x" of an int32_t a -Wformat error; on ilp32 int and long are
 * both 32 bits, so these are the same sizes.
 */
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
typedef unsigned int uintptr_t;

_Static_assert(sizeof(void *) == 4 && sizeof(long) == 4, "ilp32 only");

/* string.h */
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* stdlib.h */
int atoi(const char *s);
void *malloc(size_t n);
void *calloc(size_t count, size_t size);
void free(void *p);                       /* no-op: bump allocator */
__attribute__((noreturn)) void exit(int status);

/* stdio.h (writes to fd 1) */
int puts(const char *s);                  /* appends '\n' */
int putchar(int c);
/*
 * printf subset: %d %i %u %x %X %s %c %p %%, optional '-' / '0' flags, a
 * field width, and the 'l' length modifier (long is 32 bits on ilp32).
 */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

#endif
