/* A cashier opens the till in a helper, two calls below its thread's
 * start, and exits without closing it. With held_stacks=1 the report shows
 * the whole stack that took the lock (open_till <- serve <- cashier), not
 * only the call site in open_till (tests/test_outputs.py compares both).
 * EXPECT: abandoned-lock
 * OPTIONS: held_stacks=1 */
#include "probe.h"
static pthread_mutex_t till = PTHREAD_MUTEX_INITIALIZER;
__attribute__((noinline)) static void open_till(void) { pthread_mutex_lock(&till); }
__attribute__((noinline)) static void serve(void) { open_till(); }
static void *cashier(void *x) { (void)x; serve(); return NULL; }
int main(void) { run_thread(cashier, NULL); return 0; }
