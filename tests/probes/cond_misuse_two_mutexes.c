/* One condition variable, two mutexes at once: a thread waits on it with
 * mutex one, and while it waits another waits on it with mutex two. POSIX
 * leaves that undefined (the first waiter binds the cond to its mutex).
 * The report names all three objects (found only when a report is
 * written: a wait that is fine looks no symbol up).
 * EXPECT: cond-misuse
 * REPORT: waits on c with two while other threads wait on it with one
 */
#include "probe.h"
#include <errno.h>
#include <stdbool.h>
#include "soon.h"
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER, two = PTHREAD_MUTEX_INITIALIZER;
static bool waiting, done;
static void *waiter(void *x) {
    (void)x;
    CHECK(pthread_mutex_lock(&one));
    waiting = true;
    while (!done)
        CHECK(pthread_cond_wait(&c, &one));
    CHECK(pthread_mutex_unlock(&one));
    return NULL;
}
int main(void) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, waiter, NULL));
    /* `one` is free again only once the waiter is inside its wait. */
    for (bool in = false; !in;) {
        CHECK(pthread_mutex_lock(&one));
        in = waiting;
        CHECK(pthread_mutex_unlock(&one));
    }
    CHECK(pthread_mutex_lock(&two));
    struct timespec ts = soon_ms(10);
    int err = pthread_cond_timedwait(&c, &two, &ts);
    CHECK(pthread_mutex_unlock(&two));
    CHECK(pthread_mutex_lock(&one));
    done = true;
    CHECK(pthread_cond_broadcast(&c));
    CHECK(pthread_mutex_unlock(&one));
    CHECK(pthread_join(t, NULL));
    return err == 0 || err == ETIMEDOUT ? 0 : 3;
}
