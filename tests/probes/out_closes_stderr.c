/* A program that closes its standard error before it is done, as xz and
 * sort do (fclose(stderr), to check that their messages got out), and only
 * then takes two locks in both orders. The report and the closing line
 * were lost, with nothing said: lockgraph writes to a copy of fd 2 it
 * kept (test_outputs.py: closing_line_after_stderr_closed).
 * With the argument "daemon", it forks instead: the parent prints the
 * child's pid and exits 0; the child detaches (a new session, fd 0-2 on
 * /dev/null) and waits up to 30 s for SIGTERM. lockgraph's copy must not
 * keep the parent's stderr open in it: whoever reads that pipe to its end
 * would wait for the daemon (test_outputs.py: stderr_left_to_a_daemon).
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "daemon") == 0) {
        pid_t pid = fork();
        if (pid < 0)
            return 3;
        if (pid > 0) {
            printf("%ld\n", (long)pid);
            return 0;
        }
        setsid();
        int null = open("/dev/null", O_RDWR);
        if (null < 0)
            _exit(3);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
        sleep(30);
        _exit(0);
    }
    if (fclose(stderr) != 0)
        return 3;
    inversion();
    return 0;
}
