/*
 * recursion.c - deep and branchy recursion: naive Fibonacci, Ackermann and
 * Towers of Hanoi.
 *
 * argv[1]: number of rounds N (default 33: ~149M RISC-V instructions;
 * "1" runs ~3.4M instructions; rounds cost about 3.4M, 4.5M and 5.5M in
 * turn).  Round r computes fib(24 + r % 3), ackermann(2, 100 + r) and
 * ackermann(3, 5) (counting calls), and solves Towers of Hanoi with 16
 * discs (hashing every move).  One line of results is printed per round.
 */
#include "libc.h"

#define DEFAULT_ROUNDS 33

static uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint32_t ack_calls;

static uint32_t ackermann(uint32_t m, uint32_t n)
{
    ack_calls++;
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static uint32_t hanoi_moves, hanoi_hash;

static void hanoi(int discs, int from, int to, int via)
{
    if (discs == 0)
        return;
    hanoi(discs - 1, from, via, to);
    hanoi_moves++;
    hanoi_hash = (hanoi_hash * 31) ^ (uint32_t)(discs << 4 | from << 2 | to);
    hanoi(discs - 1, via, to, from);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
    int r;

    if (rounds < 1)
        rounds = 1;
    printf("recursion: %d round(s)\n", rounds);
    for (r = 0; r < rounds; r++) {
        uint32_t fn = 24 + r % 3, f, a2, a3, c2, c3;

        f = fib(fn);
        ack_calls = 0;
        a2 = ackermann(2, 100 + r);
        c2 = ack_calls;
        ack_calls = 0;
        a3 = ackermann(3, 5);
        c3 = ack_calls;
        hanoi_moves = hanoi_hash = 0;
        hanoi(16, 0, 2, 1);
        printf("round %d: fib(%u)=%u A(2,%d)=%u [%u calls] A(3,5)=%u "
               "[%u calls] hanoi(16)=%u moves hash=%08x\n",
               r, fn, f, 100 + r, a2, c2, a3, c3, hanoi_moves, hanoi_hash);
    }
    return 0;
}
