/* Floating-point benchmark: matrix multiply, a polynomial, divisions and
 * int <-> double conversions, as gcc -O2 (-mieee, EV4) compiles them: T
 * arithmetic with /su qualifiers followed by trapb. Prints a digest of the
 * result bits so both emulators can be checked. */
#include "rt.h"

#define N 48
static double a[N][N], b[N][N], c[N][N];

static u64 bits(double x) {
    union { double d; u64 u; } v = { x };
    return v.u;
}

int cmain(void) {
    u64 h = DIGEST_INIT;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (double)(long)(rnd() % 1000) / 37.0;
            b[i][j] = (double)(long)(rnd() % 1000) / 91.0 - 5.0;
        }
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
                c[i][j] = s;
            }
        for (int i = 0; i < N; i++) h = mix(h, bits(c[i][(i * 7 + round) % N]));
        double x = 0.5 + round, p = 0;
        for (int i = 0; i < 200000; i++) {
            p = ((p * x + 1.25) * x - 0.5) / (x * x + 3.0);
            x = x * 0.999 + 0.001 * (double)(i & 7);
            h += (u64)(long)(p * 1000.0);
        }
        h = mix(h, bits(p));
    }
    put_kv("bench_fp", h);
    rt_flush();
    return 0;
}
