/*
 * perturb.h - schedule perturbation: lockgraph makes rare interleavings
 * common (`perturb=1`; off by default).
 *
 * A latent concurrency bug hides behind the order a native run happens to
 * take: an order violation, a check-then-act, an `if` that should be a
 * `while`, a lost wake-up show once in a hundred runs, and no detector sees
 * them (every access is under a lock). lockgraph stands in front of every
 * pthread synchronisation call, which is where a schedule can be bent
 * without a scheduler: it holds a thread there for a while ("a hold"), and
 * lets a condition-variable wait return without a signal. Each of these is
 * a schedule the program could get on a slow or busy machine - a thread
 * slow to start, slow to reach its next call, slow to run again after it
 * released something, and a spurious wake-up, which POSIX allows - so a
 * correct program cannot fail under it. A fixed twin that fails is a bug in
 * lockgraph.
 *
 * The strategy, and why
 *
 * PCT (Burckhardt et al., ASPLOS 2010) gives each thread a priority, runs
 * the highest-priority runnable thread, and changes priorities at d-1
 * random steps; it finds any bug of depth d with probability at least
 * 1/(n k^(d-1)) per run. Its initial priorities are uniformly random, so an
 * ordering bug between two threads (depth 1) is found half the time - and
 * one of the two orders, the one the program takes natively, never needed
 * help: a latent bug is one that the native order hides. On a real machine
 * the native order is, first of all, creation order: a thread created
 * earlier gets there first, and a creator runs on while its new thread is
 * still being set up. So lockgraph keeps PCT's machinery but starts from
 * the reverse of the native order, and keeps PCT's random change points for
 * the bugs that need more than one reversal:
 *
 *   - rank: a creator outranks the threads it creates, and a younger sibling
 *     outranks an older one (lg_pt_rank());
 *   - change points: a quarter of the threads get one, at a log-uniform
 *     step in [8, 65536] of their own; after it they rank below every
 *     thread without one (a later change ranks lower still, as in PCT).
 *     Late and rare, so that depth-1 bugs keep their odds.
 *
 * lockgraph cannot schedule, so priorities become holds, each at a call
 * where the program already synchronises:
 *
 *   - start late (rr's chaos mode starts new threads late): a new thread is
 *     held at its start while its creator runs. All the children waiting on
 *     one creator go together when it blocks, and leave within microseconds
 *     of each other, so short thread bodies overlap as on idle cores: what a
 *     data race needs, and what a native run, which starts them tens of
 *     microseconds apart, almost never gives;
 *   - step holds: before a lock, trylock, join, barrier or semaphore wait, a
 *     thread is held while a higher-ranked thread runs, until that thread
 *     completes its next synchronisation call. The lower thread trails the
 *     higher by one step: PCT's schedule, at the grain lockgraph can see;
 *   - yields: after a release (unlock, signal, broadcast, post) a thread is
 *     held while a higher-ranked thread runs or is waking on what it
 *     released. This is rr's starved low-priority thread (rr stops running
 *     low-priority threads for up to two seconds at a time): a consumer
 *     that falls behind, a thread that lets the one it woke go first;
 *   - spurious wake-ups: a condition-variable wait may, after a short hold
 *     with its mutex still held, return 0 without having waited - but only
 *     if another thread is running or waiting for that mutex, so that
 *     somebody could still signal. A waiter that nobody can wake any more
 *     is a lost wake-up, and waking it would hide the bug instead of
 *     showing it. (The mutex is not let go: whoever took it in between
 *     would often fulfil the wait, and a wake-up that finds its condition
 *     true shows nothing.)
 *
 * Read locks are neither held before nor yielded after (readers do not
 * order each other; what matters among them is overlap), a lock taken by
 * trylock is not yielded after (code that tries does not hand over), and a
 * signal sent with a lock held is not yielded after (the woken thread needs
 * that lock first; the yield comes at the unlock). One hold in 16 (but
 * never a late start: skipping one only gives the native order) is
 * skipped, as the seed says, so that two seeds take different schedules.
 *
 * Bounds. A hold lasts at most a log-uniform time in [max/32, max]
 * (perturb_max_ms) and ends as soon as its reason does (the higher thread
 * stepped, blocked or exited; the creator blocked). The holds stay within a
 * time budget, as TSan's adaptive delays do: the time in which some thread
 * is held stays within perturb_budget percent of the time in which none is,
 * or within a fixed allowance at the start (small programs would get
 * nothing otherwise). While none is held the program runs as unperturbed
 * but for the cost of the perturbation's own calls, so a budget of B%
 * makes a run at most (1 + B/100) times that long; the default, 70%,
 * leaves room for that cost (16% on bench_real) within about twice the
 * unperturbed time. A hold is never taken inside
 * lockgraph's own locks, waits for nothing but the thread table and its
 * deadline, and ends at that deadline whatever the other threads do: the
 * program may run slower, never differently from a schedule it could get
 * anyway.
 *
 * Determinism. Every decision comes from a stream keyed by the seed and the
 * thread's creation number (struct lg_thread.num), one draw per call, drawn
 * the same way whatever the call leads to, so a thread's n-th call gets the
 * same decision under the same seed. Whether a hold then happens depends on
 * what the other threads are doing at that moment, which no seed fixes
 * without a scheduler: a seed that failed once fails again often, not
 * always (the README gives the measured rate).
 *
 * This header has two halves: the strategy (perturb_core.c: pure, no
 * pthreads, no clocks, no malloc; tests/test_perturb.c), and the runtime's
 * hooks (perturb.c: the thread table, the holds, the clock and the budget),
 * called by the interposers.
 */
#ifndef LG_PERTURB_H
#define LG_PERTURB_H

#include <stdbool.h>
#include <stdint.h>

/* ---- the strategy (perturb_core.c) ------------------------------------- */

/* The calls at which lockgraph may perturb. */
enum lg_pt_op {
    LG_PT_LOCK,      /* mutex lock/timedlock, rwlock write lock, spin lock: before */
    LG_PT_RDLOCK,    /* rwlock read lock of any kind: never held */
    LG_PT_TRYLOCK,   /* mutex or spin trylock: before */
    LG_PT_UNLOCK,    /* any unlock: after */
    LG_PT_COND_WAIT, /* any condition-variable wait: before (spurious wake-ups) */
    LG_PT_SIGNAL,    /* pthread_cond_signal: after */
    LG_PT_BROADCAST, /* pthread_cond_broadcast: after */
    LG_PT_SEM_WAIT,  /* sem_wait and its timed/try kin: before */
    LG_PT_SEM_POST,  /* sem_post: after */
    LG_PT_BARRIER,   /* pthread_barrier_wait: before */
    LG_PT_JOIN,      /* pthread_join: before */
    LG_PT_START,     /* a new thread, before its start routine */
    LG_PT_NOPS
};

/* What a hold waits for (see the strategy above). */
enum lg_pt_hold {
    LG_PT_NONE = 0,
    LG_PT_STEP,       /* a higher-ranked running thread's next call */
    LG_PT_YIELD,      /* no higher-ranked thread running or waking */
    LG_PT_START_LATE, /* the creator not running */
};

/* Flags for lg_pt_decide(). */
#define LG_PT_F_NOYIELD 1u /* an unlock of a read lock or of a lock taken by trylock */
#define LG_PT_F_HOLDING 2u /* a signal/broadcast sent with a lock held */

struct lg_pt_config {
    uint64_t seed;           /* nonzero */
    uint64_t hold_max_ns;    /* the longest hold; holds are in [max/32, max] */
    uint32_t budget_pct;     /* holds total at most this % of the program's own time */
    uint64_t grace_ns;       /* ... or this much, whichever is more */
    uint32_t spurious_pct;   /* % of condition-variable waits that may wake spuriously */
    uint64_t spurious_min_ns, spurious_max_ns; /* the hold before one */
};

/* The strategy's state for one thread. Only that thread touches it. */
struct lg_pt_thread {
    uint64_t key;       /* the stream: seed and thread number */
    uint64_t draws;     /* values drawn so far */
    uint64_t calls;     /* calls decided so far */
    uint64_t change_at; /* the call at which its rank drops; 0: never */
    uint32_t num, depth;
    bool changed;
};

struct lg_pt_decision {
    enum lg_pt_hold hold;
    uint64_t bound_ns;    /* the hold's longest duration (0 with LG_PT_NONE) */
    bool spurious;        /* a condition-variable wait returns 0 without waiting... */
    uint64_t spurious_ns; /* ...after holding this long, if another thread runs */
    bool change_now;      /* this call is the thread's change point */
};

/* The configuration from the options (milliseconds, percent). */
void lg_pt_config_init(struct lg_pt_config *c, uint64_t seed, long budget_pct,
                       long hold_max_ms, long spurious_pct);

/* A seed from some entropy: never 0, at most 32 bits (easy to retype). */
uint64_t lg_pt_seed_from(uint64_t entropy);

/* The state of thread `num` (T<num>), `depth` creations below the first
 * thread: the same seed and number give the same stream, whatever other
 * threads do. */
void lg_pt_thread_init(struct lg_pt_thread *pt, const struct lg_pt_config *c, uint32_t num,
                       uint32_t depth);

/* The next value of the thread's stream. */
uint64_t lg_pt_draw(struct lg_pt_thread *pt);

/* What to do at one call: exactly one draw, whatever the answer. */
struct lg_pt_decision lg_pt_decide(struct lg_pt_thread *pt, const struct lg_pt_config *c,
                                   enum lg_pt_op op, unsigned flags);

/* A thread's rank: higher outranks lower. A thread without a change point
 * ranks by (depth, number): shallower first (a creator over what it
 * created), then younger (higher number) first. Every thread past its
 * change point ranks below all of those; `change_seq` (1, 2, ...: the order
 * in which change points were reached) puts later changes lower. */
uint64_t lg_pt_rank(uint32_t depth, uint32_t num, bool changed, uint64_t change_seq);

/* How much longer threads may be held: the budget at `elapsed_ns` into the
 * run (the larger of the grace and budget_pct % of the time in which no
 * thread was held), minus `used_ns`, the time in which some thread was. */
uint64_t lg_pt_budget_left(const struct lg_pt_config *c, uint64_t elapsed_ns, uint64_t used_ns);

/* A value in [lo, hi] from 32 random bits, log-uniform by octave: each
 * doubling from lo to hi is as likely as any other, uniform within it.
 * hi / lo should be a power of two. */
uint64_t lg_pt_log_uniform(uint32_t bits, uint64_t lo, uint64_t hi);

/* ---- the runtime's hooks (perturb.c) ----------------------------------- */

struct lg_thread;

/* True when perturb=1; set once at start, before any other thread. */
extern bool lg_perturb_on;

void lg_perturb_init(void);          /* after the options: the seed, the main thread */
void lg_perturb_finish(void);        /* at exit: the summary (verbosity >= 1) */
void lg_perturb_atfork_child(void);  /* only the forking thread is left */

void lg_perturb_before_slow(struct lg_thread *t, enum lg_pt_op op, uintptr_t obj);
void lg_perturb_after_slow(struct lg_thread *t, enum lg_pt_op op, uintptr_t obj, int err);
bool lg_perturb_spurious_slow(struct lg_thread *t, uintptr_t cond, uintptr_t mutex);
void lg_perturb_created_slow(struct lg_thread *t, uint32_t child_num);
void lg_perturb_create_failed_slow(uint32_t child_num);
void lg_perturb_start_slow(struct lg_thread *t);
void lg_perturb_exit_slow(struct lg_thread *t);

/*
 * The calls the interposers make. Each costs one predictable branch when
 * perturbation is off. `t` is the caller's record (NULL: not tracked, and
 * then nothing happens); `obj` the address of the pthread object.
 *
 *   lg_perturb_before(t, op, obj)     before the real call of an acquisition
 *                                     or wait (LOCK, RDLOCK, TRYLOCK,
 *                                     SEM_WAIT, BARRIER, JOIN): may hold
 *   lg_perturb_after(t, op, obj, err) after every real call with its result
 *                                     (acquisitions, waits and releases): the
 *                                     thread's step; after a release, may hold
 *   lg_perturb_spurious(t, cond, m)   before a condition-variable wait on
 *                                     mutex m: true means return 0 now,
 *                                     without waiting (m was never released)
 *   lg_perturb_created(t, num)        in pthread_create, before the real call
 *   lg_perturb_create_failed(num)     when the real pthread_create failed
 *   lg_perturb_start(t)               in the new thread, before its routine
 *   lg_perturb_exit(t)                on the thread's way out
 */
static inline void
lg_perturb_before(struct lg_thread *t, enum lg_pt_op op, uintptr_t obj)
{
    if (__builtin_expect(lg_perturb_on, 0) && t)
        lg_perturb_before_slow(t, op, obj);
}

static inline void
lg_perturb_after(struct lg_thread *t, enum lg_pt_op op, uintptr_t obj, int err)
{
    if (__builtin_expect(lg_perturb_on, 0) && t)
        lg_perturb_after_slow(t, op, obj, err);
}

static inline bool
lg_perturb_spurious(struct lg_thread *t, uintptr_t cond, uintptr_t mutex)
{
    return __builtin_expect(lg_perturb_on, 0) && t && lg_perturb_spurious_slow(t, cond, mutex);
}

static inline void
lg_perturb_created(struct lg_thread *t, uint32_t child_num)
{
    if (__builtin_expect(lg_perturb_on, 0) && t)
        lg_perturb_created_slow(t, child_num);
}

static inline void
lg_perturb_create_failed(uint32_t child_num)
{
    if (__builtin_expect(lg_perturb_on, 0))
        lg_perturb_create_failed_slow(child_num);
}

static inline void
lg_perturb_start(struct lg_thread *t)
{
    if (__builtin_expect(lg_perturb_on, 0) && t)
        lg_perturb_start_slow(t);
}

static inline void
lg_perturb_exit(struct lg_thread *t)
{
    if (__builtin_expect(lg_perturb_on, 0) && t)
        lg_perturb_exit_slow(t);
}

#endif /* LG_PERTURB_H */
