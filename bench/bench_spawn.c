/*
 * bench_spawn.c - run one program and say what it cost; bench/compare's
 * launcher, not a benchmark.
 *
 *   bench_spawn REPORT PROGRAM [ARGS...]
 *
 * Why it exists: Linux carries a process's peak RSS across exec, so a child
 * that Python forks and execs reports at least the interpreter's own RSS
 * (15 MiB or so) as its peak, more than a small native benchmark uses.
 * Forked from this small program instead, the child's peak is its own,
 * with this program's resident size (about a megabyte) as the floor.
 *
 * It forks and execs PROGRAM, waits for it with wait4, and writes one line
 * to the file REPORT:
 *
 *   status=S wall_s=W user_s=U sys_s=Y maxrss_kib=M
 *
 * S is the exit status, or minus the signal that killed the program. Then
 * it exits with the program's status (128 + signal for a killed one).
 * Nothing is written when bench_spawn itself is killed (a timeout).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s REPORT PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench_spawn: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "bench_spawn: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "bench_spawn: wait4: %s\n", strerror(errno));
            return 127;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);

    FILE *f = fopen(argv[1], "w");
    if (!f) {
        fprintf(stderr, "bench_spawn: %s: %s\n", argv[1], strerror(errno));
        return 127;
    }
    fprintf(f, "status=%d wall_s=%.6f user_s=%.6f sys_s=%.6f maxrss_kib=%ld\n", code, wall,
            seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss);
    if (fclose(f) != 0) {
        fprintf(stderr, "bench_spawn: %s: %s\n", argv[1], strerror(errno));
        return 127;
    }
    return code >= 0 ? code : 128 - code;
}
