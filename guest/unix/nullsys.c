/* nullsys: N trivial system calls, for the syscall round-trip benchmark.
 *
 *   nullsys [N] [-t]    N (default 1000000) raw getppid calls — on Alpha
 *                       there is no getppid: the call is getxpid, which
 *                       returns the pid in v0 and the ppid in a4.
 *
 * Prints only a "done" line (and, with -t, ns per call on stderr).
 */
#include "common.h"

#include <sys/syscall.h>
#include <time.h>

#ifdef SYS_getxpid
#define NULL_SYSCALL SYS_getxpid
#define NULL_NAME "getxpid"
#else
#define NULL_SYSCALL SYS_getppid
#define NULL_NAME "getppid"
#endif

int main(int argc, char **argv)
{
    long n = 1000000;
    int timed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t"))
            timed = 1;
        else
            n = atol(argv[i]);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long first = syscall(NULL_SYSCALL), bad = 0;
    for (long i = 0; i < n; i++)
        if (syscall(NULL_SYSCALL) != first)
            bad++;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (timed) {
        double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (n ? n : 1);
        fprintf(stderr, "nullsys: %.1f ns per %s\n", ns, NULL_NAME);
    }
    if (bad) {
        printf("FAIL: nullsys: %ld calls returned a different value\n", bad);
        return 1;
    }
    printf("nullsys: %ld null system calls done\n", n);
    return 0;
}
