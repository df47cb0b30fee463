/*
 * Unit tests for lockgraph's liveness decisions (detectors/lockgraph/live.c),
 * fed with made-up samples at made-up times: every threshold and edge case
 * of the starvation, livelock and stall definitions, without any timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"

#define MS 1000000ull
#define LOCK_A 101
#define LOCK_B 102

static size_t live_bytes;
static long fail_after = -1; /* allocations left before failing; -1: never */

static void *
t_alloc(void *ctx, size_t n)
{
    (void)ctx;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    live_bytes += n;
    return calloc(1, n);
}

static void
t_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    live_bytes -= n;
    free(p);
}

static const struct lg_alloc alloc = { t_alloc, t_free, NULL };

static const struct lg_live_config cfg = {
    .starvation_ns = 1000 * MS,
    .livelock_ns = 1000 * MS,
    .stall_ns = 3000 * MS,
    .starvation_grants = 100,
    .starvation_share = 1,
    .min_backoffs = 3,
};

static struct lg_live *lv;
static struct lg_live_verdict out[8];

static int
setup(void **state)
{
    (void)state;
    fail_after = -1;
    return lg_live_new(&lv, &alloc, &cfg);
}

static int
teardown(void **state)
{
    (void)state;
    lg_live_free(lv);
    assert_int_equal(live_bytes, 0);
    return 0;
}

static struct lg_live_sample
running(uint32_t thread)
{
    struct lg_live_sample s;
    memset(&s, 0, sizeof s);
    s.thread = thread;
    return s;
}

static struct lg_live_sample
retrying(uint32_t thread, uint64_t lock, uint64_t since, uint32_t blocker)
{
    struct lg_live_sample s = running(thread);
    s.trying_lock = lock;
    s.trying_since_ns = since;
    s.trying_blocker = blocker;
    return s;
}

static struct lg_live_sample
blocked(uint32_t thread, uint8_t block, uint64_t since, uint64_t lock)
{
    struct lg_live_sample s = running(thread);
    s.block = block;
    s.block_since_ns = since;
    s.block_lock = lock;
    return s;
}

static void
set_grants(struct lg_live_sample *s, uint64_t lock, uint64_t grants)
{
    s->grants[0].lock = lock;
    s->grants[0].grants = grants;
}

/* What the thread wanted the lock of its first slot, in waits and retry
 * episodes that are over: the time, and the grants to others meanwhile. */
static void
set_want(struct lg_live_sample *s, uint64_t want_ns, uint64_t bypass)
{
    s->grants[0].want_ns = want_ns;
    s->grants[0].bypass = bypass;
}

static int
tick(uint64_t now, struct lg_live_sample *s, uint32_t n)
{
    return lg_live_tick(lv, now, s, n, out, 8);
}

/* T2 retries A from t=0 (failing again before each tick); T3 gets A
 * `grants` times between the first tick and `when`. */
static int
starvation_case(uint64_t grants, uint64_t when)
{
    struct lg_live_sample s[2] = { retrying(2, LOCK_A, 0, 3), running(3) };
    set_grants(&s[1], LOCK_A, 50);
    s[0].failed_trys = 5;
    s[0].trying_bypass = 50;
    assert_int_equal(tick(10 * MS, s, 2), 0); /* the episode is seen */
    set_grants(&s[1], LOCK_A, 50 + grants);
    s[0].failed_trys = 500;
    s[0].trying_bypass = 50 + grants;
    return tick(when, s, 2);
}

static void
test_starvation_reported(void **state)
{
    (void)state;
    assert_int_equal(starvation_case(150, 1100 * MS), 1);
    assert_int_equal(out[0].kind, LG_LIVE_STARVATION);
    assert_int_equal(out[0].lock, LOCK_A);
    assert_int_equal(out[0].lock_grants, 150);
    assert_int_equal(out[0].bypasses, 150);
    assert_int_equal(out[0].n, 2);
    assert_int_equal(out[0].members[0].thread, 2);
    assert_int_equal(out[0].members[0].grants, 0);
    assert_int_equal(out[0].members[1].thread, 3);
    assert_int_equal(out[0].members[1].grants, 150);
    assert_true(fabs(out[0].jain - 0.5) < 1e-9);
    assert_true(out[0].share == 0);
    /* Watched from the first tick on; wanted all of it. */
    assert_true(out[0].window_ns == 1090 * MS);
    assert_true(out[0].wanted_ns == 1090 * MS);
}

static void
test_starvation_needs_enough_grants(void **state)
{
    (void)state;
    assert_int_equal(starvation_case(99, 1100 * MS), 0);
}

static void
test_starvation_needs_enough_time(void **state)
{
    (void)state;
    assert_int_equal(starvation_case(1000, 999 * MS), 0);
}

static void
test_starvation_reported_once_per_episode(void **state)
{
    (void)state;
    assert_int_equal(starvation_case(150, 1100 * MS), 1);
    /* Still starving, window after window: not reported again. */
    struct lg_live_sample s[2] = { retrying(2, LOCK_A, 0, 3), running(3) };
    for (uint64_t ms = 1200; ms <= 3200; ms += 100) {
        set_grants(&s[1], LOCK_A, 200 + ms);
        s[0].failed_trys = 500 + ms;
        s[0].trying_bypass = 200 + ms;
        assert_int_equal(tick(ms * MS, s, 2), 0);
    }
    /* It got A at 3250 ms and left it alone: the window from 3100 ms shows
     * it no longer starving (it wanted A 150 ms of it), and ends the
     * episode. */
    s[0] = running(2);
    set_grants(&s[0], LOCK_A, 1);
    set_want(&s[0], 3250 * MS, 3450);
    for (uint64_t ms = 3300; ms <= 4100; ms += 100)
        assert_int_equal(tick(ms * MS, s, 2), 0);
    /* A new episode counts anew. */
    s[0] = retrying(2, LOCK_A, 4150 * MS, 3);
    set_grants(&s[0], LOCK_A, 1);
    set_want(&s[0], 3250 * MS, 3450);
    for (uint64_t ms = 4200; ms <= 5000; ms += 100) {
        set_grants(&s[1], LOCK_A, 200 + ms);
        s[0].failed_trys = 5000 + ms;
        s[0].trying_bypass = ms - 4150;
        assert_int_equal(tick(ms * MS, s, 2), 0);
    }
    set_grants(&s[1], LOCK_A, 200 + 5100);
    s[0].failed_trys = 5000 + 5100;
    s[0].trying_bypass = 5100 - 4150;
    assert_int_equal(tick(5100 * MS, s, 2), 1);
    assert_int_equal(out[0].kind, LG_LIVE_STARVATION);
    assert_true(out[0].window_ns == 1000 * MS); /* from the tick at 4100 ms */
    assert_true(out[0].wanted_ns == 950 * MS);  /* from its failure at 4150 ms */
}

static void
test_a_tick_off_the_cpu_does_not_end_a_window(void **state)
{
    (void)state;
    /* T2 retries A from 0 and gets a crumb at 300 ms; then the OS keeps it
     * off the CPU until 550 ms, when it fails again: two ticks with no
     * failure and no episode. T3 gets A 10 times a millisecond. T2's
     * window goes on: it wanted A 750 ms of 1000 (300 + 50 + 400) and was
     * passed 7500 times for one grant. */
    struct lg_live_sample s[2];
    for (uint64_t ms = 0; ms <= 1000; ms += 100) {
        if (ms < 300) {
            s[0] = retrying(2, LOCK_A, 0, 3);
            s[0].trying_bypass = 10 * ms;
        } else if (ms < 600) {
            s[0] = running(2);
            set_grants(&s[0], LOCK_A, 1);
        } else {
            s[0] = retrying(2, LOCK_A, 550 * MS, 3);
            set_grants(&s[0], LOCK_A, 1);
            s[0].trying_bypass = 10 * (ms - 550);
        }
        if (ms >= 300)
            set_want(&s[0], 300 * MS, 3000);
        s[0].failed_trys = ms < 300 || ms >= 600 ? ms : 300;
        s[1] = running(3);
        set_grants(&s[1], LOCK_A, 10 * ms);
        assert_int_equal(tick(ms * MS, s, 2), ms == 1000 ? 1 : 0);
    }
    assert_int_equal(out[0].kind, LG_LIVE_STARVATION);
    assert_true(out[0].window_ns == 1000 * MS);
    assert_true(out[0].wanted_ns == 750 * MS);
    assert_int_equal(out[0].bypasses, 7500);
    assert_int_equal(out[0].members[0].grants, 1);
}

static void
test_slow_holder_is_not_starvation(void **state)
{
    (void)state;
    /* T2 blocked on A for 5 s, but T3 holds A the whole time: no grants. */
    struct lg_live_sample s[2] = { blocked(2, LG_LIVE_LOCK, 0, LOCK_A), running(3) };
    set_grants(&s[1], LOCK_A, 7);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    assert_int_equal(tick(5000 * MS, s, 2), 0);
}

/* data_race (fixed) under the matrix's load: T3 holds A for 1.8 s (it
 * waits at a meeting point that times out), T2 blocked on A all along;
 * then T3 takes A 628 times in the next tick, before T2 gets on the CPU.
 * T2 was passed in one tick only: no starvation_ms of being passed, so
 * not starvation (the slow hold before it is a slow holder's). */
static void
test_a_burst_after_a_slow_holder_is_not_starvation(void **state)
{
    (void)state;
    struct lg_live_sample s[2] = { blocked(2, LG_LIVE_LOCK, 0, LOCK_A), running(3) };
    set_grants(&s[1], LOCK_A, 1);
    for (uint64_t ms = 10; ms <= 1810; ms += 100)
        assert_int_equal(tick(ms * MS, s, 2), 0);
    set_grants(&s[1], LOCK_A, 629);
    s[0].block_bypass = 628;
    assert_int_equal(tick(1910 * MS, s, 2), 0);
}

static void
test_blocked_waiter_starves_under_barging(void **state)
{
    (void)state;
    struct lg_live_sample s[3] = { blocked(2, LG_LIVE_LOCK, 0, LOCK_A), running(3), running(4) };
    assert_int_equal(tick(5 * MS, s, 3), 0);
    set_grants(&s[1], LOCK_A, 300);
    set_grants(&s[2], LOCK_A, 100);
    s[0].block_bypass = 400;
    assert_int_equal(tick(1200 * MS, s, 3), 1);
    assert_int_equal(out[0].kind, LG_LIVE_STARVATION);
    assert_int_equal(out[0].n, 3);
    /* shares 0, 300, 100: 400^2 / (3 * 100000) */
    assert_true(fabs(out[0].jain - 160000.0 / 300000.0) < 1e-9);
}

/* ---- the share rule: crumbs, rare wanters, fair shares ----------------- */

#define GREEDY 8

/*
 * The crumbs case, the way lockgraph sees it every 100 ms: T2 keeps trying
 * A (with trylock, or blocked on it when `blocking`), and gets it at 250,
 * 550, 850, ... ms, a crumb every 300 ms, going straight back to trying 1
 * ms later; T3..T10 get A 2000 times a tick each. No dry spell of T2's
 * lasts starvation_ms. Returns the first tick's verdict count (or 0), and
 * the time of that tick in *when.
 */
static int
crumbs_case(bool blocking, uint64_t until_ms, uint64_t *when)
{
    struct lg_live_sample s[1 + GREEDY];
    for (uint64_t ms = 0; ms <= until_ms; ms += 100) {
        uint64_t crumbs = ms >= 250 ? (ms - 250) / 300 + 1 : 0;
        uint64_t last = crumbs ? 250 + (crumbs - 1) * 300 : 0; /* the last crumb */
        uint64_t since = crumbs ? (last + 1) * MS : 0;
        s[0] = blocking ? blocked(2, LG_LIVE_LOCK, since, LOCK_A)
                        : retrying(2, LOCK_A, since, 3);
        set_grants(&s[0], LOCK_A, crumbs);
        /* Wanted all the time but the millisecond after each crumb, and
         * passed by every grant meanwhile (160 a millisecond). */
        uint64_t closed_ms = crumbs ? last - (crumbs - 1) : 0;
        set_want(&s[0], closed_ms * MS, 160 * closed_ms);
        *(blocking ? &s[0].block_bypass : &s[0].trying_bypass) = 160 * (ms - since / MS);
        s[0].failed_trys = blocking ? 0 : ms; /* one a millisecond */
        for (uint32_t g = 0; g < GREEDY; g++) {
            s[1 + g] = g % 2 ? running(3 + g) : blocked(3 + g, LG_LIVE_LOCK, ms * MS, LOCK_A);
            set_grants(&s[1 + g], LOCK_A, 2000 * (ms / 100));
        }
        int r = tick(ms * MS, s, 1 + GREEDY);
        if (r != 0) {
            *when = ms;
            return r;
        }
    }
    return 0;
}

static void
test_crumbs_do_not_end_starvation(void **state)
{
    (void)state;
    uint64_t when = 0;
    assert_int_equal(crumbs_case(false, 3000, &when), 1);
    assert_int_equal(when, 1000); /* one window after the first tick */
    assert_int_equal(out[0].kind, LG_LIVE_STARVATION);
    assert_int_equal(out[0].members[0].thread, 2);
    assert_int_equal(out[0].members[0].grants, 3); /* the crumbs at 250, 550, 850 */
    assert_int_equal(out[0].n, 1 + GREEDY);
    assert_int_equal(out[0].lock_grants, GREEDY * 20000);
    assert_true(out[0].wanted_ns == 997 * MS);
    assert_int_equal(out[0].bypasses, GREEDY * 20000 - 3 * 160);
    assert_true(out[0].share < 0.001); /* 3 of a fair 159523/9 */
}

static void
test_blocked_crumbs_are_starvation(void **state)
{
    (void)state;
    uint64_t when = 0;
    assert_int_equal(crumbs_case(true, 3000, &when), 1);
    assert_int_equal(when, 1000);
    assert_int_equal(out[0].kind, LG_LIVE_STARVATION);
    assert_int_equal(out[0].members[0].grants, 3);
    assert_int_equal(out[0].members[0].block, LG_LIVE_LOCK);
}

static void
test_a_try_given_up_is_not_starvation(void **state)
{
    (void)state;
    /* T2 failed one trylock on A at 0 and went on without it; lockgraph
     * still has the episode open (no grant ended it), but T2 never fails
     * again. It does not want A, whatever T3 gets. */
    struct lg_live_sample s[2] = { retrying(2, LOCK_A, 0, 3), running(3) };
    s[0].failed_trys = 1;
    for (uint64_t ms = 10; ms <= 5000; ms += 100) {
        set_grants(&s[1], LOCK_A, 1000 * ms);
        s[0].trying_bypass = 1000 * ms;
        assert_int_equal(tick(ms * MS, s, 2), 0);
    }
}

static void
test_an_episode_given_up_counts_a_tick_at_most(void **state)
{
    (void)state;
    /* Same, and T2 gets A at 4 s: its episode's 4 s, and the 4000000
     * grants that passed it meanwhile, arrive at once. That is one tick's
     * worth of wanting, and of bypasses, not a window's. */
    struct lg_live_sample s[2] = { retrying(2, LOCK_A, 0, 3), running(3) };
    s[0].failed_trys = 1;
    for (uint64_t ms = 10; ms <= 8000; ms += 100) {
        if (ms > 4000) {
            s[0] = running(2);
            set_grants(&s[0], LOCK_A, 1);
            set_want(&s[0], 4000 * MS, 4000000);
            s[0].failed_trys = 1;
        } else {
            s[0].trying_bypass = 1000 * ms;
        }
        set_grants(&s[1], LOCK_A, 1000 * ms);
        assert_int_equal(tick(ms * MS, s, 2), 0);
    }
}

/* T2 is blocked on A at every tick, or wanted it `want_pct` percent of each
 * tick in waits that ended before the tick; it gets A `own` times a tick,
 * T3 gets it `other` times, `passed` of them while T2 waits. Ticks every
 * 100 ms for 1.5 s. */
static int
bypass_case(uint64_t want_pct, uint64_t own, uint64_t other, uint64_t passed)
{
    struct lg_live_sample s[2];
    int r = 0;
    for (uint64_t ms = 0; ms <= 1500 && r == 0; ms += 100) {
        s[0] = want_pct == 100 ? blocked(2, LG_LIVE_LOCK, ms * MS - MS / 10, LOCK_A)
                               : running(2);
        set_grants(&s[0], LOCK_A, own * (ms / 100));
        set_want(&s[0], want_pct == 100 ? ms * MS - MS / 10 : want_pct * MS * (ms / 100),
                 passed * (ms / 100));
        s[1] = running(3);
        set_grants(&s[1], LOCK_A, other * (ms / 100));
        r = tick(ms * MS, s, 2);
    }
    return r;
}

/* The same, T3's grants spread evenly over time: T2 is passed by the share
 * of them that falls while it waits. */
static int
share_case(uint64_t want_pct, uint64_t own, uint64_t other)
{
    return bypass_case(want_pct, own, other, other * want_pct / 100);
}

static void
test_starving_is_under_one_percent_of_a_fair_share(void **state)
{
    (void)state;
    /* Two threads got A: a fair share is half of the grants made while T2
     * waits (all the time here), (own + other) a tick, and 1% of that is
     * (own + other) / 200 a tick. With 10000 for T3: 5 is far under it, 50
     * just under (10050 / 200 = 50.25), 51 not (10051 / 200 = 50.255). */
    assert_int_equal(share_case(100, 5, 10000), 1);
    assert_true(out[0].share < 0.01);
}

static void
test_one_percent_of_a_fair_share_is_not_starving(void **state)
{
    (void)state;
    assert_int_equal(share_case(100, 51, 10000), 0);
}

static void
test_just_under_one_percent_is_starving(void **state)
{
    (void)state;
    assert_int_equal(share_case(100, 50, 10000), 1);
}

static void
test_fair_share_while_always_waiting_is_not_starvation(void **state)
{
    (void)state;
    /* Heavy contention: T2 waits all the time and gets half of A. */
    assert_int_equal(share_case(100, 10000, 10000), 0);
}

static void
test_waiting_for_a_holder_off_the_cpu_is_not_starvation(void **state)
{
    (void)state;
    /* T2 waits 90% of the time, for a holder the OS took off the CPU:
     * nobody gets A then. T3's 10000 grants a tick fall in the other 10%;
     * 5 of them pass T2. T2 gets A once a tick: half of what was granted
     * while it waited, not starving. */
    assert_int_equal(bypass_case(90, 1, 10000, 5), 0);
}

static void
test_passed_a_thousand_times_per_grant_is_starving(void **state)
{
    (void)state;
    /* The same waits, but T3 keeps taking A while T2 waits: 9000 bypasses
     * a tick against T2's one grant. */
    assert_int_equal(bypass_case(90, 1, 10000, 9000), 1);
    assert_int_equal(out[0].bypasses, 90000);
}

static void
test_wanting_half_the_window_is_enough(void **state)
{
    (void)state;
    /* Waits that end between ticks (never seen in a sample) count too. */
    assert_int_equal(share_case(50, 1, 10000), 1);
    assert_true(out[0].wanted_ns == 500 * MS);
    assert_int_equal(out[0].bypasses, 50000);
}

static void
test_wanting_under_half_the_window_is_not_starvation(void **state)
{
    (void)state;
    /* Passed as often per grant, but wanting A only 49 ms of each 100: not
     * "kept trying". */
    assert_int_equal(share_case(49, 1, 10000), 0);
}

static void
test_a_sleeper_is_not_starving(void **state)
{
    (void)state;
    /* It wants A 1 ms in every 100, waiting for the holder once, and gets
     * it each time: 10 grants in a window where T3 gets 100000, but T3
     * passed it only 10 times. */
    assert_int_equal(bypass_case(1, 1, 10000, 1), 0);
}

static void
test_starvation_share_zero_means_never_got_it(void **state)
{
    (void)state;
    struct lg_live_config zero = cfg;
    zero.starvation_share = 0;
    lg_live_free(lv);
    assert_int_equal(lg_live_new(&lv, &alloc, &zero), 0);
    assert_int_equal(share_case(100, 1, 10000), 0);
    lg_live_free(lv);
    assert_int_equal(lg_live_new(&lv, &alloc, &zero), 0);
    assert_int_equal(share_case(100, 0, 10000), 1);
}

static void
note_window(const struct lg_live_window *w, void *ctx)
{
    struct lg_live_window *last = ctx;
    *last = *w;
}

static int windows_told;

static void
count_window(const struct lg_live_window *w, void *ctx)
{
    (void)w;
    (void)ctx;
    windows_told++;
}

static void
test_an_undecided_window_is_told_once(void **state)
{
    (void)state;
    /* T2 waits 5 s; T3 passes it 50 times in the first 100 ms and then
     * keeps the lock: too few grants to tell (starvation_grants is 100).
     * One window is judged at every tick from 1 s on, and told once. (It
     * used to be the slow holder, nobody passing T2 at all; since a window
     * starts only once the thread is passed, that is no window.) */
    windows_told = 0;
    lg_live_on_window(lv, count_window, NULL);
    struct lg_live_sample s[2] = { blocked(2, LG_LIVE_LOCK, 0, LOCK_A), running(3) };
    assert_int_equal(tick(0, s, 2), 0);
    set_grants(&s[1], LOCK_A, 50);
    s[0].block_bypass = 50;
    for (uint64_t ms = 100; ms <= 5000; ms += 100)
        assert_int_equal(tick(ms * MS, s, 2), 0);
    assert_int_equal(windows_told, 1);
    /* The slow holder alone: no window at all. */
    lg_live_free(lv);
    assert_int_equal(lg_live_new(&lv, &alloc, &cfg), 0);
    windows_told = 0;
    lg_live_on_window(lv, count_window, NULL);
    struct lg_live_sample h[2] = { blocked(2, LG_LIVE_LOCK, 0, LOCK_A), running(3) };
    for (uint64_t ms = 0; ms <= 5000; ms += 100)
        assert_int_equal(tick(ms * MS, h, 2), 0);
    assert_int_equal(windows_told, 0);
}

static void
test_every_judged_window_is_told(void **state)
{
    (void)state;
    struct lg_live_window last;
    memset(&last, 0, sizeof last);
    lg_live_on_window(lv, note_window, &last);
    assert_int_equal(share_case(100, 10000, 10000), 0);
    assert_int_equal(last.thread, 2);
    assert_int_equal(last.lock, LOCK_A);
    assert_int_equal(last.grantees, 2);
    assert_false(last.starving);
    assert_true(fabs(last.share - 1.0) < 1e-9);
}

/* T2 retries B (held by T3) and T3 retries A (held by T2), both running and
 * backing off: the polite philosophers. */
static void
polite(struct lg_live_sample *s, uint64_t backoffs)
{
    s[0] = retrying(2, LOCK_B, 0, 3);
    s[1] = retrying(3, LOCK_A, 0, 2);
    s[0].backoffs = s[1].backoffs = backoffs;
    s[0].failed_trys = s[1].failed_trys = backoffs; /* each back-off followed one */
    /* Each keeps getting its own first fork, the other's second: plenty of
     * grants, passing the other. */
    set_grants(&s[0], LOCK_A, backoffs);
    set_grants(&s[1], LOCK_B, backoffs);
    s[0].trying_bypass = s[1].trying_bypass = backoffs;
}

static void
test_livelock_reported_and_not_as_starvation(void **state)
{
    (void)state;
    struct lg_live_sample s[2];
    polite(s, 10);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    polite(s, 5000);
    assert_int_equal(tick(1100 * MS, s, 2), 1);
    assert_int_equal(out[0].kind, LG_LIVE_LIVELOCK);
    assert_int_equal(out[0].n, 2);
    assert_int_equal(out[0].members[0].backoffs, 4990);
    assert_true(out[0].members[0].thread != out[0].members[1].thread);
    polite(s, 9000);
    assert_int_equal(tick(2000 * MS, s, 2), 0); /* once */
}

static void
test_livelock_not_starvation_when_one_member_is_a_tick_behind(void **state)
{
    (void)state;
    /* T3 started retrying A at 0, T2 started retrying B 1 ms later: at
     * 1000.5 ms T3's starvation window (from the tick at 0) is judged (T2
     * keeps getting A, its own first fork), T2's episode is not yet old
     * enough for the livelock. Not starvation: they are in a retry loop. */
    struct lg_live_sample s[2];
    polite(s, 10);
    s[0] = running(2);
    set_grants(&s[0], LOCK_A, 10);
    assert_int_equal(tick(0, s, 2), 0);
    for (uint64_t ms = 1; ms <= 901; ms += 100) {
        polite(s, 10 + ms);
        s[0].trying_since_ns = 1 * MS;
        assert_int_equal(tick(ms * MS, s, 2), 0);
    }
    polite(s, 5000);
    s[0].trying_since_ns = 1 * MS;
    assert_int_equal(tick(1000 * MS + MS / 2, s, 2), 0);
    polite(s, 5100);
    s[0].trying_since_ns = 1 * MS;
    assert_int_equal(tick(1100 * MS, s, 2), 1);
    assert_int_equal(out[0].kind, LG_LIVE_LIVELOCK);
    polite(s, 9000);
    s[0].trying_since_ns = 1 * MS;
    assert_int_equal(tick(2200 * MS, s, 2), 0); /* nor starvation later */
}

static void
test_livelock_needs_backoffs(void **state)
{
    (void)state;
    struct lg_live_sample s[2];
    polite(s, 10);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    polite(s, 12); /* 2 back-offs each in the window: below min_backoffs */
    assert_int_equal(tick(1100 * MS, s, 2), 0);
}

static void
test_progress_mark_is_not_livelock(void **state)
{
    (void)state;
    struct lg_live_sample s[2];
    polite(s, 10);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    polite(s, 5000);
    s[0].progress = 1; /* T2 says it got work done */
    int n = tick(1100 * MS, s, 2);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(out[i].kind, LG_LIVE_LIVELOCK);
}

/* The polite pair of live_progress_marks: each retries the other's fork
 * and marks progress every round, for longer than starvation_ms. When
 * the program ends, one thread is gone first and the other, still in its
 * retry episode (it failed again just before), is sampled alone. The time
 * it spent in the loop was the livelock check's, and progress cleared it:
 * it is no starvation either (seen under CPU hogs, 1 run in 10: the
 * survivor's first window, 1.6 s long, judged once its partner left). */
static void
test_a_retry_loop_whose_partner_left_is_not_starvation(void **state)
{
    (void)state;
    struct lg_live_sample s[2];
    polite(s, 10);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    uint64_t round = 10;
    for (uint64_t ms = 110; ms <= 1510; ms += 100) {
        round += 300;
        polite(s, round);
        s[0].progress = s[1].progress = round;
        assert_int_equal(tick(ms * MS, s, 2), 0);
    }
    /* T3 has exited: T2 alone, its blocker no longer among the threads. */
    polite(s, round + 1);
    s[0].progress = round + 1;
    s[0].trying_blocker = 0;
    int n = tick(1610 * MS, s, 1);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(out[i].kind, LG_LIVE_STARVATION);
    s[0].failed_trys = s[0].backoffs = round + 2;
    n = tick(1710 * MS, s, 1);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(out[i].kind, LG_LIVE_STARVATION);
}

static void
test_one_thread_retrying_is_not_livelock(void **state)
{
    (void)state;
    /* T2 retries B held by T3, but T3 makes progress (not retrying). */
    struct lg_live_sample s[2] = { retrying(2, LOCK_B, 0, 3), running(3) };
    s[0].backoffs = 10;
    assert_int_equal(tick(10 * MS, s, 2), 0);
    s[0].backoffs = 5000;
    int n = tick(1100 * MS, s, 2);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(out[i].kind, LG_LIVE_LIVELOCK);
}

static void
test_livelock_of_three(void **state)
{
    (void)state;
    struct lg_live_sample s[3] = { retrying(2, LOCK_B, 0, 3), retrying(3, 103, 0, 4),
                                   retrying(4, LOCK_A, 0, 2) };
    assert_int_equal(tick(10 * MS, s, 3), 0);
    for (int i = 0; i < 3; i++)
        s[i].backoffs = 100;
    assert_int_equal(tick(1500 * MS, s, 3), 1);
    assert_int_equal(out[0].kind, LG_LIVE_LIVELOCK);
    assert_int_equal(out[0].n, 3);
}

static void
test_blocked_threads_are_not_livelocked(void **state)
{
    (void)state;
    struct lg_live_sample s[2];
    polite(s, 10);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    polite(s, 5000);
    s[1].block = LG_LIVE_LOCK;
    s[1].block_lock = LOCK_A;
    s[1].block_since_ns = 500 * MS; /* blocked for 600 ms of the window */
    int n = tick(1100 * MS, s, 2);
    for (int i = 0; i < n; i++)
        assert_int_not_equal(out[i].kind, LG_LIVE_LIVELOCK);
}

static void
test_short_waits_between_retries_are_still_livelock(void **state)
{
    (void)state;
    /* Caught in a barrier between two retries, blocked for 1 ms. */
    struct lg_live_sample s[2];
    polite(s, 10);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    polite(s, 5000);
    s[0].block = LG_LIVE_BARRIER;
    s[0].block_since_ns = 1099 * MS;
    assert_int_equal(tick(1100 * MS, s, 2), 1);
    assert_int_equal(out[0].kind, LG_LIVE_LIVELOCK);
}

static void
test_a_moment_blocked_elsewhere_keeps_the_episode(void **state)
{
    (void)state;
    /* At every tick one philosopher is caught waiting for another lock (a
     * meeting point's mutex) between two retries: its retry episode, and
     * the back-offs counted in it, must go on. */
    struct lg_live_sample s[2];
    polite(s, 10);
    assert_int_equal(tick(10 * MS, s, 2), 0);
    for (uint64_t ms = 100; ms < 1000; ms += 100) {
        polite(s, 10 + ms);
        s[ms % 200 ? 0 : 1].block = LG_LIVE_LOCK;
        s[ms % 200 ? 0 : 1].block_lock = 999;
        s[ms % 200 ? 0 : 1].block_since_ns = (ms - 1) * MS;
        assert_int_equal(tick(ms * MS, s, 2), 0);
    }
    polite(s, 5000);
    s[1].block = LG_LIVE_LOCK;
    s[1].block_lock = 999;
    s[1].block_since_ns = 1099 * MS;
    assert_int_equal(tick(1100 * MS, s, 2), 1);
    assert_int_equal(out[0].kind, LG_LIVE_LIVELOCK);
    assert_int_equal(out[0].members[0].backoffs + out[0].members[1].backoffs, 2 * 4990);
}

static void
test_stall_with_lost_wakeup(void **state)
{
    (void)state;
    struct lg_live_sample s[2] = { blocked(1, LG_LIVE_JOIN, 0, 0),
                                   blocked(2, LG_LIVE_COND, 100 * MS, 0) };
    assert_int_equal(tick(3000 * MS, s, 2), 0); /* T2 blocked only 2.9 s */
    assert_int_equal(tick(3100 * MS, s, 2), 1);
    assert_int_equal(out[0].kind, LG_LIVE_STALL);
    assert_int_equal(out[0].n, 2);
    assert_false(out[0].members[0].lost_wakeup);
    assert_true(out[0].members[1].lost_wakeup);
    assert_int_equal(tick(4000 * MS, s, 2), 0); /* once */
}

static void
test_running_thread_prevents_stall(void **state)
{
    (void)state;
    struct lg_live_sample s[2] = { blocked(1, LG_LIVE_COND, 0, 0), running(2) };
    assert_int_equal(tick(60000 * MS, s, 2), 0);
    /* A stall after somebody ran again is a new stall. */
    s[1] = blocked(2, LG_LIVE_SEM, 61000 * MS, 0);
    assert_int_equal(tick(64500 * MS, s, 2), 1);
    assert_int_equal(out[0].kind, LG_LIVE_STALL);
}

/* T1 joins T2; T2 exits, and T1, woken, has not run yet: T1 still looks
 * blocked, and since long ago. Until T2 exited it was running, so the
 * stall (if any) starts at the exit, not at T1's join. */
static void
test_stall_is_timed_from_the_last_thread_exit(void **state)
{
    (void)state;
    struct lg_live_sample s[1] = { blocked(1, LG_LIVE_JOIN, 0, 0) };
    lg_live_thread_gone(lv, 2900 * MS);
    lg_live_thread_gone(lv, 100 * MS); /* heard late: the newest exit counts */
    assert_int_equal(tick(3100 * MS, s, 1), 0);
    assert_int_equal(tick(5800 * MS, s, 1), 0);
    assert_int_equal(tick(5900 * MS, s, 1), 1); /* 3 s after the exit */
    assert_int_equal(out[0].kind, LG_LIVE_STALL);
    assert_int_equal(out[0].window_ns, 3000 * MS);
}

static void
test_jain(void **state)
{
    (void)state;
    uint64_t equal[] = { 5, 5, 5, 5 }, one[] = { 0, 0, 9, 0 }, zeros[] = { 0, 0 };
    assert_true(fabs(lg_live_jain(equal, 4) - 1.0) < 1e-12);
    assert_true(fabs(lg_live_jain(one, 4) - 0.25) < 1e-12);
    assert_true(lg_live_jain(zeros, 2) == 1.0);
    assert_true(lg_live_jain(NULL, 0) == 1.0);
}

static void
test_out_of_memory_is_an_error_not_a_crash(void **state)
{
    (void)state;
    for (long k = 0; k < 16; k++) {
        struct lg_live_sample s[2];
        polite(s, 10);
        fail_after = k;
        int r = tick(10 * MS + (uint64_t)k, s, 2);
        fail_after = -1;
        assert_true(r == 0 || r == -ENOMEM);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_starvation_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starvation_needs_enough_grants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starvation_needs_enough_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starvation_reported_once_per_episode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_holder_is_not_starvation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_burst_after_a_slow_holder_is_not_starvation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_waiter_starves_under_barging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crumbs_do_not_end_starvation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_tick_off_the_cpu_does_not_end_a_window, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_blocked_crumbs_are_starvation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_try_given_up_is_not_starvation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_episode_given_up_counts_a_tick_at_most, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_starving_is_under_one_percent_of_a_fair_share, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_percent_of_a_fair_share_is_not_starving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_just_under_one_percent_is_starving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fair_share_while_always_waiting_is_not_starvation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_for_a_holder_off_the_cpu_is_not_starvation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_passed_a_thousand_times_per_grant_is_starving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wanting_half_the_window_is_enough, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wanting_under_half_the_window_is_not_starvation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_sleeper_is_not_starving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starvation_share_zero_means_never_got_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_judged_window_is_told, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_undecided_window_is_told_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_livelock_reported_and_not_as_starvation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_livelock_not_starvation_when_one_member_is_a_tick_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_livelock_needs_backoffs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_mark_is_not_livelock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_retry_loop_whose_partner_left_is_not_starvation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_thread_retrying_is_not_livelock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_livelock_of_three, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_threads_are_not_livelocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_waits_between_retries_are_still_livelock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_moment_blocked_elsewhere_keeps_the_episode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_with_lost_wakeup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_running_thread_prevents_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_is_timed_from_the_last_thread_exit, setup,
                                        teardown),
        cmocka_unit_test(test_jain),
        cmocka_unit_test_setup_teardown(test_out_of_memory_is_an_error_not_a_crash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
