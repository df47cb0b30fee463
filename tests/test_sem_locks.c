/*
 * Unit tests for the runtime's rules for semaphore locks (LG_SEMAPHORE,
 * intercept_sem.c): who holds one is lockgraph's belief, checked against
 * the semaphore's value; taking one again is no self-deadlock; a thread
 * that exits holding one has abandoned nothing; a record a semaphore left
 * behind makes way for the lock that now lives at its address; a forgotten
 * one gets no graph node and its holder's entries are dropped. The runtime
 * is driven directly, without interposition, so these run under ASan+UBSan
 * and TSan too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

static char json_path[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(json_path, sizeof json_path, "/tmp/lg-test-sem-locks-%ld.json", (long)getpid());
    unlink(json_path);
    lg_options_defaults(&lg_opt);
    lg_opt.json = json_path;
    lg_opt.log = "/dev/null";
    lg_opt.exitcode = 1; /* a report that stops the process fails the test */
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

static int
reports_of(const char *kind)
{
    FILE *f = fopen(json_path, "r");
    if (!f)
        return 0;
    char line[1 << 16], needle[64];
    snprintf(needle, sizeof needle, "\"kind\":\"%s\"", kind);
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* What intercept_sem.c books when a thread takes a semaphore lock. */
static void
take(struct lg_thread *t, struct lg_lock *l)
{
    uint64_t chain = lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, 0x10);
    lg_after_acquire(t, l, LG_EXCL, LG_BLOCKING, 0x10, chain);
    atomic_store(&l->owner, t);
}

static void
test_owner_is_belief_checked_against_the_value(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    sem_t s;
    assert_int_equal(sem_init(&s, 0, 1), 0);
    struct lg_lock *l = lg_lock_init(t, (uintptr_t)&s, LG_SEMAPHORE, false, 0);
    assert_non_null(l);
    assert_string_equal(lg_lock_type_name(l), "binary semaphore");
    assert_int_equal(lg_lock_object_size(l), sizeof(sem_t));
    assert_int_equal(sem_wait(&s), 0);
    take(t, l);
    assert_int_equal(lg_lock_owner_tid(l), t->tid);
    /* Posted behind lockgraph's back: the semaphore says nobody holds it. */
    assert_int_equal(sem_post(&s), 0);
    assert_int_equal(lg_lock_owner_tid(l), 0);
    assert_int_equal(sem_wait(&s), 0);
    assert_int_equal(lg_lock_owner_tid(l), t->tid);
    /* An owner that has exited holds nothing. */
    struct lg_thread gone = { .tid = t->tid };
    atomic_store(&gone.alive, false);
    atomic_store(&l->owner, &gone);
    assert_int_equal(lg_lock_owner_tid(l), 0);
    atomic_store(&l->owner, NULL);
    lg_after_destroy(t, l, lg_lock_uid(l));
    assert_int_equal(t->nheld, 0);
    sem_destroy(&s);
}

static void
test_taking_it_again_is_no_self_deadlock(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    static sem_t s;
    struct lg_lock *l = lg_lock_init(t, (uintptr_t)&s, LG_SEMAPHORE, false, 0);
    int before = reports_of("self-deadlock");
    take(t, l);
    /* A mutex would be reported here and the process stopped (exit 1). */
    lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, 0x20);
    assert_int_equal(reports_of("self-deadlock"), before);
    lg_after_destroy(t, l, lg_lock_uid(l));
}

struct exit_case {
    bool with_mutex;
};

static void *
exit_holding(void *p)
{
    struct exit_case *c = p;
    static sem_t s;
    static pthread_mutex_t m;
    struct lg_thread *t = lg_self();
    struct lg_lock *l = lg_lock_init(t, (uintptr_t)&s, LG_SEMAPHORE, false, 0);
    struct lg_lock *mx = lg_lock_init(t, (uintptr_t)&m, LG_MUTEX_NORMAL, false, 0);
    take(t, l);
    if (c->with_mutex)
        take(t, mx);
    lg_thread_exit(t);
    return NULL;
}

static void
test_exiting_with_a_semaphore_abandons_nothing(void **state)
{
    (void)state;
    int before = reports_of("abandoned-lock");
    struct exit_case sem_only = { false }, both = { true };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, exit_holding, &sem_only), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(reports_of("abandoned-lock"), before);
    assert_int_equal(pthread_create(&th, NULL, exit_holding, &both), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(reports_of("abandoned-lock"), before + 1);
}

static void
test_a_semaphores_record_makes_way(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    static union {
        sem_t s;
        pthread_mutex_t m;
    } mem;
    struct lg_lock *l = lg_lock_init(t, (uintptr_t)&mem, LG_SEMAPHORE, false, 0);
    uint64_t uid = lg_lock_uid(l);
    /* The memory now holds a statically set up mutex, first seen here. */
    struct lg_lock *mx = lg_lock_get(t, (uintptr_t)&mem, LG_MUTEX_NORMAL, false, 0);
    assert_non_null(mx);
    assert_int_equal(mx->type, LG_MUTEX_NORMAL);
    assert_true(lg_lock_uid(mx) != uid);
    /* And the other way round. */
    struct lg_lock *again = lg_lock_get(t, (uintptr_t)&mem, LG_SEMAPHORE, false, 0);
    assert_int_equal(again->type, LG_SEMAPHORE);
    lg_lock_forget(again, lg_lock_uid(again));
    assert_null(lg_lock_find(t, (uintptr_t)&mem));
}

static void
test_a_forgotten_semaphore_leaves_nothing(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    static sem_t s;
    static pthread_mutex_t m;
    struct lg_lock *mx = lg_lock_init(t, (uintptr_t)&m, LG_MUTEX_NORMAL, false, 0);
    struct lg_lock *l = lg_lock_init(t, (uintptr_t)&s, LG_SEMAPHORE, false, 0);
    take(t, l);
    take(t, mx);
    assert_int_equal(t->nheld, 2);
    /* Another thread posts it: it becomes a signal (intercept_sem.c). */
    lg_lock_forget(l, lg_lock_uid(l));
    lg_mutex_lock(&lg_graph_lock);
    assert_int_equal(lg_lock_node(l), LG_NODE_NONE); /* no node for a dead record */
    lg_mutex_unlock(&lg_graph_lock);
    lg_held_drop_stale(t);
    assert_int_equal(t->nheld, 1);
    assert_ptr_equal(t->held[0].lock, mx);
    lg_after_destroy(t, mx, lg_lock_uid(mx));
    assert_int_equal(t->nheld, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_is_belief_checked_against_the_value),
        cmocka_unit_test(test_taking_it_again_is_no_self_deadlock),
        cmocka_unit_test(test_exiting_with_a_semaphore_abandons_nothing),
        cmocka_unit_test(test_a_semaphores_record_makes_way),
        cmocka_unit_test(test_a_forgotten_semaphore_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
