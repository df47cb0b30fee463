/*
 * bench_lock.c - the lock-heavy benchmark: what a detector costs per lock.
 *
 * `threads` threads each run `iters` iterations; an iteration takes `depth`
 * of the `locks` mutexes, nested, always in ascending index order, bumps a
 * counter under each, and releases them innermost first. Almost all of the
 * time is spent in pthread_mutex_lock/unlock, so a detector's per-acquire
 * cost shows undiluted. The order is consistent, so there is nothing to
 * report: any report is a false positive.
 *
 * Which locks an iteration takes (--pattern):
 *   window  `depth` consecutive locks from a random start. A thread keeps
 *           using the same few hundred lock chains, as a real program's code
 *           paths do: after warm-up every order is one it has seen.
 *   random  `depth` distinct random locks, ascending. Almost every
 *           iteration is a lock chain never seen before: a stress test of a
 *           detector's new-order path, not a model of a program.
 *
 * Each lock and its counter sit in their own cache line, so the cost is the
 * locking, not false sharing. It prints its parameters and its own elapsed
 * time (from the start barrier to the last thread's end), checks the
 * counters (a lost update means a lock did not exclude) and exits 1 if they
 * are wrong.
 */
#include "bench.h"

#define MAX_DEPTH 64

enum pattern { PATTERN_WINDOW, PATTERN_RANDOM };
static const char *const pattern_names[] = { "window", "random", NULL };

struct slot {
    _Alignas(64) pthread_mutex_t lock;
    uint64_t count; /* guarded by lock */
};

static struct {
    unsigned long threads, iters, locks, depth, pattern, seed;
} cfg = { 2, 100000, 64, 4, PATTERN_WINDOW, 1 };

static struct slot *slots;
static pthread_barrier_t start;
static struct bench_span *spans; /* one per thread */

/* The locks of the next iteration, ascending: that is the lock order. */
static void
pick(uint64_t *rng, unsigned *idx)
{
    unsigned depth = (unsigned)cfg.depth, nlocks = (unsigned)cfg.locks;
    if (cfg.pattern == PATTERN_WINDOW) {
        unsigned base = (unsigned)(bench_rand(rng) % (nlocks - depth + 1));
        for (unsigned j = 0; j < depth; j++)
            idx[j] = base + j;
        return;
    }
    /* Distinct random indexes, kept sorted by insertion; depth is small. */
    for (unsigned n = 0; n < depth;) {
        unsigned v = (unsigned)(bench_rand(rng) % nlocks), j = n;
        bool dup = false;
        for (unsigned k = 0; k < n && !dup; k++)
            dup = idx[k] == v;
        if (dup)
            continue;
        while (j > 0 && idx[j - 1] > v) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
        n++;
    }
}

static void *
worker(void *arg)
{
    uintptr_t index = (uintptr_t)arg;
    uint64_t rng = bench_seed(cfg.seed, index);
    unsigned idx[MAX_DEPTH];
    unsigned depth = (unsigned)cfg.depth;
    bench_span_start(&start, &spans[index]);
    for (unsigned long i = 0; i < cfg.iters; i++) {
        pick(&rng, idx);
        for (unsigned j = 0; j < depth; j++) {
            BENCH_CHECK(pthread_mutex_lock(&slots[idx[j]].lock));
            slots[idx[j]].count++;
        }
        for (unsigned j = depth; j-- > 0;)
            BENCH_CHECK(pthread_mutex_unlock(&slots[idx[j]].lock));
    }
    bench_span_end(&spans[index]);
    return NULL;
}

int
main(int argc, char **argv)
{
    const struct bench_param params[] = {
        { "threads", &cfg.threads, 1, 1024, NULL, "worker threads" },
        { "iters", &cfg.iters, 1, 1000000000, NULL, "iterations per thread" },
        { "locks", &cfg.locks, 1, 1u << 24, NULL, "mutexes to choose from" },
        { "depth", &cfg.depth, 1, MAX_DEPTH, NULL, "locks held at once (nesting depth)" },
        { "pattern", &cfg.pattern, 0, 0, pattern_names, "which locks an iteration takes" },
        { "seed", &cfg.seed, 0, UINT32_MAX, NULL, "random seed" },
    };
    const size_t nparams = sizeof params / sizeof params[0];
    bench_parse(argc, argv,
                "Lock-heavy benchmark: threads x iters x depth nested lock/unlock pairs\n"
                "over a set of mutexes, in a consistent (ascending) order.",
                params, nparams);
    if (cfg.depth > cfg.locks) {
        fprintf(stderr, "%s: --depth (%lu) cannot exceed --locks (%lu)\n", argv[0], cfg.depth,
                cfg.locks);
        return 2;
    }
    bench_print_params("bench_lock", params, nparams);

    slots = aligned_alloc(_Alignof(struct slot), cfg.locks * sizeof *slots);
    if (!slots)
        bench_die(__FILE__, __LINE__, "aligned_alloc", ENOMEM);
    memset(slots, 0, cfg.locks * sizeof *slots);
    for (unsigned long i = 0; i < cfg.locks; i++)
        BENCH_CHECK(pthread_mutex_init(&slots[i].lock, NULL));
    pthread_t *tids = bench_alloc(cfg.threads * sizeof *tids);
    spans = bench_alloc(cfg.threads * sizeof *spans);
    BENCH_CHECK(pthread_barrier_init(&start, NULL, (unsigned)cfg.threads));
    for (unsigned long i = 0; i < cfg.threads; i++)
        BENCH_CHECK(pthread_create(&tids[i], NULL, worker, (void *)(uintptr_t)i));
    for (unsigned long i = 0; i < cfg.threads; i++)
        BENCH_CHECK(pthread_join(tids[i], NULL));
    double elapsed = bench_span_elapsed(spans, cfg.threads);

    uint64_t total = 0, want = (uint64_t)cfg.threads * cfg.iters * cfg.depth;
    for (unsigned long i = 0; i < cfg.locks; i++) {
        total += slots[i].count;
        BENCH_CHECK(pthread_mutex_destroy(&slots[i].lock));
    }
    BENCH_CHECK(pthread_barrier_destroy(&start));
    free(tids);
    free(spans);
    free(slots);

    printf("bench_lock elapsed %.6f s, %llu lock/unlock pairs, %.1f ns per pair\n", elapsed,
           (unsigned long long)want, elapsed * 1e9 / (double)want);
    if (total != want) {
        printf("bench_lock: counters sum to %llu, expected %llu: a lock did not exclude\n",
               (unsigned long long)total, (unsigned long long)want);
        return 1;
    }
    return 0;
}
