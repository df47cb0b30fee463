/* What each C11 <threads.h> call returns, case by case, printed one per
 * line: under lockgraph every line must be what glibc returns without it
 * (probe.py --parity runs it both ways and compares).
 * EXPECT: none
 * PARITY: native */
#include <stdint.h>
#include <stdio.h>
#include <threads.h>
#include <time.h>
static mtx_t m;
static cnd_t c;
static void show(const char *what, int r) { printf("%-44s %d\n", what, r); }
static struct timespec in_ms(long ms) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}
static int try_held(void *x) { (void)x; return mtx_trylock(&m); }
static int timed_held(void *x) { (void)x; struct timespec ts = in_ms(20); return mtx_timedlock(&m, &ts); }
static int bad_timed_held(void *x) { (void)x; struct timespec ts = { 0, 2000000000L }; return mtx_timedlock(&m, &ts); }
static int result(void *x) { return (int)(intptr_t)x; }
static int exits(void *x) { thrd_exit((int)(intptr_t)x); }
static int in_thread(thrd_start_t fn, void *arg) {
    thrd_t t;
    int res = -12345;
    int r = thrd_create(&t, fn, arg);
    if (r != thrd_success)
        return 1000 + r;
    r = thrd_join(t, &res);
    return r == thrd_success ? res : 2000 + r;
}
int main(void) {
    show("mtx_init plain", mtx_init(&m, mtx_plain));
    show("mtx_lock free", mtx_lock(&m));
    show("mtx_trylock held by another thread", in_thread(try_held, NULL));
    show("mtx_timedlock held by another, 20 ms", in_thread(timed_held, NULL));
    show("mtx_timedlock held by another, bad ns", in_thread(bad_timed_held, NULL));
    show("mtx_unlock", mtx_unlock(&m));
    struct timespec bad = { 0, -1 };
    show("mtx_timedlock free, bad ns", mtx_timedlock(&m, &bad));
    show("mtx_unlock", mtx_unlock(&m));
    struct timespec past = { 1, 0 };
    show("mtx_timedlock free, deadline passed", mtx_timedlock(&m, &past));
    show("mtx_trylock held by this thread", mtx_trylock(&m));
    show("cnd_init", cnd_init(&c));
    struct timespec soon = in_ms(20);
    show("cnd_timedwait, nobody signals", cnd_timedwait(&c, &m, &soon));
    show("cnd_timedwait, deadline passed", cnd_timedwait(&c, &m, &past));
    show("mtx_unlock", mtx_unlock(&m));
    mtx_destroy(&m);
    show("mtx_init timed", mtx_init(&m, mtx_timed));
    mtx_destroy(&m);
    show("mtx_init plain|recursive", mtx_init(&m, mtx_plain | mtx_recursive));
    show("mtx_lock recursive", mtx_lock(&m));
    show("mtx_lock recursive again", mtx_lock(&m));
    show("mtx_trylock recursive, held by this thread", mtx_trylock(&m));
    show("mtx_unlock", mtx_unlock(&m));
    show("mtx_unlock", mtx_unlock(&m));
    show("mtx_unlock", mtx_unlock(&m));
    mtx_destroy(&m);
    show("mtx_init timed|recursive", mtx_init(&m, mtx_timed | mtx_recursive));
    mtx_destroy(&m);
    show("mtx_init type 8", mtx_init(&m, 8));
    mtx_destroy(&m);
    show("thrd_create + thrd_join, result 42", in_thread(result, (void *)(intptr_t)42));
    show("thrd_create + thrd_join, result -7", in_thread(result, (void *)(intptr_t)-7));
    show("thrd_create + thrd_join, thrd_exit(5)", in_thread(exits, (void *)(intptr_t)5));
    thrd_t t;
    show("thrd_create, join with NULL result", thrd_create(&t, result, NULL));
    show("thrd_join NULL result", thrd_join(t, NULL));
    cnd_destroy(&c);
    return 0;
}
