/* A process waits on a process-shared condition variable, and on a
 * process-shared barrier, that only its fork child can end: the child sets
 * the predicate and signals after a pause several times stall_ms, then
 * arrives at the barrier after another. The parent's only thread is
 * blocked all along, but another process will wake it: no stall. Before
 * the fix the parent was stopped with a stall report in the cond wait.
 * EXPECT: none
 * OPTIONS: stall_ms=200 */
#include "probe.h"
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    pthread_mutex_t m;
    pthread_cond_t cv;
    pthread_barrier_t b;
    int ready; /* under m */
};

int
main(void)
{
    struct shared *sh = shared_memory(sizeof *sh);
    pthread_condattr_t ca;
    pthread_barrierattr_t ba;
    pshared_mutex_init(&sh->m);
    CHECK(pthread_condattr_init(&ca));
    CHECK(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED));
    CHECK(pthread_cond_init(&sh->cv, &ca));
    CHECK(pthread_barrierattr_init(&ba));
    CHECK(pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED));
    CHECK(pthread_barrier_init(&sh->b, &ba, 2));
    sh->ready = 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        usleep(1000 * 1000);
        pthread_mutex_lock(&sh->m);
        sh->ready = 1;
        pthread_cond_signal(&sh->cv);
        pthread_mutex_unlock(&sh->m);
        usleep(1000 * 1000);
        int r = pthread_barrier_wait(&sh->b);
        _exit(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : 4);
    }
    CHECK(pthread_mutex_lock(&sh->m));
    while (!sh->ready)
        CHECK(pthread_cond_wait(&sh->cv, &sh->m));
    CHECK(pthread_mutex_unlock(&sh->m));
    int r = pthread_barrier_wait(&sh->b);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
        return 3;
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 3;
    return WEXITSTATUS(status);
}
