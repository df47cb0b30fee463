/* Three reports of two kinds in one run (two inversions, one unlock of an
 * unlocked mutex): what the output tests (tests/test_outputs.py) use to see
 * that a failing output is said once, not once per report.
 * EXPECT: lock-order-inversion,unlock-unlocked */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
int
main(void)
{
    inversion();
    inversion();
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pthread_mutex_unlock(&m);
    return 0;
}
