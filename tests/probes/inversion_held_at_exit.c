/* T1 takes A then B and ends. T2 takes B then A and, holding both, waits
 * in read() on a pipe nobody writes while main returns: the order T2 took
 * is stored in the graph at the program's exit at the latest (lockgraph
 * stores a new chain among locks it knows once the thread has released
 * its last lock, and T2 never does), and the inversion is reported.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#include <stdatomic.h>
#include <unistd.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holding;
static int never[2];
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); return NULL; }
static void *
ba_then_wait(void *x)
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
    if (pthread_create(&t, NULL, ba_then_wait, NULL) != 0)
        return 2;
    while (!atomic_load(&holding))
        usleep(1000);
    return 0;
}
