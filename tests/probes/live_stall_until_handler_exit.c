/* As live_stall_until_watchdog_exit, but the watchdog's handler calls
 * exit(1), which is not async-signal-safe but common: the stall must be
 * reported from there too (lockgraph's exit path), not lost.
 * EXPECT: stall
 * OPTIONS: stall_ms=300 */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static sem_t never;
static void watchdog(int sig) {
    (void)sig;
    static const char line[] = "live_stall_until_handler_exit: watchdog fired\n";
    ssize_t ignored = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)ignored;
    exit(1); /* not async-signal-safe, but common */
}
static void *worker(void *arg) {
    (void)arg;
    while (sem_wait(&never) != 0 && errno == EINTR)
        ;
    return NULL;
}
int main(void) {
    CHECK(sem_init(&never, 0, 0));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = watchdog;
    CHECK(sigaction(SIGALRM, &sa, NULL));
    struct itimerval when = { { 0, 0 }, { 1, 500000 } };
    CHECK(setitimer(ITIMER_REAL, &when, NULL));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, worker, NULL));
    CHECK(pthread_join(th, NULL));
    return 0;
}
