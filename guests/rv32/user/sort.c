/*
 * sort.c - quicksort and merge sort of pseudo-random int arrays.
 *
 * argv[1]: number of rounds N (default 19: ~151M RISC-V instructions;
 * "1" runs ~7.9M instructions, each further round ~8.0M).  Each round fills an array of 16384 ints from an LCG,
 * sorts one copy with quicksort and another with a top-down merge sort
 * (scratch space from malloc), verifies that both are sorted and identical,
 * and folds the result into a checksum.  Exits with 1 if verification fails.
 */
#include "libc.h"

#define N 16384
#define DEFAULT_ROUNDS 19

static int32_t orig[N], qs[N], ms[N];
static int32_t *scratch;

static uint32_t lcg_state;

static int32_t lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (int32_t)lcg_state >> 4;     /* negative values too */
}

static void swap(int32_t *a, int32_t *b)
{
    int32_t t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(int32_t *a, int n)
{
    int i, j;

    for (i = 1; i < n; i++) {
        int32_t v = a[i];
        for (j = i; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

/* Hoare-partition quicksort with median-of-three pivot; recurses on the
 * smaller half so the stack depth stays O(log n). */
static void quicksort(int32_t *a, int n)
{
    while (n > 16) {
        int mid = n / 2, i = -1, j = n;
        int32_t pivot;

        if (a[mid] < a[0])
            swap(&a[mid], &a[0]);
        if (a[n - 1] < a[0])
            swap(&a[n - 1], &a[0]);
        if (a[n - 1] < a[mid])
            swap(&a[n - 1], &a[mid]);
        pivot = a[mid];

        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j)
                break;
            swap(&a[i], &a[j]);
        }
        /* a[0..j] <= pivot <= a[j+1..n-1] */
        if (j + 1 < n - j - 1) {
            quicksort(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            quicksort(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion_sort(a, n);
}

static void merge_sort(int32_t *a, int n)
{
    int mid = n / 2, i = 0, j = mid, k = 0;

    if (n < 2)
        return;
    merge_sort(a, mid);
    merge_sort(a + mid, n - mid);
    while (i < mid && j < n)
        scratch[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < mid)
        scratch[k++] = a[i++];
    while (j < n)
        scratch[k++] = a[j++];
    memcpy(a, scratch, (size_t)n * sizeof *a);
}

static int is_sorted(const int32_t *a, int n)
{
    int i;

    for (i = 1; i < n; i++)
        if (a[i - 1] > a[i])
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
    uint32_t sum = 0;
    int r, i;

    if (rounds < 1)
        rounds = 1;
    scratch = malloc(N * sizeof *scratch);
    if (!scratch) {
        puts("sort: malloc failed");
        return 2;
    }
    printf("sort: %d round(s) of %d ints\n", rounds, N);
    for (r = 0; r < rounds; r++) {
        lcg_state = 0x9E3779B9u * (uint32_t)(r + 1);
        for (i = 0; i < N; i++)
            orig[i] = lcg();
        memcpy(qs, orig, sizeof qs);
        memcpy(ms, orig, sizeof ms);
        quicksort(qs, N);
        merge_sort(ms, N);
        if (!is_sorted(qs, N) || !is_sorted(ms, N) ||
            memcmp(qs, ms, sizeof qs) != 0) {
            printf("round %d: FAILED verification\n", r);
            return 1;
        }
        if (r == 0)
            printf("round 0: min=%d median=%d max=%d\n", qs[0], qs[N / 2],
                   qs[N - 1]);
        for (i = 0; i < N; i++)
            sum = sum * 31 + (uint32_t)qs[i];
    }
    printf("all rounds sorted OK, checksum=%08x\n", sum);
    return 0;
}
