/* After a report, the program forks a child that exits 0, and prints the
 * status it sees. The child made no report: its status must be its own.
 * It inherited the parent's count of reports and exited 66, so a parent
 * that checks its workers saw them fail (the parent still exits 66).
 * EXPECT: lock-order-inversion
 * PARITY: native */
#include "probe.h"
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    inversion();
    fflush(stdout);
    pid_t p = fork();
    if (p < 0)
        return 3;
    if (p == 0)
        return 0; /* through exit, and lockgraph's end */
    int status;
    if (waitpid(p, &status, 0) != p)
        return 3;
    printf("child exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
