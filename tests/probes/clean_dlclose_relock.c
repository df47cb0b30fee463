/* One load of a library leaves its first mutex locked; it is closed and
 * loaded again at the same address, and the same thread locks the new
 * load's (free) mutex. Not a self-deadlock, and the program must not be
 * stopped.
 * EXPECT: none */
#include "dlib.h"
int main(void) {
    struct dlib lib = dlib_open();
    uintptr_t at = lib.where();
    lib.take_first();
    CHECK(dlclose(lib.handle));
    lib = dlib_open();
    dlib_same_place(at, lib.where());
    lib.take_first();
    return 0;
}
