/* Shared helpers for the UNIX-mound guest programs.
 *
 * Every program is self-checking: CHECK() prints a "FAIL: ..." line on stdout
 * and counts the failure; finish() prints the verdict and returns the exit
 * status (0 = all checks passed, 1 = something failed).  Output must never
 * contain anything that differs between runs or between qemu-alpha, a real
 * Linux kernel and the SPIN UNIX mound: no pids, addresses, times, inode
 * numbers, page sizes, errno or signal *numbers* (names only — the numbers
 * differ between Alpha and x86-64).
 */
#ifndef GUEST_COMMON_H
#define GUEST_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static __attribute__((unused)) int g_failures;
static __attribute__((unused)) int g_checks;

static __attribute__((unused)) const char *errno_name(int e)
{
    switch (e) {
    case 0: return "OK";
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY)
    E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE)
    E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK)
    E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS)
    E(ENOTEMPTY) E(ELOOP) E(EOVERFLOW) E(ETIMEDOUT) E(ENOTSOCK)
    E(EOPNOTSUPP) E(ECONNREFUSED) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENOTCONN)
    E(EISCONN) E(EINPROGRESS) E(EALREADY) E(EAFNOSUPPORT) E(EPROTONOSUPPORT)
    E(EDESTADDRREQ) E(ECONNRESET) E(EMSGSIZE) E(ENOPROTOOPT) E(ENETUNREACH)
    E(EHOSTUNREACH) E(ECONNABORTED) E(EPROTOTYPE)
#undef E
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E?%d", e);
        return buf;
    }
    }
}

static __attribute__((unused)) const char *sig_name(int s)
{
    switch (s) {
    case 0: return "0";
#define S(x) case x: return #x;
    S(SIGHUP) S(SIGINT) S(SIGQUIT) S(SIGILL) S(SIGTRAP) S(SIGABRT) S(SIGBUS)
    S(SIGFPE) S(SIGKILL) S(SIGUSR1) S(SIGSEGV) S(SIGUSR2) S(SIGPIPE) S(SIGALRM)
    S(SIGTERM) S(SIGCHLD) S(SIGCONT) S(SIGSTOP) S(SIGTSTP) S(SIGTTIN)
    S(SIGTTOU) S(SIGURG) S(SIGXCPU) S(SIGXFSZ) S(SIGVTALRM) S(SIGPROF)
    S(SIGWINCH) S(SIGIO) S(SIGSYS)
#undef S
    default: {
        static char buf[32];
        if (s >= SIGRTMIN && s <= SIGRTMAX)
            snprintf(buf, sizeof buf, "SIGRTMIN+%d", s - SIGRTMIN);
        else
            snprintf(buf, sizeof buf, "SIG?%d", s);
        return buf;
    }
    }
}

/* A wait status as architecture-neutral text. */
static __attribute__((unused)) const char *status_text(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by %s", sig_name(WTERMSIG(st)));
    else if (WIFSTOPPED(st))
        snprintf(buf, sizeof buf, "stopped by %s", sig_name(WSTOPSIG(st)));
    else
        snprintf(buf, sizeof buf, "status ?");
    return buf;
}

static __attribute__((unused)) void fail_at(const char *file, int line, const char *what, int err)
{
    g_failures++;
    printf("FAIL: %s:%d: %s (errno %s)\n", file, line, what, errno_name(err));
    fflush(stdout);
}

#define CHECK(cond)                                                        \
    do {                                                                   \
        int e_ = errno;                                                    \
        g_checks++;                                                        \
        if (!(cond))                                                       \
            fail_at(__FILE__, __LINE__, #cond, e_);                        \
        errno = e_;                                                        \
    } while (0)

/* Check that `expr` (a system call returning -1 on failure) fails with `err`. */
#define CHECK_ERR(expr, err)                                               \
    do {                                                                   \
        errno = 0;                                                         \
        long r_ = (long)(expr);                                            \
        int e_ = errno;                                                    \
        g_checks++;                                                        \
        if (r_ != -1 || e_ != (err)) {                                     \
            g_failures++;                                                  \
            printf("FAIL: %s:%d: %s: want -1/%s, got %ld/%s\n", __FILE__,  \
                   __LINE__, #expr, errno_name(err), r_, errno_name(e_));  \
            fflush(stdout);                                                \
        }                                                                  \
    } while (0)

/* Print a section verdict.  `ok` lines are what the output diff compares. */
static __attribute__((unused)) void section(const char *name)
{
    static int last_failures;
    printf("%s: %s\n", name, g_failures == last_failures ? "ok" : "FAILED");
    fflush(stdout);
    last_failures = g_failures;
}

static __attribute__((unused)) int finish(const char *prog)
{
    if (g_failures) {
        printf("FAIL: %s: %d of %d checks failed\n", prog, g_failures, g_checks);
        fflush(stdout);
        return 1;
    }
    printf("%s: all %d checks passed\n", prog, g_checks);
    fflush(stdout);
    return 0;
}

/* write(2) until all of buf is written (short writes to sockets and pipes
 * continue, EINTR retries); 0, or -1 with errno set. */
static __attribute__((unused)) int write_full(int fd, const char *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

/* execve(), but when the kernel cannot run the image itself (ENOEXEC: the
 * binary is for another architecture, as under qemu-user without
 * binfmt_misc) and GUEST_EXEC_WRAPPER names an emulator, run it under that
 * emulator with argv[0] preserved (qemu's -0 option).  The SPIN mound runs
 * Alpha images itself, so there the wrapper is never used. */
static __attribute__((unused)) int exec_image(const char *path, char *const argv[], char *const envp[])
{
    execve(path, argv, envp);
    if (errno != ENOEXEC)
        return -1;
    const char *wrap = getenv("GUEST_EXEC_WRAPPER");
    if (!wrap || !*wrap) {
        for (char *const *e = envp; e && *e; e++)
            if (!strncmp(*e, "GUEST_EXEC_WRAPPER=", 19))
                wrap = *e + 19;
        if (!wrap || !*wrap) {
            errno = ENOEXEC;
            return -1;
        }
    }
    int n = 0;
    while (argv[n])
        n++;
    char **nargv = calloc(n + 5, sizeof *nargv);
    if (!nargv)
        return -1;
    nargv[0] = (char *)wrap;
    nargv[1] = "-0";
    nargv[2] = argv[0] ? argv[0] : (char *)path;
    nargv[3] = (char *)path;
    for (int i = 1; i < n; i++)
        nargv[3 + i] = argv[i];
    nargv[3 + (n ? n : 1)] = NULL;
    /* The emulator resolves the image path on the host: /proc/self/exe
     * there would be the emulator itself, so pass the guest's own path. */
    char self[4096];
    if (!strncmp(path, "/proc/self/", 11)) {
        ssize_t len = readlink(path, self, sizeof self - 1);
        if (len > 0) {
            self[len] = 0;
            nargv[3] = self;
        }
    }
    execve(wrap, nargv, envp);
    free(nargv);
    return -1;
}

#endif
