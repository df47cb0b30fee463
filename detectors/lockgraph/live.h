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
 * starvation  A thread T kept wanting a lock L for at least half of a
 *             window of at least starvation_ms, the other threads were
 *             granted L at least starvation_grants times while T wanted it
 *             (they passed it: bypasses), and T got under starvation_share
 *             percent of its fair share of the grants made while it wanted
 *             L (its own and the bypasses, divided by the number of threads
 *             that got L in the window, T included). T "wants" L while it
 *             is blocked on it and while it is in a retry episode on it
 *             (from a failed trylock or timed lock until it gets L), as
 *             long as it keeps failing: an episode with no new failed try
 *             is an attempt given up, and no longer counts. A thread that
 *             never gets L (the long wait) is the limit case: it wants L
 *             the whole window and its share is 0. A thread in a retry
 *             loop (it retries a lock held by a thread that retries a lock
 *             held by ... it) is not starving: nobody in the loop gets on,
 *             and the loop is reported as a livelock instead.
 *
 *             Why share and not one long wait: a thread that keeps trying
 *             and gets a crumb now and then (8 grants of 358,822, say) has
 *             no dry spell of starvation_ms, yet it starves. Why the share
 *             is of the grants made while it waited, not of all of them: a
 *             thread that wants the lock rarely gets few grants because it
 *             asks for few, and a thread that waits for a holder the OS
 *             took off the CPU is passed by nobody. Why it holds whatever
 *             the load, both ways:
 *             - A greedy/polite pattern trips it however the machine is
 *               loaded. A greedy thread that wins the lock keeps taking it
 *               back until it is preempted; the polite one turns each win
 *               into one grant, and is in a retry episode (or blocked)
 *               nearly all the rest of the time, passed by every grant
 *               meanwhile. Load makes everybody slower, the greedy threads
 *               and their bypasses included, but not the polite one's
 *               share bigger (measured: under 4 CPU hogs on 2 cores its
 *               crumbs get rarer). Time wanted and bypasses are measured
 *               by the thread itself, at the start and end of each wait or
 *               episode, never from how often the monitor happened to run.
 *             - A fair program cannot trip it. A FIFO lock serves
 *               waiters in turn: while T waits, each of the other k-1
 *               threads is granted at most once before T, so T gets at
 *               least 1/k of the grants made while it waits, a whole fair
 *               share (100 times the default threshold); a scheduler can
 *               delay turns but not reorder them. A ticket lock built of a
 *               mutex and a condition variable waits for its turn in
 *               pthread_cond_wait, which is not wanting the mutex; if its
 *               tickets are taken without waiting (an atomic increment),
 *               nobody is served past a thread whose turn has come, so
 *               its waits for the mutex are short. (Tickets taken under
 *               the mutex are not fair to a thread not yet in line: the
 *               others can go round while it waits for the mutex, and
 *               that is reported.) A thread waiting for a
 *               holder the OS took off the CPU is passed by nobody.
 *               Workers that do real work between short critical sections
 *               wait briefly; a thread that sleeps most of the time does
 *               not want the lock half of the window.
 *             The threshold's margins, as measured on the probes
 *             (tests/probes/live_*.c; 2 cores, quiet and with 4 CPU hogs),
 *             are in docs/lockgraph-liveness.md.
 *
 *             Windows follow each other; each is on the lock T wanted
 *             most when it began. Each starvation episode is reported
 *             once: it ends when a window shows T no longer starving (it
 *             got its share, or it wanted L less than half of the window).
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
 * Each livelock episode (a thread's retrying of one lock from one start)
 * and each stall is reported once.
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
    LG_LIVE_COND_DESTROY, /* in pthread_cond_destroy while others wait on it */
};

/* One thread as the monitor saw it at one tick. */
struct lg_live_sample {
    uint32_t thread;           /* T<num> */
    uint8_t block;             /* enum lg_live_block */
    uint64_t block_since_ns;
    uint64_t block_lock;       /* uid of the lock, for LG_LIVE_LOCK */
    uint64_t block_bypass;     /* the lock's grants to others in this wait
                                * (0 when the wait is part of a retry
                                * episode on the same lock) */
    uint64_t trying_lock;      /* uid of the lock it keeps retrying, 0 none */
    uint64_t trying_since_ns;
    uint64_t trying_bypass;    /* its grants to others in this episode */
    uint32_t trying_blocker;   /* who held it at the last failed try, 0 unknown */
    uint64_t backoffs;         /* counters since the thread started */
    uint64_t failed_trys;      /* failed trylocks and timed locks */
    uint64_t progress;         /* lg_progress() marks */
    /* Per lock, for the locks it used last: its grants, and over its waits
     * and retry episodes that are over (the one under way is in block_*
     * and trying_*), the time it wanted the lock and the lock's grants to
     * other threads meanwhile (bypasses). A slot taken over by another
     * lock starts again from zero. */
    struct {
        uint64_t lock;
        uint64_t grants;
        uint64_t want_ns;
        uint64_t bypass;
    } grants[LG_LIVE_GRANT_SLOTS];
};

struct lg_live_config {
    uint64_t starvation_ns, livelock_ns, stall_ns;
    uint64_t starvation_grants;
    uint32_t starvation_share; /* percent of a fair share; 0: only a thread
                                * that got the lock not once */
    uint32_t min_backoffs;
};

/*
 * The part of a starvation window T must have spent wanting the lock, 1/2:
 * what "kept trying" means. It does not protect fair programs (the share
 * of the grants made while T waited does); it keeps a burst (one long wait
 * in a window, a thread that tries now and then) from being starvation.
 * Measured margins: docs/lockgraph-liveness.md.
 */
#define LG_LIVE_WANT_FRACTION_NUM 1
#define LG_LIVE_WANT_FRACTION_DEN 2

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
    uint64_t wanted_ns;      /* starvation: how long of it the starved
                              * thread wanted the lock */
    uint64_t bypasses;       /* starvation: grants of the lock to others
                              * while it wanted it */
    uint64_t lock_grants;    /* starvation: grants of the lock to the other
                              * threads in the window (the starved thread's
                              * own are members[0].grants) */
    double share;            /* starvation: the starved thread's grants over
                              * its fair share of the grants made while it
                              * wanted the lock (0.001: 0.1% of it) */
    double jain;             /* starvation: Jain's index of the grantees' shares,
                              * the starved thread included */
    uint32_t n;              /* members; for starvation the starved thread
                              * first, then every thread that got the lock */
    struct lg_live_member *members;
};

/* A starvation window as judged (for lockgraph's verbosity=2 notes, and
 * the measurements behind the thresholds). */
struct lg_live_window {
    uint32_t thread;
    uint64_t lock;
    uint64_t window_ns, wanted_ns;
    uint64_t own_grants, other_grants, bypasses;
    uint32_t grantees;       /* threads that got the lock, the judged one
                              * included */
    double share;            /* own grants over the fair share of the
                              * grants made while it wanted the lock */
    bool starving;
};

struct lg_live;

int lg_live_new(struct lg_live **out, const struct lg_alloc *alloc,
                const struct lg_live_config *config);
/* Call fn for every starvation window judged from now on (NULL: none); a
 * window that cannot be told yet (too few bypasses) once, not every tick. */
void lg_live_on_window(struct lg_live *lv, void (*fn)(const struct lg_live_window *w, void *ctx),
                       void *ctx);
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
/* The caller did not report the stall verdict it was given (something the
 * samples do not show may still end a wait): judge it again next tick. */
void lg_live_stall_withheld(struct lg_live *lv);

/* Jain's fairness index of n values: (sum x)^2 / (n * sum x^2); 1 when all
 * are zero or n is 0. */
double lg_live_jain(const uint64_t *x, uint32_t n);

#endif /* LG_LIVE_H */
