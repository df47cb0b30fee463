/* Two C11 threads really deadlock on two mtx_t: each holds one and waits
 * for the other. Each takes its first lock, then waits (cnd_wait) until both
 * hold theirs, so the deadlock happens on every run. lockgraph reports the
 * inversion, then the wait-for cycle, and exits 66 instead of hanging.
 * EXPECT: deadlock,lock-order-inversion */
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
static mtx_t a, b, gate;
static cnd_t both_hold;
static int holding;
static void hold_then(mtx_t *first, mtx_t *second) {
    mtx_lock(first);
    mtx_lock(&gate);
    holding++;
    cnd_broadcast(&both_hold);
    while (holding < 2)
        cnd_wait(&both_hold, &gate);
    mtx_unlock(&gate);
    mtx_lock(second);
}
static int ab(void *x) { (void)x; hold_then(&a, &b); return 0; }
static int ba(void *x) { (void)x; hold_then(&b, &a); return 0; }
int main(void) {
    thrd_t t1, t2;
    if (mtx_init(&a, mtx_plain) || mtx_init(&b, mtx_plain) || mtx_init(&gate, mtx_plain)
        || cnd_init(&both_hold) || thrd_create(&t1, ab, NULL) || thrd_create(&t2, ba, NULL)) {
        fprintf(stderr, "setup failed\n");
        return 3;
    }
    thrd_join(t1, NULL);
    thrd_join(t2, NULL);
    return 0;
}
