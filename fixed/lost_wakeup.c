/*
 * lost_wakeup (fixed): the soup on the pass is now the message and the bell
 * only a hint. The cook puts the soup out and rings while holding the pass
 * lock; the waiter, holding the same lock, looks at the pass and waits only
 * `while (no soup)`. Coming late he finds the soup and never waits, and had
 * he come early the lock would have made sure he was waiting when it rang.
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
    pthread_mutex_lock(&pass_mu);
    soup = "minestrone";
    pthread_cond_signal(&bell);
    pthread_mutex_unlock(&pass_mu);
    rb_meet(&late); /* the waiter comes to the pass only now */
    return NULL;
}

static void *
waiter(void *arg)
{
    (void)arg;
    rb_meet(&late);
    pthread_mutex_lock(&pass_mu);
    while (soup == NULL)
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
