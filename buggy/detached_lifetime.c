/*
 * detached_lifetime: take_order() writes the order on a slip (on the heap),
 * hands it to a detached courier thread, waits until he has set off, and,
 * being done with the order, tears the slip up and frees it. The courier
 * still holds the pointer and reads the slip after take_order() returned: it
 * reads freed memory and carries the wrong order. A cue (which the detectors
 * cannot see) makes the courier set off only once take_order() has returned.
 */
#include "rb.h"

#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

struct slip {
    int table;
    char dish[20];
};

static struct rb_cue order_taken = RB_CUE_INITIALIZER;
static sem_t back; /* a detached courier cannot be joined: it reports back */
static struct slip carried;
/* The courier says when he has set off, slip in hand. */
static pthread_mutex_t desk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t desk_cv = PTHREAD_COND_INITIALIZER;
static bool set_off;

static void *
courier(void *arg)
{
    struct slip *slip = arg;
    pthread_mutex_lock(&desk_mu);
    set_off = true;
    pthread_cond_signal(&desk_cv);
    pthread_mutex_unlock(&desk_mu);
    rb_cue_wait(&order_taken); /* take_order() has returned */
    carried = *slip;
    sem_post(&back);
    return NULL;
}

static void
take_order(int table, const char *dish)
{
    struct slip *slip = malloc(sizeof *slip);
    if (slip == NULL)
        rb_die(__FILE__, __LINE__, "malloc", ENOMEM);
    slip->table = table;
    snprintf(slip->dish, sizeof slip->dish, "%s", dish);

    pthread_attr_t detached;
    pthread_t t;
    RB_CHECK(pthread_attr_init(&detached));
    RB_CHECK(pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED));
    RB_CHECK(pthread_create(&t, &detached, courier, slip));
    RB_CHECK(pthread_attr_destroy(&detached));
    pthread_mutex_lock(&desk_mu); /* wait until he has set off */
    while (!set_off)
        pthread_cond_wait(&desk_cv, &desk_mu);
    pthread_mutex_unlock(&desk_mu);

    memset(slip, 0, sizeof *slip); /* done with the order: tear up the slip */
    free(slip);
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "The till hands an order slip to a detached courier.");
    RB_CHECK(sem_init(&back, 0, 0) ? errno : 0);
    take_order(7, "ramen");
    rb_cue_give(&order_taken);
    RB_CHECK(sem_wait(&back) ? errno : 0);
    if (carried.table != 7 || strcmp(carried.dish, "ramen") != 0)
        return rb_symptom("the courier's slip no longer said \"table 7: ramen\": "
                          "take_order() had torn it up and freed it before he read it");
    return rb_ok("the courier took ramen to table %d", carried.table);
}
