/*
 * unchecked_trylock: two shelf stackers put cans on one shelf. Each tries the
 * shelf lock with pthread_mutex_trylock() so as not to wait, notes when the
 * shelf was busy, and then stacks the can anyway: the critical section runs
 * without the lock, both stackers read the same count, and one can in every
 * round is lost. Prints `shelf = 250, expected 500` on every run.
 */
#include "rb.h"

#define CANS 500

static pthread_mutex_t shelf_lock = PTHREAD_MUTEX_INITIALIZER;
static long shelf;
static struct rb_meet window = RB_MEET_INITIALIZER(2);

struct stacker {
    unsigned long busy; /* how often the shelf was taken when this one tried */
};

static void
stack_can(struct stacker *s)
{
    bool locked = pthread_mutex_trylock(&shelf_lock) == 0;
    if (!locked)
        s->busy++; /* the shelf is busy: noted, and on we go */
    long seen = shelf;
    rb_meet(&window);
    shelf = seen + 1;
    if (locked)
        pthread_mutex_unlock(&shelf_lock);
}

static void *
stacker(void *arg)
{
    for (int i = 0; i < CANS / 2; i++)
        stack_can(arg);
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, RB_LATENT, "Two stackers put cans on one shelf, trying its lock.");
    struct stacker s[2] = { { 0 }, { 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        rb_spawn(&t[i], stacker, &s[i]);
    for (int i = 0; i < 2; i++)
        rb_join(t[i]);
    if (shelf != CANS)
        return rb_symptom("shelf = %ld, expected %d (%ld cans lost; the shelf was "
                          "busy on %lu tries and the can went up anyway)",
                          shelf, CANS, CANS - shelf, s[0].busy + s[1].busy);
    return rb_ok("shelf = %ld, expected %d (the shelf was busy on %lu tries)", shelf,
                 CANS, s[0].busy + s[1].busy);
}
