/*
 * starvation: three greedy diners and one polite diner share a table (a
 * mutex). Greedy diners wait for the table and go straight back for more;
 * the polite one only sits down if the table is free when it looks
 * (trylock), and it always looks while a greedy diner is seated. It never
 * eats. After RUN_MS the program prints each diner's share and Jain's
 * fairness index, and fails when a share is below FAIR_FRACTION of fair.
 */
#include "rb.h"

#define DINERS 4
#define RUN_MS 2000
/* The starved diner gets nothing; a fair diner can still lose most of its
 * share when the OS keeps it off the CPU between meals (a loaded machine),
 * so the line is drawn far below fair. */
#define FAIR_FRACTION 0.10

static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static struct rb_meet glance = RB_MEET_INITIALIZER(2);
static unsigned long meals[DINERS];
static uint64_t deadline_ns;

static bool
sit_down(bool polite)
{
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
    while (rb_now_ns() < deadline_ns) {
        if (polite)
            rb_meet(&glance); /* look once a greedy diner is seated */
        bool seated = sit_down(polite);
        if (!polite)
            rb_meet(&glance); /* seated: now the polite diner may look */
        if (seated) {
            meals[me]++;
            eat();
        }
        rb_meet(&glance); /* the polite diner has looked */
        if (seated)
            stand_up();
    }
    rb_meet_off(&glance); /* leaving: nobody should wait for me */
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, 0, "Three greedy diners and a polite one share a table.");
    pthread_t t[DINERS];
    deadline_ns = rb_now_ns() + RUN_MS * 1000000ull;
    for (size_t i = 0; i < DINERS; i++)
        rb_spawn(&t[i], diner, (void *)i);
    for (size_t i = 0; i < DINERS; i++)
        rb_join(t[i]);
    return rb_report_shares("diner", meals, DINERS, FAIR_FRACTION);
}
