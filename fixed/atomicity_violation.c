/*
 * atomicity_violation (fixed): two diners share a plate with one piece of
 * sushi. Each now takes the lock before looking, and keeps it until it has
 * eaten: check and act are one step, so only the first diner sees the piece
 * and the second finds the plate empty. (The cues time out once: the second
 * diner cannot look while the first holds the plate.)
 */
#include "rb.h"

#define DINERS 2

static pthread_mutex_t plate_mu = PTHREAD_MUTEX_INITIALIZER;
static int sushi = 1;
static struct rb_cue looked[DINERS] = { RB_CUE_INITIALIZER, RB_CUE_INITIALIZER };

static bool
take_sushi(int me)
{
    pthread_mutex_lock(&plate_mu);
    bool some = sushi > 0;
    if (some) {
        rb_cue_give(&looked[me]); /* both diners have looked before either eats */
        rb_cue_wait(&looked[!me]);
        sushi--;
    }
    pthread_mutex_unlock(&plate_mu);
    return some;
}

static void *
diner(void *arg)
{
    int me = (int)(intptr_t)arg;
    return (void *)(intptr_t)take_sushi(me);
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "Two diners reach for the last piece of sushi.");
    pthread_t t[DINERS];
    void *ate;
    int eaten = 0;
    for (int i = 0; i < DINERS; i++)
        rb_spawn(&t[i], diner, (void *)(intptr_t)i);
    for (int i = 0; i < DINERS; i++) {
        RB_CHECK(pthread_join(t[i], &ate));
        eaten += ate != NULL;
    }
    if (sushi < 0)
        return rb_symptom("sushi = %d: both diners saw the last piece and %d pieces "
                          "were eaten from a plate of 1", sushi, eaten);
    return rb_ok("sushi = %d: %d piece eaten from a plate of 1", sushi, eaten);
}
