/*
 * matmul.c - 64x64 integer matrix multiply, repeated.
 *
 * argv[1]: number of multiplications N (default 80: ~152M RISC-V
 * instructions; "1" runs ~2.0M instructions, each further one ~1.9M).  Each iteration computes C = A * B and then
 * derives the next A from C, so the iterations form a dependent chain.  The
 * program prints a checksum of the final matrix and a running checksum.
 */
#include "libc.h"

#define DIM 64
#define DEFAULT_ITERS 80

static uint32_t A[DIM][DIM], B[DIM][DIM], C[DIM][DIM];

static uint32_t lcg_state = 12345;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 16;
}

static void multiply(void)
{
    int i, j, k;

    for (i = 0; i < DIM; i++) {
        for (j = 0; j < DIM; j++) {
            uint32_t sum = 0;
            for (k = 0; k < DIM; k++)
                sum += A[i][k] * B[k][j];
            C[i][j] = sum;
        }
    }
}

static uint32_t matrix_hash(uint32_t (*m)[DIM])
{
    uint32_t h = 0;
    int i, j;

    for (i = 0; i < DIM; i++)
        for (j = 0; j < DIM; j++)
            h = (h * 33) ^ m[i][j];
    return h;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : DEFAULT_ITERS;
    uint32_t running = 0;
    int i, j, n;

    if (iters < 1)
        iters = 1;
    for (i = 0; i < DIM; i++) {
        for (j = 0; j < DIM; j++) {
            A[i][j] = lcg() & 0xFF;
            B[i][j] = (lcg() & 0x1FF) - 0x100;   /* small signed values */
        }
    }
    printf("matmul: %dx%d, %d iteration(s)\n", DIM, DIM, iters);
    for (n = 0; n < iters; n++) {
        multiply();
        running = running * 31 + C[n % DIM][(n * 7) % DIM];
        /* Next A: mix the product back down to small values. */
        for (i = 0; i < DIM; i++)
            for (j = 0; j < DIM; j++)
                A[i][j] = (C[i][j] ^ (C[i][j] >> 11)) & 0xFF;
    }
    printf("C[0][0]=%d C[%d][%d]=%d\n", (int32_t)C[0][0], DIM - 1, DIM - 1,
           (int32_t)C[DIM - 1][DIM - 1]);
    printf("hash(C)=%08x running=%08x\n", matrix_hash(C), running);
    return 0;
}
