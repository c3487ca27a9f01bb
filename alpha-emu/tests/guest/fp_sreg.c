/* fp_sreg: S-format register mapping through memory and the FIX moves:
 * lds/sts, itofs/ftois, itoft/ftoit, and S arithmetic on loaded values.
 * Freestanding (write/exit only); prints hex. */
#include "fp_rt.h"

static const u32 svals[] = {
    0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
    0x7fc00000, 0x7fa00001, 0xffc12345, 0x00000001, 0x007fffff, 0x00400000,
    0x00800000, 0x7f7fffff, 0xff7fffff, 0x40490fdb, 0x3eaaaaab, 0x4b800001,
};
static const u64 tvals[] = {
    0x0000000000000000, 0x3ff0000000000000, 0x7ff0000000000000, 0x7ff8000000000001,
    0x0000000000000001, 0x400921fb54442d18, 0xc7efffffe0000000, 0x47f0000000000000,
    0x3690000000000000, 0x123456789abcdef0, 0xfff4000000000000, 0x3810000000000000,
};

int cmain(void)
{
    unsigned long i;
    volatile u32 mem;
    volatile u64 q;
    for (i = 0; i < sizeof svals / sizeof svals[0]; i++) {
        u64 r, back, viaint, s2;
        u32 out;
        mem = svals[i];
        /* lds then stt: register layout; sts: back to memory layout. */
        __asm__ volatile("lds $f10,%2\n\tstt $f10,%0\n\tsts $f10,%1"
                         : "=m"(q), "=m"(out)
                         : "m"(mem)
                         : "$f10");
        r = q;
        back = out;
        __asm__ volatile(".arch ev67\n\titofs %1,%0" : "=f"(viaint) : "r"((u64)svals[i]));
        __asm__ volatile(".arch ev67\n\tftois %1,%0" : "=r"(s2) : "f"(viaint));
        hex(svals[i]);
        hex(r);
        hex(back);
        hex(viaint);
        hex(s2);
        put_char('\n');
    }
    for (i = 0; i < sizeof tvals / sizeof tvals[0]; i++) {
        u64 f, g, s;
        u32 out;
        __asm__ volatile(".arch ev67\n\titoft %1,%0" : "=f"(f) : "r"(tvals[i]));
        __asm__ volatile(".arch ev67\n\tftoit %1,%0" : "=r"(g) : "f"(f));
        /* sts of an arbitrary T register value, then ftois. */
        __asm__ volatile("sts %1,%0" : "=m"(out) : "f"(f));
        __asm__ volatile(".arch ev67\n\tftois %1,%0" : "=r"(s) : "f"(f));
        hex(tvals[i]);
        hex(g);
        hex(out);
        hex(s);
        put_char('\n');
    }
    /* S arithmetic on lds-loaded values with /su (no traps: all disabled). */
    for (i = 0; i + 1 < sizeof svals / sizeof svals[0]; i++) {
        u64 r, fp;
        volatile u32 m1 = svals[i], m2 = svals[i + 1];
        __asm__ volatile("lds $f10,%2\n\tlds $f11,%3\n\tadds/su $f10,$f11,%0\n\t"
                         "muls/su $f10,%0,%0\n\tmf_fpcr %1"
                         : "=&f"(r), "=&f"(fp)
                         : "m"(m1), "m"(m2)
                         : "$f10", "$f11");
        hex(r);
        hex(fp);
        put_char('\n');
    }
    rt_flush();
    return 0;
}
