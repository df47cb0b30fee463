/* The program behind the live_stall_until_watchdog_* probes: a stall
 * through a semaphore (a worker waits for a post that never comes, and the
 * main thread joins it) in a program that bounds its own run with a
 * watchdog, a SIGALRM handler that writes one line and ends the program.
 * The probe that includes this defines WATCHDOG_LINE (the line, with its
 * newline) and WATCHDOG_END() (how the handler ends the program; it must
 * not return). The timer fires after 1.5 s. */
#ifndef PROBE_WATCHDOG_STALL_H
#define PROBE_WATCHDOG_STALL_H
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static sem_t never;
static void watchdog(int sig) {
    (void)sig;
    static const char line[] = WATCHDOG_LINE;
    ssize_t ignored = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)ignored;
    WATCHDOG_END();
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
#endif
