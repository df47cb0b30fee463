/* Reader-writer locks in a cycle: T1 writes A then reads B, T2 writes B then
 * writes A. A reader blocks a writer, so this can deadlock.
 * EXPECT: lock-order-inversion */
#include "probe.h"
static pthread_rwlock_t a = PTHREAD_RWLOCK_INITIALIZER, b = PTHREAD_RWLOCK_INITIALIZER;
static void *one(void *x) { (void)x; pthread_rwlock_wrlock(&a); pthread_rwlock_rdlock(&b); pthread_rwlock_unlock(&b); pthread_rwlock_unlock(&a); return NULL; }
static void *two(void *x) { (void)x; pthread_rwlock_wrlock(&b); pthread_rwlock_wrlock(&a); pthread_rwlock_unlock(&a); pthread_rwlock_unlock(&b); return NULL; }
int main(void) { run_thread(one, NULL); run_thread(two, NULL); return 0; }
