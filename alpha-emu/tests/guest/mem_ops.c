/* Loads and stores of every width, aligned and unaligned (fixed up by the
 * kernel / emulator), ldq_u/stq_u sequences, LL/SC, control flow. */
#include "rt.h"

static u64 area[64];
static volatile u64 counter;

static u64 ldq_at(const void *p) { u64 r; __asm__ volatile("ldq %0,0(%1)" : "=r"(r) : "r"(p) : "memory"); return r; }
static u64 ldl_at(const void *p) { u64 r; __asm__ volatile("ldl %0,0(%1)" : "=r"(r) : "r"(p) : "memory"); return r; }
static void stq_at(void *p, u64 v) { __asm__ volatile("stq %0,0(%1)" ::"r"(v), "r"(p) : "memory"); }
static void stl_at(void *p, u64 v) { __asm__ volatile("stl %0,0(%1)" ::"r"(v), "r"(p) : "memory"); }

static u64 atomic_add(volatile u64 *p, u64 d) {
    u64 old, tmp;
    __asm__ volatile("1: ldq_l %0,0(%2)\n"
                     "   addq %0,%3,%1\n"
                     "   stq_c %1,0(%2)\n"
                     "   beq %1,1b\n"
                     : "=&r"(old), "=&r"(tmp)
                     : "r"(p), "r"(d)
                     : "memory");
    return old;
}

static u32 atomic_xchg32(volatile u32 *p, u32 v) {
    u64 old, tmp;
    __asm__ volatile("1: ldl_l %0,0(%2)\n"
                     "   mov %3,%1\n"
                     "   stl_c %1,0(%2)\n"
                     "   beq %1,1b\n"
                     : "=&r"(old), "=&r"(tmp)
                     : "r"(p), "r"((u64)v)
                     : "memory");
    return (u32)old;
}

typedef u64 (*fn_t)(u64);
static u64 f1(u64 x) { return x * 3 + 1; }
static u64 f2(u64 x) { return x ^ (x >> 3); }
static u64 f3(u64 x) { return x + 0x1234; }
static fn_t fns[3] = {f1, f2, f3};

/* Shift-subtract division (glibc's __divq millicode is not linked). */
static u64 udivmod(u64 n, u64 d, u64 *rem) {
    u64 q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = r << 1 | (n >> i & 1);
        if (r >= d) { r -= d; q |= 1UL << i; }
    }
    *rem = r;
    return q;
}

static u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int cmain(void) {
    u8 *b = (u8 *)area;
    u64 h = DIGEST_INIT;
    for (int i = 0; i < 64; i++) area[i] = rnd() ;
    /* Unaligned quad/long loads and stores at every offset. */
    for (int off = 0; off < 16; off++) {
        h = mix(h, ldq_at(b + off));
        h = mix(h, ldl_at(b + off + 3));
        stq_at(b + 100 + off, h);
        stl_at(b + 200 + off, h >> 7);
    }
    for (int i = 0; i < 64; i++) h = mix(h, area[i]);
    put_kv("unaligned", h);
    /* Byte and halfword traffic through ldq_u/ext/ins/msk/stq_u (EV4 code). */
    h = DIGEST_INIT;
    for (int i = 0; i < 500; i++) {
        u64 rr; udivmod(rnd(), 500, &rr); int j = (int)rr;
        b[j] = (u8)(b[(j * 7) & 511] + i);
        ((u16 *)b)[j / 2] ^= (u16)i;
        h = mix(h, b[(j * 13) & 511] | ((u16 *)b)[(j * 5) & 255] << 8);
    }
    put_kv("bytes", h);
    /* Signed and unsigned widths. */
    h = DIGEST_INIT;
    for (int i = 0; i < 500; i++) {
        h = mix(h, (i64)((signed char *)b)[i]);
        h = mix(h, (i64)((short *)b)[i / 2]);
        h = mix(h, (i64)((i32 *)b)[i / 4]);
        h = mix(h, ((u32 *)b)[i / 4]);
    }
    put_kv("widths", h);
    /* LL/SC. */
    for (int i = 0; i < 1000; i++) atomic_add(&counter, i);
    put_kv("llsc", counter);
    put_kv("xchg", atomic_xchg32((volatile u32 *)&area[3], 0xdeadbeef) ^ (u32)area[3]);
    /* Indirect calls, recursion, switch tables. */
    h = DIGEST_INIT;
    for (u64 i = 0; i < 3000; i++) {
        u64 m3, m7; udivmod(i, 3, &m3); udivmod(i, 7, &m7);
        h = mix(h, fns[m3](i));
        switch (m7) {
        case 0: h += 1; break;
        case 1: h ^= 0x55; break;
        case 2: h *= 3; break;
        case 3: h -= i; break;
        case 4: h = h << 1 | h >> 63; break;
        case 5: h += h >> 9; break;
        default: h = ~h; break;
        }
    }
    put_kv("calls", h);
    put_kv("fib", fib(22));
    {
        u64 q = 0, r = 0;
        for (u64 i = 1; i < 2000; i++) {
            u64 rem;
            q += udivmod(0xfedcba9876543210UL, i, &rem);
            r += rem;
        }
        put_kv("div", q ^ r);
    }
    rt_flush();
    return (int)(h & 0x7f);
}
