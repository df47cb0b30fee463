/* A process waits on a semaphore that another process posts: first one set
 * up by sem_init(s, 1, 0) in MAP_SHARED memory, then a named one from
 * sem_open. The parent's only thread is blocked longer than stall_ms, but
 * the wait is not a stall: the post comes from the fork child, which
 * lockgraph in the parent cannot see. Before the fix the parent was stopped
 * with a stall report although the child posted a moment later.
 * EXPECT: none
 * OPTIONS: stall_ms=200 */
#include "probe.h"
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child posts after a pause several times stall_ms. */
static int
wait_for_child_post(sem_t *s)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 3;
    if (pid == 0) {
        usleep(1000 * 1000);
        _exit(sem_post(s) == 0 ? 0 : 4);
    }
    if (sem_wait(s) != 0)
        return 3;
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 3;
    return WEXITSTATUS(status);
}

int
main(void)
{
    sem_t *shared = shared_memory(sizeof *shared);
    if (sem_init(shared, 1, 0) != 0)
        return 3;
    int r = wait_for_child_post(shared);
    if (r != 0)
        return r;
    sem_destroy(shared);

    char name[64];
    snprintf(name, sizeof name, "/lockgraph-probe-%d", (int)getpid());
    sem_t *named = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (named == SEM_FAILED)
        return 3;
    sem_unlink(name);
    r = wait_for_child_post(named);
    sem_close(named);
    return r;
}
