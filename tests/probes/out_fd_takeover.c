/* A program that, like a daemon, closes every descriptor above 2 after it
 * started and then opens a file of its own, which gets the lowest number:
 * often the one lockgraph's log had. lockgraph's later reports must not
 * land in the program's file; the program checks its file and aborts if
 * anything but its own line is in it. Two inversions: one before the
 * descriptors are closed (so the JSON output is open), one after.
 * EXPECT: lock-order-inversion
 * OPTIONS: log=/dev/stderr */
#include "probe.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
    static const char mine[] = "the program's own line\n";
    char path[] = "/tmp/lockgraph-takeover-XXXXXX";
    inversion();
    close_range(3, ~0u, 0);
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, mine, strlen(mine)) != (ssize_t)strlen(mine))
        exit(3);
    unlink(path);
    inversion();
    char back[4096];
    ssize_t n = pread(fd, back, sizeof back, 0);
    if (n != (ssize_t)strlen(mine) || memcmp(back, mine, strlen(mine)) != 0) {
        fprintf(stderr, "out_fd_takeover: fd %d has %zd bytes, not just its own line\n", fd, n);
        abort();
    }
    return 0;
}
