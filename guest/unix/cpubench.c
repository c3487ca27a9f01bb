/* cpubench: a CPU-bound workload with checksummed, deterministic output.
 *
 *   cpubench [-t] [SCALE]     SCALE 1 (default) runs about a second under
 *                             qemu-alpha; SCALE 10 is the benchmark size.
 *
 * Parts: sieve of Eratosthenes, table-driven CRC-32, double-precision matrix
 * multiply, qsort of pseudo-random 64-bit keys, and an FP part built on sqrt()
 * (EV4 glibc's sqrt is software and makes osf_getsysinfo/osf_setsysinfo calls
 * for the FP control word on every call).  Only IEEE basic operations and sqrt
 * are used, which are correctly rounded on both Alpha and x86-64, so the
 * checksums are identical on both.  -t adds per-part CPU times on stderr.
 */
#include "common.h"

#include <math.h>
#include <stdint.h>
#include <time.h>

static int show_times;
static double t_last;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void lap(const char *what)
{
    if (!show_times)
        return;
    double t = cpu_now();
    fprintf(stderr, "time %-8s %8.3f s\n", what, t - t_last);
    t_last = t;
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    /* xorshift64*: deterministic, no library state. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static long sieve(long n, long *last)
{
    unsigned char *comp = calloc(n + 1, 1);
    CHECK(comp != NULL);
    long count = 0;
    for (long i = 2; i <= n; i++) {
        if (comp[i])
            continue;
        count++;
        *last = i;
        for (long j = i * i; j <= n; j += i)
            comp[j] = 1;
    }
    free(comp);
    return count;
}

static uint32_t crc_table[256];
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_buf(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t fnv(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

int main(int argc, char **argv)
{
    int scale = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t"))
            show_times = 1;
        else
            scale = atoi(argv[i]);
    }
    if (scale < 1)
        scale = 1;
    printf("cpubench scale %d\n", scale);
    t_last = cpu_now();

    /* 1. Sieve. */
    long last = 0, n = 2000000L * scale;
    long primes = sieve(n, &last);
    printf("sieve: %ld primes below %ld, largest %ld\n", primes, n, last);
    if (scale == 1)
        CHECK(primes == 148933 && last == 1999993);
    lap("sieve");

    /* 2. CRC-32 over a pseudo-random buffer, and the standard check value. */
    crc_init();
    CHECK(crc32_buf(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
    size_t len = (size_t)1 << 20;
    unsigned char *buf = malloc(len);
    CHECK(buf != NULL);
    rng_state = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(rng() >> 56);
    uint32_t crc = 0;
    for (int r = 0; r < 4 * scale; r++)
        crc = crc32_buf(crc, buf, len);
    printf("crc32: %d MiB -> %08x\n", 4 * scale, crc);
    free(buf);
    lap("crc32");

    /* 3. Matrix multiply (doubles), ikj order. */
    int m = 128;
    int reps = 3 * scale;
    double *a = malloc(sizeof(double) * m * m);
    double *b = malloc(sizeof(double) * m * m);
    double *c = malloc(sizeof(double) * m * m);
    CHECK(a && b && c);
    for (int i = 0; i < m * m; i++) {
        a[i] = (double)((i * 7) % 13) - 6.0;
        b[i] = (double)((i * 5) % 11) * 0.25;
    }
    double trace = 0;
    uint64_t mh = 14695981039346656037ULL;
    for (int r = 0; r < reps; r++) {
        memset(c, 0, sizeof(double) * m * m);
        for (int i = 0; i < m; i++)
            for (int k = 0; k < m; k++) {
                double aik = a[i * m + k];
                for (int j = 0; j < m; j++)
                    c[i * m + j] += aik * b[k * m + j];
            }
        for (int i = 0; i < m; i++)
            trace += c[i * m + i];
        a[r % (m * m)] += 1.0;
    }
    for (int i = 0; i < m * m; i++)
        mh = fnv(mh, dbits(c[i]));
    printf("matmul: %dx%d x%d trace %.6f hash %016llx\n", m, m, reps, trace,
           (unsigned long long)mh);
    free(a);
    free(b);
    free(c);
    lap("matmul");

    /* 4. qsort. */
    size_t nk = 300000 * (size_t)scale;
    uint64_t *keys = malloc(nk * sizeof *keys);
    CHECK(keys != NULL);
    rng_state = 42;
    for (size_t i = 0; i < nk; i++)
        keys[i] = rng() % 1000000007ULL;
    qsort(keys, nk, sizeof *keys, cmp_u64);
    int sorted = 1;
    uint64_t kh = 14695981039346656037ULL;
    for (size_t i = 0; i < nk; i++) {
        if (i && keys[i - 1] > keys[i])
            sorted = 0;
        kh = fnv(kh, keys[i]);
    }
    CHECK(sorted);
    printf("qsort: %zu keys, min %llu median %llu max %llu hash %016llx\n", nk,
           (unsigned long long)keys[0], (unsigned long long)keys[nk / 2],
           (unsigned long long)keys[nk - 1], (unsigned long long)kh);
    free(keys);
    lap("qsort");

    /* 5. FP with sqrt: sum of square roots, Euclidean distances of a
     *    deterministic point walk, Newton's iteration checked against sqrt. */
    long nfp = 200000L * scale;
    double sum = 0, dist = 0, x = 0.5, y = 0.25;
    long newton_bad = 0;
    for (long i = 1; i <= nfp; i++) {
        double s = sqrt((double)i);
        sum += s;
        double nx = x * 1.000001 + 0.3 / s, ny = y * 0.999999 - 0.2 / s;
        dist += sqrt((nx - x) * (nx - x) + (ny - y) * (ny - y));
        x = nx - (double)(long)nx;
        y = ny - (double)(long)ny;
        /* Newton for sqrt(i) from a crude start: must agree to 1 ulp-ish. */
        double g = (double)i * 0.5 + 0.5;
        for (int k = 0; k < 30 && g * g - i > 1e-9 * i; k++)
            g = 0.5 * (g + i / g);
        if (fabs(g - s) > 1e-9 * s)
            newton_bad++;
    }
    CHECK(newton_bad == 0);
    volatile double two = 2.0, zero = 0.0, big = 0x1p1000, neg = -1.0;
    CHECK(sqrt(two) == 1.4142135623730951);
    CHECK(sqrt(zero) == 0.0 && sqrt(big) == 0x1p500);
    CHECK(isnan(sqrt(neg)));
    printf("fp: %ld sqrts sum %.9e bits %016llx dist %.9e bits %016llx\n", nfp,
           sum, (unsigned long long)dbits(sum), dist,
           (unsigned long long)dbits(dist));
    lap("fp");

    return finish("cpubench");
}
