/* vmbench: the SPIN paper's virtual-memory table (Appel & Li benchmarks),
 * done the POSIX way: mprotect() plus a SIGSEGV handler.
 *
 *   Trap      from the faulting access to the handler's first instruction
 *   Fault     reflect a fault to the application, enable access in the
 *             handler, resume (access to resumed access, round trip)
 *   Prot1     raise the protection of one page (mprotect to read-only)
 *   Prot100   raise the protection of 100 pages (one mprotect call)
 *   Unprot100 lower the protection of 100 pages (one mprotect call)
 *   Appel1    fault on a protected page; the handler unprotects it and
 *             protects another one
 *   Appel2    protect 100 pages, fault on each; the handler unprotects the
 *             faulting page (time per page)
 *
 *   vmbench [-t] [-x] [-n N]  N iterations for Trap/Fault/Prot* (default
 *                           10000, as in the paper); Appel* use N/100 rounds.
 *
 * -x: the SPIN way.  The program links the SPIN UNIX mound's
 * `spin.vm-workload` extension (extension system call 0x53500000) and
 * registers its pages with it; protection changes are the extension's own
 * system calls, and faults on those pages are handled inside the kernel by
 * the extension (it unprotects the faulting page and, for Appel1, protects
 * the next one) — the program just resumes, no signal frame.  Trap then
 * times the access to the extension handler's entry (the extension records
 * it).  The output is the same as the POSIX way's.  Only under spin.
 *
 * Without -t the output is deterministic: operation counts and "ok".  With -t
 * each line also gives the mean time per operation in microseconds.
 */
#include "common.h"

#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

static long ps;
static char *region;          /* NPAGES pages */
#define NPAGES 101
static volatile long faults_seen;
static volatile int mode;
static struct timespec t_handler;
static volatile long appel_next; /* page the Appel1 handler protects next */
static volatile int handler_bad;

enum { M_TRAP, M_FAULT, M_APPEL1, M_APPEL2 };

/* The SPIN way: the vm-workload extension's calls, relative to the number
 * ext_link returns. */
#define SPIN_EXT_LINK 0x53500000L
enum { VMW_REGISTER, VMW_PROTECT, VMW_UNPROTECT, VMW_POLICY, VMW_STAT };
static long ext = -1; /* first call of the linked extension; -1: POSIX way */
static long fault_base;

static long vmw(int call, long a, long b, long c)
{
    return syscall(ext + call, a, b, c);
}

/* mprotect, or the extension's protect/unprotect. */
static void prot(void *p, long pages, int pr)
{
    if (ext < 0)
        mprotect(p, pages * ps, pr);
    else if (pr == (PROT_READ | PROT_WRITE))
        vmw(VMW_UNPROTECT, (long)p, pages, 0);
    else
        vmw(VMW_PROTECT, (long)p, pages, pr);
}

static void reset_faults(void)
{
    faults_seen = 0;
    if (ext >= 0)
        fault_base = vmw(VMW_STAT, 0, 0, 0);
}

static long faults(void)
{
    return ext < 0 ? faults_seen : vmw(VMW_STAT, 0, 0, 0) - fault_base;
}

static inline void now(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

static double usec(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_nsec - a->tv_nsec) * 1e-3;
}

static void handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (ext >= 0)
        handler_bad = 1; /* the extension should have handled it */
    if (mode == M_TRAP)
        now(&t_handler); /* the handler's first action */
    faults_seen++;
    char *page = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(ps - 1));
    if (sig != SIGSEGV || page < region || page >= region + NPAGES * ps) {
        handler_bad = 1;
        page = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(ps - 1));
    }
    mprotect(page, ps, PROT_READ | PROT_WRITE);
    if (mode == M_APPEL1) {
        long next = appel_next;
        mprotect(region + next * ps, ps, PROT_NONE);
    }
}

static int timed;

static void report(const char *name, long ops, long want_faults, double total_us)
{
    long seen = faults();
    int ok = seen == want_faults && !handler_bad;
    g_checks++;
    if (!ok) {
        g_failures++;
        printf("FAIL: %s: %ld faults seen, want %ld\n", name, seen, want_faults);
    }
    if (timed)
        printf("%-10s %7ld ops %10.3f us/op\n", name, ops, total_us / ops);
    else
        printf("%-10s %7ld ops %s\n", name, ops, ok ? "ok" : "FAILED");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    long n = 10000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t"))
            timed = 1;
        else if (!strcmp(argv[i], "-x"))
            ext = 0;
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            n = atol(argv[++i]);
    }
    if (n < 100)
        n = 100;
    long rounds = n / 100;
    ps = sysconf(_SC_PAGESIZE);
    region = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(region != MAP_FAILED);
    memset(region, 1, NPAGES * ps); /* all pages present */
    if (ext == 0) {
        ext = syscall(SPIN_EXT_LINK, "spin.vm-workload");
        if (ext < 0) {
            printf("vmbench: -x needs the SPIN UNIX mound (ext_link: %s)\n", errno_name(errno));
            return 2;
        }
        if (vmw(VMW_REGISTER, (long)region, NPAGES, 0) != 0) {
            printf("FAIL: vmbench: registering the pages: %s\n", errno_name(errno));
            return 1;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    volatile char *r = region;
    struct timespec a, b;

    /* Clock overhead, subtracted from Trap (two clock reads per sample). */
    now(&a);
    for (long i = 0; i < 1000; i++) {
        struct timespec x;
        now(&x);
    }
    now(&b);
    double clock_us = usec(&a, &b) / 1000;

    /* Trap */
    mode = M_TRAP;
    reset_faults();
    double trap_total = 0;
    for (long i = 0; i < n; i++) {
        prot(region, 1, PROT_NONE);
        struct timespec t0;
        now(&t0);
        r[0] = 2;
        if (ext >= 0) {
            long ns = vmw(VMW_STAT, 1, 0, 0); /* the extension's entry time */
            t_handler.tv_sec = ns / 1000000000;
            t_handler.tv_nsec = ns % 1000000000;
        }
        /* The interval holds the return half of one clock read (t0) and,
         * the POSIX way, the entry half of the handler's: about one read in
         * all; the SPIN way only the first half. */
        trap_total += usec(&t0, &t_handler) - (ext >= 0 ? clock_us / 2 : clock_us);
    }
    report("Trap", n, n, trap_total);

    /* Fault */
    mode = M_FAULT;
    reset_faults();
    double fault_total = 0;
    for (long i = 0; i < n; i++) {
        prot(region, 1, PROT_NONE);
        now(&a);
        r[0] = 3;
        now(&b);
        fault_total += usec(&a, &b) - clock_us;
    }
    report("Fault", n, n, fault_total);

    /* Prot1: read-only one page, timed in runs of 100 distinct pages (so
     * the clock's own cost is spread over 100 calls); the pages get their
     * access back untimed between runs. */
    reset_faults();
    double prot1 = 0;
    for (long i = 0; i < n; i += 100) {
        long run = n - i < 100 ? n - i : 100;
        now(&a);
        for (long j = 0; j < run; j++)
            prot(region + j * ps, 1, PROT_READ);
        now(&b);
        prot1 += usec(&a, &b) - clock_us;
        prot(region, 100, PROT_READ | PROT_WRITE);
    }
    report("Prot1", n, 0, prot1);

    /* Prot100 / Unprot100 */
    double prot100 = 0, unprot100 = 0;
    for (long i = 0; i < n; i++) {
        now(&a);
        prot(region, 100, PROT_READ);
        now(&b);
        prot100 += usec(&a, &b) - clock_us;
        now(&a);
        prot(region, 100, PROT_READ | PROT_WRITE);
        now(&b);
        unprot100 += usec(&a, &b) - clock_us;
    }
    report("Prot100", n, 0, prot100);
    report("Unprot100", n, 0, unprot100);
    /* Protection really changed: a write after Prot100 faults on page 50. */
    mode = M_FAULT;
    reset_faults();
    prot(region, 100, PROT_READ);
    r[50 * ps] = 4;
    CHECK(faults() == 1 && r[50 * ps] == 4);
    prot(region, 100, PROT_READ | PROT_WRITE);

    /* Appel1: walk the pages; each fault unprotects its page and protects
     * the next one, so every access faults exactly once. */
    mode = M_APPEL1;
    reset_faults();
    long a1_ops = rounds * 100;
    if (ext >= 0)
        vmw(VMW_POLICY, 100, 0, 0); /* each fault protects the next page */
    prot(region, 1, PROT_NONE);
    now(&a);
    for (long k = 0; k < a1_ops; k++) {
        long page = k % 100, next = (k + 1) % 100;
        appel_next = next;
        r[page * ps] = 5;
    }
    now(&b);
    if (ext >= 0)
        vmw(VMW_POLICY, 0, 0, 0);
    prot(region, 100, PROT_READ | PROT_WRITE);
    report("Appel1", a1_ops, a1_ops, usec(&a, &b));

    /* Appel2: protect 100 pages at once, then fault on each. */
    mode = M_APPEL2;
    reset_faults();
    now(&a);
    for (long k = 0; k < rounds; k++) {
        prot(region, 100, PROT_READ);
        for (long page = 0; page < 100; page++)
            r[page * ps] = 6;
    }
    now(&b);
    report("Appel2", rounds * 100, rounds * 100, usec(&a, &b));

    int data_ok = 1;
    for (long page = 0; page < 100; page++)
        data_ok &= r[page * ps] == 6 && r[page * ps + 1] == 1;
    CHECK(data_ok);
    return finish("vmbench");
}
