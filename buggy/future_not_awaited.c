/*
 * future_not_awaited: the till hands "add up the bill" to a worker thread and
 * gets back a future: the worker fills in its value and marks it done. The
 * cashier prints the receipt's header, then reads the value instead of
 * waiting for the future: the customer pays 0 if the worker is not done. A
 * cue (which the detectors cannot see) holds the worker back until the
 * cashier has read the total, so the cashier reads it too early on every run.
 */
#include "rb.h"

#define ITEMS 8

struct future {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    long value;
};

static const long price[ITEMS] = { 120, 250, 99, 430, 75, 310, 205, 60 };
static struct future bill = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0
};
static struct rb_cue read_total = RB_CUE_INITIALIZER;

static void
future_set(struct future *f, long value)
{
    pthread_mutex_lock(&f->mu);
    f->value = value;
    f->done = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Waits until the future is done; the value is then the task's result. */
static long
future_get(struct future *f)
{
    pthread_mutex_lock(&f->mu);
    while (!f->done)
        pthread_cond_wait(&f->cv, &f->mu);
    long value = f->value;
    pthread_mutex_unlock(&f->mu);
    return value;
}

/* Meanwhile the till prints the receipt's header, which takes a while: long
 * enough, on most runs, for the worker to have finished. */
static void
print_header(void)
{
    for (volatile unsigned column = 0; column < 400000; column++)
        ;
}

static void *
add_up(void *arg)
{
    struct future *f = arg;
    long total = 0;
    rb_cue_wait(&read_total); /* the cashier has looked */
    for (int i = 0; i < ITEMS; i++)
        total += price[i];
    future_set(f, total);
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "The till adds up the bill on a worker thread.");
    pthread_t worker;
    long expected = 0;
    for (int i = 0; i < ITEMS; i++)
        expected += price[i];

    rb_spawn(&worker, add_up, &bill);
    print_header();
    long charged = bill.value; /* the future, not awaited */
    rb_cue_give(&read_total);
    rb_join(worker); /* the pool shuts down */
    long total = future_get(&bill);
    if (charged != expected)
        return rb_symptom("the customer was charged %ld, but the bill came to %ld: the "
                          "till read the total before the worker had finished",
                          charged, total);
    return rb_ok("the customer was charged %ld, the bill came to %ld", charged, total);
}
