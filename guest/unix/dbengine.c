/* dbengine: a small storage engine over an mmap'ed database file — the
 * workload of the SPIN database pager mound (spin-dbpager).
 *
 *   dbengine FILE create PAGES          make a database of PAGES 8 KiB pages
 *   dbengine FILE verify                check every page (and the commits)
 *   dbengine FILE hotscan HOT TABLE SCANS LOOKUPS   workload (a): a hot set
 *                                       looked up between full table scans
 *   dbengine FILE zipf KEYS LOOKUPS     workload (b): Zipf-like point lookups
 *                                       through an index (root + leaves)
 *   dbengine FILE orders ITEMS STOCK ORDERS TXNS SCAN   workload (c), TPC-C-like:
 *                                       new-order transactions (Zipf-like item
 *                                       reads, stock updates, order appends) and
 *                                       a stock-level scan every SCAN of them
 *   dbengine FILE txn N                 N committed transactions (msync'ed)
 *   dbengine FILE beyond                touch a page past the end of the file
 *   dbengine FILE errors                misuse every spin.db-pager call (under
 *                                       SPIN only): each is an errno
 *
 * Options before FILE: -p POLICY (clock lru mru 2q hinted opt), -b BUDGET
 * (frames), -H (send hints), -r (record the reference string), -s (print the
 * pager's counters on stderr).  Under SPIN the program links spin.db-pager
 * and attaches its mapping; elsewhere (qemu-alpha, Linux) the link call
 * fails and it runs on the kernel's own paging: stdout must be identical
 * either way and under every policy.
 *
 * The file is MAP_SHARED, read and written only through the mapping (after
 * create), in 8 KiB database pages of 1024 64-bit words.  Every number comes
 * from integer arithmetic (no floating point), so Alpha and x86-64 agree.
 */
#include "common.h"
#include "dbpager.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>


#define DBPAGE 8192UL
#define WORDS (DBPAGE / 8)
/* Word 0 of page 0: the magic; word 1: committed transactions. */
#define MAGIC 0x5350494e44425031ULL /* "SPINDBP1" */

static int hints, record, stats;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    return x;
}

/* The initial contents of word w of page p. */
static uint64_t initial(uint64_t p, uint64_t w)
{
    return mix(p * WORDS + w + 1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return mix(rng_state);
}
static uint64_t below(uint64_t n)
{
    return n ? next() % n : 0;
}

/* A Zipf-like rank in [0, n) with density ~ 1/x (theta = 1): a power-of-two
 * bucket uniformly, then uniformly inside it — integers only. */
static uint64_t zipf(uint64_t n)
{
    unsigned buckets = 0;
    while ((1ULL << buckets) < n)
        buckets++;
    if (buckets == 0)
        return 0;
    unsigned b = (unsigned)below(buckets);
    uint64_t lo = (1ULL << b) - 1, hi = (1ULL << (b + 1)) - 1;
    if (hi > n)
        hi = n;
    return lo + below(hi - lo);
}

static uint64_t *db;
static uint64_t db_pages;
static size_t db_len;

static uint64_t *page(uint64_t p)
{
    return db + p * WORDS;
}

static void hint(uint64_t first, uint64_t pages, int kind)
{
    if (ext >= 0 && hints)
        syscall(ext + DBP_HINT, (long)page(first), (long)(pages * DBPAGE), kind);
}

static void mode(int kind)
{
    if (ext >= 0 && hints)
        syscall(ext + DBP_MODE, kind);
}

static int open_db(const char *path, const char *policy, long budget)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        printf("open %s: %s\n", path, errno_name(errno));
        return -1;
    }
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    db_pages = (uint64_t)st.st_size / DBPAGE;
    db_len = db_pages ? db_pages * DBPAGE : DBPAGE;
    db = mmap(NULL, db_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(db != MAP_FAILED);
    close(fd);
    return dbp_attach("dbengine", db, policy, budget, record);
}

static const char *res(long r)
{
    return r < 0 ? errno_name(errno) : "OK";
}

/* Every misuse of the extension is an errno, never a crash. */
static int errors(void)
{
    if (ext < 0) {
        printf("errors: no SPIN extensions here\n");
        return 2;
    }
    char local[16];
    printf("attach again: %s\n", res(syscall(ext + DBP_ATTACH, (long)db, 8, 1)));
    printf("attach unmapped: %s\n", res(syscall(ext + DBP_ATTACH, 4096L, 8, 1)));
    printf("attach stack: %s\n", res(syscall(ext + DBP_ATTACH, (long)local, 8, 1)));
    printf("hint kind 9: %s\n", res(syscall(ext + DBP_HINT, (long)db, (long)DBPAGE, 9)));
    printf("hint wrapping: %s\n", res(syscall(ext + DBP_HINT, (long)db, -1L, 1)));
    printf("hint past the mapping: %s\n",
           res(syscall(ext + DBP_HINT, (long)db, (long)(db_len + DBPAGE), 1)));
    printf("hint empty: %s\n", res(syscall(ext + DBP_HINT, (long)db, 0L, 1)));
    printf("mode 7: %s\n", res(syscall(ext + DBP_MODE, 7)));
    printf("policy 6: %s\n", res(syscall(ext + DBP_POLICY, 6)));
    printf("policy -1: %s\n", res(syscall(ext + DBP_POLICY, -1L)));
    printf("policy opt without a trace: %s\n", res(syscall(ext + DBP_POLICY, 5)));
    printf("policy lru: %s\n", res(syscall(ext + DBP_POLICY, 1)));
    printf("stat 9: %s\n", res(syscall(ext + DBP_STAT, 9)));
    printf("stat policy: %ld\n", syscall(ext + DBP_STAT, 5));
    printf("record 2: %s\n", res(syscall(ext + DBP_RECORD, 2)));
    printf("record stop unstarted: %s\n", res(syscall(ext + DBP_RECORD, 0)));
    printf("unregistered call: %s\n", res(syscall(ext + 6, 0)));
    return 0;
}

static void close_db(void)
{
    dbp_detach(record, stats);
    CHECK(munmap(db, db_len) == 0);
}

static int create(const char *path, uint64_t pages)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("create %s: %s\n", path, errno_name(errno));
        return 1;
    }
    static uint64_t buf[WORDS];
    for (uint64_t p = 0; p < pages; p++) {
        for (uint64_t w = 0; w < WORDS; w++)
            buf[w] = initial(p, w);
        if (p == 0) {
            buf[0] = MAGIC;
            buf[1] = 0;
        }
        CHECK(write(fd, buf, DBPAGE) == (ssize_t)DBPAGE);
    }
    CHECK(fsync(fd) == 0);
    CHECK(close(fd) == 0);
    printf("created %lu pages\n", (unsigned long)pages);
    return 0;
}

/* Workload (a). Hot pages [1, 1 + hot), table pages after them. */
static int hotscan(uint64_t hot, uint64_t table, uint64_t scans, uint64_t lookups)
{
    if (1 + hot + table > db_pages) {
        printf("hotscan: the database has only %lu pages\n", (unsigned long)db_pages);
        return 1;
    }
    hint(1, hot, KIND_HOT);
    uint64_t total = 0, hotsum = 0;
    for (uint64_t s = 0; s < scans; s++) {
        for (uint64_t i = 0; i < lookups; i++) {
            uint64_t *pg = page(1 + below(hot));
            uint64_t w = 2 + below(WORDS - 2);
            hotsum += pg[w];
            if (below(4) == 0)
                pg[1]++; /* an update: the page is dirty */
        }
        mode(KIND_SCAN);
        uint64_t sum = 0;
        for (uint64_t t = 0; t < table; t++) {
            sum += page(1 + hot + t)[7];
            if (t % 4 == 0)
                hotsum += page(1 + below(hot))[3];
        }
        mode(KIND_NONE);
        printf("scan %lu: %016lx\n", (unsigned long)s, (unsigned long)sum);
        total += sum;
    }
    uint64_t updates = 0;
    for (uint64_t h = 0; h < hot; h++)
        updates += page(1 + h)[1] - initial(1 + h, 1);
    printf("hotscan: total %016lx hot %016lx updates %lu\n", (unsigned long)total,
           (unsigned long)hotsum, (unsigned long)updates);
    return 0;
}

/* Workload (b). Page 1: the root (leaf page numbers); then the leaves
 * (key -> record position, 1024 per page); then the data pages (16
 * records of 64 words: the key, then the value). Built on first use. */
#define RECWORDS 64
#define RECS (WORDS / RECWORDS)
static int zipf_lookups(uint64_t keys, uint64_t lookups)
{
    uint64_t leaves = (keys + WORDS - 1) / WORDS;
    uint64_t data0 = 2 + leaves;
    uint64_t need = data0 + (keys + RECS - 1) / RECS;
    if (leaves > WORDS || need > db_pages) {
        printf("zipf: %lu keys need %lu pages, the database has %lu\n", (unsigned long)keys,
               (unsigned long)need, (unsigned long)db_pages);
        return 1;
    }
    uint64_t *root = page(1);
    if (root[WORDS - 1] != keys) {
        /* Build: records in a scrambled order (odd multiplier modulo a
         * power of two is a bijection; skip positions >= keys). */
        uint64_t n = 1;
        while (n < keys)
            n <<= 1;
        uint64_t pos = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t k = (i * 0x9e3779b97f4a7c15ULL + 12345) & (n - 1);
            if (k >= keys)
                continue;
            uint64_t *rec = page(data0 + pos / RECS) + (pos % RECS) * RECWORDS;
            rec[0] = k;
            rec[1] = mix(k);
            page(2 + k / WORDS)[k % WORDS] = pos;
            pos++;
        }
        for (uint64_t l = 0; l < leaves; l++)
            root[l] = 2 + l;
        root[WORDS - 1] = keys;
        printf("zipf: built %lu keys on %lu pages\n", (unsigned long)keys, (unsigned long)need);
    }
    hint(1, 1 + leaves, KIND_INDEX);
    uint64_t sum = 0, missing = 0;
    for (uint64_t i = 0; i < lookups; i++) {
        uint64_t k = mix(zipf(keys)) % keys;
        uint64_t leaf = root[k / WORDS];
        uint64_t pos = page(leaf)[k % WORDS];
        uint64_t *rec = page(data0 + pos / RECS) + (pos % RECS) * RECWORDS;
        if (rec[0] != k || rec[1] != mix(k))
            missing++;
        sum += rec[1];
        if (i % 10 == 0)
            rec[2]++; /* an update */
    }
    printf("zipf: %lu lookups sum %016lx missing %lu\n", (unsigned long)lookups,
           (unsigned long)sum, (unsigned long)missing);
    return missing != 0;
}

/* Workload (c). Pages: items [1, 1 + I), stock after them, then the order
 * table (a ring of O pages, 8 words per order line). */
static int orders(uint64_t items, uint64_t stock, uint64_t opages, uint64_t txns, uint64_t scan)
{
    uint64_t stock0 = 1 + items, orders0 = stock0 + stock;
    if (items == 0 || stock == 0 || opages == 0 || orders0 + opages > db_pages) {
        printf("orders: the database has only %lu pages\n", (unsigned long)db_pages);
        return 1;
    }
    hint(1, items, KIND_INDEX);
    uint64_t cursor = 0, revenue = 0, lines = 0;
    for (uint64_t t = 0; t < txns; t++) {
        uint64_t n = 5 + below(6);
        for (uint64_t l = 0; l < n; l++) {
            uint64_t it = mix(zipf(items * WORDS)) % (items * WORDS);
            uint64_t st = mix(zipf(stock * WORDS) + 7) % (stock * WORDS);
            revenue += page(1 + it / WORDS)[it % WORDS] & 0xffff;
            page(stock0 + st / WORDS)[st % WORDS] -= 1; /* stock update */
            uint64_t *ol = page(orders0 + (cursor / (WORDS / 8)) % opages) + (cursor % (WORDS / 8)) * 8;
            ol[0] = t + 1;
            ol[1] = it;
            ol[2] = st;
            cursor++;
            lines++;
        }
        if (scan && t % scan == scan - 1) {
            mode(KIND_SCAN);
            uint64_t low = 0;
            for (uint64_t p = 0; p < stock; p++)
                low += (page(stock0 + p)[5] & 0xff) < 16;
            mode(KIND_NONE);
            printf("stock-level %lu: %lu\n", (unsigned long)t, (unsigned long)low);
        }
    }
    uint64_t check = 0;
    for (uint64_t p = 0; p < stock; p++)
        for (uint64_t w = 0; w < WORDS; w += 97)
            check += page(stock0 + p)[w];
    printf("orders: %lu transactions %lu lines revenue %lu stock %016lx\n", (unsigned long)txns,
           (unsigned long)lines, (unsigned long)revenue, (unsigned long)check);
    return 0;
}

/* Transaction i writes i + 1 into slot i (page 2 + i / 1024), makes that
 * durable, then bumps the commit count in page 0 and makes that durable:
 * a commit is acknowledged ("commit i") only when both are on disk. */
static int txn(uint64_t n)
{
    uint64_t *hdr = page(0);
    uint64_t start = hdr[1];
    for (uint64_t i = start; i < start + n; i++) {
        uint64_t p = 2 + i / WORDS;
        if (p >= db_pages) {
            printf("txn: the database is full\n");
            return 1;
        }
        page(p)[i % WORDS] = i + 1;
        CHECK(msync(page(p), DBPAGE, MS_SYNC) == 0);
        hdr[1] = i + 1;
        CHECK(msync(hdr, DBPAGE, MS_SYNC) == 0);
        printf("commit %lu\n", (unsigned long)i);
        fflush(stdout);
    }
    return 0;
}

static int verify(void)
{
    uint64_t *hdr = page(0);
    if (db_pages == 0 || hdr[0] != MAGIC) {
        printf("verify: not a database\n");
        return 1;
    }
    uint64_t commits = hdr[1], bad = 0;
    for (uint64_t i = 0; i < commits; i++) {
        uint64_t p = 2 + i / WORDS;
        if (p >= db_pages || page(p)[i % WORDS] != i + 1)
            bad++;
    }
    printf("verify: %lu commits, %lu lost: %s\n", (unsigned long)commits, (unsigned long)bad,
           bad ? "BAD" : "ok");
    return bad != 0;
}

int main(int argc, char **argv)
{
    const char *policy = "clock";
    long budget = 0;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "-p") && a + 1 < argc)
            policy = argv[++a];
        else if (!strcmp(argv[a], "-b") && a + 1 < argc)
            budget = atol(argv[++a]);
        else if (!strcmp(argv[a], "-H"))
            hints = 1;
        else if (!strcmp(argv[a], "-r"))
            record = 1;
        else if (!strcmp(argv[a], "-s"))
            stats = 1;
        else
            break;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: dbengine [-p POLICY] [-b BUDGET] [-H] [-r] [-s] FILE "
                        "create N | verify | hotscan H T S L | zipf K L | orders I S O T SCAN | txn N | "
                        "beyond | errors\n");
        return 2;
    }
    const char *path = argv[a], *cmd = argv[a + 1];
    char **arg = argv + a + 2;
    int nargs = argc - a - 2;
    if (!strcmp(cmd, "create") && nargs == 1)
        return create(path, strtoull(arg[0], NULL, 10));
    if (open_db(path, policy, budget) < 0)
        return 1;
    int rc = 2;
    if (!strcmp(cmd, "verify") && nargs == 0)
        rc = verify();
    else if (!strcmp(cmd, "hotscan") && nargs == 4)
        rc = hotscan(strtoull(arg[0], NULL, 10), strtoull(arg[1], NULL, 10),
                     strtoull(arg[2], NULL, 10), strtoull(arg[3], NULL, 10));
    else if (!strcmp(cmd, "zipf") && nargs == 2)
        rc = zipf_lookups(strtoull(arg[0], NULL, 10), strtoull(arg[1], NULL, 10));
    else if (!strcmp(cmd, "orders") && nargs == 5)
        rc = orders(strtoull(arg[0], NULL, 10), strtoull(arg[1], NULL, 10),
                    strtoull(arg[2], NULL, 10), strtoull(arg[3], NULL, 10),
                    strtoull(arg[4], NULL, 10));
    else if (!strcmp(cmd, "txn") && nargs == 1)
        rc = txn(strtoull(arg[0], NULL, 10));
    else if (!strcmp(cmd, "errors") && nargs == 0)
        rc = errors();
    else if (!strcmp(cmd, "beyond") && nargs == 0) {
        /* The mapping is one page longer than the file: SIGBUS. */
        uint64_t *p = mmap(NULL, (db_pages + 1) * DBPAGE, PROT_READ, MAP_SHARED,
                           open(path, O_RDONLY), 0);
        CHECK(p != MAP_FAILED);
        printf("touching page %lu of %lu\n", (unsigned long)db_pages, (unsigned long)db_pages);
        fflush(stdout);
        rc = (int)(p[db_pages * WORDS] & 1);
        printf("no SIGBUS\n");
    }
    close_db();
    return rc;
}
