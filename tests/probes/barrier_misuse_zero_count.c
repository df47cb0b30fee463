/* A barrier initialised with a count of zero: glibc says EINVAL, and
 * lockgraph must report the misuse without changing that.
 * EXPECT: barrier-misuse */
#include "probe.h"
#include <errno.h>
int main(void) {
    pthread_barrier_t b;
    int err = pthread_barrier_init(&b, NULL, 0);
    if (err != EINVAL) {
        fprintf(stderr, "init returned %d, not EINVAL\n", err);
        return 3;
    }
    return 0;
}
