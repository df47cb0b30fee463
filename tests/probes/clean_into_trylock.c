/* An edge into a trylock is no order: T2 holds B and only tries A, which
 * never waits. TSan and Helgrind report this; it cannot deadlock.
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); return NULL; }
static void *b_try_a(void *x) { (void)x; pthread_mutex_lock(&b); if (pthread_mutex_trylock(&a) == 0) pthread_mutex_unlock(&a); pthread_mutex_unlock(&b); return NULL; }
int main(void) { run_thread(ab, NULL); run_thread(b_try_a, NULL); return 0; }
