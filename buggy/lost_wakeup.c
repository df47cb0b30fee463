/*
 * lost_wakeup: the cook puts the soup out and rings the bell
 * (pthread_cond_signal) without taking the pass lock, and the waiter just
 * waits for the bell instead of looking at the pass: the bell is the only
 * message. The waiter gets to the pass after it rang, and a condition
 * variable does not remember a signal nobody waited for, so he waits for
 * ever. A watchdog ends the run after HANG_MS; --hang lets it hang.
 */
#include "rb.h"

#define HANG_MS 6000 /* 2x lockgraph's stall_ms; measured margin: docs/harness.md */

static pthread_mutex_t pass_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bell = PTHREAD_COND_INITIALIZER;
static const char *soup;
static struct rb_meet late = RB_MEET_INITIALIZER(2);

static void *
cook(void *arg)
{
    (void)arg;
    soup = "minestrone";
    pthread_cond_signal(&bell);
    rb_meet(&late); /* the waiter comes to the pass only now */
    return NULL;
}

static void *
waiter(void *arg)
{
    (void)arg;
    rb_meet(&late);
    pthread_mutex_lock(&pass_mu);
    pthread_cond_wait(&bell, &pass_mu);
    pthread_mutex_unlock(&pass_mu);
    return NULL;
}

int
main(int argc, char **argv)
{
    struct rb_args args = rb_start(argc, argv, RB_ALLOW_HANG | RB_LATENT,
        "The cook rings the bell when the soup is ready; the waiter comes late.");
    if (!args.hang)
        rb_watchdog(HANG_MS, "the bell rang before the waiter listened: %d ms later he is "
                    "still waiting for it while the soup goes cold", HANG_MS);
    pthread_t c, w;
    rb_spawn(&w, waiter, NULL);
    rb_spawn(&c, cook, NULL);
    rb_join(c);
    rb_join(w);
    return rb_ok("the waiter serves the %s", soup);
}
