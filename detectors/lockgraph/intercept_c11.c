/*
 * intercept_c11.c - C11 <threads.h>: mtx_*, cnd_wait, cnd_timedwait,
 * cnd_signal, cnd_broadcast, cnd_destroy, thrd_create, thrd_join.
 *
 * In glibc an mtx_t is a pthread_mutex_t, a cnd_t a pthread_cond_t and a
 * thrd_t a pthread_t (thrd_priv.h asserts the sizes), but the C11 functions
 * call glibc's internals directly, past the pthread symbols lockgraph
 * interposes: without this file an mtx inversion goes unseen and an mtx
 * deadlock hangs. Each function here runs the pthread interposer's own path
 * (intercept.h) with the caller's return address, and translates the result
 * as glibc's thrd_err_map() does, so a program gets what glibc would have
 * returned. mtx_init and thrd_join are glibc's own functions, bracketed:
 * they already do exactly what the program asked (mtx_init maps mtx_plain,
 * mtx_timed and mtx_recursive to mutex kinds; lockgraph reads the kind back
 * from the mutex, as for pthread_mutex_init).
 */
#include "intercept.h"

/* glibc's thrd_err_map(): an errno from the pthread layer as a thrd_ code. */
static int
c11_result(int err)
{
    switch (err) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    default: return thrd_error;
    }
}

static pthread_mutex_t *
as_mutex(mtx_t *m)
{
    return (pthread_mutex_t *)(void *)m;
}

LG_EXPORT int
mtx_init(mtx_t *m, int type)
{
    int r = REAL(mtx_init)(m, type);
    if (r == thrd_success)
        lg_intercept_mutex_created(as_mutex(m), SITE);
    return r;
}

LG_EXPORT void
mtx_destroy(mtx_t *m)
{
    /* glibc's mtx_destroy is pthread_mutex_destroy, its result dropped. */
    (void)lg_intercept_mutex_destroy(as_mutex(m), SITE);
}

LG_EXPORT int
mtx_lock(mtx_t *m)
{
    return c11_result(lg_intercept_mutex_lock(as_mutex(m), SITE));
}

LG_EXPORT int
mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict abstime)
{
    return c11_result(lg_intercept_mutex_timedlock(as_mutex(m), abstime, SITE));
}

LG_EXPORT int
mtx_trylock(mtx_t *m)
{
    return c11_result(lg_intercept_mutex_trylock(as_mutex(m), SITE));
}

LG_EXPORT int
mtx_unlock(mtx_t *m)
{
    return c11_result(lg_intercept_mutex_unlock(as_mutex(m), SITE));
}

LG_EXPORT int
cnd_wait(cnd_t *c, mtx_t *m)
{
    return c11_result(lg_intercept_cond_wait((pthread_cond_t *)(void *)c, as_mutex(m), NULL,
                                             false, SITE));
}

LG_EXPORT void
cnd_destroy(cnd_t *c)
{
    lg_intercept_cond_destroy((pthread_cond_t *)(void *)c, SITE);
}

LG_EXPORT int
cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict abstime)
{
    return c11_result(lg_intercept_cond_wait((pthread_cond_t *)(void *)c, as_mutex(m), abstime,
                                             true, SITE));
}

/* Signal and broadcast are glibc's own, bracketed as their pthread twins
 * are (intercept_sync.c). */
LG_EXPORT int
cnd_signal(cnd_t *c)
{
    int err = REAL(cnd_signal)(c);
    int perr = err == thrd_success ? 0 : EINVAL; /* as the pthread call would say */
    lg_intercept_cond_woken((pthread_cond_t *)(void *)c, perr);
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy)
        lg_perturb_after(lg_self_peek(), LG_PT_SIGNAL, (uintptr_t)c, perr);
    return err;
}

LG_EXPORT int
cnd_broadcast(cnd_t *c)
{
    int err = REAL(cnd_broadcast)(c);
    int perr = err == thrd_success ? 0 : EINVAL; /* as the pthread call would say */
    lg_intercept_cond_woken((pthread_cond_t *)(void *)c, perr);
    if (LG_UNLIKELY(lg_perturb_on) && !lg_busy)
        lg_perturb_after(lg_self_peek(), LG_PT_BROADCAST, (uintptr_t)c, perr);
    return err;
}

LG_EXPORT int
thrd_create(thrd_t *th, thrd_start_t fn, void *arg)
{
    int err = lg_intercept_thread_create((pthread_t *)th, NULL, NULL, fn, arg);
    return err >= 0 ? c11_result(err) : REAL(thrd_create)(th, fn, arg);
}

LG_EXPORT int
thrd_join(thrd_t th, int *res)
{
    BLOCKING_CALL(LG_WAIT_JOIN, LG_PT_JOIN, th, REAL(thrd_join)(th, res));
}
