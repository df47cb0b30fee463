/* T1 takes A then B and ends. T2 takes B then A, holding both, and blocks
 * in read() on a pipe nobody writes, where lockgraph sees nothing; main
 * waits, then leaves with _exit (no exit handlers). The order T2 took
 * reaches the graph while T2 is blocked: the liveness monitor stores the
 * chains threads noted (lockgraph stores a new chain among locks it knows
 * once the thread has released its last lock, and T2 never does), so the
 * inversion is reported and halt_on_error stops the program with 66.
 * Without that, the run would end with _exit(0) and no report.
 * EXPECT: lock-order-inversion
 * OPTIONS: halt_on_error=1 */
#include "probe.h"
#include <unistd.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holding;
static int never[2];
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); return NULL; }
static void *
ba_then_block(void *x)
{
    (void)x;
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);
    atomic_store(&holding, 1);
    char c;
    (void)!read(never[0], &c, 1);
    return NULL;
}
int
main(void)
{
    if (pipe(never) != 0)
        return 2;
    run_thread(ab, NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, ba_then_block, NULL));
    while (!atomic_load(&holding))
        usleep(1000);
    /* The monitor's tick is tens of milliseconds; 20 s is for a loaded
     * machine (the probe's own timeout is longer). */
    for (int i = 0; i < 400; i++)
        usleep(50 * 1000);
    _exit(0);
}
