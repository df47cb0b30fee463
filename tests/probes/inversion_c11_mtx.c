/* The two-lock inversion with C11 <threads.h> only: two threads, one after
 * the other, take A then B and B then A through mtx_lock. glibc's mtx_lock
 * does not go through pthread_mutex_lock, so lockgraph must interpose it.
 * EXPECT: lock-order-inversion */
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
static mtx_t a, b;
static void check(int r, const char *what) { if (r != thrd_success) { fprintf(stderr, "%s: %d\n", what, r); exit(3); } }
static int ab(void *x) { (void)x; mtx_lock(&a); mtx_lock(&b); mtx_unlock(&b); mtx_unlock(&a); return 0; }
static int ba(void *x) { (void)x; mtx_lock(&b); mtx_lock(&a); mtx_unlock(&a); mtx_unlock(&b); return 0; }
static void run(thrd_start_t fn) { thrd_t t; check(thrd_create(&t, fn, NULL), "thrd_create"); check(thrd_join(t, NULL), "thrd_join"); }
int main(void) {
    check(mtx_init(&a, mtx_plain), "mtx_init"); check(mtx_init(&b, mtx_timed), "mtx_init");
    run(ab); run(ba);
    mtx_destroy(&a); mtx_destroy(&b);
    return 0;
}
