/* Locks taken in a constructor (before main, maybe before lockgraph's own
 * start) and in an atexit handler and a destructor (after exit began):
 * lockgraph must neither crash nor report.
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void nest(void) { pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); }
__attribute__((constructor)) static void early(void) { nest(); }
__attribute__((destructor)) static void late(void) { nest(); }
static void at_exit(void) { nest(); }
int main(void) { atexit(at_exit); nest(); return 0; }
