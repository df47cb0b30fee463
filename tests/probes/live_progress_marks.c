/* Two threads retry each other's locks with trylock and back off, like the
 * polite philosophers, but each retry also does real work and says so with
 * lg_progress(): by its own definition of progress, no livelock.
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
__attribute__((weak)) void lg_progress(void);
static pthread_mutex_t fork_[2] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER };
static pthread_barrier_t step;
static atomic_bool stop;
static bool last_round; /* decided by one thread between two barriers */
static void *polite(void *x) {
    int me = (int)(long)x;
    for (;;) {
        pthread_mutex_lock(&fork_[me]);
        pthread_barrier_wait(&step);
        if (pthread_mutex_trylock(&fork_[1 - me]) == 0)
            pthread_mutex_unlock(&fork_[1 - me]);
        if (pthread_barrier_wait(&step) == PTHREAD_BARRIER_SERIAL_THREAD)
            last_round = atomic_load(&stop);
        pthread_mutex_unlock(&fork_[me]);
        if (lg_progress)
            lg_progress(); /* the work of this round is done */
        pthread_barrier_wait(&step); /* both see the same last_round */
        if (last_round)
            return NULL;
    }
}
int main(void) {
    pthread_t t[2];
    CHECK(pthread_barrier_init(&step, NULL, 2));
    for (long i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, polite, (void *)i));
    struct timespec ts = { 1, 600000000 };
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL));
    return 0;
}
