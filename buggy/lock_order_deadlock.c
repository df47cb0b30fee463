/*
 * lock_order_deadlock: three philosophers share three chopsticks a, b, c and
 * each picks up a pair in a different order: (a,b), (b,c) and (c,a). The
 * orders form a cycle, so if all three hold their first chopstick at once,
 * nobody can ever take the second. The default run seats the philosophers
 * one after another: every order is taken and nothing hangs (a potential
 * deadlock, which detectors can still see). --hang seats them at once.
 */
#include "rb.h"

#define N 3

static pthread_mutex_t chopstick[N] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
};
static const char name[N] = { 'a', 'b', 'c' };
static const int order[N][2] = { { 0, 1 }, { 1, 2 }, { 2, 0 } };
static struct rb_meet all_hold_one = RB_MEET_INITIALIZER(N);
static bool together;

static void *
philosopher(void *arg)
{
    const int *pair = arg;
    pthread_mutex_lock(&chopstick[pair[0]]);
    if (together)
        rb_meet(&all_hold_one);
    pthread_mutex_lock(&chopstick[pair[1]]);
    /* eat */
    pthread_mutex_unlock(&chopstick[pair[1]]);
    pthread_mutex_unlock(&chopstick[pair[0]]);
    return NULL;
}

int
main(int argc, char **argv)
{
    struct rb_args args = rb_start(argc, argv, RB_ALLOW_HANG,
        "Three philosophers pick up chopstick pairs (a,b), (b,c), (c,a).");
    pthread_t t[N];
    together = args.hang;
    for (int i = 0; i < N; i++) {
        rb_spawn(&t[i], philosopher, (void *)order[i]);
        if (!together)
            rb_join(t[i]);
    }
    for (int i = 0; together && i < N; i++)
        rb_join(t[i]);

    /* Each chopstick is somebody's first: the orders form a cycle. */
    int first[N] = { 0 };
    for (int i = 0; i < N; i++)
        first[order[i][0]]++;
    bool cycle = first[0] == 1 && first[1] == 1 && first[2] == 1;
    char orders[64];
    snprintf(orders, sizeof orders, "%c->%c, %c->%c, %c->%c",
             name[order[0][0]], name[order[0][1]], name[order[1][0]],
             name[order[1][1]], name[order[2][0]], name[order[2][1]]);
    if (cycle)
        return rb_symptom("chopsticks taken in the orders %s: a cycle, so the "
                          "three can deadlock (--hang makes it happen)", orders);
    return rb_ok("all three ate; chopsticks taken in the orders %s, no cycle", orders);
}
