/*
 * rwlock_writer_starvation (fixed): two readers still study the specials
 * board in a relay, but the board now puts a waiting writer first
 * (PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP): once the chef waits, a
 * reader stepping back in queues behind him, the other reader's exit frees
 * the board, and the chef chalks up the special at once. (The policy forbids
 * taking a read lock you already hold: that would now deadlock.)
 */
#include "rb.h"

#include <errno.h>

#define RUN_MS 2000 /* 2x lockgraph's starvation_ms; margin: docs/harness.md */

static pthread_rwlock_t board;
static int special; /* what the board says: the chef writes, readers read */

/* The relay that keeps the board read-held (scaffolding, under relay_mu). */
static pthread_mutex_t relay_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t relay_cv = PTHREAD_COND_INITIALIZER;
static int inside;            /* readers holding the board or queued for it */
static int turn;              /* the reader that steps out next */
static bool closing;          /* the run is over, or the chef got in */
static unsigned long entries; /* read locks granted */
static uint64_t deadline_ns;  /* RUN_MS after the chef came; 0 before */

static void *
reader(void *arg)
{
    int me = (int)(intptr_t)arg;
    long seen = 0;

    pthread_rwlock_rdlock(&board);
    pthread_mutex_lock(&relay_mu);
    inside++;
    entries++;
    pthread_cond_broadcast(&relay_cv);
    for (;;) {
        /* Step out only while the other reader is in: the board never frees. */
        while (!closing && !(turn == me && inside == 2))
            pthread_cond_wait(&relay_cv, &relay_mu);
        if (closing || (deadline_ns != 0 && rb_now_ns() >= deadline_ns))
            break;
        turn = !me;
        inside--;
        pthread_mutex_unlock(&relay_mu);
        seen += special;
        pthread_rwlock_unlock(&board);
        /* Straight back in. Only a lock that puts a waiting writer first
         * refuses; then queue behind the writer and let the other one go. */
        int busy = pthread_rwlock_tryrdlock(&board);
        pthread_mutex_lock(&relay_mu);
        inside++;
        pthread_cond_broadcast(&relay_cv);
        if (busy == EBUSY) {
            pthread_mutex_unlock(&relay_mu);
            pthread_rwlock_rdlock(&board);
            pthread_mutex_lock(&relay_mu);
        }
        entries++;
    }
    closing = true; /* the readers go home */
    inside--;
    pthread_cond_broadcast(&relay_cv);
    pthread_mutex_unlock(&relay_mu);
    pthread_rwlock_unlock(&board);
    return (void *)(intptr_t)seen;
}

struct chef_report {
    bool starved;          /* the chef got in only after the readers left */
    unsigned long entries; /* read locks granted while the chef waited */
    uint64_t waited_ns;
};

static void *
chef(void *arg)
{
    struct chef_report *r = arg;
    uint64_t t0 = rb_now_ns();
    pthread_mutex_lock(&relay_mu);
    unsigned long before = entries;
    /* The readers keep the relay going RUN_MS from now: the time counts from
     * the chef's arrival, so a slow start cannot cut his wait short. */
    deadline_ns = t0 + RUN_MS * 1000000ull;
    pthread_mutex_unlock(&relay_mu);

    pthread_rwlock_wrlock(&board);
    special++;
    pthread_mutex_lock(&relay_mu);
    r->starved = closing;
    r->entries = entries - before;
    closing = true;
    pthread_cond_broadcast(&relay_cv);
    pthread_mutex_unlock(&relay_mu);
    pthread_rwlock_unlock(&board);
    r->waited_ns = rb_now_ns() - t0;
    return NULL;
}

int
main(int argc, char **argv)
{
    rb_start(argc, argv, 0, "Two readers keep the specials board read-locked.");
    pthread_t r[2], c;
    struct chef_report report;
    pthread_rwlockattr_t writer_first;

    RB_CHECK(pthread_rwlockattr_init(&writer_first));
    RB_CHECK(pthread_rwlockattr_setkind_np(&writer_first,
                                           PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP));
    RB_CHECK(pthread_rwlock_init(&board, &writer_first));
    RB_CHECK(pthread_rwlockattr_destroy(&writer_first));

    for (int i = 0; i < 2; i++)
        rb_spawn(&r[i], reader, (void *)(intptr_t)i);
    pthread_mutex_lock(&relay_mu); /* the relay is on before the chef comes */
    while (inside < 2)
        pthread_cond_wait(&relay_cv, &relay_mu);
    pthread_mutex_unlock(&relay_mu);
    rb_spawn(&c, chef, &report);
    rb_join(c);
    for (int i = 0; i < 2; i++)
        rb_join(r[i]);
    if (report.starved)
        return rb_symptom("the chef waited %.0f ms for the board while %lu read locks "
                          "were granted; he got in only when the readers went home",
                          (double)report.waited_ns / 1e6, report.entries);
    return rb_ok("the chef got in after %.0f ms; %lu read locks were granted meanwhile",
                 (double)report.waited_ns / 1e6, report.entries);
}
