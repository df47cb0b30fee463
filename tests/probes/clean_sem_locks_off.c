/* With sem_locks=0 every semaphore is a signal, as before lockgraph followed
 * binary ones as locks: two threads taking two binary semaphores in
 * opposite orders (inversion_sem_binary.c) draw no report.
 * EXPECT: none
 * OPTIONS: sem_locks=0 */
#include "probe.h"
#include <semaphore.h>
static sem_t s[2];
static void *first_then_other(void *x) {
    int i = *(int *)x;
    sem_wait(&s[i]); sem_wait(&s[!i]); sem_post(&s[!i]); sem_post(&s[i]);
    return NULL;
}
int main(void) {
    int order[2] = { 0, 1 };
    CHECK(sem_init(&s[0], 0, 1)); CHECK(sem_init(&s[1], 0, 1));
    run_thread(first_then_other, &order[0]);
    run_thread(first_then_other, &order[1]);
    return 0;
}
