/* A thread takes a lock of the program's own, then runs the stand-in JVM's
 * VM Thread code and exits holding both: the built-in suppression covers
 * only a thread whose every held lock the runtime took, so this is
 * reported.
 * EXPECT: abandoned-lock */
#include "fake_jvm.h"
static pthread_mutex_t own = PTHREAD_MUTEX_INITIALIZER;
static void *(*vm_thread)(void *);
static void *worker(void *x) { CHECK(pthread_mutex_lock(&own)); return vm_thread(x); }
int main(void) { vm_thread = fake_jvm_vm_thread(); run_thread(worker, NULL); return 0; }
