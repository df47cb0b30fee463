/* A stall through a semaphore (a worker waits for a post that never comes,
 * and the main thread joins it) in a program that bounds its own run with
 * a watchdog whose SIGALRM handler says so and calls abort(), as many
 * test harnesses do to get a core file. The handler might have posted the
 * semaphore, so the stall is held back while it can; when the handler
 * ends the program with SIGABRT instead, the stall must still be reported
 * (exit 66), not lost with the process (adversarial round h5, F5).
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
    static const char line[] = "live_stall_until_watchdog_abort: watchdog fired\n";
    ssize_t ignored = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)ignored;
    abort();
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
