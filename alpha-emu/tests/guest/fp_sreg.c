/* fp_sreg: S-format register mapping through memory and the FIX moves:
 * lds/sts, itofs/ftois, itoft/ftoit, and S arithmetic on loaded values.
 * Freestanding (write/exit only); prints hex. */
typedef unsigned long u64;
typedef unsigned int u32;

__asm__(".text\n.globl _start\n.ent _start\n_start:\n"
        "  br $27, 1f\n1: ldgp $29, 0($27)\n"
        "  lda $27, cmain\n  jsr $26, ($27), cmain\n.end _start\n");

static long sys3(long n, long a, long b, long c)
{
    register long v0 __asm__("$0") = n;
    register long a0 __asm__("$16") = a;
    register long a1 __asm__("$17") = b;
    register long a2 __asm__("$18") = c;
    __asm__ volatile("call_pal 0x83"
                     : "+r"(v0), "+r"(a0), "+r"(a1), "+r"(a2)
                     :
                     : "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$19",
                       "$20", "$21", "$22", "$23", "$24", "$25", "$27", "$28",
                       "memory");
    return v0;
}

static char buf[4096];
static long pos;

static void flush(void)
{
    sys3(4, 1, (long)buf, pos);
    pos = 0;
}

static void put(const char *s)
{
    while (*s) {
        if (pos == (long)sizeof buf)
            flush();
        buf[pos++] = *s++;
    }
}

static void hex(u64 v)
{
    char t[18];
    int i;
    for (i = 15; i >= 0; i--) {
        t[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
    t[16] = ' ';
    t[17] = 0;
    put(t);
}

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

void cmain(void)
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
        put("\n");
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
        put("\n");
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
        put("\n");
    }
    flush();
    sys3(1, 0, 0, 0);
    for (;;)
        ;
}
