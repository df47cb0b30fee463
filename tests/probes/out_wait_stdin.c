/* Reads its standard input to the end before it takes any lock, then
 * takes two locks in both orders: lets tests/test_outputs.py change the
 * world (close the reader of a FIFO, ...) after lockgraph has opened its
 * outputs and before the report is written.
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); return NULL; }
static void *ba(void *x) { (void)x; pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b); return NULL; }
int
main(void)
{
    char buf[256];
    while (read(0, buf, sizeof buf) > 0)
        ;
    run_thread(ab, NULL);
    run_thread(ba, NULL);
    return 0;
}
