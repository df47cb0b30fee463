/* lockgraph's liveness monitor is a thread, and counts against the
 * process. Two calls then failed where they succeed natively:
 *  - pthread_create at the process's thread limit (RLIMIT_NPROC): a child
 *    runs as a user nobody else runs as, allowed two tasks, and starts one
 *    thread beside its main one (the monitor took that slot: EAGAIN);
 *  - unshare(CLONE_NEWUSER), which wants a single-threaded process, after
 *    a thread was joined (EINVAL).
 * The monitor must give way. The answers are printed, and must be those
 * of the run without lockgraph (whatever this machine allows).
 * EXPECT: none
 * PARITY: native */
#include "probe.h"
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
static void *nothing(void *arg) { return arg; }
static int one_thread(void) {
    pthread_t th;
    int err = pthread_create(&th, NULL, nothing, NULL);
    if (err == 0)
        CHECK(pthread_join(th, NULL));
    return err;
}
int main(int argc, char **argv) {
    if (argc > 1) { /* the child, at its limit */
        printf("thread at the limit: %s\n", strerror(one_thread()));
        return 0;
    }
    fflush(stdout);
    pid_t p = fork();
    if (p < 0)
        return 3;
    if (p == 0) {
        struct rlimit two = { 2, 2 };
        if (getuid() != 0 || setrlimit(RLIMIT_NPROC, &two) != 0 || setgid(4000123) != 0
            || setuid(4000123) != 0) {
            printf("thread at the limit: %s\n", strerror(0)); /* cannot set it up */
            fflush(stdout);
            _exit(0);
        }
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(p, &status, 0) != p || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 3;
    CHECK(one_thread());
    int r = unshare(CLONE_NEWUSER);
    printf("unshare(CLONE_NEWUSER) after a thread: %s\n", r == 0 ? "0" : strerror(errno));
    return 0;
}
