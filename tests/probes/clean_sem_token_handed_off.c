/* A binary semaphore used as a token that threads hand on, not as a lock:
 * sem_init to 1 makes it look like one. A worker takes the token and works
 * under a mutex while it has it, then ends, leaving the token to main; a
 * second thread, holding that mutex, waits for the token; main, not the
 * worker, gives it back (sem_post). Nothing here can deadlock. Before, the
 * orders token -> mutex (the worker) and mutex -> token (the second thread)
 * were reported as a lock-order inversion the moment the second thread
 * began to wait, before main's post showed the semaphore to be a signal
 * (adversarial round h3, F13). A cycle through a semaphore lock is now
 * reported only once each such semaphore has been posted by the thread
 * that took it (inversion_sem_binary, inversion_py_locks), or is part of
 * a deadlock (deadlock_sem_real).
 * EXPECT: none
 * PARITY: native */
#include "probe.h"
#include "asleep.h"

#include <semaphore.h>

static sem_t token, worked;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static atomic_int waiter_tid;

static void *worker(void *arg) {
    (void)arg;
    CHECK(sem_wait(&token));
    CHECK(pthread_mutex_lock(&m));
    CHECK(pthread_mutex_unlock(&m));
    CHECK(sem_post(&worked)); /* the token stays taken: main gives it back */
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    CHECK(pthread_mutex_lock(&m));
    publish_tid(&waiter_tid);
    CHECK(sem_wait(&token)); /* holding m */
    CHECK(pthread_mutex_unlock(&m));
    CHECK(sem_post(&token));
    return NULL;
}

int main(void) {
    CHECK(sem_init(&token, 0, 1));
    CHECK(sem_init(&worked, 0, 0));
    pthread_t w, x;
    CHECK(pthread_create(&w, NULL, worker, NULL));
    CHECK(sem_wait(&worked));
    CHECK(pthread_join(w, NULL));
    CHECK(pthread_create(&x, NULL, waiter, NULL));
    wait_in_futex(&waiter_tid, &token);
    CHECK(sem_post(&token));
    CHECK(pthread_join(x, NULL));
    printf("clean_sem_token_handed_off: the token went round\n");
    return 0;
}
