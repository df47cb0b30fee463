/* The main thread locks; a helper thread unlocks.
 * EXPECT: unlock-not-owner */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static void *unlocker(void *x) { (void)x; pthread_mutex_unlock(&m); return NULL; }
int main(void) { pthread_mutex_lock(&m); run_thread(unlocker, NULL); return 0; }
