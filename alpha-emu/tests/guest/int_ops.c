/* Every integer operate instruction over a table of edge values (register
 * and literal forms); one digest line per instruction. */
#include "rt.h"

static const u64 edge[] = {
    0, 1, 2, 3, 5, 7, 8, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
    0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
    0x8000000000000000, 0xffffffffffffffff, 0xfffffffffffffffe, 0x0123456789abcdef,
    0xfedcba9876543210, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f, 0x00ff00ff00ff00ff,
};
#define NEDGE (sizeof edge / sizeof edge[0])
#define NVALS (NEDGE + 16)
static u64 vals[NVALS];

#define OPS(X) X(addl) X(s4addl) X(subl) X(s4subl) X(cmpbge) X(s8addl) X(s8subl) X(cmpult) \
    X(addq) X(s4addq) X(subq) X(s4subq) X(cmpeq) X(s8addq) X(s8subq) X(cmpule) X(cmplt) X(cmple) \
    X(and) X(bic) X(bis) X(ornot) X(xor) X(eqv) \
    X(mskbl) X(extbl) X(insbl) X(mskwl) X(extwl) X(inswl) X(mskll) X(extll) X(insll) X(zap) \
    X(zapnot) X(mskql) X(srl) X(extql) X(sll) X(insql) X(sra) X(mskwh) X(inswh) X(extwh) \
    X(msklh) X(inslh) X(extlh) X(mskqh) X(insqh) X(extqh) X(mull) X(mulq) X(umulh)

#define CMOVS(X) X(cmoveq) X(cmovne) X(cmovlt) X(cmovge) X(cmovle) X(cmovgt) X(cmovlbs) X(cmovlbc)

#define DEF(op)                                                                          \
    static u64 r_##op(u64 a, u64 b) { u64 r; __asm__(#op " %1,%2,%0" : "=r"(r) : "r"(a), "r"(b)); return r; } \
    static u64 l_##op(u64 a) {                                                           \
        u64 r, s = 0;                                                                    \
        __asm__(#op " %1,0,%0" : "=r"(r) : "r"(a)); s = mix(s, r);                       \
        __asm__(#op " %1,1,%0" : "=r"(r) : "r"(a)); s = mix(s, r);                       \
        __asm__(#op " %1,7,%0" : "=r"(r) : "r"(a)); s = mix(s, r);                       \
        __asm__(#op " %1,13,%0" : "=r"(r) : "r"(a)); s = mix(s, r);                      \
        __asm__(#op " %1,255,%0" : "=r"(r) : "r"(a)); s = mix(s, r);                     \
        return s;                                                                        \
    }
OPS(DEF)

#define DEFC(op)                                                                         \
    static u64 r_##op(u64 a, u64 b) { u64 r = 0x5555; __asm__(#op " %1,%2,%0" : "+r"(r) : "r"(a), "r"(b)); return r; } \
    static u64 l_##op(u64 a) { u64 r = 0x5555; __asm__(#op " %1,77,%0" : "+r"(r) : "r"(a)); return r; }
CMOVS(DEFC)

#define RUN(op)                                                                          \
    {                                                                                    \
        u64 h = DIGEST_INIT;                                                             \
        for (unsigned i = 0; i < NVALS; i++) {                                           \
            for (unsigned j = 0; j < NVALS; j++) h = mix(h, r_##op(vals[i], vals[j]));   \
            h = mix(h, l_##op(vals[i]));                                                 \
        }                                                                                \
        put_kv(#op, h);                                                                  \
        total = mix(total, h);                                                           \
    }

/* /V forms on values that do not overflow. */
#define VOPS(X) X(addl/v) X(subl/v) X(addq/v) X(subq/v) X(mull/v) X(mulq/v)
#define RUNV(op)                                                                          \
    {                                                                                     \
        u64 h = DIGEST_INIT;                                                              \
        for (long i = -300; i <= 300; i += 7)                                             \
            for (long j = -300; j <= 300; j += 11) {                                      \
                u64 r;                                                                    \
                __asm__(#op " %1,%2,%0" : "=r"(r) : "r"(i), "r"(j));                      \
                h = mix(h, r);                                                            \
            }                                                                             \
        put_kv(#op, h);                                                                   \
        total = mix(total, h);                                                            \
    }

int cmain(void) {
    u64 total = DIGEST_INIT;
    for (unsigned i = 0; i < NEDGE; i++) vals[i] = edge[i];
    for (unsigned i = NEDGE; i < NVALS; i++) vals[i] = rnd();
    OPS(RUN)
    CMOVS(RUN)
    VOPS(RUNV)
    {
        u64 r;
        __asm__("sextl %1,%0" : "=r"(r) : "r"(0x80000000UL));
        put_kv("sextl", r);
        __asm__("negq %1,%0" : "=r"(r) : "r"(5UL));
        put_kv("negq", r);
    }
    put_kv("total", total);
    rt_flush();
    return 7;
}
