/* A thread with a deferred cancel pending makes lockgraph write two
 * reports: a lock-order inversion (inside pthread_mutex_lock, which is no
 * cancellation point) and an unlock of an unlocked mutex. lockgraph's own
 * I/O (write, open, read, waitpid for addr2line) must not act on the
 * cancel: the thread goes on as it would natively, releases its locks, and
 * is cancelled at its next real cancellation point, pthread_testcancel().
 * Before the fix it died inside the report, holding the program's lock and
 * lockgraph's report lock, and the process hung at exit.
 * EXPECT: lock-order-inversion,unlock-unlocked */
#include "probe.h"
#include <stdatomic.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t cancel_sent;
static atomic_int reached;
static void *victim(void *x) {
    (void)x;
    pthread_barrier_wait(&cancel_sent); /* no cancellation point: the cancel stays pending */
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);             /* b -> a after main's a -> b: a report */
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&c);           /* c is not locked: a report */
    atomic_store(&reached, 1);
    pthread_testcancel();               /* the program's own cancellation point */
    atomic_store(&reached, 2);
    return NULL;
}
int main(void) {
    pthread_t t;
    void *ret;
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    CHECK(pthread_barrier_init(&cancel_sent, NULL, 2));
    CHECK(pthread_create(&t, NULL, victim, NULL));
    CHECK(pthread_cancel(t));
    pthread_barrier_wait(&cancel_sent);
    CHECK(pthread_join(t, &ret));
    int r = atomic_load(&reached);
    if (ret != PTHREAD_CANCELED || r != 1) {
        fprintf(stderr, "cancel_pending_report: the thread %s (reached %d)\n",
                ret != PTHREAD_CANCELED ? "was not cancelled" : "was cancelled too early", r);
        return 1;
    }
    if (pthread_mutex_trylock(&a) != 0 || pthread_mutex_trylock(&b) != 0) {
        fprintf(stderr, "cancel_pending_report: the thread died holding a lock\n");
        return 1;
    }
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    puts("cancel_pending_report: cancelled at pthread_testcancel, locks released");
    return 0;
}
