/* Two readers take read locks on A and B in opposite orders. Readers do not
 * block readers, so this cycle cannot deadlock.
 * EXPECT: none */
#include "probe.h"
static pthread_rwlock_t a = PTHREAD_RWLOCK_INITIALIZER, b = PTHREAD_RWLOCK_INITIALIZER;
static void *ab(void *x) { (void)x; pthread_rwlock_rdlock(&a); pthread_rwlock_rdlock(&b); pthread_rwlock_unlock(&b); pthread_rwlock_unlock(&a); return NULL; }
static void *ba(void *x) { (void)x; pthread_rwlock_rdlock(&b); pthread_rwlock_rdlock(&a); pthread_rwlock_unlock(&a); pthread_rwlock_unlock(&b); return NULL; }
int main(void) { run_thread(ab, NULL); run_thread(ba, NULL); return 0; }
