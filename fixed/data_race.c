/*
 * data_race (fixed): two shoppers add their items to one shared notepad total.
 * The pen is a mutex: a shopper holds it from reading the total to writing it
 * back, so no addition can be lost. The meeting point between read and write
 * now times out once (the other shopper is waiting for the pen) and stops.
 * Prints `notepad = 2000, expected 2000`.
 */
#include "rb.h"

#define ITEMS 1000

static long notepad;
static pthread_mutex_t pen = PTHREAD_MUTEX_INITIALIZER;
static struct rb_meet window = RB_MEET_INITIALIZER(2);

static void *
shopper(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&pen);
        long seen = notepad;
        rb_meet(&window);
        notepad = seen + 1;
        pthread_mutex_unlock(&pen);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "Two shoppers add items to one shared notepad total.");
    pthread_t a, b;
    rb_spawn(&a, shopper, NULL);
    rb_spawn(&b, shopper, NULL);
    rb_join(a);
    rb_join(b);
    if (notepad != 2L * ITEMS)
        return rb_symptom("notepad = %ld, expected %ld (%ld additions lost)",
                          notepad, 2L * ITEMS, 2L * ITEMS - notepad);
    return rb_ok("notepad = %ld, expected %ld", notepad, 2L * ITEMS);
}
