/*
 * atomicity_violation: two diners share a plate with one piece of sushi.
 * Each checks the plate without the lock (`if (sushi > 0)`), and only then
 * takes the lock to eat a piece. Check and act are two steps: both diners
 * see the last piece, both eat it, and the plate ends at -1. Cues (which the
 * detectors cannot see) make both look before either eats, so the unlocked
 * check races with the other diner's locked write on every run.
 */
#include "rb.h"

#define DINERS 2

static pthread_mutex_t plate_mu = PTHREAD_MUTEX_INITIALIZER;
static int sushi = 1;
static struct rb_cue looked[DINERS] = { RB_CUE_INITIALIZER, RB_CUE_INITIALIZER };

static bool
take_sushi(int me)
{
    if (sushi <= 0)
        return false;
    rb_cue_give(&looked[me]); /* both diners have looked before either eats */
    rb_cue_wait(&looked[!me]);
    pthread_mutex_lock(&plate_mu);
    sushi--;
    pthread_mutex_unlock(&plate_mu);
    return true;
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
