/* Eight greedy threads take one mutex in a loop, and a polite thread tries
 * it with trylock once a millisecond for 3 s. Now and then the polite
 * thread finds it free (a crumb), so no dry spell lasts starvation_ms; but
 * it keeps trying and gets a tiny share of a lock the others get all the
 * time: starvation, under load as on a quiet machine.
 * EXPECT: starvation */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define GREEDY 8
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop;
static unsigned long meals[GREEDY + 1];
static void eat(void) {
    static volatile unsigned long crumbs;
    for (int i = 0; i < 100; i++) crumbs++;
}
static void *greedy(void *x) {
    long me = (long)x;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_mutex_lock(&m);
        meals[me]++;
        eat();
        pthread_mutex_unlock(&m);
    }
    return NULL;
}
static void *polite(void *x) {
    (void)x;
    struct timespec ms = { 0, 1000000 };
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (pthread_mutex_trylock(&m) == 0) {
            meals[GREEDY]++;
            eat();
            pthread_mutex_unlock(&m);
        }
        nanosleep(&ms, NULL);
    }
    return NULL;
}
int main(void) {
    pthread_t t[GREEDY + 1];
    for (long i = 0; i < GREEDY; i++) CHECK(pthread_create(&t[i], NULL, greedy, (void *)i));
    CHECK(pthread_create(&t[GREEDY], NULL, polite, NULL));
    probe_run_for(&stop, 3);
    unsigned long total = 0;
    for (int i = 0; i <= GREEDY; i++) {
        CHECK(pthread_join(t[i], NULL));
        total += meals[i];
    }
    fprintf(stderr, "polite thread: %lu of %lu meals\n", meals[GREEDY], total);
    return 0;
}
