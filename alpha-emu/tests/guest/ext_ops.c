/* CFLAGS: -mcpu=ev67 */
/* BWX, CIX, MVI and FIX-integer instructions, amask/implver, PAL unique. */
#include "rt.h"

#define UN(X) X(sextb) X(sextw) X(ctpop) X(ctlz) X(cttz) X(pklb) X(pkwb) X(unpkbl) X(unpkbw)
#define BIN(X) X(perr) X(minub8) X(minsb8) X(minuw4) X(minsw4) X(maxub8) X(maxsb8) X(maxuw4) X(maxsw4)

#define DEFU(op) static u64 u_##op(u64 b) { u64 r; __asm__(#op " %1,%0" : "=r"(r) : "r"(b)); return r; }
#define DEFB(op) static u64 b_##op(u64 a, u64 b) { u64 r; __asm__(#op " %1,%2,%0" : "=r"(r) : "r"(a), "r"(b)); return r; }
UN(DEFU)
BIN(DEFB)

static u8 bytes[64];

int cmain(void) {
    u64 v[40], total = DIGEST_INIT;
    v[0] = 0;
    v[1] = ~0UL;
    v[2] = 0x8000000000000000UL;
    v[3] = 0x0123456789abcdefUL;
    for (int i = 4; i < 40; i++) v[i] = rnd() >> (i % 13);
#define RUNU(op) { u64 h = DIGEST_INIT; for (int i = 0; i < 40; i++) h = mix(h, u_##op(v[i])); put_kv(#op, h); total = mix(total, h); }
#define RUNB(op) { u64 h = DIGEST_INIT; for (int i = 0; i < 40; i++) for (int j = 0; j < 40; j++) h = mix(h, b_##op(v[i], v[j])); put_kv(#op, h); total = mix(total, h); }
    UN(RUNU)
    BIN(RUNB)
    /* BWX loads and stores at every offset. */
    u64 h = DIGEST_INIT;
    for (int i = 0; i < 64; i++) {
        u64 x = rnd();
        __asm__ volatile("stb %0,0(%1)" ::"r"(x), "r"(bytes + i) : "memory");
    }
    for (int i = 0; i < 62; i += 2) {
        u64 r;
        __asm__ volatile("ldwu %0,0(%1)" : "=r"(r) : "r"(bytes + i) : "memory");
        h = mix(h, r);
        __asm__ volatile("ldbu %0,1(%1)" : "=r"(r) : "r"(bytes + i) : "memory");
        h = mix(h, r);
        __asm__ volatile("stw %0,0(%1)" ::"r"(r * 0x1234567), "r"(bytes + i) : "memory");
    }
    for (int i = 0; i < 64; i++) h = mix(h, bytes[i]);
    put_kv("bwx", h);
    /* FIX integer side: ftoit / itoft round trip. */
    {
        u64 r, x = 0x400921fb54442d18UL;
        double d;
        __asm__("itoft %1,%0" : "=f"(d) : "r"(x));
        __asm__("ftoit %1,%0" : "=r"(r) : "f"(d));
        put_kv("ftoit", r);
    }
    {
        u64 am, iv;
        __asm__("amask %1,%0" : "=r"(am) : "r"(~0UL));
        __asm__("implver %0" : "=r"(iv));
        put_kv("amask", am);
        put_kv("implver", iv);
    }
    {
        register u64 a0 __asm__("$16") = 0x1234abcd;
        register u64 v0 __asm__("$0");
        __asm__ volatile("call_pal 0x9f" ::"r"(a0));
        __asm__ volatile("call_pal 0x9e" : "=r"(v0));
        put_kv("unique", v0);
    }
    put_kv("total", total);
    rt_flush();
    return 0;
}
