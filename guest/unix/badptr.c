/* badptr: system calls given bad pointers, bad descriptors and absurd sizes
 * must fail with the errno Linux gives (EFAULT, EBADF, EINVAL, ENOMEM, ...)
 * and never crash or hang the process.  Raw syscall() is used wherever glibc
 * would otherwise touch the bad pointer itself.  Prints one line per call:
 *
 *   call -> ERRNO_NAME
 *
 * Only cases where qemu-alpha and Linux on x86-64 agree are included; left
 * out because qemu-alpha 7.2 deviates from Linux: nanosleep(NULL) (qemu says
 * EINVAL, Linux EFAULT) and mremap to size 0 (qemu ENOMEM, Linux EINVAL).
 */
#include "common.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <time.h>

#ifdef SYS_newfstatat
#define SYS_FSTATAT SYS_newfstatat
#else
#define SYS_FSTATAT SYS_fstatat64
#endif

/* Size of the kernel's sigset_t: 8 on both architectures. */
#define KSIGSET 8

/* Addresses that are never mapped: low memory, and far above everything
 * (but still below the top of user space on both architectures). */
#define BADP ((void *)16)
#define WILD ((void *)0x3f0000000000UL)

#define EXPECT(expr, err)                                                   \
    do {                                                                    \
        errno = 0;                                                          \
        long r_ = (long)(expr);                                             \
        int e_ = r_ == -1 ? errno : 0;                                      \
        g_checks++;                                                         \
        printf("%-58s -> %s\n", #expr, r_ == -1 ? errno_name(e_) : "success"); \
        if (r_ != -1 || e_ != (err)) {                                      \
            g_failures++;                                                   \
            printf("FAIL: %s:%d: want %s\n", __FILE__, __LINE__, errno_name(err)); \
        }                                                                   \
    } while (0)

static void bad_pointers(int file, int pr, int pw)
{
    char buf[64];
    printf("-- bad pointers\n");
    EXPECT(syscall(SYS_read, file, NULL, 10), EFAULT);
    EXPECT(syscall(SYS_read, file, WILD, 10), EFAULT);
    CHECK(write(pw, "data", 4) == 4);
    EXPECT(syscall(SYS_read, pr, BADP, 4), EFAULT);
    CHECK(read(pr, buf, 4) == 4); /* the data is still there */
    EXPECT(syscall(SYS_write, pw, NULL, 10), EFAULT);
    EXPECT(syscall(SYS_write, pw, WILD, 10), EFAULT);
    EXPECT(syscall(SYS_pread64, file, BADP, 10, 0), EFAULT);
    EXPECT(syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY), EFAULT);
    EXPECT(syscall(SYS_openat, AT_FDCWD, WILD, O_RDONLY), EFAULT);
    EXPECT(syscall(SYS_FSTATAT, AT_FDCWD, "/", NULL, 0), EFAULT);
    EXPECT(syscall(SYS_FSTATAT, AT_FDCWD, BADP, buf, 0), EFAULT);
    EXPECT(syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", NULL, 100), EFAULT);
    EXPECT(syscall(SYS_getcwd, NULL, 100), EFAULT);
    EXPECT(syscall(SYS_pipe2, NULL, 0), EFAULT);
    EXPECT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, NULL), EFAULT);
    EXPECT(syscall(SYS_uname, NULL), EFAULT);
    EXPECT(syscall(SYS_rt_sigprocmask, SIG_BLOCK, BADP, NULL, KSIGSET), EFAULT);
    EXPECT(syscall(SYS_rt_sigaction, SIGUSR1, BADP, NULL, KSIGSET, 0), EFAULT);
    EXPECT(syscall(SYS_sigaltstack, BADP, NULL), EFAULT);
    EXPECT(syscall(SYS_poll, NULL, 1, 0), EFAULT);
    EXPECT(syscall(SYS_writev, pw, BADP, 1), EFAULT);
    struct iovec iov = {.iov_base = WILD, .iov_len = 8};
    EXPECT(syscall(SYS_writev, pw, &iov, 1), EFAULT);
    EXPECT(syscall(SYS_getrandom, NULL, 16, 0), EFAULT);
    EXPECT(syscall(SYS_execve, NULL, NULL, NULL), EFAULT);
    EXPECT(syscall(SYS_execve, "/proc/self/exe", BADP, NULL), EFAULT);
    EXPECT(syscall(SYS_setitimer, ITIMER_REAL, BADP, NULL), EFAULT);
    EXPECT(syscall(SYS_wait4, -1, NULL, WNOHANG, BADP), ECHILD);
    EXPECT(syscall(SYS_sendfile, pw, file, BADP, 4), EFAULT);
    EXPECT(syscall(SYS_mkdirat, AT_FDCWD, BADP, 0755), EFAULT);
    EXPECT(syscall(SYS_unlinkat, AT_FDCWD, WILD, 0), EFAULT);
    EXPECT(syscall(SYS_chdir, NULL), EFAULT);
    struct timespec ts;
    CHECK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0);
}

static void bad_fds(int file, int pr, int pw)
{
    char buf[64];
    printf("-- bad descriptors\n");
    int closed = dup(file);
    close(closed);
    EXPECT(read(-1, buf, 1), EBADF);
    EXPECT(read(closed, buf, 1), EBADF);
    EXPECT(read(100000, buf, 1), EBADF);
    EXPECT(write(closed, "x", 1), EBADF);
    EXPECT(write(file, "x", 1), EBADF);   /* opened read-only */
    EXPECT(read(pw, buf, 1), EBADF);      /* the write end of a pipe */
    EXPECT(write(pr, "x", 1), EBADF);     /* the read end */
    EXPECT(close(-1), EBADF);
    EXPECT(close(closed), EBADF);
    EXPECT(syscall(SYS_FSTATAT, closed, "", buf, AT_EMPTY_PATH), EBADF);
    EXPECT(lseek(closed, 0, SEEK_SET), EBADF);
    EXPECT(dup(closed), EBADF);
    EXPECT(dup2(closed, 40), EBADF);
    EXPECT(fcntl(closed, F_GETFD), EBADF);
    EXPECT(syscall(SYS_getdents64, closed, buf, sizeof buf), EBADF);
    EXPECT(syscall(SYS_getdents64, file, buf, sizeof buf), ENOTDIR);
    EXPECT(mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, closed, 0), EBADF);
    EXPECT(ftruncate(closed, 0), EBADF);
    EXPECT(fsync(closed), EBADF);
    EXPECT(syscall(SYS_openat, closed, "relative", O_RDONLY), EBADF);
    EXPECT(lseek(pr, 0, SEEK_SET), ESPIPE);
    EXPECT(pread(pr, buf, 1, 0), ESPIPE);
    EXPECT(ioctl(file, TCGETS, buf), ENOTTY);
    EXPECT(fcntl(file, 123456), EINVAL);
}

static void bad_sizes(int file, int pr, int pw)
{
    char buf[64];
    long ps = sysconf(_SC_PAGESIZE);
    printf("-- absurd sizes and values\n");
    EXPECT(syscall(SYS_read, file, buf, SIZE_MAX), EFAULT);
    EXPECT(syscall(SYS_write, pw, buf, SIZE_MAX), EFAULT);
    EXPECT(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    EXPECT(mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    EXPECT(mmap(NULL, SIZE_MAX - 10, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    EXPECT(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, file, 1), EINVAL);
    char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    EXPECT(munmap(p + 1, ps), EINVAL);
    EXPECT(mprotect(p + 1, ps, PROT_READ), EINVAL);
    EXPECT(mremap(p + 1, ps, 2 * ps, MREMAP_MAYMOVE), EINVAL);
    CHECK(munmap(p, 2 * ps) == 0);
    EXPECT(mremap(p, ps, 2 * ps, MREMAP_MAYMOVE), EFAULT);
    /* An impossible brk: generic Linux returns the old break; Alpha's
     * (osf_brk) returns -ENOMEM instead.  Either way it is refused. */
    long cur = syscall(SYS_brk, 0);
    errno = 0;
    long r = syscall(SYS_brk, (long)1 << 62);
#ifdef __alpha__
    int refused = r == -1 && errno == ENOMEM;
#else
    int refused = r == cur;
#endif
    printf("%-58s -> %s\n", "syscall(SYS_brk, 1 << 62)", refused ? "refused" : "MOVED");
    CHECK(refused);
    CHECK(syscall(SYS_brk, 0) == cur);
    EXPECT(syscall(SYS_getcwd, buf, 1), ERANGE);
    EXPECT(syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, 0), EINVAL);
    struct timespec bad_ns = {0, 1000000000}, neg = {-1, 0};
    EXPECT(nanosleep(&bad_ns, NULL), EINVAL);
    EXPECT(nanosleep(&neg, NULL), EINVAL);
    struct timespec ts;
    EXPECT(syscall(SYS_clock_gettime, 12345, &ts), EINVAL);
    EXPECT(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, NULL, 4), EINVAL);
    EXPECT(syscall(SYS_rt_sigprocmask, 99, &ts, NULL, KSIGSET), EINVAL);
    EXPECT(syscall(SYS_rt_sigaction, 0, NULL, NULL, KSIGSET, 0), EINVAL);
    EXPECT(syscall(SYS_rt_sigaction, 65, NULL, NULL, KSIGSET, 0), EINVAL);
    EXPECT(syscall(SYS_rt_sigaction, SIGKILL, &ts, NULL, KSIGSET, 0), EINVAL);
    EXPECT(kill(getpid(), 1000), EINVAL);
    EXPECT(kill(0x7ffffff0, 0), ESRCH);
    struct iovec iov[2] = {{buf, 1}, {buf, 1}};
    EXPECT(syscall(SYS_writev, pw, iov, -1), EINVAL);
    EXPECT(syscall(SYS_writev, pw, iov, 100000), EINVAL);
    EXPECT(lseek(file, -1, SEEK_SET), EINVAL);
    EXPECT(lseek(file, 0, 77), EINVAL);
    EXPECT(pipe2((int *)buf, 0x7fff0000), EINVAL);
    EXPECT(dup3(pr, pr, 0), EINVAL);
    struct pollfd pf = {pr, POLLIN, 0};
    EXPECT(syscall(SYS_poll, &pf, 0x7fffffff, 0), EINVAL); /* > RLIMIT_NOFILE */
    EXPECT(syscall(SYS_getrandom, buf, 16, 0x7fff0000), EINVAL);
    struct itimerval it = {{0, 0}, {0, 0}};
    EXPECT(setitimer(99, &it, NULL), EINVAL);
    struct rlimit rl;
    EXPECT(getrlimit(1000, &rl), EINVAL);
    char longname[5000];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    EXPECT(open(longname, O_RDONLY), ENAMETOOLONG);
    EXPECT(syscall(SYS_openat, AT_FDCWD, "", O_RDONLY), ENOENT);
    EXPECT(syscall(9999), ENOSYS);
    EXPECT(syscall(SYS_FSTATAT, AT_FDCWD, "/nonexistent/x", buf, 0), ENOENT);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    char path[] = "/tmp/badptr-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0);
    CHECK(write(file, "0123456789", 10) == 10);
    close(file);
    file = open(path, O_RDONLY);
    CHECK(file >= 0);
    CHECK(unlink(path) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    signal(SIGPIPE, SIG_IGN);

    bad_pointers(file, p[0], p[1]);
    bad_fds(file, p[0], p[1]);
    bad_sizes(file, p[0], p[1]);

    /* The process is intact: the same descriptors still work. */
    char buf[16] = {0};
    CHECK(pread(file, buf, 10, 0) == 10 && !strcmp(buf, "0123456789"));
    CHECK(write(p[1], "ok", 2) == 2 && read(p[0], buf, 2) == 2);
    return finish("badptr");
}
