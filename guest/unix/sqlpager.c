/* sqlpager: SQLite (the libsqlite3-sys crate's bundled sqlite3.c) with its
 * database file memory-mapped (`PRAGMA mmap_size`) through the SPIN database
 * pager mound's own pager (spin-dbpager).
 *
 *   sqlpager FILE create HOT BIG ITEMS ACCTS   build the tables (rows each)
 *   sqlpager FILE hotscan SCANS LOOKUPS [ROWS]   workload (a): point reads
 *                                       and updates of a hot table between full
 *                                       scans of a big one (interleaved with
 *                                       hot reads while the scan runs); ROWS
 *                                       limits each scan (0: hot reads only)
 *   sqlpager FILE zipf LOOKUPS          workload (b): Zipf-like point lookups
 *                                       through an index
 *   sqlpager FILE mixed TXNS SCAN       workload (c): transfer transactions
 *                                       (four Zipf item lookups, read two
 *                                       accounts, update both, append a log
 *                                       row; "commit N" printed
 *                                       once COMMIT returned) and a balance
 *                                       scan every SCAN of them
 *   sqlpager FILE check                 integrity_check + the invariants of
 *                                       (c): every logged transfer present,
 *                                       balances sum to the initial total
 *   sqlpager FILE beyond                touch a page past the end of the file
 *                                       (through the attached mapping)
 *
 * Options before FILE: -p POLICY (clock lru mru 2q hinted opt), -b BUDGET
 * (frames), -H (send hints), -r (record the reference string), -s (print the
 * pager's counters on stderr), -n (skip the integrity check: the benchmark
 * times the workload alone).  Otherwise every run but create and beyond ends
 * with `PRAGMA integrity_check`.
 *
 * How the pages reach the pager.  The database's page size is 8 KiB, the
 * Alpha's page, so a database page is a pager page.  `PRAGMA mmap_size`
 * makes SQLite map the file (PROT_READ, MAP_SHARED, as large as the file,
 * re-mapped with mremap or mmap when it grows, unmapped when it may have
 * shrunk) and read every page through the mapping: read transactions use the
 * mapped page in place (xFetch); page 1 and the pages of write transactions
 * are copied out of the mapping (xRead: memcpy).  SQLite writes with pwrite
 * (it is not built with SQLITE_MMAP_READWRITE), so the pager sees reads only
 * and its pages are never dirty; the mound's write(2) refreshes the cached
 * pages every mapping shares.  SQLite's mapping comes and goes with the file
 * size, so this driver keeps a mapping of its own (KEEP bytes, read-only,
 * never touched): the file's page cache and its pager live as long as it,
 * and the attach and the hints name addresses in it.
 *
 * Under SPIN the program links spin.db-pager and attaches that mapping;
 * elsewhere (qemu-alpha, Linux) the link call fails and SQLite runs on the
 * kernel's paging: stdout must be identical either way and under every
 * policy.  Integer arithmetic only, so Alpha and x86-64 agree.
 */
#include "common.h"
#include "dbpager.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "sqlite3.h"


#define DBPAGE 8192L
#define KEEP (64L << 20)      /* the driver's mapping: the largest database */
#define MMAP_SIZE (256L << 20) /* PRAGMA mmap_size: more than any file here */
#define PAD 200               /* bytes of filler per row */

static int hints, record, stats, no_check;
static sqlite3 *db;
static char *keep = MAP_FAILED;

static void die(const char *what)
{
    printf("FAIL: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        printf("FAIL: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    return st;
}

/* One row of one integer column (0 when there is no row). */
static int64_t scalar(const char *sql)
{
    sqlite3_stmt *st = prepare(sql);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        die(sql);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

/* Steps a bound statement that returns at most one integer; resets it. */
static int64_t step1(sqlite3_stmt *st, int *found)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        die(sqlite3_sql(st));
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (found)
        *found = rc == SQLITE_ROW;
    sqlite3_reset(st);
    return v;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    return x;
}

static uint64_t rng_state = 0x5157c0de5157c0deULL;
static uint64_t below(uint64_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return n ? mix(rng_state) % n : 0;
}

/* A Zipf-like rank in [0, n) (density ~ 1/x): a power-of-two bucket
 * uniformly, then uniformly inside it. */
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

/* ---- the pager ------------------------------------------------------- */

/* SQLite page numbers start at 1. */
static void hint(int64_t first, int64_t last, int kind)
{
    if (ext >= 0 && hints && first >= 1 && last >= first)
        CHECK(syscall(ext + DBP_HINT, (long)(keep + (first - 1) * DBPAGE),
                      (long)((last - first + 1) * DBPAGE), kind) == 0);
}

static void mode(int kind)
{
    if (ext >= 0 && hints)
        CHECK(syscall(ext + DBP_MODE, kind) == 0);
}

static int attach(const char *path, const char *policy, long budget)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("open %s: %s\n", path, errno_name(errno));
        return -1;
    }
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    if (st.st_size > KEEP) {
        printf("%s: larger than %ld bytes\n", path, KEEP);
        return -1;
    }
    keep = mmap(NULL, KEEP, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(keep != MAP_FAILED);
    close(fd);
    return dbp_attach("sqlpager", keep, policy, budget, record);
}

static void detach(void)
{
    dbp_detach(record, stats);
    if (keep != MAP_FAILED)
        CHECK(munmap(keep, KEEP) == 0);
}

/* ---- the database ---------------------------------------------------- */

static void open_db(const char *path)
{
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open");
    exec("PRAGMA page_size=8192");
    exec("PRAGMA journal_mode=DELETE");
    exec("PRAGMA synchronous=FULL");
    /* SQLite's own cache only holds what it cannot map (page 1, the pages
     * of a write transaction): keep it small, the pager is the cache. */
    exec("PRAGMA cache_size=16");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA mmap_size=%ld", MMAP_SIZE);
    exec(sql);
    printf("mmap_size %lld\n", (long long)scalar("PRAGMA mmap_size"));
}

/* The pages [first, last] a table or index was built on (create records
 * them in meta). */
static void range_of(const char *name, int64_t *first, int64_t *last)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT first FROM meta WHERE name = '%s'", name);
    *first = scalar(sql);
    snprintf(sql, sizeof sql, "SELECT last FROM meta WHERE name = '%s'", name);
    *last = scalar(sql);
}

static void integrity(void)
{
    sqlite3_stmt *st = prepare("PRAGMA integrity_check");
    while (sqlite3_step(st) == SQLITE_ROW)
        printf("integrity_check: %s\n", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* Builds one table in a transaction and records the pages it took. */
static void build(const char *name, const char *sql)
{
    int64_t before = scalar("PRAGMA page_count");
    exec("BEGIN");
    exec(sql);
    exec("COMMIT");
    int64_t after = scalar("PRAGMA page_count");
    char m[160];
    snprintf(m, sizeof m, "INSERT INTO meta VALUES('%s', %lld, %lld)", name,
             (long long)before + 1, (long long)after);
    exec(m);
    printf("%s: pages %lld-%lld\n", name, (long long)before + 1, (long long)after);
}

#define ACCT_START 1000000

static int create(int64_t hot, int64_t big, int64_t items, int64_t accts)
{
    exec("CREATE TABLE meta(name TEXT PRIMARY KEY, first INTEGER, last INTEGER)");
    exec("CREATE TABLE hot(id INTEGER PRIMARY KEY, n INTEGER, pad BLOB)");
    exec("CREATE TABLE big(id INTEGER PRIMARY KEY, k INTEGER, pad BLOB)");
    exec("CREATE TABLE items(id INTEGER PRIMARY KEY, key INTEGER, val INTEGER, pad BLOB)");
    exec("CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER)");
    exec("CREATE TABLE log(i INTEGER PRIMARY KEY, a INTEGER, b INTEGER, amt INTEGER)");
    char sql[512];
    /* n stays below 2^24 (a 3-byte varint), so updates never move a row. */
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x + 1 < %lld) "
             "INSERT INTO hot SELECT x, 1000000 + x, zeroblob(%d) FROM c",
             (long long)hot, PAD);
    build("hot", sql);
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x + 1 < %lld) "
             "INSERT INTO big SELECT x, (x * 2654435761) %% 1000003, zeroblob(%d) FROM c",
             (long long)big, PAD);
    build("big", sql);
    /* Keys scrambled over the rows (an odd multiplier modulo a power of
     * two is a bijection; the keys >= ITEMS are skipped). */
    int64_t n = 1;
    while (n < items)
        n <<= 1;
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x + 1 < %lld) "
             "INSERT INTO items(key, val, pad) SELECT k, k * 7 + 3, zeroblob(%d) FROM "
             "(SELECT (x * 40503 + 12345) %% %lld AS k FROM c) WHERE k < %lld",
             (long long)n, PAD / 2, (long long)n, (long long)items);
    build("items", sql);
    build("items_key", "CREATE INDEX items_key ON items(key)");
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x + 1 < %lld) "
             "INSERT INTO acct SELECT x, %d FROM c",
             (long long)accts, ACCT_START);
    build("acct", sql);
    printf("created: %lld pages\n", (long long)scalar("PRAGMA page_count"));
    return 0;
}

/* Workload (a). */
static int hotscan(int64_t scans, int64_t lookups, int64_t limit)
{
    int64_t first, last;
    range_of("hot", &first, &last);
    int64_t root = scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'hot'");
    hint(1, 1, KIND_HOT); /* page 1: the schema, read by every statement */
    hint(root, root, KIND_HOT);
    hint(first, last, KIND_HOT);
    int64_t hot = scalar("SELECT count(*) FROM hot");
    if (hot == 0) {
        printf("hotscan: no hot rows\n");
        return 1;
    }
    sqlite3_stmt *get = prepare("SELECT n FROM hot WHERE id = ?");
    sqlite3_stmt *upd = prepare("UPDATE hot SET n = n + 1 WHERE id = ?");
    sqlite3_stmt *scan = prepare("SELECT k FROM big LIMIT ?");
    sqlite3_bind_int64(scan, 1, limit);
    int64_t hotsum = 0, total = 0;
    for (int64_t s = 0; s < scans; s++) {
        exec("BEGIN");
        for (int64_t i = 0; i < lookups; i++) {
            int64_t id = (int64_t)below((uint64_t)hot);
            sqlite3_bind_int64(get, 1, id);
            hotsum += step1(get, NULL);
            if (below(4) == 0) {
                sqlite3_bind_int64(upd, 1, id);
                step1(upd, NULL);
            }
        }
        exec("COMMIT");
        /* The scan, with a hot read every 64 rows while it runs. */
        mode(KIND_SCAN);
        int64_t sum = 0, rows = 0;
        int rc;
        while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
            sum += sqlite3_column_int64(scan, 0);
            if (++rows % 64 == 0) {
                sqlite3_bind_int64(get, 1, (int64_t)below((uint64_t)hot));
                hotsum += step1(get, NULL);
            }
        }
        if (rc != SQLITE_DONE)
            die("scan");
        sqlite3_reset(scan);
        mode(KIND_NONE);
        printf("scan %lld: %lld rows sum %lld\n", (long long)s, (long long)rows, (long long)sum);
        total += sum;
    }
    sqlite3_finalize(get);
    sqlite3_finalize(upd);
    sqlite3_finalize(scan);
    printf("hotscan: total %lld hot %lld updates %lld\n", (long long)total, (long long)hotsum,
           (long long)(scalar("SELECT sum(n) FROM hot") -
                       scalar("SELECT sum(1000000 + id) FROM hot")));
    return 0;
}

/* Workload (b). */
static int zipf_lookups(int64_t lookups)
{
    int64_t items = scalar("SELECT count(*) FROM items");
    int64_t first, last;
    range_of("items_key", &first, &last);
    int64_t root = scalar("SELECT rootpage FROM sqlite_schema WHERE name = 'items_key'");
    hint(1, 1, KIND_INDEX);
    hint(root, root, KIND_INDEX);
    hint(first, last, KIND_INDEX);
    sqlite3_stmt *get = prepare("SELECT val FROM items WHERE key = ?");
    int64_t sum = 0, missing = 0;
    for (int64_t i = 0; i < lookups; i++) {
        int64_t k = (int64_t)(mix(zipf((uint64_t)items)) % (uint64_t)items);
        int found;
        sqlite3_bind_int64(get, 1, k);
        int64_t v = step1(get, &found);
        if (!found || v != k * 7 + 3)
            missing++;
        sum += v;
    }
    sqlite3_finalize(get);
    sqlite3_stmt *plan = prepare("EXPLAIN QUERY PLAN SELECT val FROM items WHERE key = 1");
    while (sqlite3_step(plan) == SQLITE_ROW)
        printf("plan: %s\n", (const char *)sqlite3_column_text(plan, 3));
    sqlite3_finalize(plan);
    printf("zipf: %lld lookups sum %lld missing %lld\n", (long long)lookups, (long long)sum,
           (long long)missing);
    return missing != 0;
}

/* The amount of transfer i (deterministic, so check can verify the log). */
static int64_t amount(int64_t i)
{
    return 1 + (int64_t)(mix((uint64_t)i) % 500);
}

/* Workload (c). Transfers from the last logged one on, so a run after a
 * killed one continues it. */
static int mixed(int64_t txns, int64_t scan)
{
    int64_t accts = scalar("SELECT count(*) FROM acct");
    if (accts < 2) {
        printf("mixed: no accounts\n");
        return 1;
    }
    int64_t start = scalar("SELECT count(*) FROM log");
    sqlite3_stmt *bal = prepare("SELECT bal FROM acct WHERE id = ?");
    sqlite3_stmt *add = prepare("UPDATE acct SET bal = bal + ? WHERE id = ?");
    sqlite3_stmt *log = prepare("INSERT INTO log VALUES(?, ?, ?, ?)");
    sqlite3_stmt *item = prepare("SELECT val FROM items WHERE key = ?");
    int64_t items = scalar("SELECT count(*) FROM items");
    int64_t moved = 0, revenue = 0;
    for (int64_t i = start; i < start + txns; i++) {
        int64_t a = (int64_t)(mix(zipf((uint64_t)accts) + (uint64_t)i) % (uint64_t)accts);
        int64_t b = (a + 1 + (int64_t)below((uint64_t)accts - 1)) % accts;
        int64_t amt = amount(i);
        exec("BEGIN IMMEDIATE");
        for (int l = 0; l < 4 && items > 0; l++) {
            sqlite3_bind_int64(item, 1, (int64_t)(mix(zipf((uint64_t)items)) % (uint64_t)items));
            revenue += step1(item, NULL);
        }
        sqlite3_bind_int64(bal, 1, a);
        int64_t ba = step1(bal, NULL);
        sqlite3_bind_int64(bal, 1, b);
        step1(bal, NULL);
        if (ba < amt)
            amt = 0; /* insufficient funds: logged as a zero transfer */
        sqlite3_bind_int64(add, 1, -amt);
        sqlite3_bind_int64(add, 2, a);
        step1(add, NULL);
        sqlite3_bind_int64(add, 1, amt);
        sqlite3_bind_int64(add, 2, b);
        step1(add, NULL);
        sqlite3_bind_int64(log, 1, i);
        sqlite3_bind_int64(log, 2, a);
        sqlite3_bind_int64(log, 3, b);
        sqlite3_bind_int64(log, 4, amt);
        step1(log, NULL);
        exec("COMMIT");
        moved += amt;
        printf("commit %lld\n", (long long)i);
        fflush(stdout);
        if (scan && i % scan == scan - 1) {
            mode(KIND_SCAN);
            int64_t low = scalar("SELECT count(*) FROM acct WHERE bal < 999000");
            int64_t sum = scalar("SELECT sum(bal) FROM acct");
            mode(KIND_NONE);
            printf("balances %lld: low %lld sum %lld\n", (long long)i, (long long)low,
                   (long long)sum);
        }
    }
    sqlite3_finalize(bal);
    sqlite3_finalize(add);
    sqlite3_finalize(log);
    sqlite3_finalize(item);
    printf("mixed: %lld transactions moved %lld revenue %lld\n", (long long)txns, (long long)moved,
           (long long)revenue);
    return 0;
}

/* The invariants of (c) after any number of runs, killed or not. */
static int check(void)
{
    int64_t n = scalar("SELECT count(*) FROM log");
    int64_t top = n ? scalar("SELECT max(i) FROM log") + 1 : 0;
    int64_t accts = scalar("SELECT count(*) FROM acct");
    int64_t sum = scalar("SELECT sum(bal) FROM acct");
    sqlite3_stmt *st = prepare("SELECT i, amt FROM log ORDER BY i");
    int64_t bad = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t i = sqlite3_column_int64(st, 0), amt = sqlite3_column_int64(st, 1);
        if (amt != 0 && amt != amount(i))
            bad++;
    }
    sqlite3_finalize(st);
    int ok = top == n && bad == 0 && sum == accts * ACCT_START;
    printf("check: %lld transactions, %lld gaps, %lld bad amounts, balance %s: %s\n",
           (long long)n, (long long)(top - n), (long long)bad,
           sum == accts * ACCT_START ? "kept" : "LOST", ok ? "ok" : "BAD");
    return !ok;
}

/* Past the end of the file, in the attached mapping (which is longer than
 * the file): SIGBUS. */
static int beyond(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    long pages = (long)st.st_size / DBPAGE;
    printf("touching page %ld of %ld\n", pages, pages);
    fflush(stdout);
    int v = ((volatile char *)keep)[pages * DBPAGE] & 1;
    printf("no SIGBUS\n");
    return v;
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
        else if (!strcmp(argv[a], "-n"))
            no_check = 1;
        else
            break;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: sqlpager [-p POLICY] [-b BUDGET] [-H] [-r] [-s] [-n] FILE "
                        "create HOT BIG ITEMS ACCTS | hotscan SCANS LOOKUPS [ROWS] | zipf LOOKUPS | "
                        "mixed TXNS SCAN | check | beyond\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    const char *path = argv[a], *cmd = argv[a + 1];
    char **arg = argv + a + 2;
    int nargs = argc - a - 2;
    int64_t n[4];
    for (int i = 0; i < nargs && i < 4; i++)
        n[i] = strtoll(arg[i], NULL, 10);
    printf("sqlite %s\n", sqlite3_libversion());
    if (!strcmp(cmd, "create") && nargs == 4) {
        unlink(path);
        open_db(path);
        int rc = create(n[0], n[1], n[2], n[3]);
        sqlite3_close(db);
        return rc;
    }
    /* The file exists: map it and attach before SQLite reads a page. */
    if (attach(path, policy, budget) < 0)
        return 1;
    if (!strcmp(cmd, "beyond") && nargs == 0)
        return beyond(path);
    open_db(path);
    int rc = 2;
    if (!strcmp(cmd, "hotscan") && (nargs == 2 || nargs == 3))
        rc = hotscan(n[0], n[1], nargs == 3 ? n[2] : -1);
    else if (!strcmp(cmd, "zipf") && nargs == 1)
        rc = zipf_lookups(n[0]);
    else if (!strcmp(cmd, "mixed") && nargs == 2)
        rc = mixed(n[0], n[1]);
    else if (!strcmp(cmd, "check") && nargs == 0)
        rc = check();
    if (rc != 2 && !no_check)
        integrity();
    if (sqlite3_close(db) != SQLITE_OK)
        die("close");
    detach();
    return rc;
}
