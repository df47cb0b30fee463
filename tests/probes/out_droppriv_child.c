/* A daemon's helper: a child that switches to an unprivileged user (nobody)
 * and execs a program, as varnishd runs its compiler. Under log=FILE the
 * helper inherits the option and cannot open the root-owned file; that must
 * not end it (test_outputs.py: log_refused_to_a_child). Exits 0 when the
 * helper ran and exited 0; run by a user who cannot switch, the child says
 * so and exits 0 as if it had.
 * EXPECT: none */
#include "probe.h"
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    pid_t p = fork();
    if (p < 0)
        return 3;
    if (p == 0) {
        if (getuid() != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(0); /* cannot switch: nothing to check */
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(p, &status, 0) != p)
        return 3;
    printf("helper exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
