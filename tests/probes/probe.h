/*
 * probe.h - helpers for lockgraph's probe programs.
 *
 * A probe is a small program that does one thing lockgraph must get right.
 * Its first comment says what it expects, as data read by CMake:
 *   EXPECT: <kind>[,<kind>...] | none      report kinds, exactly
 *   OPTIONS: key=value:...                  extra LOCKGRAPH_OPTIONS (optional)
 *   REPORT: <regex>                         the first report's summary, then
 *                                           " | at <function>" (optional)
 * tests/probe.py runs it with liblockgraph.so preloaded and compares.
 */
#ifndef PROBE_H
#define PROBE_H

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

/* Zeroed memory that fork children share with the parent (exit 3 if the
 * mapping fails), for process-shared objects. */
static inline void *
shared_memory(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(3);
    }
    return p;
}

/* A mutex that threads of several processes may take. */
static inline void
pshared_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    CHECK(pthread_mutexattr_init(&a));
    CHECK(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
    CHECK(pthread_mutex_init(m, &a));
    CHECK(pthread_mutexattr_destroy(&a));
}

/* The threads of this process now (/proc/self/task), -1 if unknown. */
static inline int
threads_in_this_process(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Wait (up to 10 s) until thread tid of this process is blocked in the
 * futex system call (/proc/self/task/TID/syscall starts with its number):
 * inside a lock or semaphore wait, for sure. false if it never was. */
static inline bool
blocked_in_futex(long tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
    for (int i = 0; i < 10000; i++) {
        FILE *f = fopen(path, "r");
        long nr = -1;
        if (f) {
            if (fscanf(f, "%ld", &nr) != 1)
                nr = -1;
            fclose(f);
        }
        if (nr == SYS_futex)
            return true;
        const struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    return false;
}

/* Run fn(arg) on a new thread and wait for it: sequential threads give
 * lock orders without any chance of a real deadlock. */
static inline void
run_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fn, arg));
    CHECK(pthread_join(t, NULL));
}

/* A thread body that takes pair->first, then pair->second, and releases
 * both: one lock-order edge, for run_thread(take_pair, &pair). */
struct lock_pair {
    pthread_mutex_t *first, *second;
};
static inline void *
take_pair(void *arg)
{
    struct lock_pair *p = arg;
    pthread_mutex_lock(p->first);
    pthread_mutex_lock(p->second);
    pthread_mutex_unlock(p->second);
    pthread_mutex_unlock(p->first);
    return NULL;
}

/* A lock-order inversion, reported although it never deadlocks: two
 * threads, one after the other, take two locks in opposite orders. Each
 * call uses a pair of locks of its own, so each is a report of its own (4
 * pairs; a fifth call takes the first pair again and reports nothing). */
static inline void
inversion(void)
{
    static pthread_mutex_t locks[8] = {
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    };
    static unsigned next;
    pthread_mutex_t *x = &locks[2 * (next % 4)], *y = &locks[2 * (next % 4) + 1];
    next++;
    struct lock_pair xy = { x, y }, yx = { y, x };
    run_thread(take_pair, &xy);
    run_thread(take_pair, &yx);
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
