/*
 * live.h - lockgraph's liveness decisions: starvation, livelock, stall.
 *
 * This is the pure part of the liveness monitor. It knows nothing of
 * pthreads or clocks: every tick the monitor hands it one sample per
 * thread (what the thread is blocked on or keeps retrying, since when, its
 * counters) and the current time, and it answers with verdicts. The unit
 * tests drive it with made-up samples, so every threshold and edge case is
 * tested without timing.
 *
 * Definitions (times and counts are the options of the same names):
 *
 * starvation  A thread has been trying to get a lock L, blocked on it or
 *             retrying it with trylock/timedlock without getting it, for at
 *             least starvation_ms, while other threads were granted L at
 *             least starvation_grants times in that span. A thread in a
 *             retry loop (it retries a lock held by a thread that retries a
 *             lock held by ... it) is not starving: nobody in the loop gets
 *             on, and the loop is reported as a livelock instead.
 *
 * livelock    Two or more threads have each been retrying a lock for at
 *             least livelock_ms without getting it, while running (not
 *             blocked for a quarter of livelock_ms or more), each backing off (a failed try followed by a
 *             release of what it held) at least min_backoffs times, with no
 *             progress mark, and each failing on a lock held by another
 *             member of the group: they keep each other from progressing.
 *
 * stall       Every live thread has been blocked for at least stall_ms on
 *             an untimed wait (a lock, a condition variable, a join, a
 *             barrier, a semaphore), and no thread has exited in that time
 *             (a thread ran until it exited, and whoever it woke on its way
 *             out may not have been scheduled yet). The monitor counts a
 *             join of a thread that has exited as running. Timed waits and
 *             sleeps are not blocks: they end by themselves. Threads waiting
 *             on a condition variable or a semaphore then wait for a signal
 *             that no running thread can send (a lost wakeup).
 *
 * Each episode (a thread's wait for, or retrying of, one lock from one
 * start) and each stall is reported once.
 */
#ifndef LG_LIVE_H
#define LG_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

#define LG_LIVE_GRANT_SLOTS 16

enum lg_live_block {
    LG_LIVE_RUNNING = 0, /* not in an untimed wait */
    LG_LIVE_LOCK,
    LG_LIVE_COND,
    LG_LIVE_JOIN,
    LG_LIVE_BARRIER,
    LG_LIVE_SEM,
};

/* One thread as the monitor saw it at one tick. */
struct lg_live_sample {
    uint32_t thread;           /* T<num> */
    uint8_t block;             /* enum lg_live_block */
    uint64_t block_since_ns;
    uint64_t block_lock;       /* uid of the lock, for LG_LIVE_LOCK */
    uint64_t trying_lock;      /* uid of the lock it keeps retrying, 0 none */
    uint64_t trying_since_ns;
    uint32_t trying_blocker;   /* who held it at the last failed try, 0 unknown */
    uint64_t backoffs;         /* counters since the thread started */
    uint64_t progress;         /* lg_progress() marks */
    /* Grants the thread got, per lock, for the locks it used last. */
    struct {
        uint64_t lock;
        uint64_t grants;
    } grants[LG_LIVE_GRANT_SLOTS];
    uint64_t lock_grants;      /* total grants of the lock it is blocked on
                                * or retrying (all threads) */
};

struct lg_live_config {
    uint64_t starvation_ns, livelock_ns, stall_ns;
    uint64_t starvation_grants;
    uint32_t min_backoffs;
};

enum lg_live_kind { LG_LIVE_STARVATION = 1, LG_LIVE_LIVELOCK, LG_LIVE_STALL };

/* Per thread of a verdict. */
struct lg_live_member {
    uint32_t thread;
    uint8_t block;           /* what it is blocked on (stall) */
    uint64_t lock;           /* the lock it waits for or retries, 0 none */
    uint64_t since_ns;       /* since when */
    uint64_t grants;         /* grants of that lock it got in the window */
    uint64_t backoffs;       /* back-off cycles in the window (livelock) */
    uint32_t blocker;        /* livelock: the member holding its lock */
    bool lost_wakeup;        /* stall: waits for a signal nobody can send */
};

struct lg_live_verdict {
    uint8_t kind;            /* enum lg_live_kind */
    uint64_t lock;           /* starvation: the lock */
    uint64_t window_ns;      /* how long it has lasted */
    uint64_t lock_grants;    /* starvation: grants of the lock in the window */
    double jain;             /* starvation: Jain's index of the grantees' shares,
                              * the starved thread included */
    uint32_t n;              /* members */
    struct lg_live_member *members;
};

struct lg_live;

int lg_live_new(struct lg_live **out, const struct lg_alloc *alloc,
                const struct lg_live_config *config);
void lg_live_free(struct lg_live *lv);

/*
 * One tick: the samples of every live thread at time now_ns. Returns how
 * many verdicts were produced (0..max), written to out[]; each verdict's
 * members live until the next call. Negative: -ENOMEM.
 */
int lg_live_tick(struct lg_live *lv, uint64_t now_ns, const struct lg_live_sample *samples,
                 uint32_t n, struct lg_live_verdict *out, uint32_t max);

/* A thread exited at when_ns (it was running until then). Calls may come
 * late and out of order: the newest time counts. */
void lg_live_thread_gone(struct lg_live *lv, uint64_t when_ns);

/* Jain's fairness index of n values: (sum x)^2 / (n * sum x^2); 1 when all
 * are zero or n is 0. */
double lg_live_jain(const uint64_t *x, uint32_t n);

#endif /* LG_LIVE_H */
