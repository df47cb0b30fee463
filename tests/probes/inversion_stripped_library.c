/* A lock-order inversion taken inside a stripped library (no debug
 * information, no symbol for its static functions): one thread takes its
 * two mutexes in both orders. The frames there must not be named after
 * the nearest exported function (addr2line's guess, a function that ends
 * before them): they get no name, and the report shows module+offset.
 * EXPECT: lock-order-inversion
 * REPORT: ^lock-order inversion.* \| at None$
 */
#include "probe.h"
#include <dlfcn.h>
int main(void) {
    void *lib = dlopen(PROBE_STRIPPED_LIB, RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 3;
    }
    void (*both)(void) = (void (*)(void))dlsym(lib, "stripped_both_orders");
    if (!both)
        return 3;
    both();
    return 0;
}
