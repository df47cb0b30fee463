/* A thread takes a mutex and leaves its release to its thread-specific-data
 * destructor, which glibc runs as the thread exits: the mutex is free once
 * the thread is joined (main's trylock proves it), so no lock was
 * abandoned. lockgraph checked for abandoned locks in its own destructor,
 * which ran before the program's.
 * EXPECT: none
 */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t key;
static void release(void *p) { CHECK(pthread_mutex_unlock(p)); }
static void *holder(void *x) {
    (void)x;
    CHECK(pthread_mutex_lock(&m));
    CHECK(pthread_setspecific(key, &m));
    return NULL;
}
int main(void) {
    CHECK(pthread_key_create(&key, release));
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, holder, NULL));
        CHECK(pthread_join(t, NULL));
        CHECK(pthread_mutex_trylock(&m)); /* free again: the destructor ran */
        CHECK(pthread_mutex_unlock(&m));
    }
    return 0;
}
