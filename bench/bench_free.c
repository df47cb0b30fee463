/*
 * bench_free.c - what a detector costs on malloc and free.
 *
 * One thread, `rounds` rounds: `batch` mallocs of 16 to 72 bytes, then the
 * `batch` frees. With `--locked N`, N heap objects holding a mutex each
 * (each locked and unlocked once, so that a detector knows them) are
 * allocated first and stay alive beside the churn: a detector that forgets
 * the locks in freed memory (lockgraph, TSan, Helgrind) looks at each free
 * near them. It prints its parameters and its own elapsed time, and exits
 * 1 if a malloc fails.
 */
#include "bench.h"

static struct {
    unsigned long rounds, batch, locked;
} cfg = { 200000, 64, 0 };

struct locked_obj {
    pthread_mutex_t lock;
    char payload[24];
};

int
main(int argc, char **argv)
{
    const struct bench_param params[] = {
        { "rounds", &cfg.rounds, 1, 100000000, NULL, "rounds of batch mallocs, then batch frees" },
        { "batch", &cfg.batch, 1, 4096, NULL, "blocks allocated, then freed, per round" },
        { "locked", &cfg.locked, 0, 1000000, NULL, "live heap objects with a mutex each, beside" },
    };
    const size_t nparams = sizeof params / sizeof params[0];
    bench_parse(argc, argv, "malloc and free of small blocks, optionally beside heap mutexes.",
                params, nparams);
    bench_print_params("bench_free", params, nparams);

    struct locked_obj **objs = calloc(cfg.locked ? cfg.locked : 1, sizeof *objs);
    void **blocks = calloc(cfg.batch, sizeof *blocks);
    if (!objs || !blocks)
        bench_die(__FILE__, __LINE__, "calloc", ENOMEM);
    for (unsigned long i = 0; i < cfg.locked; i++) {
        if (!(objs[i] = malloc(sizeof *objs[i])))
            bench_die(__FILE__, __LINE__, "malloc", ENOMEM);
        BENCH_CHECK(pthread_mutex_init(&objs[i]->lock, NULL));
        BENCH_CHECK(pthread_mutex_lock(&objs[i]->lock));
        BENCH_CHECK(pthread_mutex_unlock(&objs[i]->lock));
    }
    double t0 = bench_now();
    for (unsigned long r = 0; r < cfg.rounds; r++) {
        for (unsigned long i = 0; i < cfg.batch; i++)
            if (!(blocks[i] = malloc(16 + i % 8 * 8)))
                bench_die(__FILE__, __LINE__, "malloc", ENOMEM);
        for (unsigned long i = 0; i < cfg.batch; i++)
            free(blocks[i]);
    }
    double elapsed = bench_now() - t0;
    printf("bench_free elapsed %.6f s, %llu malloc/free pairs, %lu locked objects beside\n",
           elapsed, (unsigned long long)cfg.rounds * cfg.batch, cfg.locked);
    for (unsigned long i = 0; i < cfg.locked; i++) {
        BENCH_CHECK(pthread_mutex_destroy(&objs[i]->lock));
        free(objs[i]);
    }
    free(objs);
    free(blocks);
    return 0;
}
