/*
 * order_violation: two shoppers share one loyalty card that starts at 1
 * point. One buys something (+3 points), the other brings a "double your
 * points" voucher, which the shop means to apply after the purchase:
 * (1 + 3) * 2 = 8. Every update takes the card's lock, so there is no data
 * race, yet nothing makes the purchase come first: here the voucher goes
 * first and the card ends at 1 * 2 + 3 = 5.
 */
#include "rb.h"

static pthread_mutex_t card_mu = PTHREAD_MUTEX_INITIALIZER;
static long points = 1;
static struct rb_meet checkout = RB_MEET_INITIALIZER(2);

static void *
buyer(void *arg)
{
    (void)arg;
    rb_meet(&checkout); /* the voucher has been handed in */
    pthread_mutex_lock(&card_mu);
    points += 3;
    pthread_mutex_unlock(&card_mu);
    return NULL;
}

static void *
voucher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&card_mu);
    points *= 2;
    pthread_mutex_unlock(&card_mu);
    rb_meet(&checkout);
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "A purchase (+3) and a voucher (x2) on one loyalty card.");
    pthread_t b, v;
    rb_spawn(&b, buyer, NULL);
    rb_spawn(&v, voucher, NULL);
    rb_join(b);
    rb_join(v);
    if (points != (1 + 3) * 2)
        return rb_symptom("the card has %ld points, expected %d: the voucher doubled it "
                          "before the purchase was added", points, (1 + 3) * 2);
    return rb_ok("the card has %ld points, expected %d", points, (1 + 3) * 2);
}
