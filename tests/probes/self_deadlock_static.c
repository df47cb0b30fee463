/* add_potato() holds the statically initialised pot lock and calls
 * add_garlic(), which takes it again. Reported before the thread blocks,
 * then the process exits 66 instead of hanging (Helgrind misses the static
 * case).
 * EXPECT: self-deadlock */
#include "probe.h"
static pthread_mutex_t pot = PTHREAD_MUTEX_INITIALIZER;
static void add_garlic(void) { pthread_mutex_lock(&pot); pthread_mutex_unlock(&pot); }
static void add_potato(void) { pthread_mutex_lock(&pot); add_garlic(); pthread_mutex_unlock(&pot); }
int main(void) { add_potato(); return 0; }
