/*
 * data_race (fixed with C11 atomics): two shoppers add their items to one
 * shared notepad total. Each addition is one indivisible read-modify-write
 * (atomic_fetch_add), so there is no window between reading and writing for
 * the other shopper to fall into. Prints `notepad = 2000, expected 2000`.
 */
#include "rb.h"

#define ITEMS 1000

static atomic_long notepad;
static struct rb_meet window = RB_MEET_INITIALIZER(2);

static void *
shopper(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        rb_meet(&window);
        atomic_fetch_add(&notepad, 1);
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
