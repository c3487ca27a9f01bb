/* dbpager.h: the spin.db-pager extension as a guest program sees it --
 * its calls (personalities/dbpager/src/extension.rs), and attaching a
 * mapped database file with a policy and detaching it with the pager's
 * counters.  Shared by dbengine.c and sqlpager.c; include after common.h.
 * Not under SPIN (qemu-alpha, Linux), linking fails and the program runs on
 * the kernel's own paging with the same output. */
#ifndef DBPAGER_H
#define DBPAGER_H

#include <sys/syscall.h>

#define SPIN_EXT_LINK 0x53500000L
enum { DBP_ATTACH, DBP_HINT, DBP_MODE, DBP_POLICY, DBP_STAT, DBP_RECORD };
enum { KIND_SCAN, KIND_NORMAL, KIND_INDEX, KIND_HOT, KIND_NONE };

/* The policies by code (PolicyKind::code). */
static const char *policies[] = {"clock", "lru", "mru", "2q", "hinted", "opt"};
/* The extension's first call number; -1 when not under SPIN. */
static long ext = -1;

/* Links the extension and attaches the file mapped shared at `addr` to a
 * pager of `budget` frames (0: the default) run by `policy`, recording its
 * reference string with `record`.  0 on success or without SPIN; -1 (said
 * on stderr, after `prog`) for an unknown policy or a refused attach. */
static int dbp_attach(const char *prog, void *addr, const char *policy, long budget, int record)
{
    ext = syscall(SPIN_EXT_LINK, "spin.db-pager");
    if (ext < 0)
        return 0;
    long code = -1;
    for (long i = 0; i < 6; i++)
        if (!strcmp(policy, policies[i]))
            code = i;
    if (code < 0) {
        fprintf(stderr, "%s: unknown policy %s\n", prog, policy);
        return -1;
    }
    if (syscall(ext + DBP_ATTACH, (long)addr, budget, code) < 0) {
        fprintf(stderr, "%s: attach (%s, budget %ld): %s\n", prog, policy, budget,
                errno_name(errno));
        return -1;
    }
    if (record)
        CHECK(syscall(ext + DBP_RECORD, 1) == 0);
    return 0;
}

/* Stops the recording (`record`) and prints the pager's counters on stderr
 * (`stats`). */
static void dbp_detach(int record, int stats)
{
    if (ext >= 0 && record)
        CHECK(syscall(ext + DBP_RECORD, 0) == 0);
    if (ext >= 0 && stats)
        fprintf(stderr, "pager %s: faults %ld hits %ld evictions %ld writebacks %ld resident %ld\n",
                policies[syscall(ext + DBP_STAT, 5)], syscall(ext + DBP_STAT, 0),
                syscall(ext + DBP_STAT, 1), syscall(ext + DBP_STAT, 2),
                syscall(ext + DBP_STAT, 3), syscall(ext + DBP_STAT, 4));
}

#endif
