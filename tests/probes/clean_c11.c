/* A correct C11 <threads.h> program: a producer and a consumer share a
 * buffer under a timed mutex with two condition variables and a predicate,
 * a recursive mutex is re-taken by its owner, nested locks are always taken
 * in one order, a trylock fails on a busy mutex, and a mutex is destroyed
 * and set up again. Nothing to report.
 * EXPECT: none */
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>
#define ITEMS 2000
static mtx_t buf_lock, stats, rec;
static cnd_t not_full, not_empty;
static int buf[8], count, head, produced_sum, consumed_sum;
static void check(int r, const char *what) { if (r != thrd_success) { fprintf(stderr, "%s: %d\n", what, r); exit(3); } }
static void account(int *sum, int v) {
    mtx_lock(&rec); mtx_lock(&rec); /* recursive: its owner may re-take it */
    check(mtx_lock(&stats), "mtx_lock"); /* rec -> stats, always in this order */
    *sum += v;
    mtx_unlock(&stats);
    mtx_unlock(&rec); mtx_unlock(&rec);
}
static int producer(void *x) {
    (void)x;
    for (int i = 1; i <= ITEMS; i++) {
        struct timespec until;
        timespec_get(&until, TIME_UTC);
        until.tv_sec += 10;
        check(mtx_timedlock(&buf_lock, &until), "mtx_timedlock");
        while (count == 8)
            check(cnd_wait(&not_full, &buf_lock), "cnd_wait");
        buf[(head + count++) % 8] = i;
        cnd_signal(&not_empty);
        mtx_unlock(&buf_lock);
        account(&produced_sum, i);
    }
    return 7;
}
static int consumer(void *x) {
    (void)x;
    for (int i = 0; i < ITEMS; i++) {
        mtx_lock(&buf_lock);
        while (count == 0)
            check(cnd_wait(&not_empty, &buf_lock), "cnd_wait");
        int v = buf[head];
        head = (head + 1) % 8;
        count--;
        cnd_signal(&not_full);
        mtx_unlock(&buf_lock);
        account(&consumed_sum, v);
    }
    return 0;
}
static int busy_try(void *x) {
    (void)x;
    return mtx_trylock(&stats) == thrd_busy ? 0 : 1; /* main holds it */
}
int main(void) {
    check(mtx_init(&buf_lock, mtx_timed), "mtx_init");
    check(mtx_init(&stats, mtx_plain), "mtx_init");
    check(mtx_init(&rec, mtx_plain | mtx_recursive), "mtx_init");
    check(cnd_init(&not_full), "cnd_init");
    check(cnd_init(&not_empty), "cnd_init");
    thrd_t p, c, t;
    int pres, tres;
    check(thrd_create(&p, producer, NULL), "thrd_create");
    check(thrd_create(&c, consumer, NULL), "thrd_create");
    check(thrd_join(p, &pres), "thrd_join");
    check(thrd_join(c, NULL), "thrd_join");
    mtx_lock(&stats);
    check(thrd_create(&t, busy_try, NULL), "thrd_create");
    check(thrd_join(t, &tres), "thrd_join");
    mtx_unlock(&stats);
    mtx_destroy(&stats);
    check(mtx_init(&stats, mtx_plain), "mtx_init");
    account(&consumed_sum, 0);
    if (pres != 7 || tres != 0 || produced_sum != consumed_sum) {
        fprintf(stderr, "wrong: producer %d, trylock %d, sums %d %d\n", pres, tres, produced_sum, consumed_sum);
        return 3;
    }
    return 0;
}
