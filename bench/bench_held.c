/*
 * bench_held.c - many locks held at once: what a detector costs when a
 * thread holds `held` mutexes nested (issue 9's 10,000).
 *
 * `threads` threads, one after another (each is joined before the next
 * starts), each run `rounds` rounds: take the `held` mutexes in ascending
 * order, nested, bumping a counter under each, then release them innermost
 * first. The order is consistent, so there is nothing to report. The first
 * round of each thread is all new lock orders (a detector records them);
 * the later rounds repeat them. A detector that copies the held set into
 * every new edge, or adds an edge from every held lock, grows with the
 * square or the cube of `held` here. It prints its parameters and its own
 * elapsed time, checks the counters and exits 1 if they are wrong.
 */
#include "bench.h"

static struct {
    unsigned long threads, held, rounds;
} cfg = { 2, 10000, 3 };

struct slot {
    _Alignas(64) pthread_mutex_t lock;
    uint64_t count; /* guarded by lock */
};

static struct slot *slots;

static void *
nest(void *arg)
{
    (void)arg;
    for (unsigned long r = 0; r < cfg.rounds; r++) {
        for (unsigned long i = 0; i < cfg.held; i++) {
            BENCH_CHECK(pthread_mutex_lock(&slots[i].lock));
            slots[i].count++;
        }
        for (unsigned long i = cfg.held; i-- > 0;)
            BENCH_CHECK(pthread_mutex_unlock(&slots[i].lock));
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    const struct bench_param params[] = {
        { "threads", &cfg.threads, 1, 1024, NULL, "threads, run one after another" },
        { "held", &cfg.held, 1, 1u << 22, NULL, "mutexes each thread holds at once" },
        { "rounds", &cfg.rounds, 1, 1000000, NULL, "times each thread takes them all" },
    };
    const size_t nparams = sizeof params / sizeof params[0];
    bench_parse(argc, argv,
                "Many locks held at once: each thread takes `held` mutexes nested, in one\n"
                "order, `rounds` times; the threads run one after another.",
                params, nparams);
    bench_print_params("bench_held", params, nparams);

    slots = aligned_alloc(_Alignof(struct slot), cfg.held * sizeof *slots);
    if (!slots)
        bench_die(__FILE__, __LINE__, "aligned_alloc", ENOMEM);
    memset(slots, 0, cfg.held * sizeof *slots);
    for (unsigned long i = 0; i < cfg.held; i++)
        BENCH_CHECK(pthread_mutex_init(&slots[i].lock, NULL));
    double t0 = bench_now();
    for (unsigned long i = 0; i < cfg.threads; i++) {
        pthread_t t;
        BENCH_CHECK(pthread_create(&t, NULL, nest, NULL));
        BENCH_CHECK(pthread_join(t, NULL));
    }
    double elapsed = bench_now() - t0;

    uint64_t total = 0, want = (uint64_t)cfg.threads * cfg.rounds * cfg.held;
    for (unsigned long i = 0; i < cfg.held; i++) {
        total += slots[i].count;
        BENCH_CHECK(pthread_mutex_destroy(&slots[i].lock));
    }
    free(slots);
    printf("bench_held elapsed %.6f s, %llu lock/unlock pairs, %lu held at once\n", elapsed,
           (unsigned long long)want, cfg.held);
    if (total != want) {
        printf("bench_held: counters sum to %llu, expected %llu: a lock did not exclude\n",
               (unsigned long long)total, (unsigned long long)want);
        return 1;
    }
    return 0;
}
