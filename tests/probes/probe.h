/*
 * probe.h - helpers for lockgraph's probe programs.
 *
 * A probe is a small program that does one thing lockgraph must get right.
 * Its first comment says what it expects, as data read by CMake:
 *   EXPECT: <kind>[,<kind>...] | none      report kinds, exactly
 *   OPTIONS: key=value:...                  extra LOCKGRAPH_OPTIONS (optional)
 * tests/probe.py runs it with liblockgraph.so preloaded and compares.
 */
#ifndef PROBE_H
#define PROBE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(call)                                                           \
    do {                                                                      \
        int probe_err_ = (call);                                              \
        if (probe_err_ != 0) {                                                \
            fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__,     \
                    #call, probe_err_);                                       \
            exit(3);                                                          \
        }                                                                     \
    } while (0)

/* Run fn(arg) on a new thread and wait for it: sequential threads give
 * lock orders without any chance of a real deadlock. */
static inline void
run_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fn, arg));
    CHECK(pthread_join(t, NULL));
}

/* Let the program's threads run for `seconds`, then tell them to stop. */
static inline void
probe_run_for(atomic_bool *stop, time_t seconds)
{
    struct timespec run = { seconds, 0 };
    nanosleep(&run, NULL);
    atomic_store(stop, true);
}

/* Work that takes time and no lock: `iters` steps of a generator. */
static inline unsigned long
probe_work(unsigned long seed, int iters)
{
    volatile unsigned long x = seed;
    for (int i = 0; i < iters; i++)
        x = x * 6364136223846793005ul + 1;
    return x;
}

#endif
