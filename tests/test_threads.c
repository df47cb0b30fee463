/*
 * Unit tests for lockgraph's thread records (threads.c): their memory is
 * bounded by the threads alive at once plus what reports need, and a
 * record recycled for a new thread is never taken for the old one.
 *
 * Real threads drive the runtime directly (no interposition), each
 * retiring its record as the exit-key destructor would (lg_thread_exit).
 * Memory is lockgraph's own, counted by mem.c (lg_mem_mapped), not RSS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

static char json_path[64];
static pthread_mutex_t ma = PTHREAD_MUTEX_INITIALIZER, mb = PTHREAD_MUTEX_INITIALIZER;

static int
setup(void **state)
{
    (void)state;
    snprintf(json_path, sizeof json_path, "/tmp/lg-test-threads-%ld.json", (long)getpid());
    unlink(json_path);
    lg_options_defaults(&lg_opt);
    lg_opt.json = json_path;
    lg_opt.log = "/dev/null";
    lg_opt.exitcode = 0;
    lg_locks_init();
    lg_stack_init();
    lg_reporting_init();
    return lg_graph_new(&lg_graph, &lg_mem, NULL);
}

static int
teardown(void **state)
{
    (void)state;
    unlink(json_path);
    return 0;
}

/* What a short-lived thread did, for the checks after it is gone. */
struct life {
    bool nest;            /* take mb under ma: a chain, and a graph edge */
    uint32_t num;
    pid_t tid;
    lg_stack_id created_at;
};

static void
take(struct lg_thread *t, pthread_mutex_t *m)
{
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)m, LG_MUTEX_NORMAL, false, 0);
    assert_non_null(l);
    uint64_t chain = lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, 0);
    lg_after_acquire(t, l, LG_EXCL, LG_BLOCKING, 0, chain);
}

static void
give(struct lg_thread *t, pthread_mutex_t *m)
{
    lg_before_release(t, lg_lock_find(t, (uintptr_t)m), (uintptr_t)m, t->tid, true, 0);
}

static void *
short_life(void *p)
{
    struct life *life = p;
    struct lg_thread *t = lg_self();
    if (!t)
        return NULL;
    life->num = t->num;
    life->tid = t->tid;
    t->created_at = life->created_at = lg_stack_capture(0);
    take(t, &ma);
    if (life->nest) {
        take(t, &mb);
        give(t, &mb);
    }
    give(t, &ma);
    lg_thread_exit(t); /* what the exit key's destructor does */
    return NULL;
}

static void
run_one(struct life *life)
{
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, short_life, life), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(life->num != 0);
}

/* Bytes lockgraph maps for n short threads run one after another, once
 * 100 of the same kind have warmed the allocator up. */
static size_t
mapped_for(bool nest, int n)
{
    struct life life = { nest, 0, 0, 0 };
    for (int i = 0; i < 100; i++)
        run_one(&life);
    size_t before = lg_mem_mapped();
    for (int i = 0; i < n; i++)
        run_one(&life);
    size_t grown = lg_mem_mapped() - before;
    printf("%d %s threads: lockgraph mapped %zu more bytes\n", n, nest ? "nesting" : "short",
           grown);
    return grown;
}

/* 10000 threads one after another, each taking one lock: once the first
 * few have warmed the allocator up, what each costs lockgraph is its
 * number's entry in the thread-order table (threads.c: 56 bytes, which
 * creation and join order need while labels name the thread). That table
 * grows by doubling, and blocks up to 1 MiB come from chunks and stay in
 * lockgraph's pool when outgrown (mem.c), so the bound is two chunks of
 * 2 MiB plus 64 bytes a thread: 4.6 MiB, where every thread used to keep
 * its 3 KiB record (30 MiB). */
static void
test_short_threads_cost_nothing_once_gone(void **state)
{
    (void)state;
    assert_true(mapped_for(false, 10000) < 2 * LG_MEM_CHUNK + 64 * 10000);
}

/* Threads that nest locks put their numbers on graph edges, so a report
 * may name them after they are gone: each keeps a small archive record
 * (and the graph its label). 10000 of them cost less than one chunk plus
 * 64 bytes each (measured: the archive's 16 bytes, grown by doubling). */
static void
test_nesting_threads_keep_a_small_record(void **state)
{
    (void)state;
    assert_true(mapped_for(true, 10000) < LG_MEM_CHUNK + 64 * 10000);
}

struct hold {
    struct life life;
    pthread_barrier_t started, done;
};

static void *
long_life(void *p)
{
    struct hold *h = p;
    struct lg_thread *t = lg_self();
    h->life.num = t->num;
    h->life.tid = t->tid;
    t->created_at = h->life.created_at = lg_stack_capture(0);
    pthread_barrier_wait(&h->started);
    pthread_barrier_wait(&h->done);
    lg_thread_exit(t);
    return NULL;
}

/* A report names T<num> with its tid and creation stack long after the
 * thread exited, even once its record serves another thread; the new
 * thread is reported as itself. */
static void
test_a_recycled_record_is_not_misread(void **state)
{
    (void)state;
    struct life old = { true, 0, 0, 0 };
    run_one(&old);
    struct hold h;
    memset(&h, 0, sizeof h);
    pthread_barrier_init(&h.started, NULL, 2);
    pthread_barrier_init(&h.done, NULL, 2);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, long_life, &h), 0);
    pthread_barrier_wait(&h.started);

    struct lg_thread *was = lg_thread_by_num(old.num);
    assert_non_null(was);
    assert_int_equal(was->num, old.num);
    assert_int_equal(was->tid, old.tid);
    assert_int_equal(was->created_at, old.created_at);
    assert_false(atomic_load(&was->alive));
    struct lg_thread *now = lg_thread_by_num(h.life.num);
    assert_non_null(now);
    assert_int_equal(now->num, h.life.num);
    assert_int_equal(now->tid, h.life.tid);
    assert_true(atomic_load(&now->alive));
    struct lg_thread *live = lg_thread_by_tid(h.life.tid);
    assert_non_null(live);
    assert_int_equal(live->num, h.life.num);

    pthread_barrier_wait(&h.done);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_barrier_destroy(&h.started);
    pthread_barrier_destroy(&h.done);
}

static void
count_alive(struct lg_thread *t, void *ctx)
{
    *(unsigned *)ctx += atomic_load(&t->alive) ? 1 : 1000;
}

/* The registry the monitor and the deadlock search walk holds the threads
 * alive, not every thread that ever was. */
static void
test_the_registry_holds_the_living(void **state)
{
    (void)state;
    struct life life = { true, 0, 0, 0 };
    for (int i = 0; i < 50; i++)
        run_one(&life);
    unsigned walked = 0;
    lg_threads_each(count_alive, &walked);
    assert_int_equal(walked, lg_threads_alive());
    assert_true(lg_threads_seen() >= 50);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_threads_cost_nothing_once_gone),
        cmocka_unit_test(test_nesting_threads_keep_a_small_record),
        cmocka_unit_test(test_a_recycled_record_is_not_misread),
        cmocka_unit_test(test_the_registry_holds_the_living),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
