/* A JVM's VM Thread exits holding its Mutex (the stand-in libjvm.so), as
 * HotSpot's does on purpose as the VM ends: a built-in suppression
 * (default_suppressions=1) keeps it from being an abandoned-lock report.
 * EXPECT: none */
#include "fake_jvm.h"
int main(void) { run_thread(fake_jvm_vm_thread(), NULL); return 0; }
