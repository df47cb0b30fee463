/* A thread that reads an rwlock asks to write it: it waits for itself.
 * EXPECT: self-deadlock */
#include "probe.h"
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
int main(void) { pthread_rwlock_rdlock(&rw); pthread_rwlock_wrlock(&rw); return 0; }
