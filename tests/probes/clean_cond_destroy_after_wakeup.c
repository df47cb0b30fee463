/* A condition variable destroyed right after the signal or broadcast that
 * woke its waiters, while they are still inside pthread_cond_wait (the
 * destroyer holds their mutex, so none can have returned). POSIX allows
 * it: a thread woken by the signal is no longer blocked on the condition
 * variable. Helgrind's suite reports the signal case; lockgraph does not.
 * Done with a signal and one waiter, a broadcast and two, and C11's
 * cnd_signal and cnd_destroy.
 * EXPECT: none
 */
#include "probe.h"
#include <stdbool.h>
#include <threads.h>
static pthread_cond_t c;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int waiting, round_no;
static bool c11;
static void *waiter(void *x) {
    (void)x;
    CHECK(pthread_mutex_lock(&m));
    int mine = round_no;
    waiting++;
    while (round_no == mine)
        CHECK(c11 ? cnd_wait((cnd_t *)(void *)&c, (mtx_t *)(void *)&m) != thrd_success
                  : pthread_cond_wait(&c, &m));
    CHECK(pthread_mutex_unlock(&m));
    return NULL;
}
static void one_round(int nwaiters, bool broadcast, bool use_c11) {
    pthread_t t[2];
    c11 = use_c11;
    CHECK(pthread_cond_init(&c, NULL));
    waiting = 0;
    for (int i = 0; i < nwaiters; i++)
        CHECK(pthread_create(&t[i], NULL, waiter, NULL));
    /* m is free again only while every waiter is inside its wait. */
    for (bool all = false; !all;) {
        CHECK(pthread_mutex_lock(&m));
        all = waiting == nwaiters;
        if (!all)
            CHECK(pthread_mutex_unlock(&m));
    }
    round_no++;
    if (use_c11) {
        CHECK(cnd_signal((cnd_t *)(void *)&c) != thrd_success);
        cnd_destroy((cnd_t *)(void *)&c);
    } else {
        CHECK(broadcast ? pthread_cond_broadcast(&c) : pthread_cond_signal(&c));
        CHECK(pthread_cond_destroy(&c));
    }
    CHECK(pthread_mutex_unlock(&m));
    for (int i = 0; i < nwaiters; i++)
        CHECK(pthread_join(t[i], NULL));
}
int main(void) {
    one_round(1, false, false);
    one_round(2, true, false);
    one_round(1, false, true);
    return 0;
}
