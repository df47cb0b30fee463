/*
 * double_checked_init (fixed with C11 atomics): the menu is still built on
 * first use behind an unlocked check, but the pointer is now an atomic. The
 * builder fills the menu in and only then publishes it with a release store;
 * the check is an acquire load, so a diner who sees the pointer also sees
 * everything written before it was published. Correct, and ThreadSanitizer
 * agrees; Helgrind and DRD do not model C11 atomics (see the expectations).
 */
#include "rb.h"

#include <errno.h>
#include <stdlib.h>

#define DISHES 4

struct menu {
    int count;
    const char *dish[DISHES];
};

static const char *const todays[DISHES] = { "soup", "salad", "stew", "tart" };
static _Atomic(struct menu *) menu;
static pthread_mutex_t menu_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rb_cue published = RB_CUE_INITIALIZER, looked = RB_CUE_INITIALIZER;
static pthread_mutex_t pantry_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cloak_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned coats;

/* Each dish comes out of the pantry, under its lock. */
static const char *
fetch(int i)
{
    pthread_mutex_lock(&pantry_mu);
    const char *dish = todays[i];
    pthread_mutex_unlock(&pantry_mu);
    return dish;
}

/* The second diner hangs up his coat before he asks for the menu. */
static void
hang_up_coat(void)
{
    pthread_mutex_lock(&cloak_mu);
    for (volatile unsigned hook = 0; hook < 20000; hook++)
        ;
    coats++;
    pthread_mutex_unlock(&cloak_mu);
}

static struct menu *
build_menu(void)
{
    struct menu *m = calloc(1, sizeof *m);
    if (m == NULL)
        rb_die(__FILE__, __LINE__, "calloc", ENOMEM);
    rb_cue_give(&published); /* a diner looks now, */
    rb_cue_wait(&looked);    /* and the menu is filled in after */
    for (int i = 0; i < DISHES; i++)
        m->dish[m->count++] = fetch(i);
    /* Release: whoever sees the pointer sees the dishes written above. */
    atomic_store_explicit(&menu, m, memory_order_release);
    return m;
}

static const struct menu *
get_menu(void)
{
    struct menu *m = atomic_load_explicit(&menu, memory_order_acquire);
    if (m == NULL) {
        pthread_mutex_lock(&menu_mu);
        /* Relaxed: only a holder of menu_mu ever stores the pointer. */
        m = atomic_load_explicit(&menu, memory_order_relaxed);
        if (m == NULL)
            m = build_menu();
        pthread_mutex_unlock(&menu_mu);
    }
    return m;
}

static void *
first_diner(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)get_menu()->count;
}

static void *
second_diner(void *arg)
{
    (void)arg;
    hang_up_coat();
    rb_cue_wait(&published);
    int dishes = get_menu()->count;
    rb_cue_give(&looked);
    return (void *)(intptr_t)dishes;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "Two diners ask for the menu, which is built on first use.");
    pthread_t a, b;
    void *seen[2];
    rb_spawn(&a, first_diner, NULL);
    rb_spawn(&b, second_diner, NULL);
    RB_CHECK(pthread_join(a, &seen[0]));
    RB_CHECK(pthread_join(b, &seen[1]));
    int first = (int)(intptr_t)seen[0], second = (int)(intptr_t)seen[1];
    free(menu);
    if (second != DISHES)
        return rb_symptom("the second diner got a menu with %d of %d dishes: it saw "
                          "the pointer before the menu was filled in", second, DISHES);
    return rb_ok("both diners got the whole menu (%d and %d of %d dishes)", first,
                 second, DISHES);
}
