/* The same single-thread cycle as inversion_single_thread, under
 * run_cycles_only=1: only cycles this run could have deadlocked on
 * (different threads, not ordered by creation or join) are reported.
 * OPTIONS: run_cycles_only=1
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
int main(void) {
    pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a);
    pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b);
    return 0;
}
