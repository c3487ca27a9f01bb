/* sqlite_driver: a deterministic SQLite workload (built from the
 * libsqlite3-sys crate's bundled sqlite3.c; not committed).
 *
 *   sqlite_driver [ROWS]     default 100000 rows
 *
 * Creates a database file in a fresh directory under /tmp (rollback journal,
 * fsync, fcntl locks, pread/pwrite), inserts ROWS pseudo-random rows in
 * transactions of 1000 through a prepared statement, then runs queries with
 * aggregates, GROUP BY, ORDER BY, LIKE, index lookups (EXPLAIN QUERY PLAN is
 * printed to show the index is used), a join, a subquery, UPDATE/DELETE,
 * a rolled-back transaction and an integrity check.  Every result is printed;
 * the output is identical on Alpha and x86-64.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite3.h"

static sqlite3 *db;
static int failures;

static void die(const char *what)
{
    printf("FAIL: %s: %s\n", what, sqlite3_errmsg(db));
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

/* Run a query, print "label:" then each row as col|col|... */
static void query(const char *label, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    printf("%s:\n", label);
    int rc, rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_count(st);
        printf("  ");
        for (int i = 0; i < n; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            printf("%s%s", i ? "|" : "", t ? (const char *)t : "NULL");
        }
        printf("\n");
        rows++;
    }
    if (rc != SQLITE_DONE)
        die(sql);
    sqlite3_finalize(st);
}

static int64_t scalar(const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    if (sqlite3_step(st) != SQLITE_ROW)
        die(sql);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void expect(const char *what, int64_t got, int64_t want)
{
    printf("check %s: %lld %s\n", what, (long long)got, got == want ? "ok" : "FAIL");
    if (got != want) {
        printf("FAIL: %s: got %lld want %lld\n", what, (long long)got, (long long)want);
        failures++;
    }
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static const char *const words[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    "abacus", "abyss", "spin", "strand", "mound", "extension", "kernel", "domain",
};
#define NWORDS (sizeof words / sizeof words[0])

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 100000;
    if (rows < 1000)
        rows = 1000;
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    char dir[] = "/tmp/sqlite-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("FAIL: mkdtemp: errno %d\n", errno);
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/test.db", dir);
    printf("sqlite %s, %ld rows\n", sqlite3_libversion(), rows);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open");
    exec("PRAGMA page_size=4096");
    exec("PRAGMA journal_mode=DELETE");
    exec("PRAGMA synchronous=NORMAL");
    exec("CREATE TABLE items(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, name TEXT, "
         "grp INTEGER, price REAL)");
    exec("CREATE TABLE groups(grp INTEGER PRIMARY KEY, label TEXT)");
    for (int g = 0; g < 16; g++) {
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO groups VALUES(%d, 'group-%02d')", g, g);
        exec(sql);
    }

    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO items(k, name, grp, price) VALUES(?, ?, ?, ?)", -1,
                           &ins, NULL) != SQLITE_OK)
        die("prepare insert");
    int64_t ksum = 0;
    for (long i = 0; i < rows; i++) {
        if (i % 1000 == 0)
            exec("BEGIN");
        uint64_t r = rng();
        int64_t k = (int64_t)(r % 1000000);
        char name[64];
        snprintf(name, sizeof name, "%s-%s-%llu", words[(r >> 20) % NWORDS],
                 words[(r >> 30) % NWORDS], (unsigned long long)((r >> 40) % 1000));
        sqlite3_bind_int64(ins, 1, k);
        sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 3, (int)((r >> 50) % 16));
        sqlite3_bind_double(ins, 4, (double)((r >> 8) % 100000) / 100.0);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("insert");
        sqlite3_reset(ins);
        ksum += k;
        if (i % 1000 == 999 || i == rows - 1)
            exec("COMMIT");
    }
    sqlite3_finalize(ins);
    exec("CREATE INDEX items_k ON items(k)");
    exec("CREATE INDEX items_name ON items(name)");

    expect("count", scalar("SELECT count(*) FROM items"), rows);
    expect("sum(k)", scalar("SELECT sum(k) FROM items"), ksum);
    query("aggregates", "SELECT count(*), min(k), max(k), sum(k), printf('%.2f', avg(price)), "
                        "printf('%.2f', sum(price)), count(DISTINCT name) FROM items");
    query("group by", "SELECT g.label, count(*), sum(i.k), printf('%.2f', avg(i.price)), "
                      "min(i.name), max(i.name) FROM items i JOIN groups g USING(grp) "
                      "GROUP BY grp ORDER BY grp");
    query("order by k limit 5", "SELECT id, k, name, price FROM items ORDER BY k, id LIMIT 5");
    query("order by price desc limit 5",
          "SELECT id, k, price FROM items ORDER BY price DESC, id LIMIT 5");
    query("like 'ab%'", "SELECT count(*), min(name), max(name) FROM items WHERE name LIKE 'ab%'");
    query("like '%kernel%'", "SELECT count(*) FROM items WHERE name LIKE '%kernel%'");
    query("plan: range on k", "EXPLAIN QUERY PLAN SELECT count(*) FROM items WHERE k BETWEEN 1000 AND 2000");
    query("range on k", "SELECT count(*), sum(k) FROM items WHERE k BETWEEN 1000 AND 2000");
    query("plan: name lookup", "EXPLAIN QUERY PLAN SELECT id FROM items WHERE name = 'spin-kernel-7'");
    query("name lookup", "SELECT id, k FROM items WHERE name IN ('spin-kernel-7', 'mound-strand-42') ORDER BY id");
    query("top words", "SELECT substr(name, 1, instr(name, '-') - 1) AS w, count(*) AS c FROM items "
                       "GROUP BY w ORDER BY c DESC, w LIMIT 6");
    query("subquery", "SELECT count(*) FROM items WHERE price > (SELECT avg(price) FROM items)");
    query("having", "SELECT grp, count(*) FROM items GROUP BY grp HAVING count(*) > "
                    "(SELECT count(*) / 16 FROM items) ORDER BY grp");
    query("strings", "SELECT upper(name), length(name), replace(name, '-', '+'), hex(substr(name, 1, 3)) "
                     "FROM items WHERE id IN (1, 2, 3) ORDER BY id");

    /* Updates and deletes, in a transaction. */
    exec("BEGIN");
    exec("UPDATE items SET price = price * 2 WHERE grp = 3");
    int upd = sqlite3_changes(db);
    exec("DELETE FROM items WHERE k % 10 = 0");
    int del = sqlite3_changes(db);
    exec("COMMIT");
    printf("updated %d rows, deleted %d rows\n", upd, del);
    expect("count after delete", scalar("SELECT count(*) FROM items"), rows - del);
    /* A rolled-back transaction leaves nothing behind. */
    int64_t before = scalar("SELECT count(*) FROM items");
    exec("BEGIN");
    exec("DELETE FROM items WHERE grp < 8");
    exec("INSERT INTO items(k, name, grp, price) VALUES(1, 'rolled', 1, 1.0)");
    exec("ROLLBACK");
    expect("count after rollback", scalar("SELECT count(*) FROM items"), before);
    expect("rolled rows", scalar("SELECT count(*) FROM items WHERE name = 'rolled'"), 0);
    query("after update", "SELECT grp, printf('%.2f', sum(price)) FROM items WHERE grp IN (2, 3) "
                          "GROUP BY grp ORDER BY grp");

    /* Reopen: the data is on disk. */
    sqlite3_close(db);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("reopen");
    expect("count after reopen", scalar("SELECT count(*) FROM items"), before);
    query("integrity", "PRAGMA integrity_check");
    sqlite3_close(db);

    char j[160];
    unlink(path);
    snprintf(j, sizeof j, "%s-journal", path);
    unlink(j);
    if (rmdir(dir) != 0) {
        printf("FAIL: rmdir: errno %d\n", errno);
        failures++;
    }
    if (failures) {
        printf("FAIL: sqlite_driver: %d checks failed\n", failures);
        return 1;
    }
    printf("sqlite_driver: all checks passed\n");
    return 0;
}
