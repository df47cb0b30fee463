/* The program takes a library's two mutexes in one order; the library's
 * worker thread takes them in the other order while the library's
 * destructor joins it, at exit (lib/dtor_join_lib.c). lockgraph stopped
 * checking in its own destructor, which the loader runs before that one:
 * the inversion was missed, with "0 reports". It stops after every
 * destructor now.
 * EXPECT: lock-order-inversion
 * REPORT: ^lock-order inversion.* \| at (work|dtor_join_lib_use)$
 */
#include "probe.h"
void dtor_join_lib_use(void);
int main(void) {
    dtor_join_lib_use();
    return 0;
}
