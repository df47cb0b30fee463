/* The parent reports an inversion and forks a child that outlives it and
 * reports an inversion of its own. The SARIF log and the DOT picture are
 * the parent's (one process, one run: its exit code, its results); the
 * child's report goes to the log and the JSON output
 * (tests/test_outputs.py checks the files).
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <unistd.h>

int
main(void)
{
    inversion();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        exit(3);
    if (pid == 0) {
        while (getppid() == parent) /* until the parent has exited, whatever the load */
            usleep(1000);
        inversion();
    }
    return 0;
}
