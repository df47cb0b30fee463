/*
 * data_race: two shoppers add their items to one shared notepad total.
 * Each addition reads the total, then writes back total + 1, with no lock:
 * both shoppers read the same value, and one of the two additions is lost.
 * A meeting point between the read and the write makes every round lose one
 * update, so the program prints `notepad = 1000, expected 2000` on every run.
 */
#include "rb.h"

#define ITEMS 1000

static long notepad;
static struct rb_meet window = RB_MEET_INITIALIZER(2);

static void *
shopper(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        long seen = notepad;
        rb_meet(&window);
        notepad = seen + 1;
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
