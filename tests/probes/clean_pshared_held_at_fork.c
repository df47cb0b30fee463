/* The parent holds a process-shared mutex and a process-shared spinlock
 * when it forks. The memory is shared, so the child does not hold them:
 * the parent does, and lets go of each a moment later. The child takes the
 * spinlock, then a private mutex and, under it, the shared mutex. Before
 * the fix the child inherited the parent's belief that it held both: the
 * spinlock take was called a self-deadlock and the child stopped, and
 * without that, the private mutex made a false order "shared mutex before
 * private mutex", an inversion with the next take.
 * EXPECT: none */
#include "probe.h"
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    pthread_mutex_t m;
    pthread_spinlock_t spin;
};
static pthread_mutex_t mine = PTHREAD_MUTEX_INITIALIZER;

int
main(void)
{
    struct shared *sh = shared_memory(sizeof *sh);
    pshared_mutex_init(&sh->m);
    CHECK(pthread_spin_init(&sh->spin, PTHREAD_PROCESS_SHARED));
    CHECK(pthread_mutex_lock(&sh->m));
    CHECK(pthread_spin_lock(&sh->spin));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        if (pthread_spin_lock(&sh->spin) != 0 || pthread_spin_unlock(&sh->spin) != 0)
            _exit(4);
        if (pthread_mutex_lock(&mine) != 0 || pthread_mutex_lock(&sh->m) != 0)
            _exit(4);
        pthread_mutex_unlock(&sh->m);
        pthread_mutex_unlock(&mine);
        _exit(0);
    }
    usleep(100 * 1000);
    CHECK(pthread_spin_unlock(&sh->spin));
    usleep(100 * 1000);
    CHECK(pthread_mutex_unlock(&sh->m));
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 3;
    printf("clean_pshared_held_at_fork: the child exited with %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
