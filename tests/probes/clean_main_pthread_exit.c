/* main ends with pthread_exit while a worker still runs: the process ends
 * with its last thread, and glibc's last thread calls exit(0), so atexit
 * handlers run and buffered standard output is written. Under lockgraph
 * the process must end the same way (its monitor thread kept it alive for
 * ever: the run hung, with the worker's output never written).
 * EXPECT: none
 * PARITY: native
 */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static void at_exit(void) { printf("atexit handler ran\n"); }
static void *worker(void *x) {
    (void)x;
    for (int i = 0; i < 1000; i++) {
        CHECK(pthread_mutex_lock(&m));
        CHECK(pthread_mutex_unlock(&m));
    }
    printf("worker done\n"); /* buffered: standard output is a pipe */
    return NULL;
}
int main(void) {
    CHECK(atexit(at_exit));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL));
    pthread_exit(NULL);
}
