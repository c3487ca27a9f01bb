/* Loop-heavy freestanding benchmark: sieve, crc32, byte shuffles, hashing.
 * EV4 code (bytes via ldq_u/ext/ins/msk/stq_u), a few hundred million
 * instructions. Prints a digest so both emulators can be checked. */
#include "rt.h"

#define N 200000
static u8 sieve[N];
static u32 crc_table[256];
static u8 buf[65536];
static u8 buf2[65536];

static void crc_init(void) {
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static u32 crc32(const u8 *p, unsigned long n, u32 c) {
    c = ~c;
    while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

static u64 run_sieve(void) {
    u64 count = 0;
    for (int i = 0; i < N; i++) sieve[i] = 1;
    sieve[0] = sieve[1] = 0;
    for (int i = 2; i < N; i++) {
        if (sieve[i]) {
            count++;
            for (int j = i + i; j < N; j += i) sieve[j] = 0;
        }
    }
    return count;
}

static void shuffle(u8 *dst, const u8 *src, unsigned long n, u64 seed) {
    for (unsigned long i = 0; i < n; i++) dst[i] = src[n - 1 - i] ^ (u8)(seed >> (i & 31));
}

int cmain(void) {
    u64 h = DIGEST_INIT;
    crc_init();
    for (int round = 0; round < 6; round++) {
        h = mix(h, run_sieve());
        for (unsigned long i = 0; i < sizeof buf; i++) buf[i] = (u8)rnd();
        for (int k = 0; k < 8; k++) {
            shuffle(buf2, buf, sizeof buf, h + k);
            h = mix(h, crc32(buf2, sizeof buf2, (u32)h));
            shuffle(buf, buf2, sizeof buf, h);
        }
        u64 x = h;
        for (int i = 0; i < 2000000; i++) x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9UL + (u64)i;
        h = mix(h, x);
    }
    put_kv("bench", h);
    rt_flush();
    return 0;
}
