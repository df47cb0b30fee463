/* The program's one thread waits on a semaphore that its SIGALRM handler
 * posts when the alarm it set goes off, well past stall_ms. Nothing can be
 * seen running in between, but the wait ends: lockgraph stopped it as a
 * stall (exit 66 at stall_ms; natively it exits 0 after the alarm).
 * EXPECT: none
 * OPTIONS: stall_ms=300
 * PARITY: native */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
static sem_t rung;
static void on_alarm(int sig) { (void)sig; sem_post(&rung); }
int main(void) {
    CHECK(sem_init(&rung, 0, 0));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL));
    struct itimerval when = { { 0, 0 }, { 1, 200000 } };
    CHECK(setitimer(ITIMER_REAL, &when, NULL));
    int r;
    while ((r = sem_wait(&rung)) != 0 && errno == EINTR)
        ;
    printf("woken: %d\n", r);
    return r == 0 ? 0 : 3;
}
