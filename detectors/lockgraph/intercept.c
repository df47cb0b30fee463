/*
 * intercept.c - the pthread functions lockgraph puts itself in front of.
 *
 * This is the only file that knows the pthread ABI: the real functions
 * (found with dlvsym/dlsym(RTLD_NEXT), lazily, because another library's
 * constructor may lock a mutex before ours runs), glibc's object layouts
 * (to read a mutex's type and owner when lockgraph did not see it being set
 * up), init and exit, and fork.
 *
 * Every interposed call follows TSan's three steps: check before the call
 * (where a self-deadlock is reported before the thread blocks), the real
 * call, then record the acquisition only if it succeeded. A blocking
 * acquisition is made as a trylock first and, only when that fails, as a
 * series of timed waits; between two waits the blocked thread looks for a
 * wait-for cycle it belongs to. So only blocked acquisitions pay for
 * deadlock detection.
 *
 * A thread-local flag keeps lockgraph out of its own way: while it is
 * working (capturing a stack, symbolising, writing a report) every
 * interposed call made on that thread goes straight to the real function.
 */
#include "rt.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SITE ((uintptr_t)__builtin_return_address(0))

static LG_TLS int busy;

/* ---- the real functions ------------------------------------------------ */

#define REAL_FUNCTIONS(X)                                                                 \
    X(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *))          \
    X(int, pthread_mutex_destroy, (pthread_mutex_t *))                                    \
    X(int, pthread_mutex_lock, (pthread_mutex_t *))                                       \
    X(int, pthread_mutex_trylock, (pthread_mutex_t *))                                    \
    X(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *))         \
    X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *)) \
    X(int, pthread_mutex_unlock, (pthread_mutex_t *))                                     \
    X(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *))       \
    X(int, pthread_rwlock_destroy, (pthread_rwlock_t *))                                  \
    X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))                                   \
    X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *))                                \
    X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *))     \
    X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *)) \
    X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))                                   \
    X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *))                                \
    X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *))     \
    X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *)) \
    X(int, pthread_rwlock_unlock, (pthread_rwlock_t *))                                   \
    X(int, pthread_spin_init, (pthread_spinlock_t *, int))                                \
    X(int, pthread_spin_destroy, (pthread_spinlock_t *))                                  \
    X(int, pthread_spin_lock, (pthread_spinlock_t *))                                     \
    X(int, pthread_spin_trylock, (pthread_spinlock_t *))                                  \
    X(int, pthread_spin_unlock, (pthread_spinlock_t *))                                   \
    X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))                      \
    X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *)) \
    X(int, pthread_cond_clockwait, (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *)) \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *)) \
    X(int, pthread_join, (pthread_t, void **))                                            \
    X(int, pthread_barrier_wait, (pthread_barrier_t *))                                   \
    X(int, sem_wait, (sem_t *))

#define REAL_FIELD(ret, name, args) ret(*name) args;
static struct {
    REAL_FUNCTIONS(REAL_FIELD)
} real;
#undef REAL_FIELD

/* The condition-variable functions have an old (2.2.5) version beside the
 * current one; ask for the current one by name first. */
static void *
lookup(const char *name)
{
    static const char *versions[] = { "GLIBC_2.34", "GLIBC_2.3.2", "GLIBC_2.30" };
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        void *p = dlvsym(RTLD_NEXT, name, versions[i]);
        if (p)
            return p;
    }
    return dlsym(RTLD_NEXT, name);
}

static void
resolve(void)
{
    static atomic_int state; /* 0 not yet, 1 in progress, 2 done */
    int expected = 0;
    if (atomic_load_explicit(&state, memory_order_acquire) == 2)
        return;
    if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
        while (atomic_load_explicit(&state, memory_order_acquire) != 2)
            ;
        return;
    }
    int was_busy = busy;
    busy = 1; /* dlsym may allocate, and allocators may lock */
#define REAL_LOOKUP(ret, name, args) real.name = (ret(*) args)lookup(#name);
    REAL_FUNCTIONS(REAL_LOOKUP)
#undef REAL_LOOKUP
    busy = was_busy;
    if (!real.pthread_mutex_lock || !real.pthread_mutex_unlock || !real.pthread_create)
        LG_DIE("cannot find the real pthread functions (is this a glibc program?)");
    atomic_store_explicit(&state, 2, memory_order_release);
}

#define REAL(name) (LG_LIKELY(real.name != NULL) ? (void)0 : resolve(), real.name)

/* ---- entering and leaving lockgraph ------------------------------------- */

static inline struct lg_thread *
enter(void)
{
    if (LG_UNLIKELY(busy || !atomic_load_explicit(&lg_active, memory_order_relaxed)))
        return NULL;
    busy = 1;
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        busy = 0;
    return t;
}

static inline void
leave(void)
{
    busy = 0;
}

static inline void
reenter(void)
{
    busy = 1;
}

/* ---- what glibc's objects say about themselves -------------------------- */

static enum lg_lock_type
mutex_type(const pthread_mutex_t *m)
{
    switch (m->__data.__kind & 3) { /* PTHREAD_MUTEX_KIND_MASK_NP */
    case PTHREAD_MUTEX_RECURSIVE: return LG_MUTEX_RECURSIVE;
    case PTHREAD_MUTEX_ERRORCHECK: return LG_MUTEX_ERRORCHECK;
    default: return LG_MUTEX_NORMAL;
    }
}

static bool
mutex_robust(const pthread_mutex_t *m)
{
    return (m->__data.__kind & 16) != 0; /* PTHREAD_MUTEX_ROBUST_NORMAL_NP */
}

static bool
mutex_locked(const pthread_mutex_t *m)
{
    return atomic_load_explicit((const _Atomic int *)&m->__data.__lock, memory_order_relaxed) != 0;
}

static long
mutex_owner(const pthread_mutex_t *m)
{
    return atomic_load_explicit((const _Atomic int *)&m->__data.__owner, memory_order_relaxed);
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
    return atomic_load_explicit((const _Atomic int *)&rw->__data.__cur_writer,
                                memory_order_relaxed);
}

static bool
rwlock_locked(const pthread_rwlock_t *rw)
{
    unsigned readers = atomic_load_explicit((const _Atomic unsigned *)&rw->__data.__readers,
                                            memory_order_relaxed);
    return rwlock_writer(rw) != 0 || (readers >> 3) != 0; /* RWLOCK_READER_SHIFT */
}

size_t
lg_abi_object_size(const struct lg_lock *l)
{
    switch (l->type) {
    case LG_RWLOCK: return sizeof(pthread_rwlock_t);
    case LG_SPINLOCK: return sizeof(pthread_spinlock_t);
    default: return sizeof(pthread_mutex_t);
    }
}

long
lg_abi_owner_tid(const struct lg_lock *l)
{
    uintptr_t obj = lg_lock_addr(l);
    switch (l->type) {
    case LG_RWLOCK:
        return rwlock_writer((const pthread_rwlock_t *)obj);
    case LG_SPINLOCK: {
        struct lg_thread *o = atomic_load_explicit(&l->owner, memory_order_relaxed);
        return o ? o->tid : 0;
    }
    default:
        return mutex_owner((const pthread_mutex_t *)obj);
    }
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
    if (LG_LIKELY(t != NULL && !busy && atomic_load_explicit(&lg_active, memory_order_relaxed))) {
        uintptr_t addr = (uintptr_t)m;
        unsigned i = lg_cache_slot(addr);
        struct lg_lock *l = t->cache[i].lock;
        uint64_t uid = t->cache[i].uid;
        if (LG_LIKELY(l && t->cache[i].addr == addr
                      && atomic_load_explicit(&l->uid, memory_order_relaxed) == uid
                      && t->nheld < t->held_cap && !lg_held_find(t, l))) {
            uint64_t chain = lg_chain_for(t, uid, LG_EXCL);
            if (LG_LIKELY((t->nheld == 0 || lg_chain_known(t, chain))
                          && real.pthread_mutex_trylock(m) == 0)) {
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
    return err;
}

LG_EXPORT int
pthread_mutex_unlock(pthread_mutex_t *m)
{
    /* Fast path: releasing the innermost lock, with no retry episode to
     * account for. Bookkeeping first: once the real unlock is done, the
     * next owner may already be recording itself. */
    struct lg_thread *t = lg_tls_self;
    if (LG_LIKELY(t != NULL && !busy && t->nheld != 0 && !t->failed_since_release)) {
        struct lg_held *top = &t->held[t->nheld - 1];
        if (LG_LIKELY(top->addr == (uintptr_t)m && !top->spin)) {
            t->nheld--;
            return real.pthread_mutex_unlock(m);
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
    return REAL(pthread_mutex_unlock)(m);
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
    return REAL(pthread_rwlock_unlock)(rw);
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
    int err = REAL(pthread_spin_trylock)(s);
    if (l) {
        reenter();
        if (err == 0)
            lg_after_acquire(t, l, LG_EXCL, LG_TRY, site, lg_chain_for(t, lg_lock_uid(l), LG_EXCL));
        else
            lg_after_failed_try(t, l, site);
        leave();
    }
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
    return REAL(pthread_spin_unlock)(s);
}

/* ---- condition variables ------------------------------------------------- */

/*
 * pthread_cond_*wait releases the mutex and takes it again before it
 * returns. The release is booked before the call; the re-take after it, as
 * a blocking acquisition with whatever else the thread holds, so the order
 * "other held lock -> this mutex" is checked too.
 */
static int
cond_wait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock, const struct timespec *until,
          int kind, uintptr_t site)
{
    struct lg_thread *t = enter();
    if (!t) {
        switch (kind) {
        case 0: return REAL(pthread_cond_wait)(c, m);
        case 1: return REAL(pthread_cond_timedwait)(c, m, until);
        default: return REAL(pthread_cond_clockwait)(c, m, clock, until);
        }
    }
    struct lg_lock *l = lg_lock_find(t, (uintptr_t)m);
    struct lg_held saved;
    bool had = l && lg_held_find(t, l);
    if (had) {
        saved = *lg_held_find(t, l);
        lg_before_release(t, l, (uintptr_t)m, t->tid, true, site);
    }
    /* An untimed wait is what a stall is made of; a timed one ends by itself. */
    if (kind == 0)
        lg_wait_begin(t, LG_WAIT_COND, NULL, (uintptr_t)c, LG_EXCL, site);
    leave();
    int err;
    switch (kind) {
    case 0: err = REAL(pthread_cond_wait)(c, m); break;
    case 1: err = REAL(pthread_cond_timedwait)(c, m, until); break;
    default: err = REAL(pthread_cond_clockwait)(c, m, clock, until); break;
    }
    reenter();
    if (kind == 0)
        lg_wait_end(t);
    if (had) {
        uint64_t chain = lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, site);
        lg_after_acquire(t, l, LG_EXCL, LG_BLOCKING, saved.site, chain);
    }
    leave();
    return err;
}

LG_EXPORT int
pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    return cond_wait(c, m, CLOCK_REALTIME, NULL, 0, SITE);
}

LG_EXPORT int
pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
    return cond_wait(c, m, CLOCK_REALTIME, abstime, 1, SITE);
}

LG_EXPORT int
pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                       const struct timespec *abstime)
{
    return cond_wait(c, m, clock, abstime, 2, SITE);
}

/* ---- threads, barriers, semaphores ---------------------------------------- */

struct start {
    void *(*fn)(void *);
    void *arg;
    uint32_t creator, num;
    lg_stack_id created_at;
};

static void *
thread_start(void *p)
{
    struct start s = *(struct start *)p;
    lg_mem_free(p, sizeof s);
    lg_thread_number_promise(s.num);
    struct lg_thread *t = enter();
    if (t) {
        t->creator = s.creator;
        t->created_at = s.created_at;
        leave();
    }
    return s.fn(s.arg);
}

LG_EXPORT int
pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_create)(th, attr, fn, arg);
    struct start *s = lg_mem_alloc(sizeof *s);
    if (s) {
        s->fn = fn;
        s->arg = arg;
        s->creator = t->num;
        s->num = lg_thread_number_next();
        s->created_at = lg_stack_capture(1);
    }
    leave();
    if (!s)
        return REAL(pthread_create)(th, attr, fn, arg);
    int err = REAL(pthread_create)(th, attr, thread_start, s);
    if (err != 0)
        lg_mem_free(s, sizeof *s);
    return err;
}

/* A call that blocks until another thread acts, bracketed for the stall
 * monitor. */
#define BLOCKING_CALL(kind, object, call)                                    \
    do {                                                                     \
        struct lg_thread *t_ = enter();                                      \
        if (!t_)                                                             \
            return call;                                                     \
        lg_wait_begin(t_, (kind), NULL, (uintptr_t)(object), LG_EXCL, SITE); \
        leave();                                                             \
        int err_ = call;                                                     \
        reenter();                                                           \
        lg_wait_end(t_);                                                     \
        leave();                                                             \
        return err_;                                                         \
    } while (0)

LG_EXPORT int
pthread_join(pthread_t th, void **ret)
{
    BLOCKING_CALL(LG_WAIT_JOIN, th, REAL(pthread_join)(th, ret));
}

LG_EXPORT int
pthread_barrier_wait(pthread_barrier_t *b)
{
    BLOCKING_CALL(LG_WAIT_BARRIER, b, REAL(pthread_barrier_wait)(b));
}

LG_EXPORT int
sem_wait(sem_t *s)
{
    BLOCKING_CALL(LG_WAIT_SEM, s, REAL(sem_wait)(s));
}

/* ---- start, fork, exit ---------------------------------------------------- */

static pthread_key_t exit_key;

static void
thread_exit(void *p)
{
    int was = busy;
    busy = 1;
    lg_thread_exiting(p);
    busy = was;
}

/* The liveness monitor: a detached thread that lockgraph never tracks
 * (busy for good), started at init and again in a fork child. */
static void *
monitor_main(void *unused)
{
    (void)unused;
    busy = 1;
    lg_liveness_run();
    return NULL;
}

static void
start_monitor(void)
{
    if (!lg_opt.liveness)
        return;
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (REAL(pthread_create)(&th, &attr, monitor_main, NULL) != 0)
        lg_note("cannot start the liveness monitor: no starvation, livelock or stall "
                "reports in this run");
    pthread_attr_destroy(&attr);
}

static void
fork_prepare(void)
{
    busy = 1;
    lg_reporting_atfork_prepare();
    lg_mutex_lock(&lg_graph_lock);
    lg_threads_atfork_prepare();
    lg_locks_atfork_prepare();
    lg_stack_atfork_prepare();
    lg_mem_atfork_prepare();
}

static void
fork_parent(void)
{
    lg_mem_atfork_parent();
    lg_stack_atfork_parent();
    lg_locks_atfork_parent();
    lg_threads_atfork_parent();
    lg_mutex_unlock(&lg_graph_lock);
    lg_reporting_atfork_parent();
    busy = 0;
}

static void
fork_child(void)
{
    lg_mem_atfork_child();
    lg_stack_atfork_child();
    lg_locks_atfork_child();
    lg_threads_atfork_child();
    lg_mutex_reset(&lg_graph_lock);
    lg_reporting_atfork_child();
    /* The monitor thread is not copied by fork, and a child should not start
     * threads before it execs: liveness checks end in the child. */
    busy = 0;
}

__attribute__((constructor)) static void
lg_start(void)
{
    busy = 1;
    resolve();
    lg_options_defaults(&lg_opt);
    const char *env = getenv("LOCKGRAPH_OPTIONS");
    char err[256];
    if (env && lg_options_parse(&lg_opt, env, &lg_mem, err, sizeof err) != 0) {
        fprintf(stderr, "lockgraph: LOCKGRAPH_OPTIONS: %s (LOCKGRAPH_OPTIONS=help=1 lists "
                        "every option)\n", err);
        _exit(2);
    }
    if (lg_opt.help) {
        struct lg_buf b;
        lg_buf_init(&b, &lg_mem);
        lg_options_help(&b, false);
        fprintf(stderr, "lockgraph options (LOCKGRAPH_OPTIONS=key=value:key=value):\n%s",
                b.data ? b.data : "");
        lg_buf_free(&b);
        _exit(0);
    }
    if (lg_graph_new(&lg_graph, &lg_mem, NULL) != 0)
        LG_DIE("no memory for the lock-order graph");
    lg_locks_init();
    lg_stack_init();
    lg_reporting_init();
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        LG_DIE("pthread_key_create");
    lg_threads_set_exit_key(exit_key);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    if (!lg_self())
        LG_DIE("no memory for the main thread's record");
    atomic_store_explicit(&lg_active, true, memory_order_release);
    if (lg_opt.verbosity >= 1)
        lg_note("checking pid %ld", (long)getpid());
    start_monitor();
    busy = 0;
}

__attribute__((destructor)) static void
lg_stop(void)
{
    busy = 1;
    lg_reporting_finish();
    atomic_store_explicit(&lg_active, false, memory_order_relaxed);
}
