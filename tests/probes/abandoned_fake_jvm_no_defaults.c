/* The stand-in JVM's VM Thread exits holding its Mutex, with the built-in
 * suppressions off: the report is made as for any thread.
 * EXPECT: abandoned-lock
 * OPTIONS: default_suppressions=0
 * REPORT: T2 exited while holding L1 .* at Mutex::lock\(\)$
 */
#include "fake_jvm.h"
int main(void) { run_thread(fake_jvm_vm_thread(), NULL); return 0; }
