/* Loading the stand-in libjvm.so (tests/probes/lib/fake_libjvm.cpp; its
 * path is PROBE_FAKE_JVM, given by CMake) and running its "VM Thread". */
#ifndef PROBE_FAKE_JVM_H
#define PROBE_FAKE_JVM_H
#include <dlfcn.h>
#include "probe.h"
static inline void *(*fake_jvm_vm_thread(void))(void *)
{
    void *h = dlopen(PROBE_FAKE_JVM, RTLD_NOW | RTLD_LOCAL);
    void *(*fn)(void *) = NULL;
    if (h)
        *(void **)&fn = dlsym(h, "fake_jvm_vm_thread");
    if (!fn) {
        fprintf(stderr, "%s: %s\n", PROBE_FAKE_JVM, dlerror());
        exit(3);
    }
    return fn;
}
#endif
