/* A daemon that ends from its SIGTERM handler: the workers wait idle for
 * work, the main thread waits on a semaphore that its SIGHUP handler would
 * post (a reload), and the SIGTERM handler calls _exit(0). Every thread is
 * blocked when the signal comes, from a child standing in for the service
 * manager, well past stall_ms. That is a daemon ending as it should, not a
 * stall: no report, and the daemon's own exit status. (A watchdog alarm
 * that ends a program in the same state does get a stall report:
 * live_stall_until_watchdog_exit.)
 * EXPECT: none
 * OPTIONS: stall_ms=300
 * PARITY: native */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
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
    sa.sa_handler = on_term;
    CHECK(sigaction(SIGTERM, &sa, NULL));
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
