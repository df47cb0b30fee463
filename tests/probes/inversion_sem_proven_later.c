/* The inversion through a binary semaphore is closed before the semaphore
 * has shown itself to be a lock: T1 takes it and, holding it, a mutex;
 * T2, holding the mutex, starts to wait for the semaphore. Only then does
 * T1 post it, the thread that took it: a lock after all, and the orders
 * semaphore -> mutex (T1) and mutex -> semaphore (T2) can deadlock. The
 * cycle, held back while the semaphore might have been a token handed on
 * (clean_sem_token_handed_off), must be reported at that post.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#include "asleep.h"

#include <semaphore.h>

static sem_t s, ready;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int t2_tid;

static void *t1(void *arg) {
    (void)arg;
    CHECK(sem_wait(&s));
    CHECK(pthread_mutex_lock(&m));
    CHECK(pthread_mutex_unlock(&m));
    CHECK(sem_post(&ready));
    wait_in_futex(&t2_tid, &s);
    CHECK(sem_post(&s)); /* by the thread that took it */
    return NULL;
}

static void *t2(void *arg) {
    (void)arg;
    CHECK(pthread_mutex_lock(&m));
    publish_tid(&t2_tid);
    CHECK(sem_wait(&s)); /* holding m */
    CHECK(pthread_mutex_unlock(&m));
    CHECK(sem_post(&s));
    return NULL;
}

int main(void) {
    CHECK(sem_init(&s, 0, 1));
    CHECK(sem_init(&ready, 0, 0));
    pthread_t a, b;
    CHECK(pthread_create(&a, NULL, t1, NULL));
    CHECK(sem_wait(&ready));
    CHECK(pthread_create(&b, NULL, t2, NULL));
    CHECK(pthread_join(a, NULL));
    CHECK(pthread_join(b, NULL));
    return 0;
}
