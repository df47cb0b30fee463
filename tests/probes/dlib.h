/* Loading tests/probes/lib/probe_dlib.c (its path is PROBE_DLIB, given by
 * CMake) for the dlclose probes. */
#ifndef PROBE_DLIB_H
#define PROBE_DLIB_H
#include <dlfcn.h>
#include <stdint.h>
#include "probe.h"
struct dlib {
    void *handle;
    uintptr_t (*where)(void);
    void (*nest)(int reverse);
    void (*take_first)(void);
};
static inline struct dlib
dlib_open(void)
{
    struct dlib d = { dlopen(PROBE_DLIB, RTLD_NOW | RTLD_LOCAL), 0, 0, 0 };
    if (!d.handle) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        exit(3);
    }
    *(void **)&d.where = dlsym(d.handle, "probe_dlib_where");
    *(void **)&d.nest = dlsym(d.handle, "probe_dlib_nest");
    *(void **)&d.take_first = dlsym(d.handle, "probe_dlib_take_first");
    if (!d.where || !d.nest || !d.take_first)
        exit(3);
    return d;
}
/* The second load must land where the first did, or the probe tests nothing. */
static inline void
dlib_same_place(uintptr_t before, uintptr_t now)
{
    if (before != now) {
        fprintf(stderr, "the library was loaded elsewhere: the probe proves nothing\n");
        exit(3);
    }
}
#endif
