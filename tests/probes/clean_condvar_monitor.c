/* The monitor pattern: a producer and a consumer share a mutex, a
 * condition and a predicate, with a nested "stats" lock taken inside.
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, stats = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER, nonfull = PTHREAD_COND_INITIALIZER;
static int queue, produced, consumed;
static void *producer(void *x) {
    (void)x;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&m);
        while (queue == 4) pthread_cond_wait(&nonfull, &m);
        queue++;
        pthread_mutex_lock(&stats); produced++; pthread_mutex_unlock(&stats);
        pthread_cond_signal(&nonempty);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}
static void *consumer(void *x) {
    (void)x;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&m);
        while (queue == 0) pthread_cond_wait(&nonempty, &m);
        queue--;
        pthread_mutex_lock(&stats); consumed++; pthread_mutex_unlock(&stats);
        pthread_cond_signal(&nonfull);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}
int main(void) {
    pthread_t p, c;
    CHECK(pthread_create(&p, NULL, producer, NULL)); CHECK(pthread_create(&c, NULL, consumer, NULL));
    CHECK(pthread_join(p, NULL)); CHECK(pthread_join(c, NULL));
    return produced == 2000 && consumed == 2000 ? 0 : 1;
}
