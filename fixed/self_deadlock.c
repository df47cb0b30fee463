/*
 * self_deadlock (fixed): two cooks share a pot (a plain, non-recursive
 * mutex). The work of add_garlic() now lives in add_garlic_locked(), which
 * expects the caller to hold the pot; add_garlic() takes the pot and calls
 * it, and add_potato(), which already holds the pot, calls it directly. No
 * function takes a lock its caller may hold, so the soup gets its garlic.
 */
#include "rb.h"

#include <errno.h>

#define POT_WAIT_MS 500

static pthread_mutex_t pot = PTHREAD_MUTEX_INITIALIZER;
static int potatoes, garlic;
static bool wait_forever;

static int
take_pot(void)
{
    struct timespec until = rb_deadline(POT_WAIT_MS);
    return wait_forever ? pthread_mutex_lock(&pot)
                        : pthread_mutex_timedlock(&pot, &until);
}

/* The caller holds the pot. */
static void
add_garlic_locked(void)
{
    garlic++;
}

static int
add_garlic(void)
{
    int err = take_pot();
    if (err != 0)
        return err;
    add_garlic_locked();
    pthread_mutex_unlock(&pot);
    return 0;
}

static int
add_potato(void)
{
    int err = take_pot();
    if (err != 0)
        return err;
    potatoes++;
    add_garlic_locked(); /* a potato needs its garlic */
    pthread_mutex_unlock(&pot);
    return 0;
}

enum dish { GARLIC, POTATO };

static void *
cook(void *arg)
{
    enum dish d = (enum dish)(intptr_t)arg;
    return (void *)(intptr_t)(d == POTATO ? add_potato() : add_garlic());
}

int
main(int argc, char **argv)
{
    struct rb_args args = rb_start(argc, argv, RB_ALLOW_HANG,
        "Two cooks share a pot; adding a potato also adds garlic.");
    wait_forever = args.hang;
    pthread_t t;
    void *result;

    rb_spawn(&t, cook, (void *)(intptr_t)GARLIC);
    rb_join(t);
    rb_spawn(&t, cook, (void *)(intptr_t)POTATO);
    RB_CHECK(pthread_join(t, &result));
    if ((intptr_t)result == ETIMEDOUT)
        return rb_symptom("add_potato() holds the pot and its add_garlic() waited %d ms "
                          "for it: the cook is waiting for itself", POT_WAIT_MS);
    return rb_ok("the soup has %d potato and %d garlic", potatoes, garlic);
}
