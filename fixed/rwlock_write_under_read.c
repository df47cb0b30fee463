/*
 * rwlock_write_under_read (fixed): two waiters look up prices on the menu
 * board, a reader-writer lock, and each lookup also bumps the board's lookup
 * counter. Because a lookup writes, it now takes the write lock: the waiters
 * take turns and no update is lost. (A counter that must not serialise the
 * readers would be an atomic instead.) Prints `lookups = 600, expected 600`.
 */
#include "rb.h"

#define LOOKUPS 300 /* per waiter */

static pthread_rwlock_t board = PTHREAD_RWLOCK_INITIALIZER;
static const long price[4] = { 450, 700, 325, 990 };
static long lookups;
static struct rb_meet window = RB_MEET_INITIALIZER(2);

static long
look_up(int dish)
{
    pthread_rwlock_wrlock(&board); /* the lookup writes the counter */
    long p = price[dish];
    long seen = lookups;
    rb_meet(&window);
    lookups = seen + 1;
    pthread_rwlock_unlock(&board);
    return p;
}

static void *
waiter(void *arg)
{
    long *billed = arg;
    for (int i = 0; i < LOOKUPS; i++)
        *billed += look_up(i % 4);
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "Two waiters look up prices and count their lookups.");
    long billed[2] = { 0, 0 };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        rb_spawn(&t[i], waiter, &billed[i]);
    for (int i = 0; i < 2; i++)
        rb_join(t[i]);
    if (lookups != 2L * LOOKUPS)
        return rb_symptom("lookups = %ld, expected %ld (%ld updates lost under the "
                          "read lock)", lookups, 2L * LOOKUPS, 2L * LOOKUPS - lookups);
    return rb_ok("lookups = %ld, expected %ld; billed %ld", lookups, 2L * LOOKUPS,
                 billed[0] + billed[1]);
}
