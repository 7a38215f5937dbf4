/*
 * checksum.c - CRC-32 (table driven), Adler-32 and FNV-1a over a
 * pseudo-random buffer.
 *
 * argv[1]: number of rounds N (default 90: ~147M RISC-V instructions;
 * "1" runs ~1.7M instructions, each further round adds ~1.64M).  Each round refills a 64 KiB buffer from an LCG
 * seeded with the round number and runs all three checksums over it; the
 * per-round results are folded into running totals that are printed at the
 * end together with the first round's checksums.
 */
#include "libc.h"

#define BUF_SIZE (64 * 1024)
#define DEFAULT_ROUNDS 90

static uint8_t buf[BUF_SIZE];
static uint32_t crc_table[256];

static void crc32_init(void)
{
    uint32_t i, j, c;

    for (i = 0; i < 256; i++) {
        c = i;
        for (j = 0; j < 8; j++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;

    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t adler32(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;

    while (n) {
        /* 5552 is the largest block for which b cannot overflow 32 bits. */
        size_t k = n < 5552 ? n : 5552;
        n -= k;
        while (k--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return (b << 16) | a;
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 0x811C9DC5u;

    while (n--) {
        h ^= *p++;
        h *= 0x01000193u;
    }
    return h;
}

/* Numerical Recipes LCG; the high bytes are the most random ones. */
static void fill(uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    size_t i;

    for (i = 0; i < BUF_SIZE; i += 4) {
        x = x * 1664525u + 1013904223u;
        buf[i + 0] = (uint8_t)(x >> 24);
        buf[i + 1] = (uint8_t)(x >> 16);
        buf[i + 2] = (uint8_t)(x >> 8);
        buf[i + 3] = (uint8_t)(x >> 13);
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
    uint32_t crc_acc = 0, adler_acc = 0, fnv_acc = 0;
    int r;

    if (rounds < 1)
        rounds = 1;
    crc32_init();
    printf("checksum: %d round(s) over %d bytes\n", rounds, BUF_SIZE);
    for (r = 0; r < rounds; r++) {
        uint32_t c, a, f;

        fill((uint32_t)r);
        c = crc32(buf, BUF_SIZE);
        a = adler32(buf, BUF_SIZE);
        f = fnv1a(buf, BUF_SIZE);
        if (r == 0)
            printf("round 0: crc32=%08x adler32=%08x fnv1a=%08x\n", c, a, f);
        /* Order-dependent fold so that every round matters. */
        crc_acc = (crc_acc << 1 | crc_acc >> 31) ^ c;
        adler_acc = adler_acc * 31 + a;
        fnv_acc = (fnv_acc ^ f) * 0x01000193u;
    }
    printf("total:   crc32=%08x adler32=%08x fnv1a=%08x\n",
           crc_acc, adler_acc, fnv_acc);
    return 0;
}
