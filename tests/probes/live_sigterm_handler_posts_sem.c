/* A daemon's shape: two workers wait idle for work on a condition
 * variable, and the main thread waits on a semaphore that its SIGTERM
 * handler posts (sem_post is async-signal-safe: the one wake-up a handler
 * may make). Every thread is blocked until the signal comes, from a child
 * process standing in for the service manager. lockgraph stopped such a
 * daemon as a stall at stall_ms; a handler that can post the semaphore
 * must hold that verdict back, and the shutdown must run as without
 * lockgraph.
 * EXPECT: none
 * OPTIONS: stall_ms=300
 * PARITY: native */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static sem_t quit;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static bool stop;
static void on_term(int sig) { (void)sig; sem_post(&quit); }
static void *worker(void *arg) {
    (void)arg;
    CHECK(pthread_mutex_lock(&m));
    while (!stop)
        CHECK(pthread_cond_wait(&work, &m));
    CHECK(pthread_mutex_unlock(&m));
    return NULL;
}
int main(void) {
    CHECK(sem_init(&quit, 0, 0));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    CHECK(sigaction(SIGTERM, &sa, NULL));
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, worker, NULL));
    pid_t manager = fork();
    if (manager < 0)
        return 3;
    if (manager == 0) { /* well past stall_ms, then the stop request */
        const struct timespec later = { 1, 500000000 };
        nanosleep(&later, NULL);
        kill(getppid(), SIGTERM);
        _exit(0);
    }
    while (sem_wait(&quit) != 0)
        if (errno != EINTR)
            return 3;
    CHECK(pthread_mutex_lock(&m));
    stop = true;
    CHECK(pthread_cond_broadcast(&work));
    CHECK(pthread_mutex_unlock(&m));
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(th[i], NULL));
    int status;
    if (waitpid(manager, &status, 0) != manager || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 3;
    printf("clean shutdown\n");
    return 0;
}
