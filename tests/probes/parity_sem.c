/* What each semaphore call returns (and errno, and the value after it),
 * case by case, for binary semaphores (which lockgraph follows as locks)
 * and signals: under lockgraph every line must be what glibc gives without
 * it (probe.py --parity runs it both ways and compares).
 * EXPECT: none
 * PARITY: native */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
static sem_t bin, sig, other, taken, done;
/* Takes `other` and holds it until main posts `done`. */
static void *holder(void *x) {
    (void)x;
    sem_wait(&other);
    sem_post(&taken);
    sem_wait(&done);
    sem_post(&other);
    return NULL;
}
static void show(const char *what, int r, sem_t *s) {
    int e = errno, v = -1;
    sem_getvalue(s, &v);
    printf("%-44s %2d %-10s value %d\n", what, r, r ? strerrorname_np(e) : "-", v);
    errno = 0;
}
static struct timespec in_ms(clockid_t clock, long ms) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}
static void on_alarm(int s) { (void)s; }
int main(void) {
    struct timespec bad = { 0, 1000000000L }, past = { 1, 0 }, soon;
    show("sem_init binary", sem_init(&bin, 0, 1), &bin);
    show("sem_init signal", sem_init(&sig, 0, 0), &sig);
    show("sem_timedwait free, bad ns", sem_timedwait(&bin, &bad), &bin);
    show("sem_clockwait free, bad clock", sem_clockwait(&bin, CLOCK_PROCESS_CPUTIME_ID, &past), &bin);
    show("sem_clockwait free, deadline passed", sem_clockwait(&bin, CLOCK_MONOTONIC, &past), &bin);
    show("sem_trywait held by this thread", sem_trywait(&bin), &bin);
    soon = in_ms(CLOCK_REALTIME, 20);
    show("sem_timedwait held by this thread, 20 ms", sem_timedwait(&bin, &soon), &bin);
    show("sem_timedwait held, deadline passed", sem_timedwait(&bin, &past), &bin);
    show("sem_timedwait held, bad ns", sem_timedwait(&bin, &bad), &bin);
    show("sem_post by the taker", sem_post(&bin), &bin);
    show("sem_wait free", sem_wait(&bin), &bin);
    show("sem_post", sem_post(&bin), &bin);
    soon = in_ms(CLOCK_MONOTONIC, 20);
    show("sem_clockwait free, monotonic", sem_clockwait(&bin, CLOCK_MONOTONIC, &soon), &bin);
    /* A wait cut short by a signal handler: a repeating timer, so that the
     * wait is interrupted whenever it starts. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &every, NULL);
    show("sem_wait held by this thread, signal", sem_wait(&bin), &bin);
    show("sem_wait signal, signal", sem_wait(&sig), &sig);
    pthread_t t;
    sem_init(&other, 0, 1);
    sem_init(&taken, 0, 0);
    sem_init(&done, 0, 0);
    pthread_create(&t, NULL, holder, NULL);
    while (sem_wait(&taken) != 0) {}
    show("sem_wait held by another thread, signal", sem_wait(&other), &other);
    setitimer(ITIMER_REAL, &off, NULL);
    soon = in_ms(CLOCK_REALTIME, 20);
    show("sem_timedwait held by another, 20 ms", sem_timedwait(&other, &soon), &other);
    show("sem_trywait held by another", sem_trywait(&other), &other);
    sem_post(&done);
    pthread_join(t, NULL);
    show("sem_wait released by the other", sem_wait(&other), &other);
    show("sem_post by the taker", sem_post(&other), &other);
    show("sem_post by the taker", sem_post(&bin), &bin);
    show("sem_post above 1", sem_post(&bin), &bin);
    show("sem_trywait", sem_trywait(&bin), &bin);
    show("sem_trywait", sem_trywait(&bin), &bin);
    show("sem_trywait empty", sem_trywait(&bin), &bin);
    show("sem_trywait signal, empty", sem_trywait(&sig), &sig);
    show("sem_post signal", sem_post(&sig), &sig);
    show("sem_wait signal", sem_wait(&sig), &sig);
    soon = in_ms(CLOCK_REALTIME, 20);
    show("sem_timedwait signal, 20 ms", sem_timedwait(&sig, &soon), &sig);
    show("sem_destroy binary", sem_destroy(&bin), &bin);
    show("sem_destroy signal", sem_destroy(&sig), &sig);
    return 0;
}
