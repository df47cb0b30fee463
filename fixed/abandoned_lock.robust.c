/*
 * abandoned_lock (fixed with a robust mutex): the first cashier still ends
 * while holding the till, as if it had crashed there. The till is now a
 * robust mutex: the next cashier to lock it gets EOWNERDEAD instead of
 * waiting forever, checks the till, marks it consistent and carries on.
 * Correct, yet TSan, Helgrind and DRD all report it (see the expectations).
 */
#include "rb.h"

#include <errno.h>

#define TILL_WAIT_MS 500

static pthread_mutex_t till;
static long takings, receipts;
static bool wait_forever;

struct sale {
    long amount;
    bool declined;
};

static int
ring_up(const struct sale *s)
{
    struct timespec until = rb_deadline(TILL_WAIT_MS);
    int err = wait_forever ? pthread_mutex_lock(&till)
                           : pthread_mutex_timedlock(&till, &until);
    if (err == EOWNERDEAD) {
        /* The owner died mid-sale; its declined sale was already rolled back. */
        RB_CHECK(pthread_mutex_consistent(&till));
        err = 0;
    }
    if (err != 0)
        return err;
    takings += s->amount;
    if (s->declined) {
        takings -= s->amount;
        return EPERM;
    }
    receipts++;
    pthread_mutex_unlock(&till);
    return 0;
}

static void *
cashier(void *arg)
{
    return (void *)(intptr_t)ring_up(arg);
}

int
main(int argc, char **argv)
{
    struct rb_args args = rb_start(argc, argv, RB_ALLOW_HANG,
        "Two cashiers share one till; the first sale is declined half-way.");
    wait_forever = args.hang;
    pthread_mutexattr_t robust;
    RB_CHECK(pthread_mutexattr_init(&robust));
    RB_CHECK(pthread_mutexattr_setrobust(&robust, PTHREAD_MUTEX_ROBUST));
    RB_CHECK(pthread_mutex_init(&till, &robust));
    struct sale declined = { 120, true }, paid = { 80, false };
    pthread_t t;
    void *result;

    rb_spawn(&t, cashier, &declined);
    RB_CHECK(pthread_join(t, &result));
    rb_spawn(&t, cashier, &paid);
    RB_CHECK(pthread_join(t, &result));
    if ((intptr_t)result == ETIMEDOUT)
        return rb_symptom("the second cashier waited %d ms for the till: the first "
                          "one ended still holding it", TILL_WAIT_MS);
    return rb_ok("declined sale rolled back, second sale rung up: takings %ld, "
                 "receipts %ld", takings, receipts);
}
