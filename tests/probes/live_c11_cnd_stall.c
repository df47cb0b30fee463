/* A lost wakeup in C11: the signal is sent before the waiter waits, with no
 * predicate, and main waits in thrd_join. Every thread is blocked in calls
 * glibc makes past the pthread symbols (cnd_wait, thrd_join), so lockgraph
 * must see them to report the stall and exit 66 instead of hanging.
 * EXPECT: stall
 * OPTIONS: stall_ms=500 */
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
static mtx_t m, gate;
static cnd_t ready, signalled;
static int sent;
static int waiter(void *x) {
    (void)x;
    mtx_lock(&gate); /* wait until the signal is already gone */
    while (!sent)
        cnd_wait(&signalled, &gate);
    mtx_unlock(&gate);
    mtx_lock(&m);
    cnd_wait(&ready, &m); /* no predicate: nobody will signal again */
    mtx_unlock(&m);
    return 0;
}
int main(void) {
    thrd_t t;
    if (mtx_init(&m, mtx_plain) || mtx_init(&gate, mtx_plain) || cnd_init(&ready)
        || cnd_init(&signalled) || thrd_create(&t, waiter, NULL)) {
        fprintf(stderr, "setup failed\n");
        return 3;
    }
    cnd_signal(&ready);
    mtx_lock(&gate);
    sent = 1;
    cnd_signal(&signalled);
    mtx_unlock(&gate);
    thrd_join(t, NULL);
    return 0;
}
