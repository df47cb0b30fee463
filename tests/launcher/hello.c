/* A program lockgraph cannot check when it is built statically or with a
 * sanitizer (tests/test_launcher.py builds it those ways): two threads take
 * one mutex, then it says hello. Built with HELLO_NO_LOCKS, the threads
 * share the counter through C11 atomics and take no lock at all, as a Rust
 * program's do as far as lockgraph sees (its std::sync locks are futexes
 * of its own). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#ifndef HELLO_NO_LOCKS
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
#endif
static atomic_int count;
static void *work(void *x) {
    (void)x;
    for (int i = 0; i < 1000; i++) {
#ifdef HELLO_NO_LOCKS
        atomic_fetch_add(&count, 1);
#else
        pthread_mutex_lock(&m);
        count++;
        pthread_mutex_unlock(&m);
#endif
    }
    return NULL;
}
int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, work, NULL) != 0)
        return 3;
    work(NULL);
    pthread_join(t, NULL);
    printf("hello: %d\n", atomic_load(&count));
    return 0;
}
