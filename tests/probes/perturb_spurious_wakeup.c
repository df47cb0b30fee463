/* Perturbation may wake a condition-variable wait spuriously, as POSIX
 * allows, while another thread runs: here nobody ever signals, a spinner
 * keeps running, and every wait must still come back with 0 and the mutex
 * held (an error-checking mutex, so the unlock proves it), at least three
 * times in ten. Without the spurious wake-ups each wait times out after 2 s
 * and the probe fails.
 * EXPECT: none
 * OPTIONS: perturb=1:perturb_spurious=100:perturb_seed=1 */
#include "probe.h"
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
static pthread_mutex_t m;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static atomic_bool stop;
static void *spinner(void *x) {
    (void)x;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        ; /* runs, and takes no lock: the kind of thread that could signal */
    return NULL;
}
int main(void) {
    pthread_mutexattr_t a;
    pthread_t t;
    CHECK(pthread_mutexattr_init(&a));
    CHECK(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK));
    CHECK(pthread_mutex_init(&m, &a));
    CHECK(pthread_create(&t, NULL, spinner, NULL));
    int woke = 0;
    for (int i = 0; i < 10 && woke < 3; i++) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        CHECK(pthread_mutex_lock(&m));
        int err = pthread_cond_timedwait(&c, &m, &until);
        CHECK(pthread_mutex_unlock(&m)); /* EPERM unless the wait gave it back */
        if (err == 0)
            woke++;
        else if (err != ETIMEDOUT)
            CHECK(err);
    }
    atomic_store(&stop, true);
    CHECK(pthread_join(t, NULL));
    if (woke < 3) {
        fprintf(stderr, "only %d spurious wake-up(s) in 10 waits\n", woke);
        return 3;
    }
    return 0;
}
