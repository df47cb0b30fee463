/* The one thread waits on a semaphore that only a SIGALRM handler posts
 * (sem_post is async-signal-safe), and the alarm is set for three times
 * stall_ms. The wait is not a stall: the armed timer can end it. Once the
 * handler has posted, the program ends by itself.
 * EXPECT: none
 * OPTIONS: stall_ms=200 */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
static sem_t s;
static void on_alarm(int sig) {
    (void)sig;
    sem_post(&s);
}
int main(void) {
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    CHECK(sem_init(&s, 0, 0));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL));
    CHECK(pthread_mutex_lock(&m)); /* a lock, so that lockgraph is at work */
    CHECK(pthread_mutex_unlock(&m));
    struct itimerval at = { { 0, 0 }, { 0, 600000 } };
    CHECK(setitimer(ITIMER_REAL, &at, NULL));
    while (sem_wait(&s) != 0)
        if (errno != EINTR)
            return 3;
    return 0;
}
