/*
 * intercept.h - what the interposer files share: the real functions, the
 * re-entry flag, and entering and leaving lockgraph.
 *
 * A thread-local flag keeps lockgraph out of its own way: while it is
 * working (capturing a stack, symbolising, writing a report) every
 * interposed call made on that thread goes straight to the real function.
 */
#ifndef LG_INTERCEPT_H
#define LG_INTERCEPT_H

#include "rt.h"

#include "perturb.h"

#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#define SITE ((uintptr_t)__builtin_return_address(0))

/* Non-zero while lockgraph itself is at work on this thread. */
extern LG_TLS int lg_busy;

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
    X(int, pthread_cond_signal, (pthread_cond_t *))                                       \
    X(int, pthread_cond_broadcast, (pthread_cond_t *))                                    \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *)) \
    X(int, pthread_join, (pthread_t, void **))                                            \
    X(int, pthread_barrier_wait, (pthread_barrier_t *))                                   \
    X(int, sem_wait, (sem_t *))

#define REAL_FIELD(ret, name, args) ret(*name) args;
struct lg_real {
    REAL_FUNCTIONS(REAL_FIELD)
};
#undef REAL_FIELD
extern struct lg_real lg_real;

/* Find every real function (idempotent; resolve.c). */
void lg_resolve(void);
#define REAL(name) (LG_LIKELY(lg_real.name != NULL) ? (void)0 : lg_resolve(), lg_real.name)

/* ---- entering and leaving lockgraph ------------------------------------- */

static inline struct lg_thread *
enter(void)
{
    if (LG_UNLIKELY(lg_busy || !atomic_load_explicit(&lg_active, memory_order_relaxed)))
        return NULL;
    lg_busy = 1;
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        lg_busy = 0;
    return t;
}

static inline void
leave(void)
{
    lg_busy = 0;
}

static inline void
reenter(void)
{
    lg_busy = 1;
}

#endif /* LG_INTERCEPT_H */
