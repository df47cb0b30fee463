/*
 * cond_if_not_while: two waiters wait at the pass, and the cook puts out one
 * plate and rings the bell for everyone (a broadcast). Each waiter waits with
 * `if (pass empty) pthread_cond_wait()`, so it does not look again after
 * waking: the first takes the plate, the second takes from the empty pass.
 * The cook rings only once both are waiting, so it happens on every run.
 */
#include "rb.h"

#define WAITERS 2
#define PASS_SIZE 4

static pthread_mutex_t pass_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t plate_up = PTHREAD_COND_INITIALIZER;
static int pass[PASS_SIZE]; /* plate numbers in a ring; 0 is an empty spot */
static unsigned head, tail;
static int on_pass;

/* Scaffolding: the cook rings only once both waiters are waiting, and puts
 * out the second plate only once both have woken up (not with --latent). */
static pthread_cond_t cook_cv = PTHREAD_COND_INITIALIZER;
static unsigned waits, wakeups;

static int
take_plate(void)
{
    pthread_mutex_lock(&pass_mu);
    if (on_pass == 0) {
        waits++;
        pthread_cond_broadcast(&cook_cv);
        pthread_cond_wait(&plate_up, &pass_mu);
        wakeups++;
        pthread_cond_broadcast(&cook_cv);
    }
    int plate = pass[head % PASS_SIZE];
    pass[head++ % PASS_SIZE] = 0;
    on_pass--;
    pthread_mutex_unlock(&pass_mu);
    return plate;
}

static void
put_plate(int plate)
{
    pass[tail++ % PASS_SIZE] = plate;
    on_pass++;
    pthread_cond_broadcast(&plate_up); /* the bell: everyone at the pass hears it */
}

static void *
waiter(void *arg)
{
    *(int *)arg = take_plate();
    return NULL;
}

static void *
cook(void *arg)
{
    (void)arg;
    for (int plate = 1; plate <= WAITERS; plate++) {
        pthread_mutex_lock(&pass_mu);
        while (rb_forcing() && (plate == 1 ? waits : wakeups) < WAITERS)
            pthread_cond_wait(&cook_cv, &pass_mu);
        put_plate(plate);
        pthread_mutex_unlock(&pass_mu);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "Two waiters wait at the pass for the cook's bell.");
    int carried[WAITERS] = { 0 };
    pthread_t w[WAITERS], c;
    rb_spawn(&c, cook, NULL);
    for (int i = 0; i < WAITERS; i++)
        rb_spawn(&w[i], waiter, &carried[i]);
    rb_join(c);
    for (int i = 0; i < WAITERS; i++)
        rb_join(w[i]);
    if (carried[0] == 0 || carried[1] == 0)
        return rb_symptom("a waiter woke to the bell, did not look again and took from "
                          "the empty pass: it carried out nothing");
    bool in_order = carried[0] < carried[1];
    return rb_ok("the waiters carried plates %d and %d",
                 in_order ? carried[0] : carried[1], in_order ? carried[1] : carried[0]);
}
