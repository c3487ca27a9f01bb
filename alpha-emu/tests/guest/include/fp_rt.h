/* Shared preamble of the FP differential guest programs (fp_*.c): rt.h's
 * freestanding runtime plus hex-with-space output, FPCR setting and the
 * T3/T2/T2F/TM macros that run one FP instruction under a chosen FPCR and
 * print "insn result fpcr" in hex, for comparison against qemu-alpha.
 * Programs define `int cmain(void)` and end it with `rt_flush(); return 0;`. */
#ifndef FP_RT_H
#define FP_RT_H

#include "rt.h"

/* 16 hex digits and a space. */
static void hex(u64 v)
{
    put_hex(v);
    put_char(' ');
}

static void set_fpcr(u64 v)
{
    __asm__ volatile("mt_fpcr %0" : : "f"(v));
}

static void show(const char *insn, u64 r, u64 fpcr)
{
    put_str(insn);
    put_char(' ');
    hex(r);
    hex(fpcr);
    put_char('\n');
}

/* Fc = Fa op Fb, then FPCR. */
#define T3(I, A, B, F)                                                       \
    do {                                                                     \
        u64 r_, f_;                                                          \
        set_fpcr(F);                                                         \
        __asm__ volatile(I " %2,%3,%0\n\tmf_fpcr %1"                         \
                         : "=&f"(r_), "=&f"(f_)                              \
                         : "f"((u64)(A)), "f"((u64)(B)));                    \
        show(I, r_, f_);                                                     \
    } while (0)

/* Fc = op Fb, then FPCR; P prefixes the instruction text (e.g. ".arch"). */
#define T2P(P, I, B, F)                                                      \
    do {                                                                     \
        u64 r_, f_;                                                          \
        set_fpcr(F);                                                         \
        __asm__ volatile(P I " %2,%0\n\tmf_fpcr %1"                          \
                         : "=&f"(r_), "=&f"(f_)                              \
                         : "f"((u64)(B)));                                   \
        show(I, r_, f_);                                                     \
    } while (0)
#define T2(I, B, F) T2P("", I, B, F)
/* FIX-extension instructions (sqrt). */
#define T2F(I, B, F) T2P(".arch ev67\n\t", I, B, F)

/* fcmov: Fc starts as C. */
#define TM(I, A, B, C)                                                       \
    do {                                                                     \
        u64 r_ = (C);                                                        \
        __asm__ volatile(I " %1,%2,%0" : "+f"(r_) : "f"((u64)(A)),           \
                         "f"((u64)(B)));                                     \
        show(I, r_, 0);                                                      \
    } while (0)

#endif
