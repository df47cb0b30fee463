/*
 * bench.h - what racebed's benchmark programs share: command-line
 * parameters from one table, a monotonic clock, a small PRNG, the timed
 * section, and one way to die when a call that must not fail does.
 *
 * Everything is static inline so each benchmark stays a single file with
 * no library to link: the benchmarks are built in every tree (plain and
 * sanitizer-instrumented) and must not depend on racebed's other code.
 *
 * A benchmark measures and prints; it never asserts anything about time.
 * It does check its own result (a lost update means a broken lock, and a
 * timing of a broken program is worthless) and exits 1 when that is wrong.
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Abort with where it happened when a pthread-style call that must not fail
 * returns non-zero: a benchmark that carried on would time nonsense. */
#define BENCH_CHECK(call)                                                     \
    do {                                                                      \
        int bench_check_err_ = (call);                                        \
        if (bench_check_err_ != 0)                                            \
            bench_die(__FILE__, __LINE__, #call, bench_check_err_);           \
    } while (0)

static inline _Noreturn void
bench_die(const char *file, int line, const char *what, int err)
{
    fprintf(stderr, "%s:%d: %s failed: %s\n", file, line, what, strerror(err));
    abort();
}

static inline void *
bench_alloc(size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        bench_die(__FILE__, __LINE__, "calloc", ENOMEM);
    return p;
}

static inline double
bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*: fast, and deterministic from the seed, so every tool runs
 * exactly the same sequence of operations. Never seed it with 0. */
static inline uint64_t
bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A per-thread seed that differs between threads and is never 0. */
static inline uint64_t
bench_seed(uint64_t seed, uint64_t thread)
{
    uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ULL ^ (thread + 1) * 0xBF58476D1CE4E5B9ULL;
    return s ? s : 1;
}

/* ---- the timed section ------------------------------------------------- */

/*
 * From the first worker leaving the start barrier to the last one finishing.
 * Each worker stamps its own times: with more threads than cores, the main
 * thread may not run again until the workers are done, so a clock read by
 * main after the barrier could start after all the work.
 */
struct bench_span {
    double start, end;
};

/* Wait until every worker is ready, then start this one's clock. */
static inline void
bench_span_start(pthread_barrier_t *barrier, struct bench_span *s)
{
    int r = pthread_barrier_wait(barrier);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
        bench_die(__FILE__, __LINE__, "pthread_barrier_wait", r);
    s->start = bench_now();
}

static inline void
bench_span_end(struct bench_span *s)
{
    s->end = bench_now();
}

/* Seconds from the earliest start to the latest end of n spans. */
static inline double
bench_span_elapsed(const struct bench_span *s, size_t n)
{
    double first = s[0].start, last = s[0].end;
    for (size_t i = 1; i < n; i++) {
        first = s[i].start < first ? s[i].start : first;
        last = s[i].end > last ? s[i].end : last;
    }
    return last - first;
}

/* ---- parameters --------------------------------------------------------- */

/*
 * One command-line parameter: `--name N` or `--name=N`, an unsigned integer
 * in [min, max]; or, when `choices` is set (a NULL-terminated list), one of
 * those words, stored as its index.
 */
struct bench_param {
    const char *name;
    unsigned long *value;
    unsigned long min, max;
    const char *const *choices;
    const char *help;
};

static inline void
bench_usage(FILE *f, const char *prog, const char *about, const struct bench_param *p, size_t n)
{
    fprintf(f, "usage: %s [options]\n%s\n\noptions (default in brackets):\n", prog, about);
    for (size_t i = 0; i < n; i++) {
        if (p[i].choices) {
            char words[128] = "";
            for (const char *const *c = p[i].choices; *c; c++) {
                strncat(words, c == p[i].choices ? "" : "|", sizeof words - strlen(words) - 1);
                strncat(words, *c, sizeof words - strlen(words) - 1);
            }
            fprintf(f, "  --%-10s %-16s %s [%s]\n", p[i].name, words, p[i].help,
                    p[i].choices[*p[i].value]);
        } else {
            fprintf(f, "  --%-10s %-16s %s [%lu]\n", p[i].name, "N", p[i].help, *p[i].value);
        }
    }
    fprintf(f, "  --help\n");
}

static inline bool
bench_set(const struct bench_param *p, const char *text)
{
    if (p->choices) {
        for (unsigned long i = 0; p->choices[i]; i++)
            if (!strcmp(p->choices[i], text)) {
                *p->value = i;
                return true;
            }
        return false;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < p->min || v > p->max)
        return false;
    *p->value = v;
    return true;
}

/* Parse argv against the table; a bad argument prints why and exits 2,
 * --help prints the table and exits 0. */
static inline void
bench_parse(int argc, char **argv, const char *about, const struct bench_param *p, size_t n)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            bench_usage(stdout, argv[0], about, p, n);
            exit(0);
        }
        const struct bench_param *match = NULL;
        const char *value = NULL;
        for (size_t j = 0; j < n && !match; j++) {
            size_t len = strlen(p[j].name);
            if (strncmp(arg, "--", 2) || strncmp(arg + 2, p[j].name, len))
                continue;
            if (arg[2 + len] == '=') {
                match = &p[j];
                value = arg + 3 + len;
            } else if (arg[2 + len] == '\0') {
                match = &p[j];
                value = i + 1 < argc ? argv[++i] : NULL;
            }
        }
        if (!match) {
            fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", argv[0], arg);
            exit(2);
        }
        if (!value || !bench_set(match, value)) {
            if (match->choices)
                fprintf(stderr, "%s: --%s wants one of the words --help lists, not '%s'\n",
                        argv[0], match->name, value ? value : "");
            else
                fprintf(stderr, "%s: --%s wants an integer from %lu to %lu, not '%s'\n",
                        argv[0], match->name, match->min, match->max, value ? value : "");
            exit(2);
        }
    }
}

/* "name=value name=value ...": the parameters as run, on one line. */
static inline void
bench_print_params(const char *prog, const struct bench_param *p, size_t n)
{
    printf("%s", prog);
    for (size_t i = 0; i < n; i++) {
        if (p[i].choices)
            printf(" %s=%s", p[i].name, p[i].choices[*p[i].value]);
        else
            printf(" %s=%lu", p[i].name, *p[i].value);
    }
    printf("\n");
    fflush(stdout);
}

#endif /* BENCH_H */
