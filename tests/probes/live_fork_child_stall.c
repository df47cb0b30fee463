/* A fork child waits on a condition variable that nobody signals. fork()
 * does not copy lockgraph's liveness monitor thread; lockgraph starts it
 * again in the child the first time a thread there blocks in a wait the
 * monitor watches (not at fork: a child that execs at once must not get a
 * thread, so the child first checks it is alone), the stall is reported
 * and the child exits 66 instead of hanging. The parent passes the child's
 * exit status on. Before the fix the child hung, and the parent with it.
 * EXPECT: stall
 * OPTIONS: stall_ms=300 */
#include "probe.h"
#include <sys/wait.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
int main(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 3;
    if (pid == 0) {
        int n = threads_in_this_process();
        if (n != 1) {
            fprintf(stderr, "live_fork_child_stall: the child has %d threads before it waits\n", n);
            _exit(4);
        }
        pthread_mutex_lock(&m);
        pthread_cond_wait(&never, &m); /* a lost wakeup: nobody will signal */
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 3;
    printf("live_fork_child_stall: the child exited with %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
