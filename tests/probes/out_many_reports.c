/* Three reports of two kinds in one run (two inversions, one unlock of an
 * unlocked mutex): what the output tests (tests/test_outputs.py) use to see
 * that a failing output is said once, not once per report.
 * EXPECT: lock-order-inversion,unlock-unlocked */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;
static void
take(pthread_mutex_t *first, pthread_mutex_t *second)
{
    pthread_mutex_lock(first);
    pthread_mutex_lock(second);
    pthread_mutex_unlock(second);
    pthread_mutex_unlock(first);
}
static void *ab(void *x) { (void)x; take(&a, &b); return NULL; }
static void *ba(void *x) { (void)x; take(&b, &a); return NULL; }
static void *cd(void *x) { (void)x; take(&c, &d); return NULL; }
static void *dc(void *x) { (void)x; take(&d, &c); return NULL; }
int
main(void)
{
    run_thread(ab, NULL);
    run_thread(ba, NULL);
    run_thread(cd, NULL);
    run_thread(dc, NULL);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&a);
    return 0;
}
