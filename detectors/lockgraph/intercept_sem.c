/*
 * intercept_sem.c - POSIX semaphores: signals, and semaphores used as locks.
 *
 * Most semaphores are signals (one thread posts, another waits for it):
 * lockgraph only tells the stall monitor that a thread waits for one. But
 * a semaphore set up by sem_init(s, 0, 1) is often a lock: CPython 3.11's
 * threading.Lock is one (PyThread_allocate_lock() inits it to 1; acquire is
 * sem_trywait and, only when that fails, sem_wait or sem_clockwait; release
 * is sem_post). Such a semaphore is a lock (LG_SEMAPHORE) for lock order,
 * deadlocks and stalls for as long as it behaves as a binary lock:
 *   - it was set up by sem_init with pshared 0 and value 1 (sem_locks=1);
 *   - each post comes from the thread that took it (lockgraph's belief,
 *     l->owner) while its value is 0.
 * The moment it does not - a post by another thread (Python lets any thread
 * release a Lock, and threading.Condition wakes its waiters exactly so), a
 * post above 1, a take that lockgraph's belief contradicts - it is a signal:
 * its record, graph node and edges are forgotten, the entries of the thread
 * that took it go stale, and it is never reported. Only a new sem_init
 * makes it a lock again. A lock-order cycle through one is reported only
 * once the thread that took it has posted it (check.c, held_back): until
 * then it may be a token that another thread will post.
 *
 * What differs from a mutex, and why:
 *   - a sem_trywait that takes the lock orders like a blocking take:
 *     CPython's blocking acquire is a sem_trywait first (it waits only when
 *     that fails), and a non-blocking acquire(False) is the very same call.
 *     lockgraph cannot tell them apart, so it also reports an order made
 *     only by non-blocking takes.
 *   - taking it again is never a self-deadlock (check.c): another thread
 *     may post it. A thread that waits for a semaphore it holds waits for a
 *     signal, and is booked as a semaphore wait, which the stall check
 *     judges when every thread is blocked.
 *   - a wait-for cycle through it is a deadlock only while no thread outside
 *     the cycle could post (check.c, nobody_can_post()).
 *   - a thread that exits holding one has not abandoned it (check.c).
 *
 * The cost for signals: until the program sets up its first binary
 * semaphore, one counter test; after that, one lookup by address, which
 * each thread remembers until the next binary semaphore is set up.
 */
#include "intercept.h"

/* Semaphore locks set up so far; 0: none, every semaphore is a signal. */
static atomic_uint_fast64_t sem_locks_made;

/* Per thread, direct mapped: semaphores this thread found to be signals,
 * and sem_locks_made when it looked. A record for a signal only appears by
 * a new sem_init to 1, which counts in sem_locks_made after it is made, so
 * the answer holds while the count has not moved: a program that mixes a
 * few binary semaphores with many signals does not look each signal up. */
#define SEM_SIGNAL_SLOTS 16
static LG_TLS struct {
    uintptr_t addr;
    uint64_t made;
} sem_signals[SEM_SIGNAL_SLOTS];

/* The record of s if s is a semaphore lock, with its identity in *uid. */
static struct lg_lock *
sem_lock_of(struct lg_thread *t, sem_t *s, uint64_t *uid)
{
    *uid = 0;
    uint64_t made = atomic_load_explicit(&sem_locks_made, memory_order_acquire);
    if (LG_LIKELY(made == 0))
        return NULL;
    uintptr_t addr = (uintptr_t)s;
    unsigned slot = (unsigned)(addr / sizeof(sem_t)) % SEM_SIGNAL_SLOTS;
    if (sem_signals[slot].addr == addr && sem_signals[slot].made == made)
        return NULL;
    struct lg_lock *l = lg_lock_find(t, addr);
    if (l && l->type == LG_SEMAPHORE && (*uid = lg_lock_uid(l)) != 0) {
        if (sem_signals[slot].addr == addr)
            sem_signals[slot].addr = 0;
        return l;
    }
    *uid = 0;
    sem_signals[slot].addr = addr;
    sem_signals[slot].made = made;
    return NULL;
}

static int
sem_value(sem_t *s)
{
    int v;
    return sem_getvalue(s, &v) == 0 ? v : -1;
}

/* It stopped behaving as a lock: it is a signal from now on. */
static void
sem_demote(struct lg_thread *t, struct lg_lock *l, uint64_t uid)
{
    lg_after_destroy(t, l, uid); /* this thread's entries, the node, the record */
}

/*
 * The real semaphore was taken: book it as held, unless it stopped being a
 * lock meanwhile, or lockgraph believes another thread holds it (then a post
 * went unseen, and lockgraph cannot follow this semaphore as a lock).
 */
static void
sem_took(struct lg_thread *t, struct lg_lock *l, uint64_t uid, enum lg_acquire_how how,
     uintptr_t site, uint64_t chain)
{
    if (lg_lock_uid(l) != uid)
        return;
    if (atomic_load_explicit(&l->owner, memory_order_relaxed)) {
        sem_demote(t, l, uid);
        return;
    }
    lg_after_acquire(t, l, LG_EXCL, how, site, chain);
    atomic_store_explicit(&l->owner, t, memory_order_relaxed);
}

/*
 * Take a semaphore lock this thread does not hold, waiting as the program
 * asked: for ever when `until` is NULL, else until `until` on `clock`. The
 * order "held locks -> this one" is checked before the thread blocks, as
 * for a mutex, and a blocked thread waits in slices, looking for the
 * wait-for cycle it may be part of. Called outside lockgraph, after the
 * caller's pthread_testcancel() (the waits are cancellation points even
 * when they need not wait, and a first sem_trywait is not); returns what
 * sem_wait, sem_timedwait or sem_clockwait would have, errno included.
 */
static int
sem_take(struct lg_thread *t, struct lg_lock *l, uint64_t uid, sem_t *s, clockid_t clock,
     const struct timespec *until, uintptr_t site)
{
    enum lg_acquire_how how = until ? LG_TIMED : LG_BLOCKING;
    uint64_t chain = 0;
    reenter();
    bool still = lg_lock_uid(l) == uid;
    if (still) {
        lg_held_drop_stale(t);
        chain = lg_before_acquire(t, l, LG_EXCL, how, site);
    }
    leave();
    int err = REAL(sem_trywait)(s) == 0 ? 0 : errno;
    if (err == EAGAIN) {
        if (still)
            err = lg_intercept_sem_wait_lock(t, l, s, clock, until, site);
        else if (until)
            err = REAL(sem_clockwait)(s, clock, until) == 0 ? 0 : errno;
        else
            err = REAL(sem_wait)(s) == 0 ? 0 : errno;
    }
    if (still) {
        reenter();
        if (err == 0)
            sem_took(t, l, uid, how, site, chain);
        else if (err == ETIMEDOUT)
            lg_after_failed_try(t, l, site);
        leave();
    }
    if (err == 0)
        return 0;
    errno = err;
    return -1;
}

/* ---- set up and tear down ----------------------------------------------- */

LG_EXPORT int
sem_init(sem_t *s, int pshared, unsigned value)
{
    int r = REAL(sem_init)(s, pshared, value);
    struct lg_thread *t;
    if (r != 0 || !(t = enter()))
        return r;
    if (pshared == 0 && value == 1 && lg_opt.sem_locks) {
        atomic_store_explicit(&lg_sem_locks_seen, true, memory_order_relaxed);
        lg_lock_init(t, (uintptr_t)s, LG_SEMAPHORE, 0, SITE);
        atomic_fetch_add_explicit(&sem_locks_made, 1, memory_order_release);
    } else {
        /* Whatever lock lived here before is gone; a signal has no record. */
        struct lg_lock *old = lg_lock_find(t, (uintptr_t)s);
        if (old)
            lg_lock_forget(old, lg_lock_uid(old));
    }
    leave();
    return r;
}

LG_EXPORT int
sem_destroy(sem_t *s)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(sem_destroy)(s);
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)s);
    uint64_t uid = l ? lg_lock_uid(l) : 0;
    leave();
    int r = REAL(sem_destroy)(s);
    if (r == 0 && l) {
        int e = errno;
        reenter();
        lg_after_destroy(t, l, uid);
        leave();
        errno = e;
    }
    return r;
}

/* ---- waits ------------------------------------------------------------------ */

/* Perturbation around a semaphore call, outside lockgraph and with errno
 * kept: a step hold before a wait (of any kind), a step after it; after a
 * post, a yield. */
static void
pt_sem_before(sem_t *s)
{
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy) {
        int e = errno;
        lg_perturb_before(lg_self_peek(), LG_PT_SEM_WAIT, (uintptr_t)s);
        errno = e;
    }
}

static int
pt_sem_after(sem_t *s, enum lg_pt_op op, int r)
{
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy) {
        int e = errno;
        lg_perturb_after(lg_self_peek(), op, (uintptr_t)s, r == 0 ? 0 : e);
        errno = e;
    }
    return r;
}

static int
sem_wait_checked(sem_t *s, uintptr_t site)
{
    pthread_testcancel(); /* outside lockgraph: a cancellation unwinds from here */
    struct lg_thread *t = enter();
    if (!t)
        return REAL(sem_wait)(s);
    uint64_t uid;
    struct lg_lock *l = sem_lock_of(t, s, &uid);
    bool mine = l && lg_held_find(t, l);
    leave();
    if (l && !mine)
        return sem_take(t, l, uid, s, CLOCK_REALTIME, NULL, site);
    /* A signal; or a semaphore lock this thread holds, which only another
     * thread can post: a wait for a signal all the same. One that is there
     * already is no wait to tell the stall monitor about. */
    int e = errno;
    if (REAL(sem_trywait)(s) == 0) {
        if (mine) { /* free although this thread holds it: a post went unseen */
            reenter();
            sem_demote(t, l, uid);
            leave();
        }
        errno = e;
        return 0;
    }
    errno = e;
    reenter();
    lg_wait_begin(t, LG_WAIT_SEM, NULL, (uintptr_t)s, LG_EXCL, site);
    leave();
    int r = REAL(sem_wait)(s);
    e = errno;
    reenter();
    lg_wait_end(t);
    if (mine)
        lg_held_drop_stale(t); /* whoever posted it made it a signal */
    leave();
    errno = e;
    return r;
}

LG_EXPORT int
sem_wait(sem_t *s)
{
    pt_sem_before(s);
    return pt_sem_after(s, LG_PT_SEM_WAIT, sem_wait_checked(s, SITE));
}

/* glibc refuses these with EINVAL before it looks at the semaphore. */
static bool
sem_deadline_valid(clockid_t clock, const struct timespec *ts)
{
    return (clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC) && ts && ts->tv_nsec >= 0
           && ts->tv_nsec < 1000000000L;
}

/* sem_timedwait and sem_clockwait. A timed wait is no part of a deadlock
 * or a stall (it ends by itself), but its take orders like any other. */
static int
sem_timed_wait(sem_t *s, clockid_t clock, const struct timespec *abstime, bool clockwait,
           uintptr_t site)
{
    struct lg_thread *t = NULL;
    struct lg_lock *l = NULL;
    uint64_t uid = 0;
    if (sem_deadline_valid(clock, abstime) && (t = enter())) {
        l = sem_lock_of(t, s, &uid);
        if (l && lg_held_find(t, l))
            l = NULL; /* held by this thread: a wait for a signal */
        leave();
    }
    if (l) {
        pthread_testcancel();
        return sem_take(t, l, uid, s, clock, abstime, site);
    }
    return clockwait ? REAL(sem_clockwait)(s, clock, abstime) : REAL(sem_timedwait)(s, abstime);
}

LG_EXPORT int
sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    pt_sem_before(s);
    return pt_sem_after(s, LG_PT_SEM_WAIT, sem_timed_wait(s, CLOCK_REALTIME, abstime, false, SITE));
}

LG_EXPORT int
sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
    pt_sem_before(s);
    return pt_sem_after(s, LG_PT_SEM_WAIT, sem_timed_wait(s, clock, abstime, true, SITE));
}

static int
sem_trywait_checked(sem_t *s, uintptr_t site)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(sem_trywait)(s);
    uint64_t uid;
    struct lg_lock *l = sem_lock_of(t, s, &uid);
    bool mine = l && lg_held_find(t, l);
    leave();
    int r = REAL(sem_trywait)(s);
    if (!l)
        return r;
    int e = errno;
    reenter();
    if (lg_lock_uid(l) != uid) {
        /* it became a signal meanwhile */
    } else if (r == 0 && mine) {
        sem_demote(t, l, uid); /* free although this thread holds it: a post went unseen */
    } else if (r == 0) {
        lg_held_drop_stale(t);
        sem_took(t, l, uid, LG_BLOCKING, site, lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, site));
    } else if (e == EAGAIN && !mine) {
        lg_after_failed_try(t, l, site); /* this thread's own lock is not one it tries for */
    }
    leave();
    errno = e;
    return r;
}

LG_EXPORT int
sem_trywait(sem_t *s)
{
    pt_sem_before(s);
    return pt_sem_after(s, LG_PT_SEM_WAIT, sem_trywait_checked(s, SITE));
}

/* ---- post ------------------------------------------------------------------- */

LG_EXPORT int
sem_post(sem_t *s)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(sem_post)(s);
    uint64_t uid;
    struct lg_lock *l = sem_lock_of(t, s, &uid);
    if (l) {
        /* Bookkeeping first: once the real post is done, the next owner
         * may already be recording itself. */
        int e = errno;
        if (lg_held_find(t, l) && atomic_load_explicit(&l->owner, memory_order_relaxed) == t
            && sem_value(s) == 0) {
            lg_before_release(t, l, (uintptr_t)s, t->tid, true, SITE);
            atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
            /* An exchange only the first time: a plain load on every post. */
            if (!atomic_load_explicit(&l->sem_proven, memory_order_relaxed)
                && !atomic_exchange_explicit(&l->sem_proven, true, memory_order_relaxed))
                lg_sem_proven(t); /* report what waited for this */
        } else {
            sem_demote(t, l, uid); /* posted by another thread, or above 1 */
        }
        errno = e;
    }
    leave();
    int r = REAL(sem_post)(s);
    int e = errno;
    released(t);
    errno = e;
    return pt_sem_after(s, LG_PT_SEM_POST, r);
}
