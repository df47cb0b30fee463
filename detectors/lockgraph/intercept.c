/*
 * intercept.c - the pthread functions lockgraph puts itself in front of.
 *
 * This file has the locks: mutexes, reader-writer locks, spinlocks.
 * intercept_sync.c has condition variables, threads and barriers;
 * intercept_sem.c semaphores; intercept_c11.c C11 <threads.h> (both through
 * the lg_intercept_* paths of these two files); init.c has start, exit and
 * fork; resolve.c finds the real functions; abi.c reads glibc's objects (a
 * mutex's type and owner when lockgraph did not see it being set up).
 *
 * Every interposed call follows TSan's three steps: check before the call
 * (where a self-deadlock is reported before the thread blocks), the real
 * call, then record the acquisition only if it succeeded. A blocking
 * acquisition is made as a trylock first and, only when that fails, as a
 * series of timed waits; between two waits the blocked thread looks for a
 * wait-for cycle it belongs to. So only blocked acquisitions pay for
 * deadlock detection.
 */
#include "intercept.h"

#include <errno.h>

/* ---- what glibc's objects say about themselves (abi.h) ------------------ */

static enum lg_lock_type
mutex_type(const pthread_mutex_t *m)
{
    switch (lg_abi_mutex_kind((uintptr_t)m)) {
    case PTHREAD_MUTEX_RECURSIVE: return LG_MUTEX_RECURSIVE;
    case PTHREAD_MUTEX_ERRORCHECK: return LG_MUTEX_ERRORCHECK;
    default: return LG_MUTEX_NORMAL;
    }
}

static bool
mutex_robust(const pthread_mutex_t *m)
{
    return lg_abi_mutex_robust((uintptr_t)m);
}

/* What the record keeps of a mutex besides its type. */
static unsigned
mutex_flags(const pthread_mutex_t *m)
{
    return (mutex_robust(m) ? LG_LOCK_ROBUST : 0)
           | (lg_abi_mutex_pshared((uintptr_t)m) ? LG_LOCK_PSHARED : 0);
}

static unsigned
rwlock_flags(const pthread_rwlock_t *rw)
{
    return lg_abi_rwlock_pshared((uintptr_t)rw) ? LG_LOCK_PSHARED : 0;
}

static bool
mutex_locked(const pthread_mutex_t *m)
{
    return lg_abi_mutex_locked((uintptr_t)m);
}

static long
mutex_owner(const pthread_mutex_t *m)
{
    return lg_abi_mutex_owner((uintptr_t)m);
}

/* The record of a mutex, created at first sight; NULL when out of memory,
 * or when the memory is no mutex (reported: `call` is the function). */
static struct lg_lock *
mutex_record(struct lg_thread *t, pthread_mutex_t *m, const char *call, uintptr_t site)
{
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)m);
    if (LG_LIKELY(l != NULL && l->type != LG_SEMAPHORE))
        return l;
    if (!lg_check_mutex(t, (uintptr_t)m, call, site))
        return NULL;
    /* lg_lock_get() replaces a semaphore's record left at this address. */
    return lg_lock_get(t, (uintptr_t)m, mutex_type(m), mutex_flags(m), site);
}

static long
rwlock_writer(const pthread_rwlock_t *rw)
{
    return lg_abi_rwlock_writer((uintptr_t)rw);
}

static bool
rwlock_locked(const pthread_rwlock_t *rw)
{
    return lg_abi_rwlock_locked((uintptr_t)rw);
}

/* ---- waiting in slices -------------------------------------------------- */

static struct timespec
ts_add_ms(struct timespec ts, long ms)
{
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * The deadline of the next slice on `clock`: now + slice, or the caller's
 * own deadline `until` (on the same clock) if that comes first. Sets *last
 * when the caller's deadline is the one used.
 */
static struct timespec
next_slice(clockid_t clock, const struct timespec *until, bool *last)
{
    struct timespec now, slice;
    clock_gettime(clock, &now);
    slice = ts_add_ms(now, lg_wait_slice_ms());
    *last = until && !ts_before(&slice, until) ? (slice = *until, true) : false;
    return slice;
}

static bool
valid_ts(const struct timespec *ts)
{
    return ts && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/* The clocks glibc's clocked locks accept (2.36: lll_futex_supported_clockid,
 * futex_abstimed_supported_clockid); with any other they fail with EINVAL
 * before they look at the lock. */
static bool
supported_clock(clockid_t clock)
{
    return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

enum lock_op { OP_MUTEX, OP_RDLOCK, OP_WRLOCK, OP_SEM };

/* One timed attempt of the real function, until `deadline` on `clock`. */
static int
timed_attempt(enum lock_op op, void *obj, clockid_t clock, const struct timespec *deadline)
{
    switch (op) {
    case OP_MUTEX: return REAL(pthread_mutex_clocklock)(obj, clock, deadline);
    case OP_RDLOCK: return REAL(pthread_rwlock_clockrdlock)(obj, clock, deadline);
    case OP_WRLOCK: return REAL(pthread_rwlock_clockwrlock)(obj, clock, deadline);
    case OP_SEM: return REAL(sem_clockwait)(obj, clock, deadline) == 0 ? 0 : errno;
    }
    return EINVAL;
}

/*
 * Block on a lock the way the program asked (for ever when `until` is
 * NULL), but in slices, polling for a wait-for cycle in between.
 */
static int
wait_lock(struct lg_thread *t, struct lg_lock *l, enum lock_op op, void *obj, clockid_t clock,
          const struct timespec *until, uintptr_t site)
{
    reenter();
    lg_wait_begin(t, LG_WAIT_LOCK, l, (uintptr_t)obj, op == OP_RDLOCK ? LG_SHARED : LG_EXCL,
                  site);
    if (until)
        lg_wait_set_timed(t);
    leave();
    int err;
    for (;;) {
        bool last;
        struct timespec slice = next_slice(until ? clock : CLOCK_MONOTONIC, until, &last);
        err = timed_attempt(op, obj, until ? clock : CLOCK_MONOTONIC, &slice);
        if (err != ETIMEDOUT || last)
            break;
        reenter();
        lg_wait_poll(t);
        leave();
    }
    reenter();
    lg_wait_end(t);
    leave();
    return err;
}

int
lg_intercept_sem_wait_lock(struct lg_thread *t, struct lg_lock *l, sem_t *s, clockid_t clock,
                           const struct timespec *until, uintptr_t site)
{
    return wait_lock(t, l, OP_SEM, s, clock, until, site);
}

/* ---- destroy, for every kind of lock ------------------------------------ */

/* A destroy under way: the destroy-locked check before the real call, and
 * the end of the lock's identity after it, if it worked. */
struct destroying {
    struct lg_thread *t;
    struct lg_lock *l;
    uint64_t uid;
    uintptr_t obj, site;
};

/* `mutex`: a mutex, which may be no mutex at all (invalid-mutex). */
static struct destroying
destroy_begin(uintptr_t obj, bool mutex, bool locked, long owner, uintptr_t site)
{
    struct destroying d = { enter(), NULL, 0, obj, site };
    if (d.t) {
        d.l = lg_lock_find(d.t, obj);
        d.uid = d.l ? lg_lock_uid(d.l) : 0;
        if (d.l || !mutex || lg_check_mutex(d.t, obj, "pthread_mutex_destroy", site))
            lg_before_destroy(d.t, d.l, obj, locked, owner, site);
        leave();
    }
    return d;
}

static int
destroy_end(struct destroying d, int err)
{
    if (err == 0 && d.t) {
        reenter();
        lg_lock_note_destroyed(d.obj, d.site);
        if (d.l)
            lg_after_destroy(d.t, d.l, d.uid);
        leave();
    }
    return err;
}

/* ---- mutexes --------------------------------------------------------------- */

void
lg_intercept_mutex_created(pthread_mutex_t *m, uintptr_t site)
{
    struct lg_thread *t = enter();
    if (t) {
        lg_lock_init(t, (uintptr_t)m, mutex_type(m), mutex_flags(m), site);
        leave();
    }
}

LG_EXPORT int
pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    int err = REAL(pthread_mutex_init)(m, attr);
    if (err == 0)
        lg_intercept_mutex_created(m, SITE);
    return err;
}

int
lg_intercept_mutex_destroy(pthread_mutex_t *m, uintptr_t site)
{
    struct destroying d = destroy_begin((uintptr_t)m, true, mutex_locked(m), mutex_owner(m),
                                        site);
    return destroy_end(d, REAL(pthread_mutex_destroy)(m));
}

LG_EXPORT int
pthread_mutex_destroy(pthread_mutex_t *m)
{
    return lg_intercept_mutex_destroy(m, SITE);
}

/*
 * The first, non-blocking attempt of a lock: a trylock, which *busy says
 * failed for being held. Not for a robust mutex: glibc 2.36's trylock of an
 * unrecoverable one succeeds at the lock word, then answers
 * ENOTRECOVERABLE and leaves it set (pthread_mutex_lock unlocks it again),
 * so a trylock standing in for a lock would leave the mutex locked by the
 * thread and the retry would wait for itself. A clocklock with a deadline
 * already past takes pthread_mutex_lock's path instead and answers as it
 * does (0, EOWNERDEAD, ENOTRECOVERABLE, EDEADLK), or ETIMEDOUT when the
 * mutex is held.
 */
static int
first_attempt(pthread_mutex_t *m, bool *busy)
{
    static const struct timespec gone = { 0, 0 };
    int err;
    if (!mutex_robust(m)) {
        err = REAL(pthread_mutex_trylock)(m);
        *busy = err == EBUSY;
    } else {
        err = REAL(pthread_mutex_clocklock)(m, CLOCK_MONOTONIC, &gone);
        *busy = err == ETIMEDOUT;
    }
    return err;
}

/* lock, timedlock and clocklock: `until` NULL means wait for ever. */
static int
mutex_acquire(pthread_mutex_t *m, clockid_t clock, const struct timespec *until, bool timed,
              uintptr_t site)
{
    /* Arguments glibc refuses before it looks at the mutex: its own answer,
     * and nothing taken (a trylock first would take a free mutex). A bad
     * tv_nsec is not one of them: glibc checks it only once it would block
     * (a free mutex is taken), which the trylock-first path below keeps. */
    if (timed && !supported_clock(clock))
        return REAL(pthread_mutex_clocklock)(m, clock, until);
    struct lg_thread *t = enter();
    if (!t)
        return timed ? REAL(pthread_mutex_clocklock)(m, clock, until)
                     : REAL(pthread_mutex_lock)(m);
    struct lg_lock *l = mutex_record(t, m, timed ? "pthread_mutex_timedlock" : "pthread_mutex_lock",
                                     site);
    if (!l) {
        leave();
        return timed ? REAL(pthread_mutex_clocklock)(m, clock, until)
                     : REAL(pthread_mutex_lock)(m);
    }
    enum lg_acquire_how how = timed ? LG_TIMED : LG_BLOCKING;
    uint64_t chain = lg_before_acquire(t, l, LG_EXCL, how, site);
    leave();
    lg_perturb_before(t, LG_PT_LOCK, (uintptr_t)m);
    bool busy;
    int err = first_attempt(m, &busy);
    if (busy) {
        if (timed && !valid_ts(until))
            err = REAL(pthread_mutex_clocklock)(m, clock, until); /* its own EINVAL */
        else
            err = wait_lock(t, l, OP_MUTEX, m, clock, timed ? until : NULL, site);
    }
    reenter();
    if (err == 0 || err == EOWNERDEAD)
        lg_after_acquire(t, l, LG_EXCL, how, site, chain);
    else if (err == ETIMEDOUT)
        lg_after_failed_try(t, l, site);
    leave();
    lg_perturb_after(t, LG_PT_LOCK, (uintptr_t)m, err == EOWNERDEAD ? 0 : err);
    return err;
}

/*
 * The fast path of every lock operation: a mutex this thread has looked up
 * before, taken in a chain of held locks it has used before, and free (so
 * not held by this thread, unless it is recursive). It is what mutex_acquire() does in
 * that case, minus the generality: no re-entry flag (nothing here can call
 * back into pthreads), one trylock, and the bookkeeping inline. Anything
 * else (a new chain, a held lock, a busy mutex) takes the full path.
 *
 * mutex_lock_fast() is the test and the trylock; true means the mutex is
 * now held and the caller books it, with its own return address read only
 * then (reading it before the trylock would keep it in a register across
 * the call, which the hottest path of all pays for).
 */
struct fast_take {
    struct lg_thread *t;
    struct lg_lock *l;
    uint64_t uid, chain;
};

static inline __attribute__((always_inline)) bool
mutex_lock_fast(pthread_mutex_t *m, struct fast_take *ft)
{
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t != NULL && !lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed)
                  && !lg_perturb_on)) {
        uint64_t uid;
        struct lg_lock *l = lg_cache_get(t, (uintptr_t)m, &uid);
        /* A mutex this thread holds fails the trylock below (or, recursive,
         * is taken again, which orders nothing and is booked like any
         * acquisition), so the held stack need not be scanned here. */
        if (LG_LIKELY(l
                      /* A robust mutex's trylock is no lock (first_attempt()),
                       * and its EOWNERDEAD would be lost here. */
                      && !l->robust && t->nheld < t->held_cap)) {
            uint64_t chain = lg_chain_for(t, uid, LG_EXCL);
            if (LG_LIKELY((t->nheld == 0 || lg_chain_known(t, chain))
                          && lg_real.pthread_mutex_trylock(m) == 0)) {
                *ft = (struct fast_take){ t, l, uid, chain };
                return true;
            }
        }
    }
    return false;
}

LG_EXPORT int
pthread_mutex_lock(pthread_mutex_t *m)
{
    struct fast_take ft;
    if (LG_LIKELY(mutex_lock_fast(m, &ft))) {
        lg_acquired(ft.t, ft.l, ft.uid, LG_EXCL, false, SITE, ft.chain);
        return 0;
    }
    return mutex_acquire(m, CLOCK_REALTIME, NULL, false, SITE);
}

int
lg_intercept_mutex_lock(pthread_mutex_t *m, uintptr_t site)
{
    struct fast_take ft;
    if (!mutex_lock_fast(m, &ft))
        return mutex_acquire(m, CLOCK_REALTIME, NULL, false, site);
    lg_acquired(ft.t, ft.l, ft.uid, LG_EXCL, false, site, ft.chain);
    return 0;
}

LG_EXPORT int
pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    return mutex_acquire(m, CLOCK_REALTIME, abstime, true, SITE);
}

int
lg_intercept_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime, uintptr_t site)
{
    return mutex_acquire(m, CLOCK_REALTIME, abstime, true, site);
}

LG_EXPORT int
pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
    return mutex_acquire(m, clock, abstime, true, SITE);
}

int
lg_intercept_mutex_trylock(pthread_mutex_t *m, uintptr_t site)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_mutex_trylock)(m);
    struct lg_lock *l = mutex_record(t, m, "pthread_mutex_trylock", site);
    leave();
    lg_perturb_before(t, LG_PT_TRYLOCK, (uintptr_t)m);
    int err = REAL(pthread_mutex_trylock)(m);
    if (l) {
        reenter();
        if (err == 0 || err == EOWNERDEAD)
            lg_after_acquire(t, l, LG_EXCL, LG_TRY, site,
                             lg_chain_for(t, lg_lock_uid(l), LG_EXCL));
        else if (err == EBUSY)
            lg_after_failed_try(t, l, site);
        leave();
    }
    lg_perturb_after(t, LG_PT_TRYLOCK, (uintptr_t)m, err == EOWNERDEAD ? 0 : err);
    return err;
}

LG_EXPORT int
pthread_mutex_trylock(pthread_mutex_t *m)
{
    return lg_intercept_mutex_trylock(m, SITE);
}

/*
 * The fast path of an unlock: releasing the innermost lock, with no retry
 * episode to account for. True when it applied (the real unlock's result in
 * *err); the caller's return address is needed only on the full path.
 */
static inline __attribute__((always_inline)) bool
mutex_unlock_fast(pthread_mutex_t *m, int *err)
{
    /* Bookkeeping first: once the real unlock is done, the next owner may
     * already be recording itself. */
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t != NULL && !lg_busy && t->nheld != 0 && !t->failed_since_release
                  && !lg_perturb_on)) {
        struct lg_held *top = &t->held[t->nheld - 1];
        if (LG_LIKELY(top->addr == (uintptr_t)m && !top->spin)) {
            t->nheld--;
            *err = lg_real.pthread_mutex_unlock(m);
            released(t);
            return true;
        }
    }
    return false;
}

static int
mutex_release(pthread_mutex_t *m, uintptr_t site)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_mutex_unlock)(m);
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)m);
    /* Bookkeeping first, as above. */
    if (l || lg_check_mutex(t, (uintptr_t)m, "pthread_mutex_unlock", site))
        lg_before_release(t, l, (uintptr_t)m, mutex_owner(m), mutex_locked(m), site);
    leave();
    int err = REAL(pthread_mutex_unlock)(m);
    released(t);
    lg_perturb_after(t, LG_PT_UNLOCK, (uintptr_t)m, err);
    return err;
}

LG_EXPORT int
pthread_mutex_unlock(pthread_mutex_t *m)
{
    int err;
    return LG_LIKELY(mutex_unlock_fast(m, &err)) ? err : mutex_release(m, SITE);
}

int
lg_intercept_mutex_unlock(pthread_mutex_t *m, uintptr_t site)
{
    int err;
    return mutex_unlock_fast(m, &err) ? err : mutex_release(m, site);
}

/* ---- reader-writer locks ------------------------------------------------- */

LG_EXPORT int
pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    int err = REAL(pthread_rwlock_init)(rw, attr);
    struct lg_thread *t;
    if (err == 0 && (t = enter())) {
        lg_lock_init(t, (uintptr_t)rw, LG_RWLOCK, rwlock_flags(rw), SITE);
        leave();
    }
    return err;
}

LG_EXPORT int
pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    struct destroying d = destroy_begin((uintptr_t)rw, false, rwlock_locked(rw),
                                        rwlock_writer(rw), SITE);
    return destroy_end(d, REAL(pthread_rwlock_destroy)(rw));
}

static int
rwlock_acquire(pthread_rwlock_t *rw, enum lock_op op, clockid_t clock,
               const struct timespec *until, bool timed, uintptr_t site)
{
    bool rd = op == OP_RDLOCK;
    /* glibc checks an rwlock's clock and deadline before anything else, and
     * fails with EINVAL without taking a free lock (NULL means no deadline). */
    if (timed && until && (!supported_clock(clock) || !valid_ts(until)))
        return timed_attempt(op, rw, clock, until);
    struct lg_thread *t = enter();
    struct lg_lock *l = t ? lg_lock_get(t, (uintptr_t)rw, LG_RWLOCK, rwlock_flags(rw), site) : NULL;
    if (!l) {
        if (t)
            leave();
        if (timed)
            return rd ? REAL(pthread_rwlock_clockrdlock)(rw, clock, until)
                      : REAL(pthread_rwlock_clockwrlock)(rw, clock, until);
        return rd ? REAL(pthread_rwlock_rdlock)(rw) : REAL(pthread_rwlock_wrlock)(rw);
    }
    enum lg_mode mode = rd ? LG_SHARED : LG_EXCL;
    enum lg_acquire_how how = timed ? LG_TIMED : LG_BLOCKING;
    uint64_t chain = lg_before_acquire(t, l, mode, how, site);
    leave();
    lg_perturb_before(t, rd ? LG_PT_RDLOCK : LG_PT_LOCK, (uintptr_t)rw);
    int err = rd ? REAL(pthread_rwlock_tryrdlock)(rw) : REAL(pthread_rwlock_trywrlock)(rw);
    if (err == EBUSY) {
        if (timed && !valid_ts(until))
            err = timed_attempt(op, rw, clock, until);
        else
            err = wait_lock(t, l, op, rw, clock, timed ? until : NULL, site);
    }
    reenter();
    if (err == 0)
        lg_after_acquire(t, l, mode, how, site, chain);
    else if (err == ETIMEDOUT)
        lg_after_failed_try(t, l, site);
    leave();
    lg_perturb_after(t, rd ? LG_PT_RDLOCK : LG_PT_LOCK, (uintptr_t)rw, err);
    return err;
}

LG_EXPORT int
pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
    return rwlock_acquire(rw, OP_RDLOCK, CLOCK_REALTIME, NULL, false, SITE);
}

LG_EXPORT int
pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
    return rwlock_acquire(rw, OP_WRLOCK, CLOCK_REALTIME, NULL, false, SITE);
}

LG_EXPORT int
pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
    return rwlock_acquire(rw, OP_RDLOCK, CLOCK_REALTIME, abstime, true, SITE);
}

LG_EXPORT int
pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *abstime)
{
    return rwlock_acquire(rw, OP_WRLOCK, CLOCK_REALTIME, abstime, true, SITE);
}

LG_EXPORT int
pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t clock, const struct timespec *abstime)
{
    return rwlock_acquire(rw, OP_RDLOCK, clock, abstime, true, SITE);
}

LG_EXPORT int
pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t clock, const struct timespec *abstime)
{
    return rwlock_acquire(rw, OP_WRLOCK, clock, abstime, true, SITE);
}

static int
rwlock_try(pthread_rwlock_t *rw, bool rd, uintptr_t site)
{
    struct lg_thread *t = enter();
    if (!t)
        return rd ? REAL(pthread_rwlock_tryrdlock)(rw) : REAL(pthread_rwlock_trywrlock)(rw);
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)rw, LG_RWLOCK, rwlock_flags(rw), site);
    leave();
    lg_perturb_before(t, rd ? LG_PT_RDLOCK : LG_PT_TRYLOCK, (uintptr_t)rw);
    int err = rd ? REAL(pthread_rwlock_tryrdlock)(rw) : REAL(pthread_rwlock_trywrlock)(rw);
    if (l) {
        reenter();
        if (err == 0)
            lg_after_acquire(t, l, rd ? LG_SHARED : LG_EXCL, LG_TRY, site,
                             lg_chain_for(t, lg_lock_uid(l), rd ? LG_SHARED : LG_EXCL));
        else if (err == EBUSY)
            lg_after_failed_try(t, l, site);
        leave();
    }
    lg_perturb_after(t, rd ? LG_PT_RDLOCK : LG_PT_TRYLOCK, (uintptr_t)rw, err);
    return err;
}

LG_EXPORT int
pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    return rwlock_try(rw, true, SITE);
}

LG_EXPORT int
pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
    return rwlock_try(rw, false, SITE);
}

LG_EXPORT int
pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_rwlock_unlock)(rw);
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)rw);
    long writer = rwlock_writer(rw);
    /* Read holders are anonymous in glibc's rwlock: an unlock by a thread
     * lockgraph did not see reading cannot be judged, so only a write-held
     * or an unlocked rwlock can be misuse. */
    bool locked = rwlock_locked(rw);
    lg_before_release(t, l, (uintptr_t)rw, writer ? writer : (locked ? -1 : 0), locked, SITE);
    leave();
    int err = REAL(pthread_rwlock_unlock)(rw);
    released(t);
    lg_perturb_after(t, LG_PT_UNLOCK, (uintptr_t)rw, err);
    return err;
}

/* ---- spinlocks ------------------------------------------------------------- */

LG_EXPORT int
pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    int err = REAL(pthread_spin_init)(s, pshared);
    struct lg_thread *t;
    if (err == 0 && (t = enter())) {
        lg_lock_init(t, (uintptr_t)s, LG_SPINLOCK,
                     pshared == PTHREAD_PROCESS_SHARED ? LG_LOCK_PSHARED : 0, SITE);
        leave();
    }
    return err;
}

LG_EXPORT int
pthread_spin_destroy(pthread_spinlock_t *s)
{
    struct destroying d = destroy_begin((uintptr_t)s, false, lg_abi_spin_locked((uintptr_t)s), -1,
                                        SITE);
    return destroy_end(d, REAL(pthread_spin_destroy)(s));
}

LG_EXPORT int
pthread_spin_lock(pthread_spinlock_t *s)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_spin_lock)(s);
    uintptr_t site = SITE;
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)s, LG_SPINLOCK, 0, site);
    if (!l) {
        leave();
        return REAL(pthread_spin_lock)(s);
    }
    uint64_t chain = lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, site);
    leave();
    lg_perturb_before(t, LG_PT_LOCK, (uintptr_t)s);
    int err = REAL(pthread_spin_trylock)(s);
    if (err == EBUSY) {
        /* Spin as the real lock would, looking at the clock now and then
         * so that a spinning thread also finds its deadlock. */
        reenter();
        lg_wait_begin(t, LG_WAIT_LOCK, l, (uintptr_t)s, LG_EXCL, site);
        leave();
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        next = ts_add_ms(next, lg_wait_slice_ms());
        for (unsigned i = 1; (err = REAL(pthread_spin_trylock)(s)) == EBUSY; i++) {
            __builtin_ia32_pause();
            if (i % 4096 == 0) {
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (ts_before(&next, &now)) {
                    reenter();
                    lg_wait_poll(t);
                    leave();
                    next = ts_add_ms(now, lg_wait_slice_ms());
                }
            }
        }
        reenter();
        lg_wait_end(t);
        leave();
    }
    if (err == 0) {
        reenter();
        lg_after_acquire(t, l, LG_EXCL, LG_BLOCKING, site, chain);
        leave();
    }
    lg_perturb_after(t, LG_PT_LOCK, (uintptr_t)s, err);
    return err;
}

LG_EXPORT int
pthread_spin_trylock(pthread_spinlock_t *s)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_spin_trylock)(s);
    uintptr_t site = SITE;
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)s, LG_SPINLOCK, 0, site);
    leave();
    lg_perturb_before(t, LG_PT_TRYLOCK, (uintptr_t)s);
    int err = REAL(pthread_spin_trylock)(s);
    if (l) {
        reenter();
        if (err == 0)
            lg_after_acquire(t, l, LG_EXCL, LG_TRY, site, lg_chain_for(t, lg_lock_uid(l), LG_EXCL));
        else
            lg_after_failed_try(t, l, site);
        leave();
    }
    lg_perturb_after(t, LG_PT_TRYLOCK, (uintptr_t)s, err);
    return err;
}

LG_EXPORT int
pthread_spin_unlock(pthread_spinlock_t *s)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_spin_unlock)(s);
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)s);
    lg_before_release(t, l, (uintptr_t)s, -1, lg_abi_spin_locked((uintptr_t)s), SITE);
    leave();
    int err = REAL(pthread_spin_unlock)(s);
    released(t);
    lg_perturb_after(t, LG_PT_UNLOCK, (uintptr_t)s, err);
    return err;
}


/* ---- memory that goes away ------------------------------------------------ */

/*
 * Locks live in memory, and memory can go: munmap, an mmap with MAP_FIXED
 * over it, dlclose of the library whose static mutexes they were. What
 * comes next at those addresses is other locks, so every record in the
 * range is forgotten. The real calls are the system calls themselves (what
 * glibc's wrappers make), so that lockgraph's own allocator, which maps
 * and unmaps through these very symbols, needs no symbol lookup.
 */
#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void
memory_gone(uintptr_t lo, size_t len)
{
    if (lg_busy || !atomic_load_explicit(&lg_active, memory_order_relaxed) || len == 0)
        return;
    reenter();
    lg_locks_forget_range(lo, lo + len);
    leave();
}

LG_EXPORT int
munmap(void *addr, size_t len)
{
    long r = syscall(SYS_munmap, addr, len);
    if (r == 0)
        memory_gone((uintptr_t)addr, len);
    return (int)r;
}

LG_EXPORT void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && (flags & MAP_FIXED))
        memory_gone((uintptr_t)p, len);
    return p;
}

/*
 * free(): a heap block given back may have held locks (a C++ object's
 * std::mutex, whose destructor is trivial, never calls
 * pthread_mutex_destroy; much C code frees without it too), and the
 * allocator hands the addresses to the next objects, whose locks must not
 * inherit the old ones' order (TSan and Helgrind forget them too). The
 * block's size is its allocator's malloc_usable_size, so both must come
 * from one object (an allocator that defines free but not that would be
 * asked about a pointer glibc never made): lg_resolve() checks that, and
 * else free is only passed on. A free near no lock costs the size and one
 * read of a small table (lg_locks_block_may_hold).
 */
LG_EXPORT void
free(void *p)
{
    void (*real)(void *) = REAL(free);
    if (LG_UNLIKELY(!real))
        return; /* called back from inside lg_resolve(): leak, rather than guess */
    if (p && lg_real_free_sized && !lg_busy
        && atomic_load_explicit(&lg_active, memory_order_relaxed)) {
        uintptr_t lo = (uintptr_t)p, hi = lo + lg_real.malloc_usable_size(p);
        if (hi > lo && lg_locks_block_may_hold(lo, hi)) {
            reenter();
            lg_locks_forget_block(lo, hi);
            leave();
        }
    }
    real(p);
}

/* The loaded segments of one object, found by its load address. */
struct segments {
    uintptr_t base;
    bool found;
    unsigned n;
    struct { uintptr_t lo, hi; } seg[16];
};

static int
find_segments(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct segments *s = ctx;
    if (info->dlpi_addr != s->base || s->found)
        return 0;
    s->found = true;
    for (unsigned i = 0; i < info->dlpi_phnum && s->n < 16; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        s->seg[s->n].lo = s->base + ph->p_vaddr;
        s->seg[s->n].hi = s->base + ph->p_vaddr + ph->p_memsz;
        s->n++;
    }
    return 1;
}

/* A separate function: dlclose's own argument is declared non-null, and
 * a program may still pass NULL (glibc then reports an error). */
static __attribute__((noinline)) void
segments_of(void *handle, struct segments *s)
{
    struct link_map *map = NULL;
    if (handle && dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_addr) {
        s->base = map->l_addr;
        dl_iterate_phdr(find_segments, s);
    }
}

LG_EXPORT int
dlclose(void *handle)
{
    struct segments before = { 0 };
    struct lg_thread *t = enter();
    if (t) {
        segments_of(handle, &before); /* after the call they are gone */
        leave();
    }
    int err = REAL(dlclose)(handle);
    if (err == 0 && t && before.n) {
        reenter();
        /* Unloaded only if no other reference kept it: is it still there? */
        struct segments after = { .base = before.base };
        dl_iterate_phdr(find_segments, &after);
        leave();
        if (!after.found)
            for (unsigned i = 0; i < before.n; i++)
                memory_gone(before.seg[i].lo, before.seg[i].hi - before.seg[i].lo);
    }
    return err;
}
