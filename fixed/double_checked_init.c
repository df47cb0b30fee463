/*
 * double_checked_init (fixed): the menu is built on first use, now through
 * pthread_once(): a diner who arrives while it is being built waits until
 * build_menu() has returned, and what it built is visible to everyone who
 * passes pthread_once() afterwards. The builder may publish before filling
 * in, in any order: nobody can look in between. (The builder's cue times out
 * once: the second diner cannot look until the menu is done.)
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
static struct menu *menu;
static pthread_once_t menu_once = PTHREAD_ONCE_INIT;
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

static void
build_menu(void)
{
    struct menu *m = calloc(1, sizeof *m);
    if (m == NULL)
        rb_die(__FILE__, __LINE__, "calloc", ENOMEM);
    menu = m;
    rb_cue_give(&published); /* a diner looks now, */
    rb_cue_wait(&looked);    /* and the menu is filled in after */
    for (int i = 0; i < DISHES; i++)
        m->dish[m->count++] = fetch(i);
}

static const struct menu *
get_menu(void)
{
    RB_CHECK(pthread_once(&menu_once, build_menu));
    return menu;
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
