/* A worker calls pthread_exit() in the middle of its critical section.
 * EXPECT: abandoned-lock */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static void *worker(void *x) { (void)x; pthread_mutex_lock(&m); pthread_exit(NULL); }
int main(void) { run_thread(worker, NULL); return 0; }
