/* Two heap objects with a mutex each, nested a -> b by one thread and
 * b -> a by the next, while the program frees many small blocks around
 * them (same lines of the heap) between the two: a free forgets only the
 * locks inside the block it gives back, so the inversion stands.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#include <string.h>
struct account {
    pthread_mutex_t lock;
    long balance;
};
static struct account *a, *b;
static void nest(struct account *x, struct account *y) {
    CHECK(pthread_mutex_lock(&x->lock));
    CHECK(pthread_mutex_lock(&y->lock));
    x->balance++;
    CHECK(pthread_mutex_unlock(&y->lock));
    CHECK(pthread_mutex_unlock(&x->lock));
}
static void *ab(void *x) { (void)x; nest(a, b); return NULL; }
static void *ba(void *x) { (void)x; nest(b, a); return NULL; }
int main(void) {
    void *before[64], *after[64];
    for (int i = 0; i < 64; i++)
        before[i] = malloc(8 + i % 5 * 8);
    a = calloc(1, sizeof *a);
    void *between = malloc(24);
    b = calloc(1, sizeof *b);
    for (int i = 0; i < 64; i++)
        after[i] = malloc(8 + i % 5 * 8);
    run_thread(ab, NULL);
    for (int i = 0; i < 64; i++) {
        free(before[i]);
        free(after[i]);
    }
    free(between);
    run_thread(ba, NULL);
    free(a);
    free(b);
    return 0;
}
