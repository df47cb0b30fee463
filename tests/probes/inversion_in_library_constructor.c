/* A library linked into the program starts two threads from its
 * constructor, which the loader runs before lockgraph's own; they take two
 * mutexes in opposite orders. lockgraph must start at the first of those
 * thread creations and follow them: it said "0 locks, 1 thread checked".
 * EXPECT: lock-order-inversion
 * REPORT: ^lock-order inversion.* \| at (fill|reindex)$
 */
#include "probe.h"
int ctor_threads_ready(void);
int main(void) {
    /* Both workers ran to the end before main. */
    return ctor_threads_ready() == 2 ? 0 : 3;
}
