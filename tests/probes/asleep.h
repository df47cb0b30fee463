/* For probes whose misuse needs another thread to be blocked already: a
 * thread publishes its tid, then makes a blocking call; the prober waits
 * until the kernel shows that thread in a futex wait on a given word
 * (/proc/self/task/<tid>/syscall: 202 is futex on x86-64, then its first
 * argument). That is the blocking call itself, past anything lockgraph
 * does before it. Bounded: after 10 s the probe gives up (exit 3). */
#ifndef PROBE_ASLEEP_H
#define PROBE_ASLEEP_H
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline void
publish_tid(atomic_int *slot)
{
    atomic_store(slot, (int)gettid());
}

/* Whether thread `tid` is in futex(word, ...) now. */
static inline int
in_futex_on(int tid, const void *word)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long nr = -1;
    unsigned long arg = 0;
    int n = fscanf(f, "%ld %lx", &nr, &arg);
    fclose(f);
    return n == 2 && nr == 202 && arg == (uintptr_t)word;
}

static inline void
wait_in_futex(atomic_int *slot, const void *word)
{
    struct timespec ms = { 0, 1000000 };
    for (int i = 0; i < 10000; i++, nanosleep(&ms, NULL)) {
        int tid = atomic_load(slot);
        if (tid && in_futex_on(tid, word))
            return;
    }
    fprintf(stderr, "the other thread never blocked there\n");
    exit(3);
}
#endif
