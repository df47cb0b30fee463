/* Two threads, one after the other, take A then B and B then A: the
 * classic potential deadlock, reported although it never happens.
 * EXPECT: lock-order-inversion */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); return NULL; }
static void *ba(void *x) { (void)x; pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b); return NULL; }
int main(void) { run_thread(ab, NULL); run_thread(ba, NULL); return 0; }
