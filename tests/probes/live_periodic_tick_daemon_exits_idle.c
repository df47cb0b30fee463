/* As live_sigterm_handler_exits_idle, with a periodic timer armed the
 * whole time: a 10 s housekeeping tick whose SIGALRM handler posts the
 * semaphore the main thread waits on. The SIGTERM handler's _exit(0) is
 * still a daemon ending as it should: an armed timer alone was taken for a
 * watchdog, the stall was reported and the status became 66 (adversarial
 * round h5, F1). A watchdog is the alarm's own handler ending the program
 * with a failure (live_stall_until_watchdog_exit).
 * EXPECT: none
 * OPTIONS: stall_ms=300
 * PARITY: native */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static sem_t reload;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static void on_hup(int sig) { (void)sig; sem_post(&reload); }
static void on_term(int sig) {
    (void)sig;
    static const char line[] = "stopping\n";
    ssize_t ignored = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)ignored;
    _exit(0);
}
static void *worker(void *arg) {
    (void)arg;
    CHECK(pthread_mutex_lock(&m));
    for (;;)
        CHECK(pthread_cond_wait(&work, &m));
    return NULL;
}
int main(void) {
    CHECK(sem_init(&reload, 0, 0));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    CHECK(sigaction(SIGHUP, &sa, NULL));
    CHECK(sigaction(SIGALRM, &sa, NULL)); /* the tick posts it too */
    sa.sa_handler = on_term;
    CHECK(sigaction(SIGTERM, &sa, NULL));
    struct itimerval tick = { { 10, 0 }, { 10, 0 } };
    CHECK(setitimer(ITIMER_REAL, &tick, NULL));
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, worker, NULL));
    pid_t manager = fork();
    if (manager < 0)
        return 3;
    if (manager == 0) {
        const struct timespec later = { 1, 500000000 };
        nanosleep(&later, NULL);
        kill(getppid(), SIGTERM);
        _exit(0);
    }
    for (;;) /* reloads, until SIGTERM ends the process */
        while (sem_wait(&reload) != 0)
            if (errno != EINTR)
                return 3;
}
