/* A signal handler takes a thread out of a blocked pthread_mutex_lock with
 * siglongjmp (legal for a handler that interrupted an async-signal-safe
 * point: the lock call never returns, and the thread never got the mutex).
 * The thread then holds another mutex while main, which still holds the
 * first, waits for it: no deadlock, since the thread is not waiting any
 * more. lockgraph, which never saw the lock call end, took the stale wait
 * for a wait-for cycle, reported a deadlock and stopped the program.
 * EXPECT: none
 * OPTIONS: deadlock_ms=200
 * PARITY: native */
#include "probe.h"
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, second = PTHREAD_MUTEX_INITIALIZER;
static sigjmp_buf out;
static atomic_long worker_tid;
static atomic_bool has_second;
static void on_usr1(int sig) { (void)sig; siglongjmp(out, 1); }
static void *worker(void *arg) {
    (void)arg;
    atomic_store(&worker_tid, (long)syscall(SYS_gettid));
    if (sigsetjmp(out, 1) == 0) {
        pthread_mutex_lock(&first); /* main holds it: blocks until the signal */
        fprintf(stderr, "worker: got the first mutex, which main holds\n");
        exit(3);
    }
    CHECK(pthread_mutex_lock(&second));
    atomic_store(&has_second, true);
    const struct timespec hold = { 0, 800000000 }; /* main waits for it meanwhile */
    nanosleep(&hold, NULL);
    CHECK(pthread_mutex_unlock(&second));
    CHECK(pthread_mutex_lock(&first)); /* now main lets it go */
    CHECK(pthread_mutex_unlock(&first));
    printf("worker: done\n");
    return NULL;
}
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, NULL));
    CHECK(pthread_mutex_lock(&first));
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
    CHECK(pthread_mutex_unlock(&first));
    CHECK(pthread_join(th, NULL));
    printf("main: done\n");
    return 0;
}
