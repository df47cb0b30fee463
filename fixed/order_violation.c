/*
 * order_violation (fixed): two shoppers share one loyalty card that starts
 * at 1 point; one buys something (+3), the other brings a "double your
 * points" voucher. A barrier now separates the two steps: the buyer arrives
 * after adding, the voucher waits there before doubling, so the purchase
 * always comes first and the card ends at (1 + 3) * 2 = 8.
 */
#include "rb.h"

static pthread_mutex_t card_mu = PTHREAD_MUTEX_INITIALIZER;
static long points = 1;
static struct rb_meet checkout = RB_MEET_INITIALIZER(2);
static pthread_barrier_t purchase_done;

static void *
buyer(void *arg)
{
    (void)arg;
    rb_meet(&checkout); /* the voucher has been handed in */
    pthread_mutex_lock(&card_mu);
    points += 3;
    pthread_mutex_unlock(&card_mu);
    pthread_barrier_wait(&purchase_done);
    return NULL;
}

static void *
voucher(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&purchase_done);
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
    RB_CHECK(pthread_barrier_init(&purchase_done, NULL, 2));
    rb_spawn(&b, buyer, NULL);
    rb_spawn(&v, voucher, NULL);
    rb_join(b);
    rb_join(v);
    if (points != (1 + 3) * 2)
        return rb_symptom("the card has %ld points, expected %d: the voucher doubled it "
                          "before the purchase was added", points, (1 + 3) * 2);
    return rb_ok("the card has %ld points, expected %d", points, (1 + 3) * 2);
}
