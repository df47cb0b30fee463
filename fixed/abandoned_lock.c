/*
 * abandoned_lock (fixed): two cashiers share one till (a mutex). The first
 * cashier's sale still fails half-way, but every way out of ring_up() now
 * goes through one exit path that unlocks the till, so the error path cannot
 * leave it locked. The second cashier gets the till and rings up its sale.
 */
#include "rb.h"

#include <errno.h>

#define TILL_WAIT_MS 500

static pthread_mutex_t till = PTHREAD_MUTEX_INITIALIZER;
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
    int rc = 0;
    int err = wait_forever ? pthread_mutex_lock(&till)
                           : pthread_mutex_timedlock(&till, &until);
    if (err != 0)
        return err;
    takings += s->amount;
    if (s->declined) {
        takings -= s->amount;
        rc = EPERM;
        goto out;
    }
    receipts++;
out:
    pthread_mutex_unlock(&till);
    return rc;
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
