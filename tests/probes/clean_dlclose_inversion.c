/* One load of a library takes its mutexes first -> second (in a thread);
 * the library is closed and loaded again at the same address, and another
 * thread takes the new load's mutexes second -> first. They are other
 * mutexes: no cycle. dlclose must forget the locks in the unmapped range.
 * EXPECT: none */
#include "dlib.h"
static struct dlib lib;
static int reverse;
static void *nest(void *x) { (void)x; lib.nest(reverse); return NULL; }
int main(void) {
    lib = dlib_open();
    uintptr_t at = lib.where();
    run_thread(nest, NULL);
    CHECK(dlclose(lib.handle));
    lib = dlib_open();
    dlib_same_place(at, lib.where());
    reverse = 1;
    run_thread(nest, NULL);
    return 0;
}
