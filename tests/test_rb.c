/* Unit tests for the scenario support library (scenarios/rb.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb.h"

static void
test_jain_index_equal_shares_is_one(void **state)
{
    (void)state;
    unsigned long x[] = { 25, 25, 25, 25 };
    assert_true(fabs(rb_jain_index(x, 4) - 1.0) < 1e-12);
}

static void
test_jain_index_one_takes_all_is_one_over_n(void **state)
{
    (void)state;
    unsigned long x[] = { 0, 100, 0, 0 };
    assert_true(fabs(rb_jain_index(x, 4) - 0.25) < 1e-12);
}

static void
test_jain_index_known_value(void **state)
{
    (void)state;
    /* (1+2+3)^2 / (3 * (1+4+9)) = 36/42 */
    unsigned long x[] = { 1, 2, 3 };
    assert_true(fabs(rb_jain_index(x, 3) - 36.0 / 42.0) < 1e-12);
}

static void
test_jain_index_degenerate_inputs(void **state)
{
    (void)state;
    unsigned long zeros[] = { 0, 0 };
    assert_true(rb_jain_index(NULL, 0) == 1.0);
    assert_true(rb_jain_index(zeros, 2) == 1.0);
}

static void
test_min_fair_fraction(void **state)
{
    (void)state;
    unsigned long fair[] = { 10, 10, 10, 10 };
    unsigned long starved[] = { 13, 13, 13, 1 }; /* 1 of 40: fair share 10 */
    unsigned long none[] = { 0, 0, 0 };
    assert_true(fabs(rb_min_fair_fraction(fair, 4) - 1.0) < 1e-12);
    assert_true(fabs(rb_min_fair_fraction(starved, 4) - 0.1) < 1e-12);
    assert_true(rb_min_fair_fraction(none, 3) == 1.0);
}

static void
test_report_shares_flags_the_starved(void **state)
{
    (void)state;
    unsigned long starved[] = { 500, 499, 1 };
    unsigned long fair[] = { 334, 333, 333 };
    assert_int_equal(rb_report_shares("diner", starved, 3, 0.5), 1);
    assert_int_equal(rb_report_shares("diner", fair, 3, 0.5), 0);
}

/* Served in number order (a FIFO lock): nobody is overtaken. */
static void
test_queue_in_order_overtakes_nobody(void **state)
{
    (void)state;
    static struct rb_queue q;
    rb_queue_init(&q);
    for (int round = 0; round < 3; round++) {
        for (unsigned who = 0; who < 3; who++)
            rb_queue_arrive(&q, who);
        for (unsigned who = 0; who < 3; who++)
            rb_queue_served(&q, who);
    }
    for (unsigned who = 0; who < 3; who++) {
        assert_int_equal(q.worst[who], 0);
        assert_int_equal(q.served[who], 3);
    }
    assert_int_equal(rb_queue_report(&q, "diner", 3, 0), 0);
}

/* A newcomer who barges in overtakes everyone who waited longer, once each
 * time; the count is per wait and restarts when the waiter is served. */
static void
test_queue_counts_overtakes_per_wait(void **state)
{
    (void)state;
    static struct rb_queue q;
    rb_queue_init(&q);
    rb_queue_arrive(&q, 2); /* number 0: waits */
    for (int meal = 0; meal < 5; meal++) {
        rb_queue_arrive(&q, 0);
        rb_queue_served(&q, 0); /* a later number, seated first */
    }
    assert_int_equal(q.overtaken[2], 5);
    rb_queue_served(&q, 2);
    rb_queue_arrive(&q, 2); /* a new wait */
    rb_queue_arrive(&q, 1);
    rb_queue_served(&q, 1);
    assert_int_equal(q.overtaken[2], 1);
    assert_int_equal(q.worst[2], 5);
    assert_int_equal(q.worst[0], 0);
    assert_int_equal(rb_queue_report(&q, "diner", 3, 4), 1);
    assert_int_equal(rb_queue_report(&q, "diner", 3, 5), 0);
}

/* A party that leaves without being served is overtaken no more. */
static void
test_queue_leave_stops_counting(void **state)
{
    (void)state;
    static struct rb_queue q;
    rb_queue_init(&q);
    rb_queue_arrive(&q, 1);
    rb_queue_leave(&q, 1);
    rb_queue_arrive(&q, 0);
    rb_queue_served(&q, 0);
    assert_int_equal(q.worst[1], 0);
}

static void
test_outcome_return_values(void **state)
{
    (void)state;
    assert_int_equal(rb_symptom("x = %d", 1), 1);
    assert_int_equal(rb_ok("x = %d", 2), 0);
}

struct meet_arg {
    struct rb_meet *m;
    bool met;
};

static void *
meet_thread(void *p)
{
    struct meet_arg *a = p;
    a->met = rb_meet(a->m);
    return NULL;
}

static void
test_meet_all_parties_arrive(void **state)
{
    (void)state;
    static struct rb_meet m = RB_MEET_INITIALIZER(3);
    struct meet_arg args[3] = { { &m, false }, { &m, false }, { &m, false } };
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        rb_spawn(&t[i], meet_thread, &args[i]);
    for (int i = 0; i < 3; i++)
        rb_join(t[i]);
    for (int i = 0; i < 3; i++)
        assert_true(args[i].met);
    assert_false(atomic_load(&m.off));
}

static void
test_meet_times_out_once_then_is_off(void **state)
{
    (void)state;
    static struct rb_meet m = RB_MEET_INITIALIZER(2);
    uint64_t t0 = rb_now_ns();
    assert_false(rb_meet(&m)); /* nobody else comes */
    uint64_t waited_ms = (rb_now_ns() - t0) / 1000000u;
    assert_true(waited_ms >= RB_MEET_TIMEOUT_MS - 5);
    assert_true(atomic_load(&m.off));
    t0 = rb_now_ns();
    assert_false(rb_meet(&m)); /* off: returns at once */
    assert_true((rb_now_ns() - t0) / 1000000u < 100);
}

static void
test_cue_given_before_wait_returns_at_once(void **state)
{
    (void)state;
    static struct rb_cue c = RB_CUE_INITIALIZER;
    rb_cue_give(&c);
    uint64_t t0 = rb_now_ns();
    assert_true(rb_cue_wait(&c));
    assert_true(rb_cue_wait(&c)); /* it stays given */
    assert_true((rb_now_ns() - t0) / 1000000u < 100);
}

static void *
cue_giver(void *p)
{
    rb_cue_give(p);
    return NULL;
}

static void
test_cue_wait_returns_when_another_thread_gives(void **state)
{
    (void)state;
    static struct rb_cue c = RB_CUE_INITIALIZER;
    pthread_t t;
    rb_spawn(&t, cue_giver, &c);
    assert_true(rb_cue_wait(&c));
    rb_join(t);
}

static void
test_cue_wait_times_out_when_never_given(void **state)
{
    (void)state;
    static struct rb_cue c = RB_CUE_INITIALIZER;
    uint64_t t0 = rb_now_ns();
    assert_false(rb_cue_wait(&c));
    uint64_t waited_ms = (rb_now_ns() - t0) / 1000000u;
    assert_true(waited_ms >= RB_MEET_TIMEOUT_MS - 5);
}

static void
test_meet_off_releases_a_waiter_at_once(void **state)
{
    (void)state;
    static struct rb_meet m = RB_MEET_INITIALIZER(2);
    struct meet_arg arg = { &m, true };
    pthread_t t;
    uint64_t t0 = rb_now_ns();
    rb_spawn(&t, meet_thread, &arg);
    while (!atomic_load(&m.off)) {
        /* Switch it off once the thread waits (or at once: both are fine). */
        RB_CHECK(pthread_mutex_lock(&m.mu));
        unsigned waiting = m.arrived;
        RB_CHECK(pthread_mutex_unlock(&m.mu));
        if (waiting || rb_now_ns() - t0 > 100000000u)
            rb_meet_off(&m);
    }
    rb_join(t);
    assert_false(arg.met);
    assert_true((rb_now_ns() - t0) / 1000000u < RB_MEET_TIMEOUT_MS / 2);
    assert_false(rb_meet(&m));
}

static void
test_deadline_is_in_the_future(void **state)
{
    (void)state;
    struct timespec now, until = rb_deadline(1500);
    clock_gettime(CLOCK_REALTIME, &now);
    double ahead = (double)(until.tv_sec - now.tv_sec)
                   + (double)(until.tv_nsec - now.tv_nsec) / 1e9;
    assert_true(ahead > 1.4 && ahead <= 1.5);
    assert_true(until.tv_nsec >= 0 && until.tv_nsec < 1000000000L);
}

static void
test_watchdog_prints_the_symptom_and_exits_1(void **state)
{
    (void)state;
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        rb_watchdog(50, "still waiting after %d ms", 50);
        for (;;)
            pause(); /* the hang the watchdog bounds */
    }
    close(out[1]);
    char buf[256] = { 0 };
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    close(out[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_true(n > 0);
    assert_non_null(strstr(buf, ": SYMPTOM: still waiting after 50 ms\n"));
}

/* --latent switches the scaffolding off, and only where the program says it
 * has a latent mode. Run in a child: the switch is for the whole process. */
static int
latent_child(void)
{
    static struct rb_meet m = RB_MEET_INITIALIZER(2);
    static struct rb_cue c = RB_CUE_INITIALIZER;
    char *argv[] = { "latent_test", "--latent", NULL };
    struct rb_args a = rb_start(2, argv, RB_LATENT, "test");
    if (!a.latent || rb_forcing())
        return 10;
    uint64_t t0 = rb_now_ns();
    if (rb_meet(&m) || rb_cue_wait(&c)) /* nobody else comes: both at once */
        return 11;
    rb_cue_give(&c);
    if (rb_cue_wait(&c) || atomic_load(&c.given) != 0)
        return 12;
    return (rb_now_ns() - t0) / 1000000u < RB_MEET_TIMEOUT_MS / 2 ? 0 : 13;
}

static int
run_child(int (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int
latent_refused_child(void)
{
    char *argv[] = { "latent_test", "--latent", NULL };
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO);
    rb_start(2, argv, RB_ALLOW_HANG, "test"); /* exits 2: no latent mode */
    return 0;
}

static void
test_latent_switches_the_scaffolding_off(void **state)
{
    (void)state;
    assert_int_equal(run_child(latent_child), 0);
    assert_int_equal(run_child(latent_refused_child), 2);
    assert_true(rb_forcing()); /* this process never asked */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jain_index_equal_shares_is_one),
        cmocka_unit_test(test_jain_index_one_takes_all_is_one_over_n),
        cmocka_unit_test(test_jain_index_known_value),
        cmocka_unit_test(test_jain_index_degenerate_inputs),
        cmocka_unit_test(test_min_fair_fraction),
        cmocka_unit_test(test_report_shares_flags_the_starved),
        cmocka_unit_test(test_queue_in_order_overtakes_nobody),
        cmocka_unit_test(test_queue_counts_overtakes_per_wait),
        cmocka_unit_test(test_queue_leave_stops_counting),
        cmocka_unit_test(test_outcome_return_values),
        cmocka_unit_test(test_meet_all_parties_arrive),
        cmocka_unit_test(test_meet_times_out_once_then_is_off),
        cmocka_unit_test(test_cue_given_before_wait_returns_at_once),
        cmocka_unit_test(test_cue_wait_returns_when_another_thread_gives),
        cmocka_unit_test(test_cue_wait_times_out_when_never_given),
        cmocka_unit_test(test_meet_off_releases_a_waiter_at_once),
        cmocka_unit_test(test_deadline_is_in_the_future),
        cmocka_unit_test(test_watchdog_prints_the_symptom_and_exits_1),
        cmocka_unit_test(test_latent_switches_the_scaffolding_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
