/*
 * intercept_sync.c - the waits that are not locks: condition variables,
 * thread creation and join, barriers (semaphores are intercept_sem.c's). A
 * condition-variable wait releases and re-takes its mutex, and is booked as
 * such; the others only tell the stall monitor what the thread is blocked
 * in.
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
    lg_before_cond_wait(t, (uintptr_t)c, (uintptr_t)m, l, kind == 0, site);
    struct lg_held saved;
    bool had = l && lg_held_find(t, l);
    if (lg_perturb_on && had && deadline_ahead(kind, clock, until)) {
        leave();
        bool spurious = lg_perturb_spurious(t, (uintptr_t)c, (uintptr_t)m)
                        && deadline_ahead(kind, clock, until);
        reenter();
        if (spurious) { /* a spurious wake-up: the mutex was never released */
            lg_after_cond_wait(t, (uintptr_t)c, (uintptr_t)m);
            leave();
            return 0;
        }
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
    lg_after_cond_wait(t, (uintptr_t)c, (uintptr_t)m);
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

int
lg_intercept_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime,
                       bool timed, uintptr_t site)
{
    return cond_wait(c, m, CLOCK_REALTIME, abstime, timed ? 1 : 0, site);
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

/* A signal or broadcast ends what lockgraph counts as certainly blocked
 * on c (booked after the real call: a wait begun in between is then taken
 * as woken, never the other way round); and with perturbation, the
 * signaller may yield to the threads it woke. */
void
lg_intercept_cond_woken(pthread_cond_t *c, int err)
{
    if (err == 0 && !lg_busy)
        lg_cond_woken((uintptr_t)c);
}

LG_EXPORT int
pthread_cond_signal(pthread_cond_t *c)
{
    int err = REAL(pthread_cond_signal)(c);
    lg_intercept_cond_woken(c, err);
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy)
        lg_perturb_after(lg_self_peek(), LG_PT_SIGNAL, (uintptr_t)c, err);
    return err;
}

LG_EXPORT int
pthread_cond_broadcast(pthread_cond_t *c)
{
    int err = REAL(pthread_cond_broadcast)(c);
    lg_intercept_cond_woken(c, err);
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy)
        lg_perturb_after(lg_self_peek(), LG_PT_BROADCAST, (uintptr_t)c, err);
    return err;
}

/* glibc's pthread_cond_destroy waits until every thread inside a wait on c
 * has left it: with one still blocked and nobody to wake it, for ever. That
 * is reported, and the destroy is then a wait the stall monitor watches. */
int
lg_intercept_cond_destroy(pthread_cond_t *c, uintptr_t site)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_cond_destroy)(c);
    bool blocks = lg_before_cond_destroy(t, (uintptr_t)c, site);
    if (blocks)
        lg_wait_begin(t, LG_WAIT_COND_DESTROY, NULL, (uintptr_t)c, LG_EXCL, site);
    leave();
    int err = REAL(pthread_cond_destroy)(c);
    if (blocks) {
        reenter();
        lg_wait_end(t);
        leave();
    }
    return err;
}

LG_EXPORT int
pthread_cond_destroy(pthread_cond_t *c)
{
    return lg_intercept_cond_destroy(c, SITE);
}

/* ---- calls that want a single-threaded process -------------------------- */

/* unshare(CLONE_NEWUSER) and setns into a user or mount namespace fail
 * with EINVAL in a process with more than one thread: lockgraph's monitor
 * must not be the one (lg_monitor_give_way). */
LG_EXPORT int
unshare(int flags)
{
    int r = REAL(unshare)(flags);
    if (r != 0 && errno == EINVAL
        && lg_monitor_give_way("the process from being single-threaded (unshare)")) {
        errno = 0;
        r = REAL(unshare)(flags);
    }
    return r;
}

LG_EXPORT int
setns(int fd, int nstype)
{
    int r = REAL(setns)(fd, nstype);
    if (r != 0 && errno == EINVAL
        && lg_monitor_give_way("the process from being single-threaded (setns)")) {
        errno = 0;
        r = REAL(setns)(fd, nstype);
    }
    return r;
}

/* ---- threads and barriers -------------------------------------------------- */

struct start {
    void *(*fn)(void *);
    int (*c11_fn)(void *); /* a C11 thread's start function, or NULL */
    void *arg;
    size_t stack_size;     /* as the attributes ask, 0 unknown */
    uint32_t creator, num, epoch;
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
        /* This frame is near the top of the stack (glibc puts the thread's
         * TLS above it): the size below it, about. */
        uintptr_t top = (uintptr_t)__builtin_frame_address(0);
        t->stack_low = s.stack_size && s.stack_size < top ? top - s.stack_size : 0;
        t->create_epoch = s.epoch;
        lg_thread_link_child(t);
        leave();
        lg_perturb_start(t);
    }
    /* As glibc's start_thread does for a C11 thread: thrd_join() gets the
     * int back from the pointer. */
    return s.c11_fn ? (void *)(uintptr_t)s.c11_fn(s.arg) : s.fn(s.arg);
}

int
lg_intercept_thread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                           int (*c11_fn)(void *), void *arg)
{
    if (LG_UNLIKELY(!atomic_load_explicit(&lg_active, memory_order_relaxed)))
        lg_start_early(); /* a library's constructor, before lockgraph's */
    struct lg_thread *t = enter();
    struct start *s = t ? lg_mem_alloc(sizeof *s) : NULL;
    if (s) {
        s->fn = fn;
        s->c11_fn = c11_fn;
        s->arg = arg;
        s->stack_size = 0;
        pthread_attr_t dflt;
        if (attr)
            pthread_attr_getstacksize(attr, &s->stack_size);
        else if (pthread_getattr_default_np(&dflt) == 0) { /* RLIMIT_STACK's, or as set */
            pthread_attr_getstacksize(&dflt, &s->stack_size);
            pthread_attr_destroy(&dflt);
        }
        s->creator = t->num;
        s->num = lg_thread_number_next();
        s->created_at = lg_stack_capture(1);
        s->epoch = lg_thread_creating(t);
        lg_perturb_created(t, s->num);
    }
    if (t)
        leave();
    if (!s)
        return -1;
    int err = REAL(pthread_create)(th, attr, thread_start, s);
    if (err == EAGAIN && lg_monitor_give_way("a thread of the program from starting (the "
                                             "process is at its thread limit)"))
        err = REAL(pthread_create)(th, attr, thread_start, s);
    if (err != 0) {
        lg_perturb_create_failed(s->num);
        lg_mem_free(s, sizeof *s);
    }
    return err;
}

LG_EXPORT int
pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    int err = lg_intercept_thread_create(th, attr, fn, NULL, arg);
    return err >= 0 ? err : REAL(pthread_create)(th, attr, fn, arg);
}

LG_EXPORT int
pthread_join(pthread_t th, void **ret)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_join)(th, ret);
    uintptr_t site = SITE;
    leave();
    lg_perturb_before(t, LG_PT_JOIN, (uintptr_t)th);
    reenter();
    lg_wait_begin(t, LG_WAIT_JOIN, NULL, (uintptr_t)th, LG_EXCL, site);
    leave();
    int err = REAL(pthread_join)(th, ret);
    reenter();
    lg_wait_end(t);
    if (err == 0)
        lg_thread_joined(t, (uintptr_t)th, site);
    leave();
    lg_perturb_after(t, LG_PT_JOIN, (uintptr_t)th, err);
    return err;
}

LG_EXPORT int
pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_barrier_init)(b, attr, count);
    uintptr_t site = SITE;
    lg_before_barrier_init(t, (uintptr_t)b, count, site);
    leave();
    int err = REAL(pthread_barrier_init)(b, attr, count);
    if (err == 0) {
        reenter();
        lg_after_barrier_init(t, (uintptr_t)b, count, site);
        leave();
    }
    return err;
}

LG_EXPORT int
pthread_barrier_destroy(pthread_barrier_t *b)
{
    struct lg_thread *t = enter();
    if (t) {
        lg_before_barrier_destroy(t, (uintptr_t)b, SITE);
        leave();
    }
    return REAL(pthread_barrier_destroy)(b);
}

/* Who is inside a barrier's wait, for misuse and stall reports. */
LG_EXPORT int
pthread_barrier_wait(pthread_barrier_t *b)
{
    struct lg_thread *t = enter();
    if (!t)
        return REAL(pthread_barrier_wait)(b);
    uintptr_t site = SITE;
    leave();
    lg_perturb_before(t, LG_PT_BARRIER, (uintptr_t)b);
    reenter();
    lg_barrier_enter((uintptr_t)b, lg_abi_barrier_count((uintptr_t)b));
    lg_wait_begin(t, LG_WAIT_BARRIER, NULL, (uintptr_t)b, LG_EXCL, site);
    leave();
    int err = REAL(pthread_barrier_wait)(b);
    reenter();
    lg_wait_end(t);
    lg_barrier_leave((uintptr_t)b);
    leave();
    lg_perturb_after(t, LG_PT_BARRIER, (uintptr_t)b, err == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : err);
    return err;
}

