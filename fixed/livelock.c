/*
 * livelock (fixed): two polite philosophers share forks a and b. Both now
 * pick up fork a first. The one that gets it can always get b too, while the
 * other waits for a instead of grabbing b, so giving way is never needed and
 * both finish their meals. (Randomised back-off would also break the
 * lockstep, but only probably; a consistent order makes it certain.)
 */
#include "rb.h"

#define RUN_MS 2000 /* 2x lockgraph's livelock_ms; margin: docs/harness.md */
#define MEALS 100

static pthread_mutex_t fork_[2] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
static const int order[2][2] = { { 0, 1 }, { 0, 1 } };
static struct rb_meet lockstep = RB_MEET_INITIALIZER(2);
static uint64_t deadline_ns;
static atomic_bool time_up; /* set by the first philosopher before a meeting */

struct diner {
    const int *forks;
    bool keeps_time;
    unsigned long meals, retries;
};

static void *
philosopher(void *arg)
{
    struct diner *d = arg;
    while (d->meals < MEALS) {
        pthread_mutex_lock(&fork_[d->forks[0]]);
        /* Not before the first round is over: each philosopher tries once. */
        if (d->keeps_time && d->meals + d->retries > 0 && rb_now_ns() >= deadline_ns)
            atomic_store(&time_up, true);
        rb_meet(&lockstep); /* both hold their first fork, and know the time */
        if (atomic_load(&time_up)) {
            pthread_mutex_unlock(&fork_[d->forks[0]]);
            break;
        }
        bool got_both = pthread_mutex_trylock(&fork_[d->forks[1]]) == 0;
        rb_meet(&lockstep); /* both have tried their second */
        if (got_both) {
            d->meals++;
            pthread_mutex_unlock(&fork_[d->forks[1]]);
        } else {
            d->retries++;
        }
        pthread_mutex_unlock(&fork_[d->forks[0]]);
    }
    rb_meet_off(&lockstep); /* leaving: nobody should wait for me */
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, 0, "Two polite philosophers keep giving way to each other.");
    struct diner d[2] = { { order[0], true, 0, 0 }, { order[1], false, 0, 0 } };
    pthread_t t[2];
    deadline_ns = rb_now_ns() + RUN_MS * 1000000ull;
    for (int i = 0; i < 2; i++)
        rb_spawn(&t[i], philosopher, &d[i]);
    for (int i = 0; i < 2; i++)
        rb_join(t[i]);
    /* A philosopher who holds its first fork finds the second taken only if
     * the other one took that fork first: with one fork order that cannot
     * happen, so any retry at all is the two giving way to each other. */
    if (d[0].retries + d[1].retries > 0)
        return rb_symptom("in %d ms the philosophers put their fork down for each other "
                          "%lu and %lu times and ate %lu and %lu of %d meals",
                          RUN_MS, d[0].retries, d[1].retries, d[0].meals, d[1].meals,
                          MEALS);
    return rb_ok("neither philosopher ever had to put its fork down (%lu and %lu meals)",
                 d[0].meals, d[1].meals);
}
