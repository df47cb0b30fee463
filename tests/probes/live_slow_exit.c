/* A worker spends a second on its way out (a thread-specific-data
 * destructor that flushes a log), after lockgraph has seen it exit, while
 * main waits in pthread_join. The worker is running, so main's join is not
 * a stall, however long the way out takes.
 * EXPECT: none
 * OPTIONS: stall_ms=300 */
#include "probe.h"
#include <time.h>
static pthread_key_t log_key;
static void flush_log(void *p) {
    (void)p;
    struct timespec ts = { 1, 0 };
    nanosleep(&ts, NULL);
}
static void *worker(void *x) {
    (void)x;
    CHECK(pthread_setspecific(log_key, &log_key));
    return NULL;
}
int main(void) {
    pthread_t t;
    CHECK(pthread_key_create(&log_key, flush_log));
    CHECK(pthread_create(&t, NULL, worker, NULL));
    CHECK(pthread_join(t, NULL));
    return 0;
}
