/* A thread exits holding a lock, and main returns while lockgraph is still
 * writing that report (the JVM's "VM Thread" does the same as the java
 * launcher ends). The report is slow on purpose: the probe puts a
 * directory first on PATH whose `addr2line` says it started, waits a
 * second, then runs the real one; main returns as soon as it has started
 * (or after 10 s).
 * So the process begins its exit in the middle of the report, every time.
 * The report must still count: exit status 66, and the closing line
 * (summary=1, tests/test_outputs.py) comes after the report and says 1.
 * EXPECT: abandoned-lock
 * OPTIONS: summary=1
 */
#include "probe.h"
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *
leaves_holding(void *x)
{
    (void)x;
    CHECK(pthread_mutex_lock(&m));
    return NULL;
}

int
main(void)
{
    char dir[] = "/tmp/lockgraph-slow-a2l-XXXXXX", tool[64], started[64];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 3;
    }
    snprintf(tool, sizeof tool, "%s/addr2line", dir);
    snprintf(started, sizeof started, "%s/started", dir);
    FILE *f = fopen(tool, "w");
    if (!f) {
        perror(tool);
        return 3;
    }
    /* The rest of PATH, without this directory, finds the real one. */
    fprintf(f, "#!/bin/sh\n: > '%s'\nsleep 1\nPATH=${PATH#*:} exec addr2line \"$@\"\n", started);
    fclose(f);
    chmod(tool, 0755);
    const char *path = getenv("PATH");
    char *grown = malloc(strlen(dir) + strlen(path ? path : "/usr/bin") + 2);
    sprintf(grown, "%s:%s", dir, path ? path : "/usr/bin");
    setenv("PATH", grown, 1);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, leaves_holding, NULL));
    CHECK(pthread_detach(t));
    /* Natively nothing runs addr2line: no wait. */
    const char *preload = getenv("LD_PRELOAD");
    int tries = preload && strstr(preload, "lockgraph") ? 2000 : 0;
    struct stat st;
    for (int i = 0; i < tries && stat(started, &st) != 0; i++)
        nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
    unlink(started);
    unlink(tool);
    rmdir(dir);
    printf("main returns\n");
    return 0;
}
