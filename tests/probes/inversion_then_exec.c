/* Two locks taken in both orders, then an exec of the same program (the
 * way a server re-executes itself to upgrade, or a wrapper hands over to
 * the real tool once it has set things up). The process goes on as the new
 * program, with the same pid, and lockgraph starts again in it: the report
 * made before the exec was lost from its exit status (0), its closing
 * line ("0 reports") and its SARIF log, which it began afresh. The new
 * program ("after-exec") takes nothing and returns 0; the run must still
 * end 66. An argument other than that is the exec call to use: execl (the
 * default), execvp, execve, fexecve (as a service manager runs a binary it
 * opened and checked) or execveat (glibc 2.34's call, relative to a
 * directory descriptor), for the output tests.
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
        return 0;
    const char *how = argc > 1 ? argv[1] : "execl";
    inversion();
    fflush(stdout);
    char *again[] = { argv[0], "after-exec", NULL };
    if (strcmp(how, "execvp") == 0)
        execvp("/proc/self/exe", again);
    else if (strcmp(how, "execve") == 0)
        execve("/proc/self/exe", again, environ);
    else if (strcmp(how, "fexecve") == 0 || strcmp(how, "execveat") == 0) {
        int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            perror("inversion_then_exec: open");
            return 3;
        }
        if (how[0] == 'f')
            fexecve(fd, again, environ);
        else
            execveat(fd, "", again, environ, AT_EMPTY_PATH);
    }
    else
        execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
    perror("inversion_then_exec: exec");
    return 3;
}
