/* Freestanding Linux/Alpha support for the demo programs: _start and the
 * two system calls they use (write, exit). No libc. */
#ifndef SPIN_DEMO_SYS_H
#define SPIN_DEMO_SYS_H

#define SYS_exit 1
#define SYS_write 4

static inline long sys3(long n, long a, long b, long c)
{
    register long v0 __asm__("$0") = n;
    register long a0 __asm__("$16") = a;
    register long a1 __asm__("$17") = b;
    register long a2 __asm__("$18") = c;
    register long a3 __asm__("$19");
    __asm__ volatile("call_pal 0x83"
                     : "+r"(v0), "+r"(a0), "+r"(a1), "+r"(a2), "=r"(a3)
                     :
                     : "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$20", "$21",
                       "$22", "$23", "$24", "$25", "$27", "$28", "memory");
    return a3 ? -v0 : v0;
}

static void sys_exit(int code)
{
    sys3(SYS_exit, code, 0, 0);
    for (;;)
        ;
}

static long put(const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    return sys3(SYS_write, 1, (long)s, n);
}

/* Appends the decimal form of v to p; returns the new end. */
static char *utoa(char *p, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *cat(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

int main(void);

void cstart(void)
{
    sys_exit(main());
}

/* Entry: set gp from our own address, then call cstart. */
__asm__(".text\n"
        ".globl _start\n"
        ".ent _start\n"
        "_start:\n"
        "  br $29, 1f\n"
        "1: ldgp $29, 0($29)\n"
        "  lda $27, cstart\n"
        "  jsr $26, ($27), cstart\n"
        "  call_pal 0x00\n"
        ".end _start\n");

#endif
