/* segv: dies of an uncaught SIGSEGV (exit status 139 under a shell or
 * `spin exec`).  Prints one line first, flushed, so the test can see it ran.
 *
 *   segv            write through a NULL pointer
 *   segv wild       read from an unmapped address far from everything
 *   segv rodata     write into a string literal (.rodata is read-only)
 *   segv exec       jump to a non-executable (data) page
 *
 * Core dumps are disabled first (RLIMIT_CORE = 0): qemu-user would otherwise
 * write a core file and print a message of its own.
 */
#include "common.h"

#include <sys/resource.h>

static char data_page[64] __attribute__((aligned(64)));

int main(int argc, char **argv)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    const char *mode = argc > 1 ? argv[1] : "null";
    printf("segv: %s: about to fault\n", mode);
    fflush(stdout);
    if (!strcmp(mode, "wild")) {
        volatile long *p = (volatile long *)0x3f0000000000UL;
        printf("read %ld\n", *p);
    } else if (!strcmp(mode, "rodata")) {
        char *s = (char *)"read-only string";
        ((volatile char *)s)[0] = 'R';
    } else if (!strcmp(mode, "exec")) {
        memset(data_page, 0, sizeof data_page);
        void (*f)(void) = (void (*)(void))(void *)data_page;
        f();
    } else {
        *(volatile int *)NULL = 42;
    }
    printf("FAIL: segv: still alive after the %s fault\n", mode);
    return 1;
}
