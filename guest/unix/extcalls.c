/* extcalls: the SPIN UNIX mound's extension system calls, bad input first.
 *
 * Links the spin.vm-workload extension and checks that every misuse is an
 * errno (never a crash), then that a registered page faults into the
 * extension and comes back.  Only meaningful under spin (elsewhere the
 * link call is ENOSYS and the program says so and exits 2).
 */
#include "common.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define SPIN_EXT_LINK 0x53500000L
enum { VMW_REGISTER, VMW_PROTECT, VMW_UNPROTECT, VMW_POLICY, VMW_STAT };

static const char *res(long r)
{
    return r < 0 ? errno_name(errno) : "OK";
}

int main(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    printf("link(NULL): %s\n", res(syscall(SPIN_EXT_LINK, NULL)));
    printf("link(\"nope\"): %s\n", res(syscall(SPIN_EXT_LINK, "nope")));
    printf("unregistered call: %s\n", res(syscall(SPIN_EXT_LINK + 200, 1, 2, 3)));
    long ext = syscall(SPIN_EXT_LINK, "spin.vm-workload");
    if (ext < 0) {
        printf("extcalls: no SPIN extensions here (%s)\n", errno_name(errno));
        return 2;
    }
    CHECK(syscall(SPIN_EXT_LINK, "spin.vm-workload") == ext); /* idempotent */
    char *a = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    printf("protect before register: %s\n", res(syscall(ext + VMW_PROTECT, a, 1, PROT_NONE)));
    printf("register unaligned: %s\n", res(syscall(ext + VMW_REGISTER, a + 1, 1)));
    printf("register 0 pages: %s\n", res(syscall(ext + VMW_REGISTER, a, 0)));
    printf("register absurd size: %s\n", res(syscall(ext + VMW_REGISTER, a, -1L)));
    printf("register wrapping: %s\n", res(syscall(ext + VMW_REGISTER, -ps, 4)));
    printf("register not resident: %s\n", res(syscall(ext + VMW_REGISTER, a, 8)));
    memset(a, 7, 4 * ps);
    printf("register 4 resident: %s\n", res(syscall(ext + VMW_REGISTER, a, 4)));
    printf("register overlapping: %s\n", res(syscall(ext + VMW_REGISTER, a + ps, 2)));
    printf("protect past the end: %s\n", res(syscall(ext + VMW_PROTECT, a + 3 * ps, 2, PROT_NONE)));
    printf("protect with write: %s\n", res(syscall(ext + VMW_PROTECT, a, 1, PROT_READ | PROT_WRITE)));
    printf("policy ring too big: %s\n", res(syscall(ext + VMW_POLICY, 5)));
    printf("stat 9: %s\n", res(syscall(ext + VMW_STAT, 9)));
    /* A fault the extension handles: no signal, the store lands. */
    long before = syscall(ext + VMW_STAT, 0);
    CHECK(syscall(ext + VMW_PROTECT, a, 4, PROT_READ) == 0);
    CHECK(a[ps] == 7); /* reads still work */
    a[ps] = 9;
    CHECK(a[ps] == 9 && syscall(ext + VMW_STAT, 0) == before + 1);
    /* Ring policy: a fault on page 0 also protects page 1. */
    CHECK(syscall(ext + VMW_UNPROTECT, a, 4) == 0);
    CHECK(syscall(ext + VMW_POLICY, 2) == 0);
    CHECK(syscall(ext + VMW_PROTECT, a, 1, PROT_NONE) == 0);
    a[0] = 1;   /* faults; the extension protects page 1 */
    a[ps] = 2;  /* faults; the extension protects page 0 */
    CHECK(syscall(ext + VMW_POLICY, 0) == 0);
    CHECK(syscall(ext + VMW_STAT, 0) == before + 3);
    CHECK(syscall(ext + VMW_UNPROTECT, a, 4) == 0);
    CHECK(a[0] == 1 && a[ps] == 2 && syscall(ext + VMW_STAT, 0) == before + 3);
    /* After fork the extension lets go: the child's copy is its own. */
    CHECK(syscall(ext + VMW_PROTECT, a + 2 * ps, 1, PROT_READ) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        a[2 * ps] = 42; /* copy-on-write in the child */
        _exit(a[2 * ps] == 42 ? 0 : 1);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(a[2 * ps] == 7);
    printf("protect after fork: %s\n", res(syscall(ext + VMW_PROTECT, a, 1, PROT_NONE)));
    return finish("extcalls");
}
