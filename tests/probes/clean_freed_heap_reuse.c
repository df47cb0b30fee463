/* Heap objects with a mutex each, freed without pthread_mutex_destroy (as
 * much C code does: glibc's destroy does nothing), and new objects that
 * the allocator puts at the same addresses, in swapped roles: a thread
 * nests the first pair's locks a -> b, another the second pair's, which
 * lie at b's and a's addresses. Different locks, no inversion (TSan and
 * Helgrind forget locks in freed memory too). The probe checks that the
 * addresses were indeed reused, else it proves nothing (exit 3).
 * EXPECT: none */
#include "probe.h"
#include <stdint.h>
#include <string.h>
struct account {
    pthread_mutex_t lock;
    long balance;
};
static struct account *from, *to;
static void *transfer(void *x) {
    (void)x;
    CHECK(pthread_mutex_lock(&from->lock));
    CHECK(pthread_mutex_lock(&to->lock));
    from->balance--;
    to->balance++;
    CHECK(pthread_mutex_unlock(&to->lock));
    CHECK(pthread_mutex_unlock(&from->lock));
    return NULL;
}
static struct account *open_account(void) {
    struct account *a = malloc(sizeof *a);
    if (!a)
        exit(3);
    memset(a, 0, sizeof *a); /* a zeroed mutex is a default one */
    return a;
}
int main(void) {
    from = open_account();
    to = open_account();
    run_thread(transfer, NULL);
    uintptr_t was_from = (uintptr_t)from, was_to = (uintptr_t)to;
    free(from);
    free(to);
    from = open_account(); /* the last freed first: where `to` was */
    to = open_account();
    if ((uintptr_t)from != was_to || (uintptr_t)to != was_from) {
        fprintf(stderr, "the allocator did not reuse the addresses: the probe proves nothing\n");
        return 3;
    }
    run_thread(transfer, NULL);
    free(from);
    free(to);
    return 0;
}
