/* main waits on a condition variable that a POSIX timer's SIGEV_THREAD
 * callback signals, three times stall_ms later. glibc runs the callback on
 * a helper thread it creates itself, past pthread_create, so lockgraph
 * never sees it start; while that thread lives, main's wait is not a
 * stall.
 * EXPECT: none
 * OPTIONS: stall_ms=200 */
#include "probe.h"
#include <signal.h>
#include <string.h>
#include <time.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static bool fired;
static void on_timer(union sigval v) {
    (void)v;
    CHECK(pthread_mutex_lock(&m));
    fired = true;
    CHECK(pthread_cond_signal(&c));
    CHECK(pthread_mutex_unlock(&m));
}
int main(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_timer;
    timer_t timer;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &timer));
    struct itimerspec at = { { 0, 0 }, { 0, 600000000 } };
    CHECK(timer_settime(timer, 0, &at, NULL));
    CHECK(pthread_mutex_lock(&m));
    while (!fired)
        CHECK(pthread_cond_wait(&c, &m));
    CHECK(pthread_mutex_unlock(&m));
    CHECK(timer_delete(timer));
    return 0;
}
