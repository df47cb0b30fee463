/*
 * bench_sem.c - what a detector costs on POSIX semaphores.
 *
 * --mode signal (the common case in C): two threads and two semaphores set
 *   up at 0 play ping-pong `rounds` times: one posts `ping` and waits for
 *   `pong`, the other waits for `ping` and posts `pong`. Nearly every wait
 *   sleeps and is woken, as in any hand-off between threads, so what is
 *   measured is sem_post + sem_wait on semaphores used as signals.
 * --mode solo: one thread posts a semaphore set up at 0 and waits for it,
 *   `rounds` times: a signal that never sleeps, so what is measured is the
 *   cost of the two calls themselves, without the futex sleep and wake-up
 *   that dominate a real hand-off.
 * --mode lock: `threads` threads each take a binary semaphore (sem_init to
 *   1) with sem_wait, bump a shared counter and sem_post it, `rounds` times
 *   each: a semaphore used as a lock (CPython's threading.Lock is one), which
 *   lockgraph books like a mutex.
 *
 * It prints its parameters, the time per round and its own elapsed time,
 * checks the counts (a lost update means the semaphore did not exclude, a
 * wrong count of round trips a lost signal) and exits 1 if they are wrong.
 */
#include "bench.h"

#include <semaphore.h>

enum mode { MODE_SIGNAL, MODE_SOLO, MODE_LOCK };
static const char *const mode_names[] = { "signal", "solo", "lock", NULL };

static struct {
    unsigned long mode, rounds, threads;
} cfg = { MODE_SIGNAL, 100000, 2 };

static sem_t ping, pong, lock;
static uint64_t counter; /* guarded by lock */
static pthread_barrier_t start;

static void
sem_check(int r, const char *what)
{
    if (r != 0)
        bench_die(__FILE__, __LINE__, what, errno);
}

static void
wait_for(sem_t *s)
{
    while (sem_wait(s) != 0)
        if (errno != EINTR)
            bench_die(__FILE__, __LINE__, "sem_wait", errno);
}

/* What one thread does `rounds` times: post `give` (first or last), wait
 * for `take`, and bump the counter in between when `count` is set. */
struct role {
    sem_t *take, *give;
    bool give_first, count;
    struct bench_span span;
};

static void *
play(void *arg)
{
    struct role *r = arg;
    bench_span_start(&start, &r->span);
    for (unsigned long i = 0; i < cfg.rounds; i++) {
        if (r->give_first)
            sem_check(sem_post(r->give), "sem_post");
        wait_for(r->take);
        if (r->count)
            counter++;
        if (!r->give_first)
            sem_check(sem_post(r->give), "sem_post");
    }
    bench_span_end(&r->span);
    return NULL;
}

int
main(int argc, char **argv)
{
    const struct bench_param params[] = {
        { "mode", &cfg.mode, 0, 0, mode_names,
          "signal: ping-pong on two semaphores; solo: post and wait in one thread; lock: a binary semaphore as a lock" },
        { "rounds", &cfg.rounds, 1, 100000000, NULL, "round trips (signal, solo) or takes per thread (lock)" },
        { "threads", &cfg.threads, 1, 256, NULL, "threads taking the lock (lock mode; signal mode uses 2)" },
    };
    size_t nparams = sizeof params / sizeof params[0];
    bench_parse(argc, argv, "POSIX semaphores as signals and as a lock.", params, nparams);
    bench_print_params("bench_sem", params, nparams);

    unsigned n = cfg.mode == MODE_SIGNAL ? 2 : cfg.mode == MODE_SOLO ? 1 : (unsigned)cfg.threads;
    pthread_t *th = bench_alloc(n * sizeof *th);
    struct role *roles = bench_alloc(n * sizeof *roles);
    struct bench_span *spans = bench_alloc(n * sizeof *spans);
    sem_check(sem_init(&ping, 0, 0), "sem_init");
    sem_check(sem_init(&pong, 0, 0), "sem_init");
    sem_check(sem_init(&lock, 0, 1), "sem_init");
    for (unsigned i = 0; i < n; i++) {
        if (cfg.mode == MODE_LOCK)
            roles[i] = (struct role){ .take = &lock, .give = &lock, .count = true };
        else if (cfg.mode == MODE_SOLO)
            roles[i] = (struct role){ .take = &ping, .give = &ping, .give_first = true };
        else if (i == 0) /* the server answers each ping with a pong */
            roles[i] = (struct role){ .take = &ping, .give = &pong };
        else
            roles[i] = (struct role){ .take = &pong, .give = &ping, .give_first = true };
    }
    BENCH_CHECK(pthread_barrier_init(&start, NULL, n));
    for (unsigned i = 0; i < n; i++)
        BENCH_CHECK(pthread_create(&th[i], NULL, play, &roles[i]));
    for (unsigned i = 0; i < n; i++) {
        BENCH_CHECK(pthread_join(th[i], NULL));
        spans[i] = roles[i].span;
    }
    double elapsed = bench_span_elapsed(spans, n);

    int ping_left, pong_left;
    sem_getvalue(&ping, &ping_left);
    sem_getvalue(&pong, &pong_left);
    bool ok = cfg.mode != MODE_LOCK ? ping_left == 0 && pong_left == 0
                                    : counter == (uint64_t)cfg.rounds * n;
    unsigned long ops = cfg.mode != MODE_LOCK ? cfg.rounds : cfg.rounds * n;
    printf("%s: %.1f ns per %s\n", ok ? "ok" : "WRONG", elapsed / (double)ops * 1e9,
           cfg.mode == MODE_SIGNAL ? "round trip (2 posts, 2 waits)"
           : cfg.mode == MODE_SOLO ? "post and wait" : "take and post");
    printf("elapsed %.4f s\n", elapsed);
    return ok ? 0 : 1;
}
