/*
 * intercept_sync.c - the waits that are not locks: condition variables,
 * thread creation and join, barriers, semaphores. A condition-variable wait
 * releases and re-takes its mutex, and is booked as such; the others only
 * tell the stall monitor what the thread is blocked in.
 */
#include "intercept.h"

#include <errno.h>

/* ---- condition variables ------------------------------------------------- */

/* Whether a wait could still return 0 now: untimed, or its deadline valid
 * and ahead (a deadline already passed must give ETIMEDOUT). A spurious
 * wake-up is only made where the real call could have woken. */
static bool
deadline_ahead(int kind, clockid_t clock, const struct timespec *until)
{
    if (kind == 0)
        return true;
    struct timespec now;
    if (!until || until->tv_nsec < 0 || until->tv_nsec >= 1000000000L
        || clock_gettime(kind == 1 ? CLOCK_REALTIME : clock, &now) != 0)
        return false;
    return now.tv_sec < until->tv_sec
           || (now.tv_sec == until->tv_sec && now.tv_nsec < until->tv_nsec);
}

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
    if (lg_perturb_on && had && deadline_ahead(kind, clock, until)) {
        leave();
        if (lg_perturb_spurious(t, (uintptr_t)c, (uintptr_t)m) && deadline_ahead(kind, clock, until))
            return 0; /* a spurious wake-up: the mutex was never released */
        reenter();
    }
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
    lg_perturb_after(t, LG_PT_COND_WAIT, (uintptr_t)c, err);
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

/* Signal and broadcast are interposed for perturbation only: the signaller
 * may yield to the threads it woke. */
LG_EXPORT int
pthread_cond_signal(pthread_cond_t *c)
{
    int err = REAL(pthread_cond_signal)(c);
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy)
        lg_perturb_after(lg_self_peek(), LG_PT_SIGNAL, (uintptr_t)c, err);
    return err;
}

LG_EXPORT int
pthread_cond_broadcast(pthread_cond_t *c)
{
    int err = REAL(pthread_cond_broadcast)(c);
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy)
        lg_perturb_after(lg_self_peek(), LG_PT_BROADCAST, (uintptr_t)c, err);
    return err;
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
        lg_perturb_start(t);
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
        lg_perturb_created(t, s->num);
    }
    leave();
    if (!s)
        return REAL(pthread_create)(th, attr, fn, arg);
    int err = REAL(pthread_create)(th, attr, thread_start, s);
    if (err != 0) {
        lg_perturb_create_failed(s->num);
        lg_mem_free(s, sizeof *s);
    }
    return err;
}

/* A call that blocks until another thread acts, bracketed for the stall
 * monitor (and for perturbation: a step hold before, a step after). */
#define BLOCKING_OP(kind)                                                    \
    ((kind) == LG_WAIT_JOIN ? LG_PT_JOIN                                     \
     : (kind) == LG_WAIT_BARRIER ? LG_PT_BARRIER : LG_PT_SEM_WAIT)
#define BLOCKING_CALL(kind, object, call)                                    \
    do {                                                                     \
        struct lg_thread *t_ = enter();                                      \
        if (!t_)                                                             \
            return call;                                                     \
        leave();                                                             \
        lg_perturb_before(t_, BLOCKING_OP(kind), (uintptr_t)(object));       \
        reenter();                                                           \
        lg_wait_begin(t_, (kind), NULL, (uintptr_t)(object), LG_EXCL, SITE); \
        leave();                                                             \
        int err_ = call;                                                     \
        reenter();                                                           \
        lg_wait_end(t_);                                                     \
        leave();                                                             \
        lg_perturb_after(t_, BLOCKING_OP(kind), (uintptr_t)(object), err_);  \
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

