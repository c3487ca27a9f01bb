/* signals: POSIX signal semantics as a static Linux program sees them.
 *
 * Sections: handlers (sigaction with and without SA_SIGINFO, raise, kill,
 * tgkill, SA_RESETHAND, sa_mask), masks (sigprocmask, sigpending, sigsuspend,
 * coalescing of standard signals, queueing of real-time ones, delivery order),
 * timers (alarm, setitimer ITIMER_REAL, pause, EINTR vs SA_RESTART),
 * children (SIGCHLD with siginfo, SIG_IGN auto-reap, default actions, a
 * signal sent to another process), SIGPIPE/EPIPE, faults (SIGSEGV on a
 * PROT_NONE page and an unmapped one, recovered with siglongjmp, or by
 * mprotect in the handler and returning; SIGFPE from integer division by
 * zero), sigaltstack + SA_ONSTACK, nanosleep.
 *
 * Signal numbers differ between Alpha and x86-64: only names are printed.
 */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t hits[80];
static volatile sig_atomic_t order[16];
static volatile sig_atomic_t norder;
static siginfo_t last_info;
static volatile int last_ctx_ok;
static volatile int mask_in_handler_ok;

static void plain_handler(int sig)
{
    hits[sig]++;
    if (norder < 16)
        order[norder++] = sig;
}

static void info_handler(int sig, siginfo_t *si, void *ctx)
{
    hits[sig]++;
    last_info = *si;
    last_ctx_ok = ctx != NULL;
    if (norder < 16)
        order[norder++] = sig;
}

/* Checks, from inside the handler, that the signal and sa_mask are blocked. */
static void mask_handler(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    mask_in_handler_ok = sigismember(&cur, sig) && sigismember(&cur, SIGUSR2) &&
                         !sigismember(&cur, SIGALRM);
    hits[sig]++;
}

static void install(int sig, void (*h)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void install_info(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static const char *si_code_name(int sig, int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_TIMER: return "SI_TIMER";
    }
    if (sig == SIGCHLD)
        switch (code) {
        case CLD_EXITED: return "CLD_EXITED";
        case CLD_KILLED: return "CLD_KILLED";
        case CLD_DUMPED: return "CLD_DUMPED";
        }
    if (sig == SIGSEGV)
        switch (code) {
        case SEGV_MAPERR: return "SEGV_MAPERR";
        case SEGV_ACCERR: return "SEGV_ACCERR";
        }
    if (sig == SIGFPE)
        switch (code) {
        case FPE_INTDIV: return "FPE_INTDIV";
        case FPE_INTOVF: return "FPE_INTOVF";
        case FPE_FLTDIV: return "FPE_FLTDIV";
        }
    static char buf[32];
    snprintf(buf, sizeof buf, "code %d", code);
    return buf;
}

static void handlers(void)
{
    pid_t me = getpid();
    install(SIGUSR1, plain_handler, 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(hits[SIGUSR1] == 1); /* delivered before raise returns */
    CHECK(kill(me, SIGUSR1) == 0);
    CHECK(hits[SIGUSR1] == 2);
    CHECK(kill(me, 0) == 0); /* signal 0: existence check only */
    CHECK(hits[SIGUSR1] == 2);

    install_info(SIGUSR2, 0);
    CHECK(kill(me, SIGUSR2) == 0);
    CHECK(hits[SIGUSR2] == 1 && last_ctx_ok);
    CHECK(last_info.si_signo == SIGUSR2 && last_info.si_pid == me &&
          last_info.si_uid == getuid());
    printf("handlers: kill -> %s %s\n", sig_name(last_info.si_signo),
           si_code_name(SIGUSR2, last_info.si_code));
    CHECK(last_info.si_code == SI_USER);
    CHECK(syscall(SYS_tgkill, me, (pid_t)syscall(SYS_gettid), SIGUSR2) == 0);
    CHECK(hits[SIGUSR2] == 2 && last_info.si_pid == me);
    printf("handlers: tgkill -> %s %s\n", sig_name(last_info.si_signo),
           si_code_name(SIGUSR2, last_info.si_code));
    CHECK(last_info.si_code == SI_TKILL);

    /* sigaction returns the previous action; bad requests fail. */
    struct sigaction old;
    CHECK(sigaction(SIGUSR2, NULL, &old) == 0);
    CHECK((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == info_handler);
    CHECK_ERR(sigaction(SIGKILL, &old, NULL), EINVAL);
    CHECK_ERR(sigaction(SIGSTOP, &old, NULL), EINVAL);
    CHECK_ERR(sigaction(0, &old, NULL), EINVAL);
    CHECK_ERR(sigaction(_NSIG + 1, &old, NULL), EINVAL);
    CHECK_ERR(kill(me, 100000), EINVAL);

    /* SA_RESETHAND: one delivery, then SIG_DFL. */
    install(SIGURG, plain_handler, SA_RESETHAND);
    raise(SIGURG);
    CHECK(hits[SIGURG] == 1);
    CHECK(sigaction(SIGURG, NULL, &old) == 0 && old.sa_handler == SIG_DFL);
    raise(SIGURG); /* default action: ignore */
    CHECK(hits[SIGURG] == 1);

    /* During a handler the signal itself and sa_mask are blocked. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mask_handler;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK(sigaction(SIGWINCH, &sa, NULL) == 0);
    raise(SIGWINCH);
    CHECK(hits[SIGWINCH] == 1 && mask_in_handler_ok);
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(!sigismember(&cur, SIGWINCH) && !sigismember(&cur, SIGUSR2));

    /* SIG_IGN discards. */
    install(SIGUSR1, SIG_IGN, 0);
    raise(SIGUSR1);
    CHECK(hits[SIGUSR1] == 2);
    install(SIGUSR1, plain_handler, 0);
    printf("handlers: raise/kill/tgkill delivered synchronously, SA_RESETHAND, sa_mask\n");
    section("handlers");
}

static void masks(void)
{
    sigset_t block, old, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    CHECK(!sigismember(&old, SIGUSR1));
    int before = hits[SIGUSR1];
    raise(SIGUSR1);
    raise(SIGUSR1); /* standard signals coalesce */
    CHECK(hits[SIGUSR1] == before);
    CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGUSR2));
    sigset_t wait_mask;
    sigprocmask(SIG_BLOCK, NULL, &wait_mask);
    sigdelset(&wait_mask, SIGUSR1);
    CHECK_ERR(sigsuspend(&wait_mask), EINTR);
    CHECK(hits[SIGUSR1] == before + 1);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(sigismember(&now, SIGUSR1)); /* sigsuspend restored the mask */
    CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));
    /* SIGKILL and SIGSTOP cannot be blocked. */
    sigset_t all;
    sigfillset(&all);
    CHECK(sigprocmask(SIG_SETMASK, &all, NULL) == 0);
    sigprocmask(SIG_BLOCK, NULL, &now);
    CHECK(!sigismember(&now, SIGKILL) && !sigismember(&now, SIGSTOP));
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    CHECK_ERR(sigprocmask(12345, &block, NULL), EINVAL);

    /* Delivery order on unblock: lowest number first; real-time signals queue.
     * Handlers block everything so each runs to completion before the next. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    int rt = SIGRTMIN + 3;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    CHECK(sigaction(rt, &sa, NULL) == 0);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, rt);
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    raise(rt);
    raise(SIGUSR2);
    raise(rt);
    raise(SIGUSR1);
    raise(SIGUSR2);
    norder = 0;
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("masks: unblocked delivery order:");
    for (int i = 0; i < norder; i++)
        printf(" %s", sig_name(order[i]));
    printf("\n");
    CHECK(norder == 4 && order[0] == SIGUSR1 && order[1] == SIGUSR2 && order[2] == rt &&
          order[3] == rt);
    install(SIGUSR1, plain_handler, 0);
    section("masks");
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void timers(void)
{
    install(SIGALRM, plain_handler, 0);
    CHECK(alarm(5) == 0);
    CHECK(alarm(0) == 5); /* remaining seconds, rounded */
    double t0 = mono();
    alarm(1);
    CHECK_ERR(pause(), EINTR);
    double dt = mono() - t0;
    CHECK(hits[SIGALRM] == 1 && dt > 0.9); /* never early; no upper bound: slow machines */
    printf("timers: alarm(1) + pause -> SIGALRM\n");

    /* A periodic ITIMER_REAL, waited for with sigsuspend. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct itimerval it = {.it_interval = {0, 20000}, .it_value = {0, 30000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    struct itimerval cur;
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 20000);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec <= 30000 && cur.it_value.tv_usec > 0);
    t0 = mono();
    int h0 = hits[SIGALRM];
    for (int i = 0; i < 3; i++)
        sigsuspend(&old);
    dt = mono() - t0;
    /* Each sigsuspend returns after exactly one handler run (SIGALRM is
     * blocked outside it, and a pending standard signal is only one). */
    CHECK(hits[SIGALRM] == h0 + 3 && dt >= 0.065);
    struct itimerval stop = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &stop, &cur) == 0);
    CHECK(cur.it_interval.tv_usec == 20000);
    sigprocmask(SIG_SETMASK, &old, NULL); /* may deliver one last expiry */
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && cur.it_value.tv_sec == 0 &&
          cur.it_value.tv_usec == 0);
    printf("timers: setitimer 30ms + 20ms interval, 3 expirations via sigsuspend\n");

    /* A blocking read interrupted by a signal: EINTR without SA_RESTART,
     * transparently restarted with it. */
    int p[2];
    CHECK(pipe(p) == 0);
    for (int restart = 0; restart < 2; restart++) {
        install(SIGALRM, plain_handler, restart ? SA_RESTART : 0);
        int h0 = hits[SIGALRM];
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            usleep(restart ? 400000 : 800000);
            _exit(write(p[1], "data", 4) == 4 ? 0 : 1);
        }
        /* The signal must arrive while read() blocks: 100 ms in, long
         * before the child writes. */
        struct itimerval once = {{0, 0}, {0, 100000}};
        setitimer(ITIMER_REAL, &once, NULL);
        char buf[8];
        errno = 0;
        ssize_t n = read(p[0], buf, sizeof buf);
        printf("timers: read with%s SA_RESTART -> %zd %s\n", restart ? "" : "out", n,
               errno_name(n < 0 ? errno : 0));
        CHECK(hits[SIGALRM] == h0 + 1);
        if (restart)
            CHECK(n == 4);
        else
            CHECK(n == -1 && errno == EINTR);
        int st;
        waitpid(pid, &st, 0);
        if (!restart)
            CHECK(read(p[0], buf, sizeof buf) == 4);
    }
    close(p[0]);
    close(p[1]);
    section("timers");
}

static void children(void)
{
    /* SIGCHLD with siginfo from an exiting child. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    install_info(SIGCHLD, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(3);
    while (!hits[SIGCHLD])
        sigsuspend(&old);
    CHECK(last_info.si_signo == SIGCHLD && last_info.si_pid == pid);
    printf("children: SIGCHLD %s status %d\n", si_code_name(SIGCHLD, last_info.si_code),
           last_info.si_status);
    CHECK(last_info.si_code == CLD_EXITED && last_info.si_status == 3);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 3);

    /* A child killed by a signal: SIGCHLD says CLD_KILLED and which signal. */
    hits[SIGCHLD] = 0;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        signal(SIGUSR1, SIG_DFL);
        raise(SIGUSR1); /* default action: terminate */
        _exit(1);
    }
    while (!hits[SIGCHLD])
        sigsuspend(&old);
    printf("children: SIGCHLD %s %s\n", si_code_name(SIGCHLD, last_info.si_code),
           sig_name(last_info.si_status));
    CHECK(last_info.si_code == CLD_KILLED && last_info.si_status == SIGUSR1);
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("children: default SIGUSR1 -> %s\n", status_text(st));
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* A signal to another process: the child waits in sigsuspend. */
    int ready[2];
    CHECK(pipe(ready) == 0);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        install(SIGUSR2, plain_handler, 0);
        int h0 = hits[SIGUSR2];
        if (write(ready[1], "r", 1) != 1)
            _exit(2);
        sigset_t w;
        sigprocmask(SIG_BLOCK, NULL, &w);
        sigdelset(&w, SIGUSR2);
        sigsuspend(&w);
        _exit(hits[SIGUSR2] == h0 + 1 ? 21 : 22);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    CHECK(kill(pid, SIGUSR2) == 0);
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("children: signalled child %s\n", status_text(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 21);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* Ignored SIGTERM survives kill; SIGKILL cannot be ignored. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_IGN);
        if (write(ready[1], "r", 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    CHECK(read(ready[0], &c, 1) == 1);
    CHECK(kill(pid, SIGTERM) == 0);
    usleep(20000);
    CHECK(waitpid(pid, &st, WNOHANG) == 0);
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("children: SIGTERM ignored, then %s\n", status_text(st));
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(ready[0]);
    close(ready[1]);

    /* SIGCHLD set to SIG_IGN: children are reaped automatically. */
    install(SIGCHLD, SIG_IGN, 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        _exit(0);
    CHECK_ERR(waitpid(pid, &st, 0), ECHILD);
    install(SIGCHLD, SIG_DFL, 0);
    section("children");
}

static void sigpipe(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    install(SIGPIPE, plain_handler, 0);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK(hits[SIGPIPE] == 1);
    install(SIGPIPE, SIG_IGN, 0);
    CHECK_ERR(write(p[1], "x", 1), EPIPE);
    CHECK(hits[SIGPIPE] == 1);
    install(SIGPIPE, SIG_DFL, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ssize_t r = write(p[1], "x", 1);
        _exit(r < 0 ? 10 : 11);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("sigpipe: handled, ignored -> EPIPE, default -> %s\n", status_text(st));
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
    close(p[1]);
    section("sigpipe");
}

static sigjmp_buf jb;
static volatile sig_atomic_t fault_sig, fault_code;
static void *volatile fault_addr;
static char *volatile fix_page;
static long pagesz;

static void jump_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(jb, 1);
}

static void fix_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    hits[sig]++;
    mprotect(fix_page, pagesz, PROT_READ | PROT_WRITE);
}

static int same_page(void *a, void *page)
{
    return ((uintptr_t)a & ~(uintptr_t)(pagesz - 1)) == (uintptr_t)page;
}

static void faults(void)
{
    pagesz = sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = jump_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    CHECK(sigaction(SIGFPE, &sa, NULL) == 0);

    char *p = mmap(NULL, 3 * pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    char *none = p + pagesz;
    CHECK(mprotect(none, pagesz, PROT_NONE) == 0);

    int recovered = 0;
    fault_sig = 0;
    if (sigsetjmp(jb, 1) == 0) {
        none[100] = 1;
        printf("FAIL: write to a PROT_NONE page did not fault\n");
    } else {
        recovered++;
        printf("faults: write PROT_NONE -> %s %s, same page %d\n", sig_name(fault_sig),
               si_code_name(fault_sig, fault_code), same_page(fault_addr, none));
        CHECK(fault_sig == SIGSEGV && fault_code == SEGV_ACCERR && same_page(fault_addr, none));
    }
    /* siglongjmp(…, 1) restored the mask: SIGSEGV is not blocked any more. */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    CHECK(!sigismember(&cur, SIGSEGV));

    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = none[pagesz - 1];
        (void)c;
        printf("FAIL: read of a PROT_NONE page did not fault\n");
    } else {
        recovered++;
        CHECK(fault_sig == SIGSEGV && fault_code == SEGV_ACCERR && same_page(fault_addr, none));
    }

    /* Read-only page: reads work, writes fault. */
    CHECK(mprotect(none, pagesz, PROT_READ) == 0);
    CHECK(none[5] == 0);
    if (sigsetjmp(jb, 1) == 0) {
        none[5] = 1;
        printf("FAIL: write to a PROT_READ page did not fault\n");
    } else {
        recovered++;
        CHECK(fault_sig == SIGSEGV && fault_code == SEGV_ACCERR && same_page(fault_addr, none));
    }

    /* Unmapped address: SEGV_MAPERR. */
    CHECK(munmap(p + 2 * pagesz, pagesz) == 0);
    char *gone = p + 2 * pagesz;
    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = gone[17];
        (void)c;
        printf("FAIL: read of an unmapped page did not fault\n");
    } else {
        recovered++;
        printf("faults: read unmapped -> %s %s, same page %d\n", sig_name(fault_sig),
               si_code_name(fault_sig, fault_code), same_page(fault_addr, gone));
        CHECK(fault_sig == SIGSEGV && fault_code == SEGV_MAPERR && same_page(fault_addr, gone));
    }
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile int *)NULL = 1;
        printf("FAIL: write through NULL did not fault\n");
    } else {
        recovered++;
        CHECK(fault_sig == SIGSEGV && fault_code == SEGV_MAPERR && fault_addr == NULL);
    }

    /* Integer division by zero: SIGFPE (x86 #DE; Alpha gentrap from __divq). */
    volatile long num = 1234, den = 0;
    volatile int inum = 77, iden = 0;
    if (sigsetjmp(jb, 1) == 0) {
        num = num / den;
        printf("FAIL: division by zero did not trap\n");
    } else {
        recovered++;
        printf("faults: long / 0 -> %s %s\n", sig_name(fault_sig), si_code_name(fault_sig, fault_code));
        CHECK(fault_sig == SIGFPE && fault_code == FPE_INTDIV);
    }
    if (sigsetjmp(jb, 1) == 0) {
        inum = inum % iden;
        printf("FAIL: remainder by zero did not trap\n");
    } else {
        recovered++;
        CHECK(fault_sig == SIGFPE && fault_code == FPE_INTDIV);
    }
    printf("faults: %d faults recovered with siglongjmp\n", recovered);

    /* Recover by fixing the protection and returning: the access restarts. */
    sa.sa_sigaction = fix_handler;
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    CHECK(mprotect(none, pagesz, PROT_NONE) == 0);
    fix_page = none;
    hits[SIGSEGV] = 0;
    none[42] = 42;
    CHECK(hits[SIGSEGV] == 1 && none[42] == 42);
    volatile char c = none[43];
    CHECK(hits[SIGSEGV] == 1 && c == 0);
    printf("faults: write PROT_NONE, handler mprotects and returns -> store done, %d fault\n",
           (int)hits[SIGSEGV]);
    munmap(p, 2 * pagesz);
    install(SIGSEGV, SIG_DFL, 0);
    install(SIGFPE, SIG_DFL, 0);
    section("faults");
}

static char *alt_base;
static size_t alt_size;
static volatile int on_alt, alt_flag_seen;

static void alt_handler(int sig)
{
    char local;
    stack_t ss;
    hits[sig]++;
    on_alt = &local >= alt_base && &local < alt_base + alt_size;
    if (sigaltstack(NULL, &ss) == 0)
        alt_flag_seen = (ss.ss_flags & SS_ONSTACK) != 0;
}

static void altstack(void)
{
    alt_size = 1 << 16;
    alt_base = malloc(alt_size);
    stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0}, old;
    CHECK(sigaltstack(&ss, &old) == 0);
    CHECK(old.ss_flags & SS_DISABLE);
    install(SIGUSR1, alt_handler, SA_ONSTACK);
    raise(SIGUSR1);
    CHECK(on_alt && alt_flag_seen);
    printf("altstack: SA_ONSTACK handler ran on the alternate stack: %d\n", (int)on_alt);
    install(SIGUSR1, alt_handler, 0);
    raise(SIGUSR1);
    CHECK(!on_alt && !alt_flag_seen);
    printf("altstack: without SA_ONSTACK on the normal stack: %d\n", (int)!on_alt);
    stack_t tiny = {.ss_sp = alt_base, .ss_size = 16, .ss_flags = 0};
    CHECK_ERR(sigaltstack(&tiny, NULL), ENOMEM);
    stack_t dis = {.ss_flags = SS_DISABLE};
    CHECK(sigaltstack(&dis, NULL) == 0);
    CHECK(sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE));
    install(SIGUSR1, plain_handler, 0);
    section("altstack");
}

static void sleeping(void)
{
    double t0 = mono();
    struct timespec req = {0, 30 * 1000 * 1000}, rem;
    CHECK(nanosleep(&req, &rem) == 0);
    double dt = mono() - t0;
    CHECK(dt >= 0.029);
    req.tv_nsec = 20 * 1000 * 1000;
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL) == 0);
    struct timespec bad = {0, 1000000000};
    CHECK_ERR(nanosleep(&bad, NULL), EINVAL);

    /* Interrupted by a signal: EINTR and the remaining time. */
    install(SIGALRM, plain_handler, 0);
    struct itimerval once = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &once, NULL);
    struct timespec longreq = {10, 0};
    memset(&rem, 0, sizeof rem);
    t0 = mono();
    CHECK_ERR(nanosleep(&longreq, &rem), EINTR);
    dt = mono() - t0;
    CHECK(dt >= 0.09 && rem.tv_sec >= 5 && rem.tv_sec <= 10);
    printf("nanosleep: 30ms, clock_nanosleep 20ms, EINVAL, interrupted -> EINTR with remainder\n");
    section("nanosleep");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    handlers();
    masks();
    timers();
    children();
    sigpipe();
    faults();
    altstack();
    sleeping();
    return finish("signals");
}
