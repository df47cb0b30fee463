/* A lock taken with trylock still counts as held: T2 gets A by trylock and
 * then blocks on C (A -> C) while T1 takes C then A (C -> A).
 * EXPECT: lock-order-inversion */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, c = PTHREAD_MUTEX_INITIALIZER;
static void *ca(void *x) { (void)x; pthread_mutex_lock(&c); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&c); return NULL; }
static void *tryac(void *x) { (void)x; CHECK(pthread_mutex_trylock(&a)); pthread_mutex_lock(&c); pthread_mutex_unlock(&c); pthread_mutex_unlock(&a); return NULL; }
int main(void) { run_thread(ca, NULL); run_thread(tryac, NULL); return 0; }
