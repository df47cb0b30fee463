/* As clean_siglongjmp_out_of_lock_wait, with a binary semaphore used as a
 * lock (sem_init 1, each wait's post by the same thread), as CPython's
 * locks are: a signal handler takes the waiter out of sem_wait with
 * siglongjmp, and its stale wait must not make a deadlock.
 * EXPECT: none
 * OPTIONS: deadlock_ms=200
 * PARITY: native */
#include "probe.h"
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static sem_t first;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;
static sigjmp_buf out;
static atomic_long worker_tid;
static atomic_bool has_second;
static void on_usr1(int sig) { (void)sig; siglongjmp(out, 1); }
static void *worker(void *arg) {
    (void)arg;
    atomic_store(&worker_tid, (long)syscall(SYS_gettid));
    if (sigsetjmp(out, 1) == 0) {
        sem_wait(&first); /* main took it: blocks until the signal */
        fprintf(stderr, "worker: took the semaphore main holds\n");
        exit(3);
    }
    CHECK(pthread_mutex_lock(&second));
    atomic_store(&has_second, true);
    const struct timespec hold = { 0, 800000000 };
    nanosleep(&hold, NULL);
    CHECK(pthread_mutex_unlock(&second));
    CHECK(sem_wait(&first));
    CHECK(sem_post(&first));
    printf("worker: done\n");
    return NULL;
}
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, NULL));
    CHECK(sem_init(&first, 0, 1));
    for (int i = 0; i < 3; i++) { /* a lock, as far as anyone can tell */
        CHECK(sem_wait(&first));
        CHECK(sem_post(&first));
    }
    CHECK(sem_wait(&first));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, worker, NULL));
    while (atomic_load(&worker_tid) == 0)
        sched_yield();
    if (!blocked_in_futex(atomic_load(&worker_tid)))
        return 3;
    CHECK(pthread_kill(th, SIGUSR1));
    while (!atomic_load(&has_second))
        sched_yield();
    CHECK(pthread_mutex_lock(&second)); /* waits while the worker holds it */
    CHECK(pthread_mutex_unlock(&second));
    CHECK(sem_post(&first));
    CHECK(pthread_join(th, NULL));
    printf("main: done\n");
    return 0;
}
