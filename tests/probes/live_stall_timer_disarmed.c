/* A timer that is created but no longer armed wakes nobody: the one
 * thread, blocked on a semaphore nothing posts, is still a stall (and the
 * program is stopped instead of hanging). The alarm was set and then
 * cancelled, and a POSIX timer created, armed and disarmed.
 * EXPECT: stall
 * OPTIONS: stall_ms=200 */
#include "probe.h"
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
static void ignore(int sig) { (void)sig; }
int main(void) {
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    static sem_t never;
    CHECK(sem_init(&never, 0, 0));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ignore;
    CHECK(sigaction(SIGUSR1, &sa, NULL));
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    timer_t timer;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &timer));
    struct itimerspec on = { { 0, 0 }, { 3600, 0 } }, off = { { 0, 0 }, { 0, 0 } };
    CHECK(timer_settime(timer, 0, &on, NULL));
    CHECK(timer_settime(timer, 0, &off, NULL));
    CHECK(alarm(3600) == 0 ? 0 : 1);
    alarm(0);
    CHECK(pthread_mutex_lock(&m));
    CHECK(pthread_mutex_unlock(&m));
    sem_wait(&never);
    return 3; /* not reached: nothing posts it */
}
