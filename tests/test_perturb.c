/*
 * Unit tests for the perturbation strategy (detectors/lockgraph/perturb_core.c):
 * every decision is seeded and deterministic, so each property is checked
 * on the decisions themselves, without threads or clocks - the streams,
 * which call gets which hold, the bounds and their distribution, spurious
 * wake-ups, change points, ranks and the budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "perturb.h"

#define MS 1000000ull

static struct lg_pt_config cfg;

static int
setup(void **state)
{
    (void)state;
    lg_pt_config_init(&cfg, 12345, 100, 32, 25);
    return 0;
}

/* ---- streams ------------------------------------------------------------ */

static void
test_same_seed_same_decisions(void **state)
{
    (void)state;
    struct lg_pt_thread a, b;
    lg_pt_thread_init(&a, &cfg, 3, 1);
    lg_pt_thread_init(&b, &cfg, 3, 1);
    assert_int_equal(a.change_at, b.change_at);
    for (int i = 0; i < 1000; i++) {
        enum lg_pt_op op = (enum lg_pt_op)(i % LG_PT_NOPS);
        struct lg_pt_decision x = lg_pt_decide(&a, &cfg, op, 0);
        struct lg_pt_decision y = lg_pt_decide(&b, &cfg, op, 0);
        assert_int_equal(x.hold, y.hold);
        assert_int_equal(x.bound_ns, y.bound_ns);
        assert_int_equal(x.spurious, y.spurious);
        assert_int_equal(x.spurious_ns, y.spurious_ns);
        assert_int_equal(x.change_now, y.change_now);
    }
}

static void
test_streams_differ_by_thread_and_seed(void **state)
{
    (void)state;
    struct lg_pt_config other;
    lg_pt_config_init(&other, 12346, 100, 32, 25);
    struct lg_pt_thread t3, t4, s3;
    lg_pt_thread_init(&t3, &cfg, 3, 1);
    lg_pt_thread_init(&t4, &cfg, 4, 1);
    lg_pt_thread_init(&s3, &other, 3, 1);
    int same_thread = 0, same_seed = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t v = lg_pt_draw(&t3);
        same_thread += v == lg_pt_draw(&t4);
        same_seed += v == lg_pt_draw(&s3);
    }
    assert_int_equal(same_thread, 0);
    assert_int_equal(same_seed, 0);
}

/* A thread's decisions do not depend on what other threads drew, or on how
 * their calls interleave with its own: each has its own stream. */
static void
test_stream_independent_of_interleaving(void **state)
{
    (void)state;
    struct lg_pt_thread alone, mine, theirs;
    lg_pt_thread_init(&alone, &cfg, 2, 1);
    lg_pt_thread_init(&mine, &cfg, 2, 1);
    lg_pt_thread_init(&theirs, &cfg, 5, 1);
    for (int i = 0; i < 500; i++) {
        for (int j = 0; j < i % 7; j++)
            lg_pt_decide(&theirs, &cfg, LG_PT_UNLOCK, 0);
        struct lg_pt_decision x = lg_pt_decide(&alone, &cfg, LG_PT_LOCK, 0);
        struct lg_pt_decision y = lg_pt_decide(&mine, &cfg, LG_PT_LOCK, 0);
        assert_int_equal(x.hold, y.hold);
        assert_int_equal(x.bound_ns, y.bound_ns);
    }
}

/* Exactly one draw per call, whatever the call and whatever is decided, so
 * that the n-th call of a thread always gets the n-th value. */
static void
test_one_draw_per_call(void **state)
{
    (void)state;
    struct lg_pt_config all;
    lg_pt_config_init(&all, 99, 100, 32, 100);
    struct lg_pt_thread pt;
    lg_pt_thread_init(&pt, &all, 7, 2);
    uint64_t before = pt.draws;
    for (int i = 0; i < 300; i++)
        lg_pt_decide(&pt, &all, (enum lg_pt_op)(i % LG_PT_NOPS),
                     (unsigned)(i % 4));
    assert_int_equal(pt.draws - before, 300);
    assert_int_equal(pt.calls, 300);
}

/* ---- which call gets which hold ------------------------------------------ */

static void
test_hold_kind_per_call(void **state)
{
    (void)state;
    static const struct {
        enum lg_pt_op op;
        unsigned flags;
        enum lg_pt_hold hold;
    } cases[] = {
        { LG_PT_LOCK, 0, LG_PT_STEP },
        { LG_PT_TRYLOCK, 0, LG_PT_STEP },
        { LG_PT_SEM_WAIT, 0, LG_PT_STEP },
        { LG_PT_BARRIER, 0, LG_PT_STEP },
        { LG_PT_JOIN, 0, LG_PT_STEP },
        { LG_PT_UNLOCK, 0, LG_PT_YIELD },
        { LG_PT_UNLOCK, LG_PT_F_NOYIELD, LG_PT_NONE },
        { LG_PT_SIGNAL, 0, LG_PT_YIELD },
        { LG_PT_SIGNAL, LG_PT_F_HOLDING, LG_PT_NONE },
        { LG_PT_BROADCAST, 0, LG_PT_YIELD },
        { LG_PT_BROADCAST, LG_PT_F_HOLDING, LG_PT_NONE },
        { LG_PT_SEM_POST, 0, LG_PT_YIELD },

        { LG_PT_RDLOCK, 0, LG_PT_NONE },
        { LG_PT_COND_WAIT, 0, LG_PT_NONE },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct lg_pt_thread pt;
        lg_pt_thread_init(&pt, &cfg, (uint32_t)(c + 2), 1);
        unsigned held = 0;
        for (int i = 0; i < 320; i++) {
            struct lg_pt_decision d = lg_pt_decide(&pt, &cfg, cases[c].op, cases[c].flags);
            assert_true(d.hold == LG_PT_NONE || d.hold == cases[c].hold);
            assert_true((d.hold == LG_PT_NONE) == (d.bound_ns == 0));
            held += d.hold != LG_PT_NONE;
        }
        if (cases[c].hold == LG_PT_NONE)
            assert_int_equal(held, 0);
        else
            assert_true(held >= 260); /* 15 in 16 of 320 is 300 */
    }
}

/* Late starts are never skipped: that would only give the native order. */
static void
test_starts_never_skipped(void **state)
{
    (void)state;
    for (uint32_t num = 1; num <= 2000; num++) {
        struct lg_pt_thread pt;
        lg_pt_thread_init(&pt, &cfg, num, 1);
        struct lg_pt_decision d = lg_pt_decide(&pt, &cfg, LG_PT_START, 0);
        assert_int_equal(d.hold, LG_PT_START_LATE);
        assert_in_range(d.bound_ns, cfg.hold_max_ns / 32, cfg.hold_max_ns);
    }
}

/* One hold in 16 is skipped: the seed decides which. */
static void
test_skip_rate(void **state)
{
    (void)state;
    unsigned skipped = 0, n = 0;
    for (uint32_t num = 1; num <= 40; num++) {
        struct lg_pt_thread pt;
        lg_pt_thread_init(&pt, &cfg, num, 1);
        for (int i = 0; i < 400; i++, n++)
            skipped += lg_pt_decide(&pt, &cfg, LG_PT_LOCK, 0).hold == LG_PT_NONE;
    }
    /* Expected n/16 = 1000; a binomial's standard deviation here is 31. */
    assert_in_range(skipped, 850, 1150);
}

static void
test_bounds_in_range_and_spread_over_octaves(void **state)
{
    (void)state;
    unsigned octave[5] = { 0 }, n = 0;
    uint64_t lo = cfg.hold_max_ns / 32;
    struct lg_pt_thread pt;
    lg_pt_thread_init(&pt, &cfg, 9, 1);
    for (int i = 0; i < 20000; i++) {
        struct lg_pt_decision d = lg_pt_decide(&pt, &cfg, LG_PT_UNLOCK, 0);
        if (d.hold == LG_PT_NONE)
            continue;
        assert_in_range(d.bound_ns, lo, cfg.hold_max_ns);
        unsigned o = 0;
        while (o < 4 && d.bound_ns >= lo << (o + 1))
            o++;
        octave[o]++;
        n++;
    }
    for (int o = 0; o < 5; o++)
        assert_in_range(octave[o], n / 5 - n / 25, n / 5 + n / 25);
}

static void
test_log_uniform_edges(void **state)
{
    (void)state;
    assert_int_equal(lg_pt_log_uniform(0, 100, 100), 100);
    assert_int_equal(lg_pt_log_uniform(0xFFFFFFFFu, 100, 50), 100);
    assert_int_equal(lg_pt_log_uniform(0, 0, 0), 1);
    assert_int_equal(lg_pt_log_uniform(0, 8, 65536), 8);
    assert_true(lg_pt_log_uniform(0xFFFFFFFFu, 8, 65536) <= 65536);
    assert_true(lg_pt_log_uniform(0xFFFFFFFFu, 8, 65536) >= 32768);
    /* Less than a doubling: uniform, within range. */
    for (uint32_t b = 0; b < 1000; b++)
        assert_in_range(lg_pt_log_uniform(b * 4294967u, 10, 15), 10, 15);
    /* Not a power of two apart: capped at hi. */
    for (uint32_t b = 0; b < 1000; b++)
        assert_in_range(lg_pt_log_uniform(b * 4294967u, 10, 100), 10, 100);
}

/* ---- spurious wake-ups --------------------------------------------------- */

static unsigned
spurious_of(long pct, enum lg_pt_op op, unsigned n)
{
    struct lg_pt_config c;
    lg_pt_config_init(&c, 777, 100, 32, pct);
    struct lg_pt_thread pt;
    lg_pt_thread_init(&pt, &c, 4, 1);
    unsigned got = 0;
    for (unsigned i = 0; i < n; i++) {
        struct lg_pt_decision d = lg_pt_decide(&pt, &c, op, 0);
        if (d.spurious) {
            assert_in_range(d.spurious_ns, c.spurious_min_ns, c.spurious_max_ns);
            assert_int_equal(d.hold, LG_PT_NONE); /* a wait is never held as well */
            got++;
        }
    }
    return got;
}

static void
test_spurious_rates(void **state)
{
    (void)state;
    assert_int_equal(spurious_of(0, LG_PT_COND_WAIT, 4000), 0);
    /* 100%: every wait but the skipped one in 16. */
    assert_in_range(spurious_of(100, LG_PT_COND_WAIT, 4000), 3600, 3900);
    /* 25% of the 15 in 16 not skipped: 937 expected, sd 27. */
    assert_in_range(spurious_of(25, LG_PT_COND_WAIT, 4000), 830, 1050);
    /* Only waits wake spuriously. */
    for (int op = 0; op < LG_PT_NOPS; op++)
        if (op != LG_PT_COND_WAIT)
            assert_int_equal(spurious_of(100, (enum lg_pt_op)op, 500), 0);
}

/* ---- change points and ranks --------------------------------------------- */

static void
test_change_points(void **state)
{
    (void)state;
    unsigned with = 0;
    for (uint32_t num = 1; num <= 4000; num++) {
        struct lg_pt_thread pt;
        lg_pt_thread_init(&pt, &cfg, num, 1);
        if (pt.change_at) {
            with++;
            assert_in_range(pt.change_at, 8, 65536);
        }
    }
    assert_in_range(with, 900, 1100); /* a quarter: 1000, sd 27 */

    /* The change point comes at its call, once. */
    struct lg_pt_thread pt;
    uint32_t num = 1;
    do
        lg_pt_thread_init(&pt, &cfg, num++, 1);
    while (pt.change_at == 0 || pt.change_at > 5000);
    unsigned changes = 0;
    for (uint64_t call = 1; call <= pt.change_at + 100; call++) {
        struct lg_pt_decision d = lg_pt_decide(&pt, &cfg, LG_PT_LOCK, 0);
        if (d.change_now) {
            assert_int_equal(call, pt.change_at);
            changes++;
        }
        assert_int_equal(pt.changed, call >= pt.change_at);
    }
    assert_int_equal(changes, 1);
}

static void
test_rank_order(void **state)
{
    (void)state;
    /* A creator outranks what it creates, at any number. */
    assert_true(lg_pt_rank(0, 1, false, 0) > lg_pt_rank(1, 2, false, 0));
    assert_true(lg_pt_rank(1, 2, false, 0) > lg_pt_rank(2, 900, false, 0));
    /* Among siblings the younger (higher number) outranks the older. */
    assert_true(lg_pt_rank(1, 3, false, 0) > lg_pt_rank(1, 2, false, 0));
    /* Past a change point, below everyone without one; later changes lower. */
    assert_true(lg_pt_rank(9, 4000000, false, 0) > lg_pt_rank(0, 1, true, 1));
    assert_true(lg_pt_rank(0, 1, true, 1) > lg_pt_rank(0, 1, true, 2));
    assert_true(lg_pt_rank(5, 7, true, 1) == lg_pt_rank(0, 1, true, 1));
}

/* ---- the budget ------------------------------------------------------------ */

static void
test_budget(void **state)
{
    (void)state;
    struct lg_pt_config c;
    lg_pt_config_init(&c, 5, 100, 32, 25);
    /* At the start, the grace. */
    assert_int_equal(lg_pt_budget_left(&c, 0, 0), c.grace_ns);
    assert_int_equal(lg_pt_budget_left(&c, 1000, 5 * MS), c.grace_ns - 5 * MS);
    /* 100%: the holds may take as long as the program's own time, half of
     * the elapsed time. */
    assert_int_equal(lg_pt_budget_left(&c, 1000 * MS, 0), 500 * MS);
    assert_int_equal(lg_pt_budget_left(&c, 1000 * MS, 400 * MS), 100 * MS);
    assert_int_equal(lg_pt_budget_left(&c, 1000 * MS, 500 * MS), 0);
    assert_int_equal(lg_pt_budget_left(&c, 1000 * MS, 900 * MS), 0);
    /* 50%: a third of the elapsed time. */
    lg_pt_config_init(&c, 5, 50, 32, 25);
    assert_int_equal(lg_pt_budget_left(&c, 3000 * MS, 0), 1000 * MS);
    /* Huge times do not overflow. */
    lg_pt_config_init(&c, 5, 1000, 32, 25);
    assert_true(lg_pt_budget_left(&c, UINT64_MAX / 2, 0) > UINT64_MAX / 4);
}

static void
test_seeds_and_config(void **state)
{
    (void)state;
    for (uint64_t e = 0; e < 10000; e++) {
        uint64_t s = lg_pt_seed_from(e);
        assert_true(s != 0 && s <= 0xFFFFFFFFull);
        assert_int_equal(s, lg_pt_seed_from(e));
    }
    assert_true(lg_pt_seed_from(1) != lg_pt_seed_from(2));
    struct lg_pt_config c;
    lg_pt_config_init(&c, 0, -5, 0, 400);
    assert_int_equal(c.seed, 1);
    assert_int_equal(c.budget_pct, 0);
    assert_int_equal(c.hold_max_ns, MS);
    assert_int_equal(c.spurious_pct, 100);
    /* A budget of 0 leaves only the grace. */
    assert_int_equal(lg_pt_budget_left(&c, 10000 * MS, 0), c.grace_ns);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_decisions),
        cmocka_unit_test(test_streams_differ_by_thread_and_seed),
        cmocka_unit_test(test_stream_independent_of_interleaving),
        cmocka_unit_test(test_one_draw_per_call),
        cmocka_unit_test(test_hold_kind_per_call),
        cmocka_unit_test(test_starts_never_skipped),
        cmocka_unit_test(test_skip_rate),
        cmocka_unit_test(test_bounds_in_range_and_spread_over_octaves),
        cmocka_unit_test(test_log_uniform_edges),
        cmocka_unit_test(test_spurious_rates),
        cmocka_unit_test(test_change_points),
        cmocka_unit_test(test_rank_order),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_seeds_and_config),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
