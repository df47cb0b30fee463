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

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <time.h>

#define SITE ((uintptr_t)__builtin_return_address(0))

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
    X(int, pthread_cond_destroy, (pthread_cond_t *))                                      \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *)) \
    X(int, pthread_join, (pthread_t, void **))                                            \
    X(int, pthread_barrier_init, (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned)) \
    X(int, pthread_barrier_destroy, (pthread_barrier_t *))                                \
    X(int, pthread_barrier_wait, (pthread_barrier_t *))                                   \
    X(int, dlclose, (void *))                                                             \
    X(int, sem_init, (sem_t *, int, unsigned))                                            \
    X(int, sem_destroy, (sem_t *))                                                        \
    X(int, sem_wait, (sem_t *))                                                           \
    X(int, sem_trywait, (sem_t *))                                                        \
    X(int, sem_timedwait, (sem_t *, const struct timespec *))                             \
    X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *))                  \
    X(int, sem_post, (sem_t *))                                                           \
    X(int, mtx_init, (mtx_t *, int))                                                      \
    X(int, thrd_create, (thrd_t *, thrd_start_t, void *))                                 \
    X(int, thrd_join, (thrd_t, int *))                                                    \
    X(int, cnd_signal, (cnd_t *))                                                         \
    X(int, cnd_broadcast, (cnd_t *))                                                      \
    X(void, free, (void *))                                                               \
    X(void, _exit, (int))                                                                 \
    X(void, quick_exit, (int))                                                            \
    X(void, abort, (void))                                                                \
    X(int, execve, (const char *, char *const[], char *const[]))                          \
    X(int, execvpe, (const char *, char *const[], char *const[]))                         \
    X(int, fexecve, (int, char *const[], char *const[]))                                  \
    X(int, execveat, (int, const char *, char *const[], char *const[], int))              \
    X(int, prctl, (int, ...))                                                             \
    X(int, unshare, (int))                                                                \
    X(int, setns, (int, int))                                                             \
    X(size_t, malloc_usable_size, (void *))

#define REAL_FIELD(ret, name, args) ret(*name) args;
struct lg_real {
    REAL_FUNCTIONS(REAL_FIELD)
};
#undef REAL_FIELD
extern struct lg_real lg_real;
/* The real free and malloc_usable_size come from one object (one
 * allocator), so that a freed block's size can be asked (intercept.c). */
extern bool lg_real_free_sized;

/* Find every real function (idempotent; resolve.c). */
void lg_resolve(void);
/* Whether any loaded object (the program, lockgraph, any library) defines
 * the function `name`; found without allocating, as the real functions. */
bool lg_defined_anywhere(const char *name);
/* The file lockgraph's own object was loaded from, as the loader names it
 * (NULL if unknown). */
const char *lg_self_path(void);
/* The object loaded before lockgraph that had to provide the real
 * functions (the program then calls it directly, past lockgraph), or
 * NULL: the usual case, where they come after lockgraph. */
const char *lg_resolve_shadowed_by(void);
/* Start lockgraph now, if its constructor has not run yet: a thread
 * creation before it (init.c). */
void lg_start_early(void);
/* A call of the program's failed because lockgraph's monitor thread
 * counts against the process (init.c): the monitor ends for good, and true
 * says to try the call again. `why` completes "whose thread kept ...". */
bool lg_monitor_give_way(const char *why);
#define REAL(name) (LG_LIKELY(lg_real.name != NULL) ? (void)0 : lg_resolve(), lg_real.name)

/* ---- entering and leaving lockgraph ------------------------------------- */

/* Back to the program: the caller's cancellation state too, if lockgraph's
 * work disabled it (rt.h: Cancellation). */
static inline void
leave(void)
{
    lg_busy = 0;
    if (LG_UNLIKELY(lg_cancel_saved))
        lg_cancel_restore();
}

static inline struct lg_thread *
enter(void)
{
    if (LG_UNLIKELY(lg_busy || !atomic_load_explicit(&lg_active, memory_order_relaxed)))
        return NULL;
    lg_busy = 1;
    struct lg_thread *t = lg_self();
    if (LG_UNLIKELY(!t))
        leave();
    return t;
}

static inline void
reenter(void)
{
    lg_busy = 1;
}

/* After the real release of a lock: a thread that now holds nothing stores
 * the chains it noted, unless another thread has the graph (rt.h). */
static inline void
released(struct lg_thread *t)
{
    if (LG_UNLIKELY(t && atomic_load_explicit(&t->npend, memory_order_relaxed) != 0)
        && t->nheld == 0 && !lg_busy) {
        reenter();
        lg_pend_flush(t, false);
        leave();
    }
}

/* A call that blocks until another thread acts, bracketed for the stall
 * monitor (in a function returning the call's result), and for
 * perturbation as `pt_op`: a step hold before, a step after. */
#define BLOCKING_CALL(kind, pt_op, object, call)                                    \
    do {                                                                     \
        struct lg_thread *t_ = enter();                                      \
        if (!t_)                                                             \
            return call;                                                     \
        uintptr_t site_ = SITE;                                              \
        leave();                                                             \
        lg_perturb_before(t_, (pt_op), (uintptr_t)(object));                 \
        reenter();                                                           \
        lg_wait_begin(t_, (kind), NULL, (uintptr_t)(object), LG_EXCL, site_); \
        leave();                                                             \
        int err_ = call;                                                     \
        int errno_ = errno;                                                  \
        reenter();                                                           \
        lg_wait_end(t_);                                                     \
        leave();                                                             \
        lg_perturb_after(t_, (pt_op), (uintptr_t)(object), err_);            \
        errno = errno_;                                                      \
        return err_;                                                         \
    } while (0)

/* ---- the pthread interposers' paths, for intercept_c11.c and
 * intercept_sem.c: each is what the pthread function of that name does,
 * with the caller's return address (`site`) passed in. They return what
 * the pthread function returns. ----------------------------------------- */

/* intercept.c */
void lg_intercept_mutex_created(pthread_mutex_t *m, uintptr_t site); /* after an init that worked */
int lg_intercept_mutex_destroy(pthread_mutex_t *m, uintptr_t site);
int lg_intercept_mutex_lock(pthread_mutex_t *m, uintptr_t site);
int lg_intercept_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime,
                                 uintptr_t site);
int lg_intercept_mutex_trylock(pthread_mutex_t *m, uintptr_t site);
int lg_intercept_mutex_unlock(pthread_mutex_t *m, uintptr_t site);
/* Block on a semaphore lock as on a mutex (for ever when `until` is NULL,
 * else until `until` on `clock`), in slices that look for a wait-for cycle:
 * 0, or the errno sem_clockwait failed with. Called outside lockgraph
 * (after leave()), as the real call would be. */
int lg_intercept_sem_wait_lock(struct lg_thread *t, struct lg_lock *l, sem_t *s,
                               clockid_t clock, const struct timespec *until, uintptr_t site);

/* intercept_sync.c */
int lg_intercept_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime,
                           bool timed, uintptr_t site);
/* After a real signal or broadcast on c (pthread or C11). */
void lg_intercept_cond_woken(pthread_cond_t *c, int err);
/* pthread_cond_destroy, or C11 cnd_destroy (glibc's is the same call). */
int lg_intercept_cond_destroy(pthread_cond_t *c, uintptr_t site);
/* pthread_create with a record for the new thread; `c11_fn`, when set, is
 * a C11 start function (int result) and `fn` is ignored. -1 when lockgraph
 * cannot follow the thread (not running, no memory): the caller then makes
 * its own real call. */
int lg_intercept_thread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                               int (*c11_fn)(void *), void *arg);

#endif /* LG_INTERCEPT_H */
