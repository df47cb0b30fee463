/* T2 takes A then B and is joined; only then is T3 created, and it takes B
 * then A. The two orders never ran at the same time in this run (the join
 * and the creation order them), so run_cycles_only=1 reports nothing; by
 * default the cycle is reported as ordered by creation or join.
 * OPTIONS: run_cycles_only=1
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); return NULL; }
static void *ba(void *x) { (void)x; pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b); return NULL; }
int main(void) { run_thread(ab, NULL); run_thread(ba, NULL); return 0; }
