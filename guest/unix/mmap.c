/* mmap: the memory-management system calls, self-checking.
 *
 * Sizes are in pages of sysconf(_SC_PAGESIZE) (8 KiB on Alpha, 4 KiB on
 * x86-64); only page counts are printed.  Sections: anonymous private and
 * shared memory, file-backed private and shared mappings (coherence with
 * read/write), offsets, mprotect (faults caught with SIGSEGV + siglongjmp),
 * mremap grow/shrink/move, partial munmap, MAP_FIXED, madvise(DONTNEED),
 * brk via sbrk, and fork: MAP_SHARED is shared, MAP_PRIVATE is copy-on-write.
 *
 * Deliberately not tested (qemu-user and Linux disagree): access beyond the
 * end of a mapped file (SIGBUS on Linux, SIGSEGV under qemu-alpha) and
 * MAP_FIXED_NOREPLACE (ignored by qemu 7.2).
 */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

static long ps;
static char dir[64];

static sigjmp_buf jb;
static volatile sig_atomic_t fault_sig, fault_code;
static void *volatile fault_addr;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(jb, 1);
}

/* 1 if reading (or writing) p faults with SIGSEGV on p's page. */
static int faults(volatile char *p, int write)
{
    fault_sig = 0;
    if (sigsetjmp(jb, 1) == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
        return 0;
    }
    return fault_sig == SIGSEGV &&
           ((uintptr_t)fault_addr & ~(uintptr_t)(ps - 1)) == ((uintptr_t)p & ~(uintptr_t)(ps - 1));
}

static int all_bytes(const char *p, long n, int v)
{
    for (long i = 0; i < n; i++)
        if (p[i] != (char)v)
            return 0;
    return 1;
}

static void anon(void)
{
    long n = 16;
    char *p = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(((uintptr_t)p & (ps - 1)) == 0);
    CHECK(all_bytes(p, n * ps, 0)); /* demand-zero */
    for (long i = 0; i < n * ps; i++)
        p[i] = (char)(i * 7 + i / ps);
    int ok = 1;
    for (long i = 0; i < n * ps; i++)
        ok &= p[i] == (char)(i * 7 + i / ps);
    CHECK(ok);
    CHECK(munmap(p, n * ps) == 0);

    /* A large sparse mapping: only touched pages need memory. */
    long big = 8192;
    char *b = mmap(NULL, big * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(b != MAP_FAILED);
    long sum = 0;
    for (long i = 0; i < big; i += 64) {
        b[i * ps + 1] = (char)(i / 64);
        sum += b[i * ps + 1] + b[i * ps];
    }
    CHECK(munmap(b, big * ps) == 0);
    printf("anon: %ld private pages written and verified; sparse %ld-page map, %ld touched, sum %ld\n",
           n, big, big / 64, sum);

    /* Bad arguments. */
    CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL); /* neither shared nor private */
    CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, 9999, 0), EBADF);
    CHECK_ERR(munmap((char *)p + 1, ps), EINVAL);
    CHECK_ERR(munmap(p, 0), EINVAL);
    CHECK_ERR(mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    section("anon");
}

static void write_all(int fd, const char *buf, long n)
{
    CHECK(write(fd, buf, n) == n);
}

static void file_maps(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    long flen = 3 * ps + 100;
    char *content = malloc(flen);
    for (long i = 0; i < flen; i++)
        content[i] = 'A' + i % 26;
    write_all(fd, content, flen);

    /* Private, read-write: the file contents, zero after EOF in the last
     * page, and writes stay private. */
    char *p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    CHECK(!memcmp(p, content, flen));
    CHECK(all_bytes(p + flen, 4 * ps - flen, 0));
    p[0] = 'x';
    p[ps + 1] = 'y';
    char buf[16];
    CHECK(pread(fd, buf, 2, 0) == 2 && buf[0] == 'A');
    CHECK(pread(fd, buf, 2, ps) == 2 && buf[1] == content[ps + 1]);
    /* A later write() to the file shows through pages not yet copied. */
    CHECK(pwrite(fd, "Q", 1, 2 * ps + 5) == 1);
    CHECK(p[2 * ps + 5] == 'Q');
    CHECK(p[0] == 'x');
    CHECK(munmap(p, 4 * ps) == 0);
    printf("file private: a 3-page + 100-byte file in 4 pages, tail zeroed, writes private\n");

    /* Offsets: page-aligned only. */
    p = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, ps);
    CHECK(p != MAP_FAILED && !memcmp(p, content + ps, ps));
    CHECK(munmap(p, ps) == 0);
    CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, ps / 2), EINVAL);

    /* Shared: stores reach the file (read() sees them at once); write()s
     * reach the mapping. */
    p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    memcpy(p + 10, "through the mapping", 19);
    memset(p + flen - 10, '#', 10);
    CHECK(pread(fd, buf, 7, 10) == 7 && !memcmp(buf, "through", 7));
    CHECK(pwrite(fd, "WRITE", 5, ps + 3) == 5);
    CHECK(!memcmp(p + ps + 3, "WRITE", 5));
    CHECK(msync(p, 4 * ps, MS_SYNC) == 0);
    /* Grow the file; a store in the page that held EOF now lands in the
     * file.  (Not checked: the mapping seeing bytes written past the old EOF
     * in later pages — qemu-alpha backs those 8 KiB guest pages with 4 KiB
     * host pages mapped before the growth and misses it.) */
    CHECK(ftruncate(fd, 4 * ps) == 0);
    CHECK(pwrite(fd, "END", 3, 4 * ps - 3) == 3);
    p[flen] = '+'; /* now inside the file */
    CHECK(munmap(p, 4 * ps) == 0);
    close(fd);
    fd = open(path, O_RDONLY);
    char *all = malloc(4 * ps);
    CHECK(read(fd, all, 4 * ps) == 4 * ps);
    CHECK(!memcmp(all + 10, "through the mapping", 19));
    CHECK(all_bytes(all + flen - 10, 10, '#') && all[flen] == '+');
    CHECK(!memcmp(all + ps + 3, "WRITE", 5));
    CHECK(!memcmp(all + 4 * ps - 3, "END", 3));
    /* A fresh mapping of the grown file sees everything. */
    p = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED && !memcmp(p, all, 4 * ps));
    CHECK(munmap(p, 4 * ps) == 0);
    /* A read-only descriptor cannot back a writable shared mapping. */
    CHECK_ERR(mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
    /* but can back a writable private one */
    p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 1;
    CHECK(munmap(p, ps) == 0);
    close(fd);
    printf("file shared: mapping <-> read()/write() coherent, ftruncate growth visible, persisted\n");
    free(all);
    free(content);
    section("file");
}

static void protect(void)
{
    char *p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 5, 4 * ps);
    CHECK(mprotect(p + ps, 2 * ps, PROT_READ) == 0);
    CHECK(!faults(p, 1));
    CHECK(!faults(p + ps, 0));
    CHECK(faults(p + ps, 1) && fault_code == SEGV_ACCERR);
    CHECK(faults(p + 3 * ps - 1, 1));
    CHECK(!faults(p + 3 * ps, 1));
    CHECK(p[ps] == 5 && p[2 * ps] == 5);
    CHECK(mprotect(p + ps, ps, PROT_NONE) == 0);
    CHECK(faults(p + ps + 8, 0) && fault_code == SEGV_ACCERR);
    CHECK(!faults(p + 2 * ps, 0));
    CHECK(mprotect(p, 4 * ps, PROT_READ | PROT_WRITE) == 0);
    CHECK(!faults(p + ps, 1) && !faults(p + 2 * ps, 1));
    CHECK(p[ps + 8] == 5);
    CHECK_ERR(mprotect(p + 1, ps, PROT_READ), EINVAL);
    CHECK(munmap(p, 4 * ps) == 0);
    CHECK_ERR(mprotect(p, ps, PROT_READ), ENOMEM); /* unmapped */
    printf("mprotect: RW -> R (write faults) -> NONE (read faults) -> RW, data intact\n");
    section("mprotect");
}

/* Reserve `n` pages (PROT_NONE) so later MAP_FIXED placements are known free. */
static char *reserve(long n)
{
    char *r = mmap(NULL, n * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED);
    return r;
}

static void remap_unmap_fixed(void)
{
    /* mremap grow in place: the pages after are free. */
    char *r = reserve(16);
    CHECK(munmap(r + 4 * ps, 12 * ps) == 0);
    char *p = mmap(r, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == r);
    for (long i = 0; i < 4; i++)
        memset(p + i * ps, 'a' + i, ps);
    char *g = mremap(p, 4 * ps, 8 * ps, 0);
    CHECK(g == p);
    CHECK(all_bytes(g + 3 * ps, ps, 'd') && all_bytes(g + 4 * ps, 4 * ps, 0));
    /* Blocked by a mapping after it: fails without MREMAP_MAYMOVE... */
    char *blk = mmap(p + 8 * ps, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(blk == p + 8 * ps);
    CHECK_ERR(mremap(g, 8 * ps, 10 * ps, 0), ENOMEM);
    /* ...and moves with it, contents preserved. */
    char *m = mremap(g, 8 * ps, 10 * ps, MREMAP_MAYMOVE);
    CHECK(m != MAP_FAILED && m != g);
    CHECK(all_bytes(m, ps, 'a') && all_bytes(m + 3 * ps, ps, 'd') && all_bytes(m + 8 * ps, 2 * ps, 0));
    CHECK(faults(g, 0)); /* the old range is gone */
    /* Shrink in place. */
    char *s = mremap(m, 10 * ps, 2 * ps, 0);
    CHECK(s == m && all_bytes(s + ps, ps, 'b'));
    CHECK(faults(m + 2 * ps, 0));
    /* Move to a chosen address. */
    char *dst = reserve(4);
    char *f = mremap(s, 2 * ps, 2 * ps, MREMAP_MAYMOVE | MREMAP_FIXED, dst + ps);
    CHECK(f == dst + ps && all_bytes(f, ps, 'a') && all_bytes(f + ps, ps, 'b'));
    CHECK(faults(s, 0));
    CHECK(faults(dst, 0) && faults(dst + 3 * ps, 0)); /* still PROT_NONE around it */
    CHECK(munmap(dst, 4 * ps) == 0 && munmap(blk, ps) == 0);
    CHECK_ERR(mremap(f, ps, 2 * ps, 0), EFAULT); /* unmapped now */
    printf("mremap: grow in place, ENOMEM when blocked, move, shrink, MREMAP_FIXED\n");
    section("mremap");

    /* Partial munmap: a hole in the middle, then the ends. */
    p = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    for (long i = 0; i < 6; i++)
        memset(p + i * ps, '0' + i, ps);
    CHECK(munmap(p + 2 * ps, 2 * ps) == 0);
    CHECK(all_bytes(p + ps, ps, '1') && all_bytes(p + 4 * ps, ps, '4'));
    CHECK(faults(p + 2 * ps, 0) && fault_code == SEGV_MAPERR);
    CHECK(faults(p + 4 * ps - 1, 1));
    CHECK(munmap(p, ps) == 0);           /* the first page */
    CHECK(munmap(p + 5 * ps, ps) == 0);  /* the last page */
    CHECK(faults(p, 0) && faults(p + 5 * ps, 0));
    CHECK(all_bytes(p + ps, ps, '1') && all_bytes(p + 4 * ps, ps, '4'));
    CHECK(munmap(p, 6 * ps) == 0);       /* across holes: fine */
    CHECK(faults(p + ps, 0) && faults(p + 4 * ps, 0));
    printf("munmap: hole in the middle, first and last pages, range spanning holes\n");
    section("munmap");

    /* MAP_FIXED inside a reservation, and over live data (replaces it). */
    r = reserve(8);
    char *mid = mmap(r + 3 * ps, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(mid == r + 3 * ps);
    memset(mid, 'F', 2 * ps);
    CHECK(faults(r + 2 * ps, 0) && faults(r + 5 * ps, 0));
    char *over = mmap(r + 4 * ps, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(over == r + 4 * ps);
    CHECK(all_bytes(mid, ps, 'F') && all_bytes(over, ps, 0));
    CHECK_ERR(mmap(r + 1, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    /* A hint without MAP_FIXED is only a hint: an occupied address is not reused. */
    char *h = mmap(mid, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h != MAP_FAILED && h != mid);
    CHECK(all_bytes(mid, ps, 'F'));
    munmap(h, ps);
    CHECK(munmap(r, 8 * ps) == 0);
    printf("MAP_FIXED: into a reservation, over live pages (zeroed), hint not honoured when taken\n");

    /* madvise(MADV_DONTNEED) on private anonymous memory: zero again. */
    p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 9, 4 * ps);
    CHECK(madvise(p + ps, 2 * ps, MADV_DONTNEED) == 0);
    CHECK(all_bytes(p, ps, 9) && all_bytes(p + ps, 2 * ps, 0) && all_bytes(p + 3 * ps, ps, 9));
    CHECK(munmap(p, 4 * ps) == 0);
    printf("madvise: DONTNEED zeroes private anonymous pages\n");
    section("fixed/madvise");
}

static void brk_test(void)
{
    char *b0 = sbrk(0);
    CHECK(b0 != (char *)-1);
    /* Start from a page boundary (glibc leaves the break unaligned), so
     * that a shrink releases whole pages. */
    long misalign = (long)((uintptr_t)b0 & (uintptr_t)(ps - 1));
    if (misalign) {
        CHECK(sbrk(ps - misalign) == b0);
        b0 = sbrk(0);
    }
    CHECK(((uintptr_t)b0 & (uintptr_t)(ps - 1)) == 0);
    char *old = sbrk(3 * ps);
    CHECK(old == b0);
    char *b1 = sbrk(0);
    CHECK(b1 == b0 + 3 * ps);
    CHECK(all_bytes(old, 3 * ps, 0));
    memset(old, 'B', 3 * ps);
    /* Shrink by two pages, then grow again: the re-grown bytes are zero
     * (the pages were released). */
    CHECK(sbrk(-(2 * ps)) == b1);
    CHECK(sbrk(0) == b0 + ps);
    CHECK(all_bytes(b0, ps, 'B'));
    CHECK(sbrk(2 * ps) == b0 + ps);
    CHECK(all_bytes(b0, ps, 'B'));
    CHECK(all_bytes(b0 + ps, 2 * ps, 0));
    /* Unaligned breaks work too (the syscall rounds internally). */
    CHECK(sbrk(100) == b0 + 3 * ps);
    b0[3 * ps + 99] = 1;
    CHECK(sbrk(-100 - 3 * ps) == b0 + 3 * ps + 100);
    CHECK(sbrk(0) == b0);
    /* malloc still works after all that (it may use brk or mmap). */
    void *m = malloc(1 << 20);
    CHECK(m != NULL);
    memset(m, 1, 1 << 20);
    free(m);
    printf("brk: grow 3 pages, shrink 2, regrow zeroed, unaligned, back to start\n");
    section("brk");
}

static void fork_semantics(void)
{
    char *sh = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *pv = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED && pv != MAP_FAILED);
    char path[128];
    snprintf(path, sizeof path, "%s/shared", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, ps) == 0);
    char *fs = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *fp = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(fs != MAP_FAILED && fp != MAP_FAILED);
    strcpy(sh, "parent");
    strcpy(pv, "parent");
    strcpy(fs, "parent");
    static char data_seg[64] = "parent"; /* .data is private too */
    int to_child[2], to_parent[2];
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        char c;
        /* The child sees the parent's data as of fork. */
        bad |= strcmp(sh, "parent") || strcmp(pv, "parent") || strcmp(fs, "parent") ||
               strcmp(fp, "parent") || strcmp(data_seg, "parent");
        strcpy(sh, "child");
        strcpy(pv, "child");
        strcpy(fs, "child");
        strcpy(fp, "child");
        strcpy(data_seg, "child");
        if (write(to_parent[1], "1", 1) != 1 || read(to_child[0], &c, 1) != 1)
            _exit(99);
        /* The parent has now written its private copies: invisible here. */
        bad |= (strcmp(pv, "child") || strcmp(data_seg, "child") || strcmp(fp, "child")) << 1;
        bad |= strcmp(sh + ps, "parent again") << 2; /* shared: visible */
        _exit(bad);
    }
    char c;
    CHECK(read(to_parent[0], &c, 1) == 1);
    printf("fork: after the child's stores: MAP_SHARED anon '%s', file '%s'; MAP_PRIVATE anon '%s', "
           "file '%s', .data '%s'\n",
           sh, fs, pv, fp, data_seg);
    CHECK(!strcmp(sh, "child") && !strcmp(fs, "child"));
    CHECK(!strcmp(pv, "parent") && !strcmp(data_seg, "parent"));
    CHECK(!strcmp(fp, "child")); /* private file page not yet copied: sees the shared store */
    strcpy(pv, "parent2");
    strcpy(data_seg, "parent2");
    strcpy(fp, "parent2");
    strcpy(sh + ps, "parent again");
    CHECK(write(to_child[1], "2", 1) == 1);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("fork: child %s (0 = its private copies were untouched by the parent)\n", status_text(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char buf[16] = {0};
    CHECK(pread(fd, buf, 5, 0) == 5 && !strcmp(buf, "child"));

    /* Many COW pages: the child rewrites all, the parent's stay intact. */
    long n = 64;
    char *cow = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < n; i++)
        memset(cow + i * ps, (int)i, ps);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int ok = 1;
        for (long i = 0; i < n; i++) {
            ok &= all_bytes(cow + i * ps, ps, (int)i);
            memset(cow + i * ps, 0xEE, ps);
        }
        _exit(ok ? 0 : 1);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int ok = 1;
    for (long i = 0; i < n; i++)
        ok &= all_bytes(cow + i * ps, ps, (int)i);
    CHECK(ok);
    printf("fork: %ld copy-on-write pages rewritten by the child, parent's intact: %d\n", n, ok);
    munmap(cow, n * ps);
    munmap(sh, 2 * ps);
    munmap(pv, 2 * ps);
    munmap(fs, ps);
    munmap(fp, ps);
    close(fd);
    section("fork");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    ps = sysconf(_SC_PAGESIZE);
    CHECK(ps >= 4096 && (ps & (ps - 1)) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    strcpy(dir, "/tmp/mmap-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("FAIL: mkdtemp: %s\n", errno_name(errno));
        return 1;
    }
    anon();
    file_maps();
    protect();
    remap_unmap_fixed();
    brk_test();
    fork_semantics();
    char path[128];
    snprintf(path, sizeof path, "%s/data", dir);
    CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/shared", dir);
    CHECK(unlink(path) == 0);
    CHECK(rmdir(dir) == 0);
    return finish("mmap");
}
