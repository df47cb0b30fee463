/*
 * starvation: three greedy diners and one polite diner share a table (a
 * mutex). Greedy diners wait for the table and go straight back for more;
 * the polite one only sits down if the table is free when it looks
 * (trylock), and it always looks while a greedy diner is seated. It never
 * eats. Every diner takes a number when it starts to wait; the program
 * counts how often a diner was overtaken (someone who came later was seated
 * first) and fails when anyone was overtaken more than a FIFO lock allows.
 */
#include "rb.h"

#define DINERS 4
#define RUN_MS 2000 /* 2x lockgraph's starvation_ms; margin: docs/harness.md */
/* Rounds every diner does even past RUN_MS: the polite diner looks at least
 * this often, and once the DINERS - 1 who took their number before it have
 * eaten, every greedy meal overtakes it. */
#define MIN_ROUNDS (2 * DINERS)
/* Overtakes a FIFO lock allows in one wait: none, whatever the scheduler
 * does (a diner kept off the CPU eats less, but is never passed). */
#define FIFO_BOUND 0

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static struct rb_meet glance = RB_MEET_INITIALIZER(2);
static struct rb_queue line;
static uint64_t deadline_ns;

static bool
sit_down(bool polite, uint64_t number)
{
    (void)number; /* greedy diners just barge in */
    if (polite)
        return pthread_mutex_trylock(&table) == 0;
    pthread_mutex_lock(&table);
    return true;
}

static void
stand_up(void)
{
    pthread_mutex_unlock(&table);
}

static void
eat(void)
{
    static volatile unsigned long crumbs;
    for (int i = 0; i < 200; i++)
        crumbs++;
}

static void *
diner(void *arg)
{
    size_t me = (size_t)arg;
    bool polite = me == DINERS - 1;
    bool waiting = false;
    uint64_t number = 0;
    for (int round = 0; round < MIN_ROUNDS || rb_now_ns() < deadline_ns; round++) {
        if (!waiting)
            number = rb_queue_arrive(&line, (unsigned)me);
        waiting = true;
        if (polite)
            rb_meet(&glance); /* look once a greedy diner is seated */
        bool seated = sit_down(polite, number);
        if (!polite)
            rb_meet(&glance); /* seated: now the polite diner may look */
        if (seated) {
            rb_queue_served(&line, (unsigned)me);
            waiting = false;
            eat();
        }
        rb_meet(&glance); /* the polite diner has looked */
        if (seated)
            stand_up();
    }
    if (waiting)
        rb_queue_leave(&line, (unsigned)me);
    rb_meet_off(&glance); /* leaving: nobody should wait for me */
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, 0, "Three greedy diners and a polite one share a table.");
    pthread_t t[DINERS];
    rb_queue_init(&line);
    deadline_ns = rb_now_ns() + RUN_MS * 1000000ull;
    for (size_t i = 0; i < DINERS; i++)
        rb_spawn(&t[i], diner, (void *)i);
    for (size_t i = 0; i < DINERS; i++)
        rb_join(t[i]);
    return rb_queue_report(&line, "diner", DINERS, FIFO_BOUND);
}
