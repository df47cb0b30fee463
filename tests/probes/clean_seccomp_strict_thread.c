/* A sandbox thread, as a program that runs untrusted work in seccomp strict
 * mode has: after prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) it may only
 * read, write and exit, and any other system call kills it. It takes two
 * mutexes (uncontended: natively no system call) in the order opposite to
 * the one the main thread used before, writes one line and ends with the
 * raw exit system call. Under lockgraph the thread was killed inside
 * lockgraph's work on the inversion it closed, holding lockgraph's locks,
 * and the program hung. lockgraph must stand aside in that thread: the
 * program ends as natively, and the inversion is one lockgraph cannot see.
 * EXPECT: none
 * PARITY: native */
#include "probe.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void *sandbox(void *arg) {
    (void)arg;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) {
        perror("clean_seccomp_strict_thread: prctl");
        return NULL;
    }
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&a);
        pthread_mutex_lock(&b);
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
    }
    static const char line[] = "clean_seccomp_strict_thread: sandbox done\n";
    ssize_t ignored = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)ignored;
    syscall(SYS_exit, 0); /* the thread alone: exit_group is not allowed */
    return NULL;
}

int main(void) {
    CHECK(pthread_mutex_lock(&b));
    CHECK(pthread_mutex_lock(&a));
    CHECK(pthread_mutex_unlock(&a));
    CHECK(pthread_mutex_unlock(&b));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, sandbox, NULL));
    CHECK(pthread_join(th, NULL));
    printf("clean_seccomp_strict_thread: joined\n");
    return 0;
}
