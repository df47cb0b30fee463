/* A fork child blocks on process-shared locks that its parent holds for a
 * while: a mutex, an rwlock (for reading, while the parent writes) and a
 * spinlock, each set up PTHREAD_PROCESS_SHARED in MAP_SHARED memory. The
 * child's only thread waits longer than stall_ms each time, but the owner
 * is in another process and lets go: no stall. Before the fix the child
 * was stopped with a stall report (exit 66) in the mutex wait.
 * EXPECT: none
 * OPTIONS: stall_ms=200 */
#include "probe.h"
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    pthread_mutex_t m;
    pthread_rwlock_t rw;
    pthread_spinlock_t spin;
    atomic_int held; /* the parent holds the lock of this round */
};

int
main(void)
{
    struct shared *sh = shared_memory(sizeof *sh);
    pthread_rwlockattr_t ra;
    pshared_mutex_init(&sh->m);
    CHECK(pthread_rwlockattr_init(&ra));
    CHECK(pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED));
    CHECK(pthread_rwlock_init(&sh->rw, &ra));
    CHECK(pthread_spin_init(&sh->spin, PTHREAD_PROCESS_SHARED));
    atomic_init(&sh->held, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        /* Each round: wait until the parent holds the lock, then take it
         * (blocking until the parent lets go). */
        while (atomic_load(&sh->held) != 1)
            usleep(1000);
        if (pthread_mutex_lock(&sh->m) != 0 || pthread_mutex_unlock(&sh->m) != 0)
            _exit(4);
        while (atomic_load(&sh->held) != 2)
            usleep(1000);
        if (pthread_rwlock_rdlock(&sh->rw) != 0 || pthread_rwlock_unlock(&sh->rw) != 0)
            _exit(4);
        while (atomic_load(&sh->held) != 3)
            usleep(1000);
        if (pthread_spin_lock(&sh->spin) != 0 || pthread_spin_unlock(&sh->spin) != 0)
            _exit(4);
        _exit(0);
    }
    CHECK(pthread_mutex_lock(&sh->m));
    atomic_store(&sh->held, 1);
    usleep(1000 * 1000);
    CHECK(pthread_mutex_unlock(&sh->m));
    CHECK(pthread_rwlock_wrlock(&sh->rw));
    atomic_store(&sh->held, 2);
    usleep(1000 * 1000);
    CHECK(pthread_rwlock_unlock(&sh->rw));
    CHECK(pthread_spin_lock(&sh->spin));
    atomic_store(&sh->held, 3);
    usleep(600 * 1000);
    CHECK(pthread_spin_unlock(&sh->spin));
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 3;
    printf("clean_pshared_lock_other_process: the child exited with %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
