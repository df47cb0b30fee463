/* A sandboxed program: a seccomp filter makes nanosleep and
 * clock_nanosleep fail with EPERM (the program sleeps with timed waits
 * instead). lockgraph's liveness monitor, which paces itself with
 * nanosleep, spun on a core for as long as the program ran. The program
 * waits 1.5 s on a condition variable, and checks that the process used
 * far less CPU time than that.
 * EXPECT: none */
#include "probe.h"
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static void *idle_wait(void *arg) {
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    until.tv_nsec += 500000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    CHECK(pthread_mutex_lock(&m));
    int r;
    while ((r = pthread_cond_timedwait(&never, &m, &until)) == 0)
        ;
    CHECK(pthread_mutex_unlock(&m));
    return r == ETIMEDOUT ? NULL : (void *)1;
}
int main(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_nanosleep, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clock_nanosleep, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("seccomp");
        return 3;
    }
    pthread_t th;
    void *bad;
    CHECK(pthread_create(&th, NULL, idle_wait, NULL));
    CHECK(pthread_join(th, &bad));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
                 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    if (bad || cpu > 0.15) {
        fprintf(stderr, "clean_seccomp_refuses_nanosleep: %.2f s of CPU in a 1.5 s wait\n", cpu);
        return 4;
    }
    return 0;
}
