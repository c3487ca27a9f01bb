/* divzero: dies of an uncaught SIGFPE from integer division by zero (exit
 * status 136).  On x86-64 the divide instruction traps; on Alpha there is no
 * divide instruction and glibc's __divq/__reml millicode raises
 * gentrap(GEN_INTDIV).
 *
 *   divzero         long division
 *   divzero int     int remainder
 *   divzero ok      divide by a non-zero value, print the result, exit 0
 */
#include "common.h"

#include <sys/resource.h>

int main(int argc, char **argv)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    const char *mode = argc > 1 ? argv[1] : "long";
    volatile long a = 1000, b = 0;
    volatile int ia = 77, ib = 0;
    if (!strcmp(mode, "ok")) {
        b = 7;
        printf("divzero: 1000 / 7 = %ld, 1000 %% 7 = %ld\n", a / b, a % b);
        return 0;
    }
    printf("divzero: %s: about to divide by zero\n", mode);
    fflush(stdout);
    if (!strcmp(mode, "int"))
        ia = ia % ib;
    else
        a = a / b;
    printf("FAIL: divzero: still alive (%ld %d)\n", (long)a, (int)ia);
    return 1;
}
