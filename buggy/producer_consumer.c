/*
 * producer_consumer: a baker fills a shelf of SLOTS loaves and a shop
 * assistant empties it; two semaphores count the free slots and the loaves,
 * and a mutex guards the shelf itself. The assistant takes the mutex first
 * and then waits for a loaf, so an empty shelf stays locked while the baker
 * waits for that same mutex to put the loaf down: a deadlock. A watchdog
 * ends the run after HANG_MS; --hang lets it hang.
 */
#include "rb.h"

#include <errno.h>
#include <semaphore.h>

#define SLOTS 4
#define HANG_MS 6000 /* 2x lockgraph's stall_ms; measured margin: docs/harness.md */

static pthread_mutex_t shelf_mu = PTHREAD_MUTEX_INITIALIZER;
static sem_t free_slots, loaves;
static int shelf[SLOTS];
static unsigned put_at, take_at;
static struct rb_meet opening = RB_MEET_INITIALIZER(2);

static void
wait_for(sem_t *s)
{
    while (sem_wait(s) != 0)
        if (errno != EINTR)
            rb_die(__FILE__, __LINE__, "sem_wait", errno);
}

static void *
baker(void *arg)
{
    (void)arg;
    rb_meet(&opening); /* the assistant is already at the empty shelf */
    for (int loaf = 1; loaf <= SLOTS; loaf++) {
        wait_for(&free_slots);
        pthread_mutex_lock(&shelf_mu);
        shelf[put_at++ % SLOTS] = loaf;
        pthread_mutex_unlock(&shelf_mu);
        sem_post(&loaves);
    }
    return NULL;
}

static void *
assistant(void *arg)
{
    int *sold = arg;
    for (int i = 0; i < SLOTS; i++) {
        pthread_mutex_lock(&shelf_mu);
        if (i == 0)
            rb_meet(&opening); /* now the baker starts */
        wait_for(&loaves);
        shelf[take_at++ % SLOTS] = 0;
        pthread_mutex_unlock(&shelf_mu);
        sem_post(&free_slots);
        ++*sold;
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    struct rb_args args = rb_start(argc, argv, RB_ALLOW_HANG | RB_LATENT,
        "A baker fills a shelf of loaves and an assistant sells them.");
    if (!args.hang)
        rb_watchdog(HANG_MS, "%d ms on, the assistant still waits for a loaf holding the "
                    "shelf lock, and the baker for that lock to put one down: deadlock",
                    HANG_MS);
    pthread_t b, a;
    int sold = 0;

    RB_CHECK(sem_init(&free_slots, 0, SLOTS) ? errno : 0);
    RB_CHECK(sem_init(&loaves, 0, 0) ? errno : 0);
    rb_spawn(&b, baker, NULL);
    rb_spawn(&a, assistant, &sold);
    rb_join(b);
    rb_join(a);
    return rb_ok("%d of %d loaves baked and sold", sold, SLOTS);
}
