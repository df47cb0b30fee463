/*
 * bounded_buffer_overflow: a baker and a shop assistant share a shelf with
 * SLOTS places; one semaphore counts the loaves on it, another the free
 * places, and a mutex guards the shelf itself. The baker never waits for a
 * free place, so when the assistant falls behind, loaf SLOTS + 1 goes where
 * loaf 1 still lies: loaf 1 is lost, and the assistant, who counts SLOTS + 1
 * loaves, hands the last customer an empty place.
 */
#include "rb.h"

#include <errno.h>
#include <semaphore.h>

#define SLOTS 4
#define LOAVES (SLOTS + 1)

static pthread_mutex_t shelf_mu = PTHREAD_MUTEX_INITIALIZER;
static sem_t free_places, loaves;
static int shelf[SLOTS]; /* loaf numbers; 0 is an empty place */
static unsigned put_at, take_at;
static pthread_mutex_t till_mu = PTHREAD_MUTEX_INITIALIZER;
static long till_cents;
static struct rb_meet behind = RB_MEET_INITIALIZER(2);

/* Kneading takes a while: the assistant, who only has to hand a loaf over,
 * keeps up with the baker unless something holds him back. */
static void
knead(void)
{
    for (volatile unsigned fold = 0; fold < 600000; fold++)
        ;
}

static void *
baker(void *arg)
{
    (void)arg;
    for (int loaf = 1; loaf <= LOAVES; loaf++) {
        knead();
        pthread_mutex_lock(&shelf_mu);
        shelf[put_at++ % SLOTS] = loaf;
        pthread_mutex_unlock(&shelf_mu);
        sem_post(&loaves);
    }
    rb_meet(&behind); /* the assistant starts selling only now */
    return NULL;
}

static void *
assistant(void *arg)
{
    int *sold = arg;
    pthread_mutex_lock(&till_mu); /* he opens the till first */
    till_cents = 5000;
    pthread_mutex_unlock(&till_mu);
    rb_meet(&behind);
    for (int i = 0; i < LOAVES; i++) {
        RB_CHECK(sem_wait(&loaves) ? errno : 0);
        pthread_mutex_lock(&shelf_mu);
        sold[i] = shelf[take_at % SLOTS];
        shelf[take_at++ % SLOTS] = 0;
        pthread_mutex_unlock(&shelf_mu);
        sem_post(&free_places);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "A baker fills a shelf faster than it is emptied.");
    int sold[LOAVES] = { 0 };
    bool got[LOAVES + 1] = { false };
    pthread_t b, a;

    RB_CHECK(sem_init(&free_places, 0, SLOTS) ? errno : 0);
    RB_CHECK(sem_init(&loaves, 0, 0) ? errno : 0);
    rb_spawn(&a, assistant, sold);
    rb_spawn(&b, baker, NULL);
    rb_join(a);
    rb_join(b);
    for (int i = 0; i < LOAVES; i++)
        got[sold[i]] = true;
    for (int loaf = 1; loaf <= LOAVES; loaf++)
        if (!got[loaf])
            return rb_symptom("loaf %d was never sold: loaf %d went on its place on a "
                              "full shelf, and a customer got an empty place",
                              loaf, loaf + SLOTS);
    return rb_ok("all %d loaves were sold, in order %d %d %d %d %d", LOAVES, sold[0],
                 sold[1], sold[2], sold[3], sold[4]);
}
