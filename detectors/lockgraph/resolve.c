/*
 * resolve.c - the real pthread functions behind lockgraph's interposers,
 * found lazily (another library's constructor, or a preloaded allocator,
 * may lock a mutex before lockgraph's constructor has run).
 */
#include "intercept.h"

#include <dlfcn.h>

LG_TLS int lg_busy;

struct lg_real lg_real;

/* The condition-variable functions have an old (2.2.5) version beside the
 * current one; ask for the current one by name first. */
static void *
lookup(const char *name)
{
    static const char *versions[] = { "GLIBC_2.34", "GLIBC_2.3.2", "GLIBC_2.30" };
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        void *p = dlvsym(RTLD_NEXT, name, versions[i]);
        if (p)
            return p;
    }
    return dlsym(RTLD_NEXT, name);
}

void
lg_resolve(void)
{
    static atomic_int state; /* 0 not yet, 1 in progress, 2 done */
    int expected = 0;
    if (atomic_load_explicit(&state, memory_order_acquire) == 2)
        return;
    if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
        while (atomic_load_explicit(&state, memory_order_acquire) != 2)
            ;
        return;
    }
    int was_busy = lg_busy;
    lg_busy = 1; /* dlsym may allocate, and allocators may lock */
#define REAL_LOOKUP(ret, name, args) lg_real.name = (ret(*) args)lookup(#name);
    REAL_FUNCTIONS(REAL_LOOKUP)
#undef REAL_LOOKUP
    lg_busy = was_busy;
    if (!lg_real.pthread_mutex_lock || !lg_real.pthread_mutex_unlock || !lg_real.pthread_create)
        LG_DIE("cannot find the real pthread functions (is this a glibc program?)");
    atomic_store_explicit(&state, 2, memory_order_release);
}

