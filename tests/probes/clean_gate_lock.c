/* Both threads take A and B in opposite orders, but always under a common
 * gate lock G, so they can never be inside those sections together.
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t g = PTHREAD_MUTEX_INITIALIZER, a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *gab(void *x) { (void)x; pthread_mutex_lock(&g); pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); pthread_mutex_unlock(&g); return NULL; }
static void *gba(void *x) { (void)x; pthread_mutex_lock(&g); pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b); pthread_mutex_unlock(&g); return NULL; }
int main(void) { run_thread(gab, NULL); run_thread(gba, NULL); return 0; }
