/*
 * intercept.c - the pthread functions lockgraph puts itself in front of.
 *
 * This file has the locks: mutexes, reader-writer locks, spinlocks.
 * intercept_sync.c has condition variables, threads, barriers and
 * semaphores; init.c has start, exit and fork; resolve.c finds the real
 * functions; abi.c reads glibc's objects (a mutex's type and owner when
 * lockgraph did not see it being set up).
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

static struct lg_lock *
mutex_record(struct lg_thread *t, pthread_mutex_t *m, uintptr_t site)
{
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)m);
    if (LG_LIKELY(l != NULL))
        return l;
    return lg_lock_get(t, (uintptr_t)m, mutex_type(m), mutex_robust(m), site);
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

enum lock_op { OP_MUTEX, OP_RDLOCK, OP_WRLOCK };

/* One timed attempt of the real function, until `deadline` on `clock`. */
static int
timed_attempt(enum lock_op op, void *obj, clockid_t clock, const struct timespec *deadline)
{
    switch (op) {
    case OP_MUTEX: return REAL(pthread_mutex_clocklock)(obj, clock, deadline);
    case OP_RDLOCK: return REAL(pthread_rwlock_clockrdlock)(obj, clock, deadline);
    case OP_WRLOCK: return REAL(pthread_rwlock_clockwrlock)(obj, clock, deadline);
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

/* ---- destroy, for every kind of lock ------------------------------------ */

/* A destroy under way: the destroy-locked check before the real call, and
 * the end of the lock's identity after it, if it worked. */
struct destroying {
    struct lg_thread *t;
    struct lg_lock *l;
    uint64_t uid;
};

static struct destroying
destroy_begin(uintptr_t obj, bool locked, long owner, uintptr_t site)
{
    struct destroying d = { enter(), NULL, 0 };
    if (d.t) {
        d.l = lg_lock_find(d.t, obj);
        d.uid = d.l ? lg_lock_uid(d.l) : 0;
        lg_before_destroy(d.t, d.l, obj, locked, owner, site);
        leave();
    }
    return d;
}

static int
destroy_end(struct destroying d, int err)
{
    if (err == 0 && d.l) {
        reenter();
        lg_after_destroy(d.t, d.l, d.uid);
        leave();
    }
    return err;
}

/* ---- mutexes --------------------------------------------------------------- */

LG_EXPORT int
pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    int err = REAL(pthread_mutex_init)(m, attr);
    struct lg_thread *t;
    if (err == 0 && (t = enter())) {
        lg_lock_init(t, (uintptr_t)m, mutex_type(m), mutex_robust(m), SITE);
        leave();
    }
    return err;
}

LG_EXPORT int
pthread_mutex_destroy(pthread_mutex_t *m)
{
    struct destroying d = destroy_begin((uintptr_t)m, mutex_locked(m), mutex_owner(m), SITE);
    return destroy_end(d, REAL(pthread_mutex_destroy)(m));
}

/* lock, timedlock and clocklock: `until` NULL means wait for ever. */
static int
mutex_acquire(pthread_mutex_t *m, clockid_t clock, const struct timespec *until, bool timed,
              uintptr_t site)
{
    struct lg_thread *t = enter();
    if (!t)
        return timed ? REAL(pthread_mutex_clocklock)(m, clock, until)
                     : REAL(pthread_mutex_lock)(m);
    struct lg_lock *l = mutex_record(t, m, site);
    if (!l) {
        leave();
        return timed ? REAL(pthread_mutex_clocklock)(m, clock, until)
                     : REAL(pthread_mutex_lock)(m);
    }
    enum lg_acquire_how how = timed ? LG_TIMED : LG_BLOCKING;
    uint64_t chain = lg_before_acquire(t, l, LG_EXCL, how, site);
    leave();
    lg_perturb_before(t, LG_PT_LOCK, (uintptr_t)m);
    int err = REAL(pthread_mutex_trylock)(m);
    if (err == EBUSY) {
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
 * before, taken in a chain of held locks it has used before, that it does
 * not already hold, and that is free. It is what mutex_acquire() does in
 * that case, minus the generality: no re-entry flag (nothing here can call
 * back into pthreads), one trylock, and the bookkeeping inline. Anything
 * else (a new chain, a held lock, a busy mutex) takes the full path.
 */
LG_EXPORT int
pthread_mutex_lock(pthread_mutex_t *m)
{
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t != NULL && !lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed)
                  && !lg_perturb_on)) {
        uintptr_t addr = (uintptr_t)m;
        unsigned i = lg_cache_slot(addr);
        struct lg_lock *l = t->cache[i].lock;
        uint64_t uid = t->cache[i].uid;
        if (LG_LIKELY(l && t->cache[i].addr == addr
                      && atomic_load_explicit(&l->uid, memory_order_relaxed) == uid
                      && t->nheld < t->held_cap && !lg_held_find(t, l))) {
            uint64_t chain = lg_chain_for(t, uid, LG_EXCL);
            if (LG_LIKELY((t->nheld == 0 || lg_chain_known(t, chain))
                          && lg_real.pthread_mutex_trylock(m) == 0)) {
                lg_acquired(t, l, uid, LG_EXCL, false, SITE, chain);
                return 0;
            }
        }
    }
    return mutex_acquire(m, CLOCK_REALTIME, NULL, false, SITE);
}

LG_EXPORT int
pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    return mutex_acquire(m, CLOCK_REALTIME, abstime, true, SITE);
}

LG_EXPORT int
pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
    return mutex_acquire(m, clock, abstime, true, SITE);
}

LG_EXPORT int
pthread_mutex_trylock(pthread_mutex_t *m)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_mutex_trylock)(m);
    uintptr_t site = SITE;
    struct lg_lock *l = mutex_record(t, m, site);
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
pthread_mutex_unlock(pthread_mutex_t *m)
{
    /* Fast path: releasing the innermost lock, with no retry episode to
     * account for. Bookkeeping first: once the real unlock is done, the
     * next owner may already be recording itself. */
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t != NULL && !lg_busy && t->nheld != 0 && !t->failed_since_release
                  && !lg_perturb_on)) {
        struct lg_held *top = &t->held[t->nheld - 1];
        if (LG_LIKELY(top->addr == (uintptr_t)m && !top->spin)) {
            t->nheld--;
            return lg_real.pthread_mutex_unlock(m);
        }
    }
    t = enter();
    if (!t)
        return REAL(pthread_mutex_unlock)(m);
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)m);
    /* Bookkeeping first: once the real unlock is done, the next owner may
     * already be recording itself. */
    lg_before_release(t, l, (uintptr_t)m, mutex_owner(m), mutex_locked(m), SITE);
    leave();
    int err = REAL(pthread_mutex_unlock)(m);
    lg_perturb_after(t, LG_PT_UNLOCK, (uintptr_t)m, err);
    return err;
}

/* ---- reader-writer locks ------------------------------------------------- */

LG_EXPORT int
pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    int err = REAL(pthread_rwlock_init)(rw, attr);
    struct lg_thread *t;
    if (err == 0 && (t = enter())) {
        lg_lock_init(t, (uintptr_t)rw, LG_RWLOCK, false, SITE);
        leave();
    }
    return err;
}

LG_EXPORT int
pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    struct destroying d = destroy_begin((uintptr_t)rw, rwlock_locked(rw), rwlock_writer(rw), SITE);
    return destroy_end(d, REAL(pthread_rwlock_destroy)(rw));
}

static int
rwlock_acquire(pthread_rwlock_t *rw, enum lock_op op, clockid_t clock,
               const struct timespec *until, bool timed, uintptr_t site)
{
    bool rd = op == OP_RDLOCK;
    struct lg_thread *t = enter();
    struct lg_lock *l = t ? lg_lock_get(t, (uintptr_t)rw, LG_RWLOCK, false, site) : NULL;
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
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)rw, LG_RWLOCK, false, site);
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
        lg_lock_init(t, (uintptr_t)s, LG_SPINLOCK, false, SITE);
        leave();
    }
    return err;
}

LG_EXPORT int
pthread_spin_destroy(pthread_spinlock_t *s)
{
    bool locked = atomic_load_explicit((_Atomic int *)s, memory_order_relaxed) != 0;
    struct destroying d = destroy_begin((uintptr_t)s, locked, -1, SITE);
    return destroy_end(d, REAL(pthread_spin_destroy)(s));
}

LG_EXPORT int
pthread_spin_lock(pthread_spinlock_t *s)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_spin_lock)(s);
    uintptr_t site = SITE;
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)s, LG_SPINLOCK, false, site);
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
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)s, LG_SPINLOCK, false, site);
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
    bool locked = atomic_load_explicit((_Atomic int *)s, memory_order_relaxed) != 0;
    lg_before_release(t, l, (uintptr_t)s, -1, locked, SITE);
    leave();
    int err = REAL(pthread_spin_unlock)(s);
    lg_perturb_after(t, LG_PT_UNLOCK, (uintptr_t)s, err);
    return err;
}

