/* Three reports of two kinds in one run (two inversions, one unlock of an
 * unlocked mutex): what the output tests (tests/test_outputs.py) use to see
 * that a failing output is said once, not once per report.
 * EXPECT: lock-order-inversion,unlock-unlocked */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;
int
main(void)
{
    struct lock_pair ab = { &a, &b }, ba = { &b, &a }, cd = { &c, &d }, dc = { &d, &c };
    run_thread(take_pair, &ab);
    run_thread(take_pair, &ba);
    run_thread(take_pair, &cd);
    run_thread(take_pair, &dc);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&a);
    return 0;
}
