/* threads: POSIX threads on clone/futex/TLS, with deterministic output.
 *
 * Sections: create/join with results, pthread_exit values, __thread TLS per
 * thread (wruniq/rduniq on Alpha, %fs on x86-64), a mutex + condvar bounded
 * buffer with producers and consumers, contended counters with atomic
 * read-modify-write (LL/SC on Alpha), a spinlock and a mutex, barrier, once,
 * thread-specific data destructors, semaphores, a timed condvar wait that
 * times out (futex with timeout), pthread_kill to one thread, exit() from a
 * non-main thread, and fork from a thread.
 * Only totals and per-index results are printed, never scheduling order.
 */
#include "common.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#define NT 8

static __thread int tls_val = 7;
static __thread char tls_name[32] = "initial";
static __thread long tls_big[64];

static pid_t my_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* 1. create/join, TLS. */
struct work {
    int id;
    long from, to;
    long sum;
    int tls_initial_ok;
    int tls_private_ok;
    pid_t tid;
};

static pthread_barrier_t tls_barrier;

static void *worker(void *arg)
{
    struct work *w = arg;
    w->tid = my_tid();
    w->tls_initial_ok = tls_val == 7 && !strcmp(tls_name, "initial") && tls_big[63] == 0;
    tls_val = 1000 + w->id;
    snprintf(tls_name, sizeof tls_name, "thread-%d", w->id);
    for (int i = 0; i < 64; i++)
        tls_big[i] = w->id * 64 + i;
    /* Everyone has written their TLS before anyone checks theirs. */
    pthread_barrier_wait(&tls_barrier);
    long s = 0;
    for (long i = w->from; i < w->to; i++)
        s += i * i % (1000 + w->id);
    w->sum = s;
    pthread_barrier_wait(&tls_barrier);
    char want[32];
    snprintf(want, sizeof want, "thread-%d", w->id);
    int ok = tls_val == 1000 + w->id && !strcmp(tls_name, want);
    for (int i = 0; i < 64; i++)
        ok &= tls_big[i] == w->id * 64 + i;
    w->tls_private_ok = ok;
    return &w->sum;
}

static void create_join(void)
{
    pthread_t th[NT];
    struct work w[NT];
    CHECK(pthread_barrier_init(&tls_barrier, NULL, NT) == 0);
    tls_val = 99;
    for (int i = 0; i < NT; i++) {
        w[i] = (struct work){.id = i, .from = i * 100000L, .to = (i + 1) * 100000L};
        CHECK(pthread_create(&th[i], NULL, worker, &w[i]) == 0);
    }
    long total = 0;
    pid_t pid = getpid();
    int distinct = 1;
    for (int i = 0; i < NT; i++) {
        void *ret;
        CHECK(pthread_join(th[i], &ret) == 0);
        CHECK(ret == &w[i].sum);
        printf("thread %d: sum %ld tls initial %s private %s\n", i, w[i].sum,
               w[i].tls_initial_ok ? "ok" : "BAD", w[i].tls_private_ok ? "ok" : "BAD");
        CHECK(w[i].tls_initial_ok && w[i].tls_private_ok);
        total += w[i].sum;
        if (w[i].tid == pid)
            distinct = 0;
        for (int j = 0; j < i; j++)
            if (w[j].tid == w[i].tid)
                distinct = 0;
    }
    long want = 0;
    for (long i = 0; i < NT * 100000L; i++)
        want += i * i % (1000 + i / 100000);
    printf("create/join: %d threads, total %ld (expected %ld), distinct tids %d\n", NT, total,
           want, distinct);
    CHECK(total == want && distinct);
    CHECK(tls_val == 99 && !strcmp(tls_name, "initial"));
    CHECK(pthread_join(pthread_self(), NULL) == EDEADLK);
    pthread_barrier_destroy(&tls_barrier);
    section("create/join/tls");
}

/* 2. pthread_exit values. */
static void *exiter(void *arg)
{
    intptr_t id = (intptr_t)arg;
    if (id % 2)
        pthread_exit((void *)(id * 100));
    return (void *)(id * 100 + 1);
}

static void exits(void)
{
    pthread_t th[6];
    for (intptr_t i = 0; i < 6; i++)
        CHECK(pthread_create(&th[i], NULL, exiter, (void *)i) == 0);
    printf("pthread_exit values:");
    for (int i = 0; i < 6; i++) {
        void *ret;
        CHECK(pthread_join(th[i], &ret) == 0);
        printf(" %ld", (long)(intptr_t)ret);
        CHECK((intptr_t)ret == (i % 2 ? i * 100 : i * 100 + 1));
    }
    printf("\n");
    section("pthread_exit");
}

/* 3. Bounded buffer with a mutex and two condvars. */
#define QSIZE 4
#define PRODUCERS 3
#define CONSUMERS 2
#define ITEMS 5000
static struct {
    pthread_mutex_t mu;
    pthread_cond_t not_full, not_empty;
    long buf[QSIZE];
    int head, count, producers_left;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER,
     .not_full = PTHREAD_COND_INITIALIZER,
     .not_empty = PTHREAD_COND_INITIALIZER};

static void *producer(void *arg)
{
    long base = (intptr_t)arg * 1000000;
    for (long i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&q.mu);
        while (q.count == QSIZE)
            pthread_cond_wait(&q.not_full, &q.mu);
        q.buf[(q.head + q.count) % QSIZE] = base + i;
        q.count++;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.mu);
    }
    pthread_mutex_lock(&q.mu);
    q.producers_left--;
    pthread_cond_broadcast(&q.not_empty);
    pthread_mutex_unlock(&q.mu);
    return NULL;
}

struct consumed {
    long sum, n;
    int in_order; /* items of each producer arrive in increasing order */
    long last[PRODUCERS];
};

static void *consumer(void *arg)
{
    struct consumed *c = arg;
    c->in_order = 1;
    for (;;) {
        pthread_mutex_lock(&q.mu);
        while (q.count == 0 && q.producers_left > 0)
            pthread_cond_wait(&q.not_empty, &q.mu);
        if (q.count == 0) {
            pthread_mutex_unlock(&q.mu);
            return NULL;
        }
        long v = q.buf[q.head];
        q.head = (q.head + 1) % QSIZE;
        q.count--;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.mu);
        int p = v / 1000000;
        if (v <= c->last[p])
            c->in_order = 0;
        c->last[p] = v;
        c->sum += v;
        c->n++;
    }
}

static void producer_consumer(void)
{
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    struct consumed c[CONSUMERS];
    memset(c, 0, sizeof c);
    q.producers_left = PRODUCERS;
    for (int i = 0; i < CONSUMERS; i++)
        CHECK(pthread_create(&ct[i], NULL, consumer, &c[i]) == 0);
    for (intptr_t i = 0; i < PRODUCERS; i++)
        CHECK(pthread_create(&pt[i], NULL, producer, (void *)i) == 0);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    long sum = 0, n = 0;
    int in_order = 1;
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(ct[i], NULL);
        sum += c[i].sum;
        n += c[i].n;
        in_order &= c[i].in_order;
    }
    long want = 0;
    for (long p = 0; p < PRODUCERS; p++)
        want += p * 1000000 * ITEMS + (long)ITEMS * (ITEMS + 1) / 2;
    printf("producer/consumer: %d producers x %d items through a %d-slot buffer: "
           "%ld items, sum %ld, per-producer order %s\n",
           PRODUCERS, ITEMS, QSIZE, n, sum, in_order ? "kept" : "BROKEN");
    CHECK(n == PRODUCERS * ITEMS && sum == want && in_order && q.count == 0);
    section("producer/consumer");
}

/* 4. Contended counters. */
#define CT 4
#define INCS 100000
static long atomic_counter;
static long cas_counter;
static unsigned int xchg_flag_counter;
static long spin_counter;
static volatile char spin;
static long mutex_counter;
static pthread_mutex_t counter_mu = PTHREAD_MUTEX_INITIALIZER;
static int start_flag;

static void *counter_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&start_flag, __ATOMIC_ACQUIRE))
        sched_yield();
    for (int i = 0; i < INCS; i++) {
        __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_SEQ_CST);
        long old = __atomic_load_n(&cas_counter, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas_counter, &old, old + 2, 1, __ATOMIC_SEQ_CST,
                                            __ATOMIC_RELAXED))
            ;
        __atomic_fetch_or(&xchg_flag_counter, 1u << (i % 32), __ATOMIC_RELAXED);
        while (__atomic_test_and_set(&spin, __ATOMIC_ACQUIRE))
            ;
        spin_counter++;
        __atomic_clear(&spin, __ATOMIC_RELEASE);
        if (i % 4 == 0) {
            pthread_mutex_lock(&counter_mu);
            mutex_counter++;
            pthread_mutex_unlock(&counter_mu);
        }
    }
    return NULL;
}

static void counters(void)
{
    pthread_t th[CT];
    for (int i = 0; i < CT; i++)
        CHECK(pthread_create(&th[i], NULL, counter_thread, NULL) == 0);
    __atomic_store_n(&start_flag, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < CT; i++)
        pthread_join(th[i], NULL);
    printf("counters: atomic add %ld, cas %ld, or %08x, spinlock %ld, mutex %ld\n",
           atomic_counter, cas_counter, xchg_flag_counter, spin_counter, mutex_counter);
    CHECK(atomic_counter == CT * INCS && cas_counter == 2L * CT * INCS);
    CHECK(xchg_flag_counter == 0xffffffffu && spin_counter == CT * INCS);
    CHECK(mutex_counter == CT * INCS / 4);
    long x = 5;
    CHECK(__atomic_exchange_n(&x, 9, __ATOMIC_SEQ_CST) == 5 && x == 9);
    section("counters");
}

/* 5. once, keys with destructors, semaphores, timed wait, pthread_kill. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static pthread_key_t key;
static int destructor_runs;
static long destructor_sum;
static pthread_mutex_t dmu = PTHREAD_MUTEX_INITIALIZER;
static sem_t sem_items, sem_done;

static void once_fn(void)
{
    once_runs++;
}

static void key_destructor(void *v)
{
    pthread_mutex_lock(&dmu);
    destructor_runs++;
    destructor_sum += (intptr_t)v;
    pthread_mutex_unlock(&dmu);
}

static void *misc_thread(void *arg)
{
    intptr_t id = (intptr_t)arg;
    pthread_once(&once, once_fn);
    pthread_setspecific(key, (void *)(id + 1));
    int ok = (intptr_t)pthread_getspecific(key) == id + 1;
    for (int i = 0; i < 10; i++)
        sem_wait(&sem_items);
    sem_post(&sem_done);
    return (void *)(intptr_t)ok;
}

static volatile pid_t sig_tid;
static void usr1(int s)
{
    (void)s;
    sig_tid = my_tid();
}

static volatile int target_ready;
static volatile pid_t target_tid;
static void *sig_target(void *arg)
{
    (void)arg;
    target_tid = my_tid();
    __atomic_store_n(&target_ready, 1, __ATOMIC_RELEASE);
    while (!sig_tid)
        usleep(1000);
    return NULL;
}

static void misc(void)
{
    CHECK(pthread_key_create(&key, key_destructor) == 0);
    CHECK(sem_init(&sem_items, 0, 0) == 0 && sem_init(&sem_done, 0, 0) == 0);
    pthread_t th[5];
    for (intptr_t i = 0; i < 5; i++)
        CHECK(pthread_create(&th[i], NULL, misc_thread, (void *)i) == 0);
    for (int i = 0; i < 50; i++)
        sem_post(&sem_items);
    for (int i = 0; i < 5; i++)
        sem_wait(&sem_done);
    int ok = 1;
    for (int i = 0; i < 5; i++) {
        void *r;
        pthread_join(th[i], &r);
        ok &= (intptr_t)r == 1;
    }
    int v;
    CHECK(sem_getvalue(&sem_items, &v) == 0 && v == 0);
    CHECK(sem_trywait(&sem_items) == -1 && errno == EAGAIN);
    printf("misc: once ran %d time(s), keys ok %d, %d destructors (sum %ld), semaphores drained\n",
           once_runs, ok, destructor_runs, destructor_sum);
    CHECK(once_runs == 1 && ok && destructor_runs == 5 && destructor_sum == 15);

    /* A timed wait that times out: futex wait with a timeout. */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec t0, t1, dl;
    clock_gettime(CLOCK_REALTIME, &t0);
    dl = t0;
    dl.tv_nsec += 30 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    int r = pthread_cond_timedwait(&c, &m, &dl);
    pthread_mutex_unlock(&m);
    clock_gettime(CLOCK_REALTIME, &t1);
    double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("misc: cond_timedwait 30ms -> %s\n", errno_name(r));
    CHECK(r == ETIMEDOUT && dt >= 0.029);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 10 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    CHECK(sem_timedwait(&sem_items, &dl) == -1 && errno == ETIMEDOUT);

    /* pthread_kill: the handler runs on the target thread. */
    signal(SIGUSR1, usr1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, sig_target, NULL) == 0);
    while (!__atomic_load_n(&target_ready, __ATOMIC_ACQUIRE))
        usleep(1000);
    CHECK(pthread_kill(t, SIGUSR1) == 0);
    pthread_join(t, NULL);
    printf("misc: pthread_kill handled on the target thread: %d\n", sig_tid == target_tid);
    CHECK(sig_tid == target_tid && sig_tid != my_tid());
    section("misc");
}

/* 6. exit() from a thread ends the whole process; fork from a thread. */
static void *exit_thread(void *arg)
{
    (void)arg;
    usleep(10000);
    exit(5);
}

static void *fork_thread(void *arg)
{
    (void)arg;
    pid_t pid = fork();
    if (pid == 0) {
        /* Only the forking thread exists in the child. */
        pthread_mutex_lock(&counter_mu);
        pthread_mutex_unlock(&counter_mu);
        _exit(tls_val == 7 ? 17 : 18);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return (void *)(intptr_t)st;
}

static void process_level(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        pthread_create(&t, NULL, exit_thread, NULL);
        pthread_join(t, NULL); /* exit_thread never returns */
        for (;;)
            pause();
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("process: exit(5) in a second thread -> %s\n", status_text(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
    pthread_t t;
    void *r;
    CHECK(pthread_create(&t, NULL, fork_thread, NULL) == 0);
    pthread_join(t, &r);
    st = (int)(intptr_t)r;
    printf("process: fork from a thread -> child %s\n", status_text(st));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 17);
    section("process");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    create_join();
    exits();
    producer_consumer();
    counters();
    misc();
    process_level();
    return finish("threads");
}
