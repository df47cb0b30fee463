/* The blocking twin of live_crumbs_trylock: eight greedy threads take one
 * mutex in a loop, and a polite thread takes it with pthread_mutex_lock,
 * pausing 100 us after each meal, for 3 s. A glibc mutex lets a thread that
 * just unlocked take it straight back, so a greedy thread that wins keeps
 * winning until it is preempted; the polite one turns each win into one
 * meal. It waits most of the time and gets a few crumbs: starvation.
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
    struct timespec pause = { 0, 100000 };
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_mutex_lock(&m);
        meals[GREEDY]++;
        eat();
        pthread_mutex_unlock(&m);
        nanosleep(&pause, NULL);
    }
    return NULL;
}
int main(void) {
    pthread_t t[GREEDY + 1];
    for (long i = 0; i < GREEDY; i++) CHECK(pthread_create(&t[i], NULL, greedy, (void *)i));
    CHECK(pthread_create(&t[GREEDY], NULL, polite, NULL));
    struct timespec run = { 3, 0 };
    nanosleep(&run, NULL);
    atomic_store(&stop, true);
    unsigned long total = 0;
    for (int i = 0; i <= GREEDY; i++) {
        CHECK(pthread_join(t[i], NULL));
        total += meals[i];
    }
    fprintf(stderr, "polite thread: %lu of %lu meals\n", meals[GREEDY], total);
    return 0;
}
