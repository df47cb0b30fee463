/*
 * Unit tests for lockgraph's lock-order graph (detectors/lockgraph/graph.c,
 * graph_cycle.c).
 *
 * Most tests run the graph "strict" (concurrent_only, no thread-order
 * callback): a cycle counts only when its acquisitions' threads are
 * pairwise different, GoodLock's original rule, so that what they check is
 * the search itself. The tests of the default, which also reports a cycle
 * one thread made alone and says which class a cycle is, say so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* ---- an allocator that counts, checks sizes, and fails on demand ------- */

struct tally {
    size_t live;        /* bytes handed out and not given back */
    uint64_t calls;     /* alloc calls so far */
    uint64_t fail_at;   /* fail exactly this call (1-based); 0: never */
    uint64_t failures;
};

#define TALLY_HDR 16 /* keeps the caller's block 16-byte aligned */

static void *
tally_alloc(void *ctx, size_t size)
{
    struct tally *t = ctx;
    if (++t->calls == t->fail_at) {
        t->failures++;
        return NULL;
    }
    unsigned char *p = calloc(1, size + TALLY_HDR);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    t->live += size;
    return p + TALLY_HDR;
}

static void
tally_free(void *ctx, void *p, size_t size)
{
    struct tally *t = ctx;
    unsigned char *b = (unsigned char *)p - TALLY_HDR;
    size_t was;
    memcpy(&was, b, sizeof was);
    assert_int_equal(was, size); /* the graph must give back what it asked for */
    assert_true(t->live >= size);
    t->live -= size;
    free(b);
}

/* GoodLock's rule: threads pairwise different (see the top). */
static const struct lg_graph_config strict = { .concurrent_only = true };

struct fx {
    struct tally t;
    struct lg_alloc a;
    struct lg_graph *g;
};

static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->a = (struct lg_alloc){ tally_alloc, tally_free, &f->t };
    if (lg_graph_new(&f->g, &f->a, &strict) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    lg_graph_free(f->g);
    assert_int_equal(f->t.live, 0); /* everything, cycles included, was freed */
    free(f);
    return 0;
}

/* A fresh graph; NULL config: strict. */
static void
fx_regraph(struct fx *f, const struct lg_graph_config *cfg)
{
    lg_graph_free(f->g);
    assert_int_equal(f->t.live, 0);
    assert_int_equal(lg_graph_new(&f->g, &f->a, cfg ? cfg : &strict), 0);
}

/* ---- helpers ----------------------------------------------------------- */

static lg_node_id
node(struct fx *f)
{
    lg_node_id id = LG_NODE_NONE;
    assert_int_equal(lg_graph_node_add(f->g, &id), 0);
    assert_true(id != LG_NODE_NONE);
    return id;
}

static struct lg_edge_label
lab(uint32_t thread)
{
    return (struct lg_edge_label){ .thread = thread };
}

/* The held set of these locks, held exclusively, gate[0] at the bottom. */
static lg_held_id
held_of(struct fx *f, const lg_node_id *locks, uint32_t n)
{
    lg_held_id h = LG_HELD_NONE;
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(lg_graph_held_add(f->g, h, locks[i], false, &h), 0);
    return h;
}

/* A label whose thread held exactly these locks (its gate set). */
static struct lg_edge_label
lab_gate(struct fx *f, uint32_t thread, const lg_node_id *gate, uint32_t ngate)
{
    return (struct lg_edge_label){ .thread = thread, .held = held_of(f, gate, ngate) };
}

/* Small, fixed-seed generator: every run sees the same graphs. */
static uint64_t
rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t
rnd_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)((rnd(s) >> 32) % n);
}

static bool
rnd_chance(uint64_t *s, uint32_t percent)
{
    return rnd_below(s, 100) < percent;
}

/* Add an edge and drop any cycle (its validity is checked elsewhere). */
static int
edge(struct fx *f, lg_node_id a, lg_node_id b, uint32_t thread)
{
    struct lg_edge_label l = lab(thread);
    return lg_graph_add_edge(f->g, a, b, &l, NULL);
}

static struct lg_graph_stats
stats(struct fx *f)
{
    struct lg_graph_stats s;
    lg_graph_stats(f->g, &s);
    return s;
}

static bool
gates_disjoint(struct fx *f, const struct lg_cycle_step *a, const struct lg_cycle_step *b)
{
    lg_node_id ga[64], gb[64];
    bool sa[64], sb[64];
    uint32_t na = lg_graph_held_members(f->g, a->label.held, ga, sa, 64);
    uint32_t nb = lg_graph_held_members(f->g, b->label.held, gb, sb, 64);
    if (a->label.held == LG_HELD_NONE) {
        na = 1;
        ga[0] = a->from;
        sa[0] = a->label.from_shared;
    }
    if (b->label.held == LG_HELD_NONE) {
        nb = 1;
        gb[0] = b->from;
        sb[0] = b->label.from_shared;
    }
    assert_true(na <= 64 && nb <= 64);
    for (uint32_t i = 0; i < na; i++)
        for (uint32_t j = 0; j < nb; j++)
            if (ga[i] == gb[j] && !(sa[i] && sb[j]))
                return false;
    return true;
}

static bool
label_same(const struct lg_edge_label *a, const struct lg_edge_label *b)
{
    return a->thread == b->thread && a->from_shared == b->from_shared
           && a->to_shared == b->to_shared && a->held == b->held;
}

/* The mode in which a step's acquisition held `lock` (-1: not held). */
static int
step_mode(struct fx *f, const struct lg_cycle_step *s, lg_node_id lock)
{
    int m = lg_graph_held_mode(f->g, s->label.held, lock);
    if (m < 0 && lock == s->from && (s->label.held == LG_HELD_NONE || s->nvia == 0))
        m = s->label.from_shared;
    return m;
}

/* A reported cycle: starts with the new edge and label, chains, is simple,
 * and obeys every GoodLock rule of graph.h. */
static void
assert_cycle_valid(struct fx *f, const struct lg_cycle *c, lg_node_id from, lg_node_id to,
                   const struct lg_edge_label *l0)
{
    assert_non_null(c);
    assert_true(c->n >= 2);
    /* steps[0] is the new acquisition: from `from`, or from a lock it held
     * below `from` (then `from` is its via). */
    assert_true(c->steps[0].from == from
                || (c->steps[0].nvia == 1 && c->steps[0].via[0] == from));
    assert_true(c->steps[0].to == to);
    assert_true(label_same(&c->steps[0].label, l0));
    assert_true(c->steps[0].label.payload == l0->payload);
    for (uint32_t i = 0; i < c->n; i++) {
        const struct lg_cycle_step *s = &c->steps[i], *nx = &c->steps[(i + 1) % c->n];
        assert_true(s->to == nx->from);
        /* It held what it depends on; readers do not block readers. */
        if (i > 0 || s->from == from)
            assert_true(step_mode(f, s, s->from) >= 0);
        assert_false(s->label.to_shared && step_mode(f, nx, nx->from) == 1);
        for (uint32_t j = i + 1; j < c->n; j++) {
            assert_true(s->from != c->steps[j].from);
            if (c->klass == LG_CYCLE_CONCURRENT)
                assert_true(s->label.thread != c->steps[j].label.thread);
            assert_true(gates_disjoint(f, s, &c->steps[j]));
        }
    }
}

/* ---- basics ------------------------------------------------------------ */

static void
test_graph_empty(void **state)
{
    struct fx *f = *state;
    struct lg_graph_stats s = stats(f);
    assert_int_equal(s.nodes + s.edges + s.labels + s.labels_replaced + s.held_sets
                         + s.held_sets_refused + s.searches_truncated + s.reorders,
                     0);
    assert_false(lg_graph_node_live(f->g, LG_NODE_NONE));
    assert_false(lg_graph_node_live(f->g, 12345));
    assert_int_equal(lg_graph_node_remove(f->g, LG_NODE_NONE), -ENOENT);
    assert_false(lg_graph_held_live(f->g, LG_HELD_NONE));
    assert_false(lg_graph_held_live(f->g, 12345));
    lg_graph_held_release(f->g, 12345);
    lg_cycle_free(f->g, NULL);
}

static void
test_node_ids_never_reused(void **state)
{
    struct fx *f = *state;
    enum { ROUNDS = 2000 };
    lg_node_id *ids = calloc(ROUNDS, sizeof *ids);
    assert_non_null(ids);
    lg_node_id keep = node(f);
    for (int i = 0; i < ROUNDS; i++) {
        ids[i] = node(f);
        assert_true(lg_graph_node_live(f->g, ids[i]));
        if (i % 3 != 2) /* some stay, most go: slots are recycled */
            assert_int_equal(lg_graph_node_remove(f->g, ids[i]), 0);
    }
    for (int i = 0; i < ROUNDS; i++) {
        assert_true(ids[i] != keep);
        for (int j = i + 1; j < ROUNDS; j++)
            assert_true(ids[i] != ids[j]);
        assert_int_equal(lg_graph_node_live(f->g, ids[i]), i % 3 == 2);
        if (i % 3 != 2) {
            assert_int_equal(lg_graph_node_remove(f->g, ids[i]), -ENOENT);
            assert_int_equal(edge(f, keep, ids[i], 1), -EINVAL);
            assert_int_equal(edge(f, ids[i], keep, 1), -EINVAL);
        }
    }
    assert_int_equal(stats(f).nodes, 1 + ROUNDS / 3);
    assert_int_equal(stats(f).edges, 0);
    free(ids);
}

/* Slots (lg_node_slot) are dense, and two live nodes never share one: the
 * runtime keeps its node -> lock table by slot. */
static void
test_node_slots_are_dense_and_distinct(void **state)
{
    struct fx *f = *state;
    enum { N = 3000 };
    static lg_node_id ids[N];
    static unsigned char used[N];
    memset(used, 0, sizeof used);
    for (int i = 0; i < N; i++)
        ids[i] = node(f);
    for (int i = 0; i < N; i += 2) /* half go; their slots are free again */
        assert_int_equal(lg_graph_node_remove(f->g, ids[i]), 0);
    for (int i = 0; i < N; i += 2)
        ids[i] = node(f);
    for (int i = 0; i < N; i++) {
        uint32_t slot = lg_node_slot(ids[i]);
        assert_true(slot < N); /* N live nodes: slots 0 .. N-1 */
        assert_false(used[slot]);
        used[slot] = 1;
    }
}

static void
test_add_edge_rejects_bad_input(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), dead = node(f);
    struct lg_edge_label l = lab(1), bad = lab(1);
    struct lg_cycle sentinel, *c = &sentinel; /* must be reset to NULL */

    assert_int_equal(lg_graph_add_edge(f->g, a, a, &l, &c), -EINVAL);
    assert_null(c);
    assert_int_equal(lg_graph_add_edge(f->g, a, LG_NODE_NONE, &l, NULL), -EINVAL);
    assert_int_equal(lg_graph_add_edge(f->g, LG_NODE_NONE, b, &l, NULL), -EINVAL);
    assert_int_equal(lg_graph_add_edge(f->g, a, b + ((lg_node_id)7 << 32), &l, NULL), -EINVAL);
    assert_int_equal(lg_graph_add_edge(f->g, a, b + 1000, &l, NULL), -EINVAL);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, NULL, NULL), -EINVAL);
    /* A held set that does not exist, or no longer does. */
    bad.held = 12345;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &bad, NULL), -EINVAL);
    assert_int_equal(lg_graph_label_status(f->g, a, b, &bad, NULL), -EINVAL);
    lg_held_id h;
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, a, false, &h), 0);
    lg_graph_held_release(f->g, h); /* nothing used it */
    assert_false(lg_graph_held_live(f->g, h));
    bad.held = h;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &bad, NULL), -EINVAL);
    /* Held sets need live parts. */
    assert_int_equal(lg_graph_held_add(f->g, h, a, false, &h), -EINVAL);
    assert_int_equal(lg_graph_node_remove(f->g, dead), 0);
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, dead, false, &h), -EINVAL);
    assert_int_equal(stats(f).edges, 0);
    assert_int_equal(stats(f).labels, 0);
    assert_int_equal(stats(f).held_sets, 0);
}

/* ---- cycles that must be reported -------------------------------------- */

static void
test_cycle_two_locks_two_threads(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f);
    struct lg_edge_label l1 = lab(1), l2 = lab(2);
    struct lg_cycle *c = NULL;

    l2.payload = 77;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &l1, &c), LG_EDGE_ADDED);
    assert_null(c);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l2, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &l2);
    assert_int_equal(c->n, 2);
    assert_true(c->steps[1].from == a && c->steps[1].to == b);
    assert_int_equal(c->steps[1].label.thread, 1);
    lg_cycle_free(f->g, c);
    /* Reported without asking for the cycle too. */
    lg_node_id x = node(f), y = node(f);
    assert_int_equal(edge(f, x, y, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, y, x, 2), LG_EDGE_CYCLE);
}

static void
test_cycle_three_locks(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c3 = node(f);
    struct lg_edge_label l = lab(3);
    struct lg_cycle *c = NULL;

    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c3, 2), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, c3, a, &l, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, c3, a, &l);
    assert_int_equal(c->n, 3);
    assert_true(c->steps[1].from == a && c->steps[2].from == b);
    lg_cycle_free(f->g, c);
}

static void
shuffle(uint32_t *a, uint32_t n, uint64_t *s)
{
    for (uint32_t i = 0; i < n; i++)
        a[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rnd_below(s, i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* n locks in a ring, one thread per edge. seed 0: locks created and edges
 * added in ring order; otherwise both orders are shuffled, so most edges go
 * against the order and the repairs run over long windows. */
static void
check_ring(struct fx *f, uint32_t n, uint64_t seed)
{
    lg_node_id *id = calloc(n, sizeof *id);
    uint32_t *perm = calloc(n, sizeof *perm);
    assert_true(id && perm);
    uint64_t s = seed;
    if (seed)
        shuffle(perm, n, &s);
    for (uint32_t i = 0; i < n; i++)
        id[seed ? perm[i] : i] = node(f);
    if (seed)
        shuffle(perm, n - 1, &s);
    for (uint32_t k = 0; k + 1 < n; k++) {
        uint32_t i = seed ? perm[k] : k;
        assert_int_equal(edge(f, id[i], id[i + 1], 100 + i), LG_EDGE_ADDED);
    }
    struct lg_edge_label l = lab(99);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, id[n - 1], id[0], &l, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, id[n - 1], id[0], &l);
    assert_int_equal(c->n, n);
    for (uint32_t i = 1; i < n; i++)
        assert_true(c->steps[i].from == id[i - 1]);
    lg_cycle_free(f->g, c);
    assert_int_equal(stats(f).searches_truncated, 0);
    if (seed)
        assert_true(stats(f).reorders > 0);
    free(id);
    free(perm);
}

static void
test_cycle_thirty_locks(void **state)
{
    check_ring(*state, 30, 0);
}

static void
test_cycle_thirty_locks_shuffled(void **state)
{
    struct fx *f = *state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        fx_regraph(f, NULL);
        check_ring(f, 30, seed);
    }
}

static void
test_cycle_thousand_locks(void **state)
{
    check_ring(*state, 1000, 7);
}

/* ---- cycles that must not be reported ---------------------------------- */

static void
test_no_report_one_thread(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, a, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, c, a, 1), LG_EDGE_ADDED);
    assert_int_equal(stats(f).edges, 4);
}

static void
test_no_report_common_gate(void **state)
{
    struct fx *f = *state;
    lg_node_id g1 = node(f), g2 = node(f), a = node(f), b = node(f);
    lg_node_id both[] = { g1, g2 }, only1[] = { g1 }, only2[] = { g2 };
    struct lg_edge_label l1 = lab_gate(f, 1, only1, 1), l2 = lab_gate(f, 2, both, 2);

    assert_int_equal(lg_graph_add_edge(f->g, a, b, &l1, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l2, NULL), LG_EDGE_ADDED);
    /* A third thread guarded by g2 alone is not excluded by thread 1. */
    struct lg_edge_label l3 = lab_gate(f, 3, only2, 1);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l3, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &l3);
    assert_int_equal(c->steps[1].label.thread, 1);
    lg_cycle_free(f->g, c);
}

static void
test_no_report_readers(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f);
    /* rdlock(a); rdlock(b) against rdlock(b); rdlock(a): readers do not block. */
    struct lg_edge_label r1 = { .thread = 1, .from_shared = true, .to_shared = true };
    struct lg_edge_label r2 = { .thread = 2, .from_shared = true, .to_shared = true };
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &r1, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &r2, NULL), LG_EDGE_ADDED);
    /* Thread 3 read-holds b and write-wants a; thread 1 only read-wants b,
     * so thread 3 never blocks thread 1: still no deadlock. */
    struct lg_edge_label w3 = { .thread = 3, .from_shared = true, .to_shared = false };
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &w3, NULL), LG_EDGE_ADDED);
    /* A writer on the lock read by the other side deadlocks. */
    struct lg_edge_label w4 = { .thread = 4, .from_shared = false, .to_shared = false };
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &w4, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &w4);
    lg_cycle_free(f->g, c);
}

static void
test_readers_rule_at_the_closing_lock(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f);
    /* Thread 2 holds b and read-wants a; then thread 1, read-holding a, takes
     * b: the shared lock is a, between the last step and the new edge. */
    struct lg_edge_label l2 = { .thread = 2, .to_shared = true };
    struct lg_edge_label l1 = { .thread = 1, .from_shared = true };
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l2, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &l1, NULL), LG_EDGE_ADDED);
    /* The same with a write-held a deadlocks. */
    struct lg_edge_label l3 = { .thread = 3 };
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &l3, NULL), LG_EDGE_CYCLE);
}

static void
test_three_cycle_same_thread_twice(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c, 2), LG_EDGE_ADDED);
    assert_int_equal(edge(f, c, a, 1), LG_EDGE_ADDED); /* thread 1 twice */
    /* A third thread on c -> a makes it real. */
    struct lg_edge_label l3 = lab(3);
    struct lg_cycle *cy = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, c, a, &l3, &cy), LG_EDGE_CYCLE);
    assert_cycle_valid(f, cy, c, a, &l3);
    assert_int_equal(cy->n, 3);
    lg_cycle_free(f->g, cy);
}

static void
test_three_cycle_other_label_choice_works(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, a, b, 3), LG_EDGE_ADDED); /* a second label */
    assert_int_equal(edge(f, b, c, 2), LG_EDGE_ADDED);
    struct lg_edge_label l1 = lab(1);
    struct lg_cycle *cy = NULL;
    /* Thread 1 cannot use its own a -> b, but thread 3's label works. */
    assert_int_equal(lg_graph_add_edge(f->g, c, a, &l1, &cy), LG_EDGE_CYCLE);
    assert_cycle_valid(f, cy, c, a, &l1);
    assert_int_equal(cy->steps[1].label.thread, 3);
    lg_cycle_free(f->g, cy);
}

static void
test_backtracks_over_labels_along_the_path(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f), d = node(f);
    /* a->b {2, 3}, b->c {2}, c->d {3, 4}; then d->a by 1. The first label
     * on a->b (thread 2) clashes with b->c; only 3, 2, 4 works. */
    assert_int_equal(edge(f, a, b, 2), LG_EDGE_ADDED);
    assert_int_equal(edge(f, a, b, 3), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c, 2), LG_EDGE_ADDED);
    assert_int_equal(edge(f, c, d, 3), LG_EDGE_ADDED);
    assert_int_equal(edge(f, c, d, 4), LG_EDGE_ADDED);
    struct lg_edge_label l1 = lab(1);
    struct lg_cycle *cy = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, d, a, &l1, &cy), LG_EDGE_CYCLE);
    assert_cycle_valid(f, cy, d, a, &l1);
    assert_int_equal(cy->n, 4);
    assert_int_equal(cy->steps[1].label.thread, 3);
    assert_int_equal(cy->steps[3].label.thread, 4);
    lg_cycle_free(f->g, cy);
}

static void
test_only_simple_cycles_count(void **state)
{
    struct fx *f = *state;
    lg_node_id u = node(f), v = node(f), w = node(f), x = node(f);
    /* v -> w read-wants w and w -> u read-holds it: no deadlock that way.
     * The walk v, w, x, w, u obeys every pairwise rule, but it passes w
     * twice (threads 4 and 3 cannot both hold w): it is not a cycle. */
    struct lg_edge_label vw = { .thread = 2, .to_shared = true };
    struct lg_edge_label wu = { .thread = 3, .from_shared = true };
    assert_int_equal(lg_graph_add_edge(f->g, v, w, &vw, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, w, u, &wu, NULL), LG_EDGE_ADDED);
    assert_int_equal(edge(f, w, x, 4), LG_EDGE_ADDED);
    assert_int_equal(edge(f, x, w, 5), LG_EDGE_CYCLE); /* w <-> x is one */
    assert_int_equal(edge(f, u, v, 1), LG_EDGE_ADDED);
}

static void
test_cycle_owns_its_memory(void **state)
{
    struct fx *f = *state;
    lg_node_id g1 = node(f), g2 = node(f), a = node(f), b = node(f);
    lg_node_id ga[] = { g1 }, gb[] = { g2 };
    struct lg_edge_label la = lab_gate(f, 1, ga, 1), lb = lab_gate(f, 2, gb, 1);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &la, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &lb, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &lb);
    /* The graph's edges go away; the cycle keeps its steps. */
    assert_int_equal(lg_graph_node_remove(f->g, a), 0);
    assert_int_equal(lg_graph_node_remove(f->g, b), 0);
    assert_int_equal(stats(f).edges, 0);
    assert_true(c->steps[0].from == b && c->steps[0].to == a);
    assert_true(c->steps[1].from == a && c->steps[1].to == b);
    assert_int_equal(c->steps[1].label.thread, 1);
    assert_true(c->steps[1].label.held == la.held);
    lg_cycle_free(f->g, c);
    /* No label uses the gate sets any more: they went with the edges (g2's
     * was never stored: its label closed the cycle and was stored, then
     * dropped with b). */
    assert_int_equal(stats(f).held_sets, 0);
}

static void
test_new_label_on_existing_edge_completes_cycle(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, a, 1), LG_EDGE_ADDED); /* benign: one thread */
    struct lg_edge_label l2 = lab(2);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l2, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &l2);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->steps[1].label.thread, 1);
    lg_cycle_free(f->g, c);
    assert_int_equal(stats(f).edges, 2);
    assert_int_equal(stats(f).labels, 3);
}

static void
test_benign_cycle_stays_for_later_cycles(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, a, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c, 2), LG_EDGE_ADDED);
    struct lg_edge_label l3 = lab(3);
    struct lg_cycle *cy = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, c, a, &l3, &cy), LG_EDGE_CYCLE);
    assert_cycle_valid(f, cy, c, a, &l3);
    assert_int_equal(cy->n, 3);
    assert_true(cy->steps[1].from == a && cy->steps[1].to == b);
    lg_cycle_free(f->g, cy);
}

static void
test_shortest_cycle_is_reported(void **state)
{
    struct fx *f = *state;
    lg_node_id x = node(f), y = node(f), z = node(f), w = node(f);
    assert_int_equal(edge(f, y, z, 3), LG_EDGE_ADDED);
    assert_int_equal(edge(f, z, w, 4), LG_EDGE_ADDED);
    assert_int_equal(edge(f, w, x, 5), LG_EDGE_ADDED);
    assert_int_equal(edge(f, y, x, 2), LG_EDGE_ADDED);
    struct lg_edge_label l1 = lab(1);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, x, y, &l1, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, x, y, &l1);
    assert_int_equal(c->n, 2);
    lg_cycle_free(f->g, c);
    /* When the short one is one thread's own, the long one is found. */
    struct lg_edge_label l2 = lab(2);
    assert_int_equal(lg_graph_add_edge(f->g, x, y, &l2, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, x, y, &l2);
    assert_int_equal(c->n, 4);
    lg_cycle_free(f->g, c);
}

struct dump {
    uint32_t n;
    struct {
        lg_node_id from, to;
        uint32_t nlabels;
        uint32_t threads[16], epochs[16], epochs_last[16];
        uint64_t payloads[16];
        bool cyclic;
    } e[64];
};

static void
dump_visit(void *ctx, lg_node_id from, lg_node_id to, const struct lg_edge_label *labels,
           uint32_t nlabels, bool cyclic)
{
    struct dump *d = ctx;
    assert_true(d->n < 64);
    d->e[d->n].from = from;
    d->e[d->n].to = to;
    d->e[d->n].nlabels = nlabels;
    d->e[d->n].cyclic = cyclic;
    for (uint32_t i = 0; i < nlabels && i < 16; i++) {
        d->e[d->n].threads[i] = labels[i].thread;
        d->e[d->n].epochs[i] = labels[i].epoch;
        d->e[d->n].epochs_last[i] = labels[i].epoch_last;
        d->e[d->n].payloads[i] = labels[i].payload;
    }
    d->n++;
}

/* ---- labels ------------------------------------------------------------ */

/* A label whose gate set contains another label's (same thread and modes)
 * adds nothing: every cycle it could close, the narrower one closes. */
static void
test_equal_label_is_known(void **state)
{
    struct fx *f = *state;
    lg_node_id g1 = node(f), g2 = node(f), a = node(f), b = node(f);
    lg_node_id small[] = { g1 }, big[] = { g1, g2 };
    struct lg_edge_label narrow = lab_gate(f, 1, small, 1), wide = lab_gate(f, 1, big, 2);
    struct lg_edge_label other = lab_gate(f, 2, big, 2), shared = lab_gate(f, 1, big, 2);
    shared.from_shared = true;
    narrow.payload = 42;
    assert_int_equal(lg_graph_label_status(f->g, a, b, &narrow, NULL), LG_LABEL_NEW);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &narrow, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_label_status(f->g, a, b, &narrow, NULL), LG_LABEL_KNOWN);
    /* A wider held set is another label: it can carry a dependency on g2
     * that the narrow one cannot (graph.h), so it is kept. */
    assert_int_equal(lg_graph_label_status(f->g, a, b, &wide, NULL), LG_LABEL_NEW);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &wide, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &wide, NULL), LG_EDGE_KNOWN);
    uint64_t evidence = 99;
    assert_int_equal(lg_graph_label_status(f->g, a, b, &other, &evidence), LG_LABEL_NEW);
    assert_int_equal(evidence, 0); /* thread 2 never took a -> b */
    evidence = 0;
    assert_int_equal(lg_graph_label_status(f->g, a, b, &shared, &evidence), LG_LABEL_NEW);
    assert_int_equal(evidence, 42); /* thread 1's stack for a -> b, to share */
    struct lg_edge_label back = lab(3);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &back, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &back);
    lg_cycle_free(f->g, c);
    assert_int_equal(stats(f).labels, 3);
    assert_int_equal(lg_graph_label_status(f->g, a, a, &narrow, NULL), -EINVAL);
}

static void
test_label_dedupe_is_known(void **state)
{
    struct fx *f = *state;
    lg_node_id g1 = node(f), a = node(f), b = node(f);
    lg_node_id gate[] = { g1 };
    struct lg_edge_label l = lab_gate(f, 1, gate, 1);
    l.payload = 1;
    l.epoch = 5;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &l, NULL), LG_EDGE_ADDED);
    /* The same set again is the same id: interned. */
    struct lg_edge_label same = lab_gate(f, 1, gate, 1);
    assert_true(same.held == l.held);
    same.payload = 2; /* another stack is not another label */
    same.epoch = 9;   /* a later time moves the stored label's last epoch */
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &same, NULL), LG_EDGE_KNOWN);
    same.epoch = 7;   /* ... and never back */
    assert_int_equal(lg_graph_label_status(f->g, a, b, &same, NULL), LG_LABEL_KNOWN);
    struct lg_edge_label ungated = lab(1), shared = lab_gate(f, 1, gate, 1);
    shared.to_shared = true;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &ungated, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &shared, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &shared, NULL), LG_EDGE_KNOWN);
    assert_int_equal(stats(f).labels, 3);
    assert_int_equal(stats(f).edges, 1);
    assert_int_equal(stats(f).labels_replaced, 0);
    struct dump d = { 0 };
    lg_graph_each_edge(f->g, dump_visit, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.e[0].nlabels, 3);
    bool seen = false; /* labels are kept in their own order: find l's */
    for (uint32_t i = 0; i < d.e[0].nlabels; i++)
        if (d.e[0].payloads[i] == 1) {
            assert_int_equal(d.e[0].epochs[i], 5);
            assert_int_equal(d.e[0].epochs_last[i], 9);
            seen = true;
        }
    assert_true(seen);
}

static void
test_thread_variants_are_bounded(void **state)
{
    struct fx *f = *state;
    struct lg_graph_config cfg = strict;
    cfg.threads_per_class = 3;
    fx_regraph(f, &cfg);
    lg_node_id a = node(f), b = node(f);
    for (uint32_t t = 1; t <= 3; t++)
        assert_int_equal(edge(f, a, b, t), LG_EDGE_ADDED);
    /* A newer thread takes the place of the oldest; an older one adds
     * nothing; a known one is known. */
    assert_int_equal(edge(f, a, b, 4), LG_EDGE_ADDED);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_KNOWN);
    assert_int_equal(edge(f, a, b, 3), LG_EDGE_KNOWN);
    struct lg_graph_stats s = stats(f);
    assert_int_equal(s.labels, 3);
    assert_int_equal(s.labels_replaced, 1);
    struct dump d = { 0 };
    lg_graph_each_edge(f->g, dump_visit, &d);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.e[0].nlabels, 3);
    assert_int_equal(d.e[0].threads[0], 4);
    assert_int_equal(d.e[0].threads[1], 2);
    assert_int_equal(d.e[0].threads[2], 3);
    /* Another mode is another class, with room of its own. */
    struct lg_edge_label r = { .thread = 5, .to_shared = true };
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &r, NULL), LG_EDGE_ADDED);
    assert_int_equal(stats(f).labels, 4);
}

/* One edge taken under hundreds of held sets (a thread that locks objects
 * chosen at run time): its labels are found by class through the edge's
 * index, across every growth of the block, thread variants included, and
 * the cycle search still sees every one of them. */
static void
test_many_held_sets_on_one_edge(void **state)
{
    struct fx *f = *state;
    enum { N = 300 };
    lg_node_id a = node(f), b = node(f), lone = node(f), g[N];
    for (uint32_t i = 0; i < N; i++)
        g[i] = node(f);
    struct lg_edge_label gated[N];
    for (uint32_t i = 0; i < N; i++) {
        lg_node_id set[] = { g[i], a };
        gated[i] = lab_gate(f, 1, set, 2);
        assert_int_equal(lg_graph_label_status(f->g, a, b, &gated[i], NULL), LG_LABEL_NEW);
        assert_int_equal(lg_graph_add_edge(f->g, a, b, &gated[i], NULL), LG_EDGE_ADDED);
        /* Every class stored so far is still found (the index was rebuilt
         * at 24, 48, 96, 192 labels). */
        for (uint32_t j = 0; j <= i; j += 1 + i / 16)
            assert_int_equal(lg_graph_label_status(f->g, a, b, &gated[j], NULL),
                             LG_LABEL_KNOWN);
    }
    assert_int_equal(stats(f).labels, N);
    /* Thread variants of one class, on the indexed edge: four are kept, a
     * newer thread replaces the oldest in its slot, an older one is known. */
    for (uint32_t t = 2; t <= 5; t++) {
        struct lg_edge_label v = gated[7];
        v.thread = t;
        assert_int_equal(lg_graph_add_edge(f->g, a, b, &v, NULL), LG_EDGE_ADDED);
    }
    assert_int_equal(stats(f).labels, N + 3);
    assert_int_equal(stats(f).labels_replaced, 1);
    assert_int_equal(lg_graph_label_status(f->g, a, b, &gated[7], NULL), LG_LABEL_KNOWN);
    assert_int_equal(lg_graph_label_status(f->g, a, b, &gated[8], NULL), LG_LABEL_KNOWN);
    struct lg_edge_label other = gated[8];
    other.to_shared = true; /* another mode is another class */
    assert_int_equal(lg_graph_label_status(f->g, a, b, &other, NULL), LG_LABEL_NEW);

    /* b -> a by a thread holding every gate: each a -> b label shares one
     * with it, so there is no cycle. */
    lg_node_id all[N + 1];
    memcpy(all, g, sizeof g);
    all[N] = b;
    struct lg_edge_label back = lab_gate(f, 2, all, N + 1);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &back, NULL), LG_EDGE_ADDED);
    /* One a -> b label that no gate protects closes the cycle ... */
    lg_node_id set[] = { lone, a };
    struct lg_edge_label open = lab_gate(f, 1, set, 2);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &open, &c), LG_EDGE_CYCLE);
    assert_non_null(c);
    assert_int_equal(c->n, 2);
    assert_true(c->steps[0].label.held == open.held);
    lg_cycle_free(f->g, c);
    /* ... and is found among the N + 4 labels of a -> b when another
     * thread takes b -> a the same way. */
    struct lg_edge_label back3 = back;
    back3.thread = 3;
    c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &back3, &c), LG_EDGE_CYCLE);
    assert_non_null(c);
    assert_int_equal(c->n, 2);
    assert_true(c->steps[0].label.held == back.held);
    assert_true(c->steps[1].label.held == open.held);
    lg_cycle_free(f->g, c);
}

static void
test_thread_variants_default_is_four(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f);
    for (uint32_t t = 1; t <= 4; t++)
        assert_int_equal(edge(f, a, b, t), LG_EDGE_ADDED);
    assert_int_equal(edge(f, a, b, 9), LG_EDGE_ADDED);
    assert_int_equal(stats(f).labels, 4);
    assert_int_equal(stats(f).labels_replaced, 1);
}

static void
test_replacing_label_is_checked(void **state)
{
    struct fx *f = *state;
    struct lg_graph_config cfg = strict;
    cfg.threads_per_class = 1;
    fx_regraph(f, &cfg);
    lg_node_id a = node(f), b = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, a, 1), LG_EDGE_ADDED);
    struct lg_edge_label l2 = lab(2);
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l2, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &l2);
    lg_cycle_free(f->g, c);
    assert_int_equal(stats(f).labels_replaced, 1);
    assert_int_equal(stats(f).labels, 2);
}

/* ---- removal ----------------------------------------------------------- */

static void
test_dense_graph_finds_its_edges(void **state)
{
    struct fx *f = *state;
    enum { N = 12 };
    lg_node_id a[N], b[N];
    for (int i = 0; i < N; i++) {
        a[i] = node(f);
        b[i] = node(f);
    }
    /* Every lock has many edges: lookups go through the edge table. */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            assert_int_equal(edge(f, a[i], b[j], 1), LG_EDGE_ADDED);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            assert_int_equal(edge(f, a[i], b[j], 1), LG_EDGE_KNOWN);
            assert_int_equal(edge(f, a[i], b[j], 2), LG_EDGE_ADDED);
        }
    assert_int_equal(stats(f).edges, N * N);
    assert_int_equal(stats(f).labels, 2 * N * N);
    /* Degrees fall below the scanning threshold again; lookups still work. */
    for (int i = 0; i < N - 2; i++)
        assert_int_equal(lg_graph_node_remove(f->g, a[i]), 0);
    for (int i = N - 2; i < N; i++)
        for (int j = 0; j < N; j++)
            assert_int_equal(edge(f, a[i], b[j], 2), LG_EDGE_KNOWN);
    assert_int_equal(stats(f).edges, 2 * N);
    assert_int_equal(edge(f, b[3], a[N - 1], 3), LG_EDGE_CYCLE);
    assert_int_equal(edge(f, b[3], a[N - 1], 3), LG_EDGE_KNOWN);
}

struct churn_count {
    uint64_t edges;
};

static void
churn_visit(void *ctx, lg_node_id from, lg_node_id to, const struct lg_edge_label *labels,
            uint32_t nlabels, bool cyclic)
{
    (void)from, (void)to, (void)labels, (void)cyclic;
    assert_int_equal(nlabels, 1);
    ((struct churn_count *)ctx)->edges++;
}

static void
test_dense_graph_churn(void **state)
{
    struct fx *f = *state;
    enum { N = 24 };
    for (uint64_t seed = 1; seed <= 6; seed++) {
        uint64_t s = seed * 0xA0761D6478BD642FULL;
        fx_regraph(f, NULL);
        lg_node_id id[N];
        bool adj[N][N] = { { false } };
        uint64_t edges = 0;
        for (int i = 0; i < N; i++)
            id[i] = node(f);
        for (int step = 0; step < 3000; step++) {
            if (rnd_chance(&s, 3)) {
                /* The slot is reused at once: stale table entries would show. */
                uint32_t x = rnd_below(&s, N);
                assert_int_equal(lg_graph_node_remove(f->g, id[x]), 0);
                for (int j = 0; j < N; j++) {
                    edges -= adj[x][j] + adj[j][x];
                    adj[x][j] = adj[j][x] = false;
                }
                id[x] = node(f);
                continue;
            }
            uint32_t a = rnd_below(&s, N), b = rnd_below(&s, N - 1);
            b += b >= a;
            /* One thread: cycles are benign, so the answer is only new / known. */
            assert_int_equal(edge(f, id[a], id[b], 1), adj[a][b] ? LG_EDGE_KNOWN : LG_EDGE_ADDED);
            edges += !adj[a][b];
            adj[a][b] = true;
        }
        struct churn_count c = { 0 };
        lg_graph_each_edge(f->g, churn_visit, &c);
        assert_int_equal(c.edges, edges);
        assert_int_equal(stats(f).edges, edges);
    }
}

static void
test_remove_drops_edges(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f), d = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, d, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, a, b, 2), LG_EDGE_ADDED);
    assert_int_equal(edge(f, a, c, 1), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_node_remove(f->g, b), 0);
    assert_false(lg_graph_node_live(f->g, b));
    assert_int_equal(lg_graph_node_remove(f->g, b), -ENOENT);
    assert_int_equal(edge(f, a, b, 1), -EINVAL);
    struct lg_graph_stats s = stats(f);
    assert_int_equal(s.nodes, 3);
    assert_int_equal(s.edges, 1);
    assert_int_equal(s.labels, 1);
    struct dump dd = { 0 };
    lg_graph_each_edge(f->g, dump_visit, &dd);
    assert_int_equal(dd.n, 1);
    assert_true(dd.e[0].from == a && dd.e[0].to == c);
    /* A new lock (maybe in b's slot) is a new node with no edges. */
    lg_node_id b2 = node(f);
    assert_true(b2 != b);
    assert_int_equal(edge(f, a, b2, 1), LG_EDGE_ADDED);
    assert_int_equal(stats(f).edges, 2);
}

static void
test_removed_node_breaks_cycle(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c, 2), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_node_remove(f->g, b), 0);
    assert_int_equal(edge(f, c, a, 3), LG_EDGE_ADDED);
    /* Inside a component that removal does not split. */
    lg_node_id p = node(f), q = node(f), r = node(f);
    assert_int_equal(edge(f, p, q, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, q, r, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, r, p, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, q, p, 2), LG_EDGE_CYCLE);
    assert_int_equal(lg_graph_node_remove(f->g, q), 0);
    assert_int_equal(edge(f, p, r, 3), LG_EDGE_CYCLE); /* r -> p by 1 is left */
    assert_int_equal(lg_graph_node_remove(f->g, r), 0);
    lg_node_id s = node(f);
    assert_int_equal(edge(f, p, s, 4), LG_EDGE_ADDED);
    assert_int_equal(edge(f, s, p, 4), LG_EDGE_ADDED);
    assert_int_equal(edge(f, s, p, 5), LG_EDGE_CYCLE);
}

/* ---- order maintenance, stats, visiting -------------------------------- */

static void
test_reorders_are_counted(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED); /* agrees with the order */
    assert_int_equal(stats(f).reorders, 0);
    lg_node_id c = node(f);
    assert_int_equal(edge(f, c, a, 1), LG_EDGE_ADDED); /* c has no in-edges: front */
    assert_int_equal(stats(f).reorders, 1);
    lg_node_id d = node(f), e = node(f), x = node(f);
    assert_int_equal(edge(f, e, x, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, x, d, 1), LG_EDGE_ADDED); /* d has no out-edges: back */
    assert_int_equal(stats(f).reorders, 2);
    /* s has an in-edge and p an out-edge: the window between is repaired. */
    lg_node_id p = node(f), q = node(f), r = node(f), s = node(f);
    assert_int_equal(edge(f, p, q, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, r, s, 2), LG_EDGE_ADDED);
    assert_int_equal(edge(f, s, p, 3), LG_EDGE_ADDED);
    assert_int_equal(stats(f).reorders, 3);
    /* The repaired order still finds the cycle r -> s -> p -> q -> r. */
    assert_int_equal(edge(f, q, r, 4), LG_EDGE_CYCLE);
    assert_int_equal(stats(f).reorders, 4);
    assert_int_equal(edge(f, a, b, 5), LG_EDGE_ADDED);
    assert_int_equal(stats(f).reorders, 4);
}

static void
test_each_edge_once_with_cyclic_flag(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f), d = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, a, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, b, c, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, c, d, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, c, d, 2), LG_EDGE_ADDED);
    struct dump dd = { 0 };
    lg_graph_each_edge(f->g, dump_visit, &dd);
    assert_int_equal(dd.n, 4);
    int seen = 0;
    for (uint32_t i = 0; i < dd.n; i++) {
        bool ab = dd.e[i].from == a && dd.e[i].to == b, ba = dd.e[i].from == b && dd.e[i].to == a;
        bool bc = dd.e[i].from == b && dd.e[i].to == c, cd = dd.e[i].from == c && dd.e[i].to == d;
        seen |= ab << 0 | ba << 1 | bc << 2 | cd << 3;
        assert_int_equal(dd.e[i].cyclic, ab || ba);
        assert_int_equal(dd.e[i].nlabels, cd ? 2 : 1);
    }
    assert_int_equal(seen, 15);
}

static void
test_search_budget_truncation_is_counted(void **state)
{
    struct fx *f = *state;
    struct lg_graph_config cfg = strict;
    cfg.search_budget = 5;
    fx_regraph(f, &cfg);
    lg_node_id id[30];
    for (int i = 0; i < 30; i++)
        id[i] = node(f);
    for (int i = 0; i + 1 < 30; i++)
        assert_int_equal(edge(f, id[i], id[i + 1], 100 + i), LG_EDGE_ADDED);
    assert_int_equal(stats(f).searches_truncated, 0);
    assert_int_equal(edge(f, id[29], id[0], 1), LG_EDGE_ADDED);
    assert_int_equal(stats(f).searches_truncated, 1);
    /* With the budget it needs, the same cycle is found. */
    cfg.search_budget = 5000;
    fx_regraph(f, &cfg);
    for (int i = 0; i < 30; i++)
        id[i] = node(f);
    for (int i = 0; i + 1 < 30; i++)
        assert_int_equal(edge(f, id[i], id[i + 1], 100 + i), LG_EDGE_ADDED);
    assert_int_equal(edge(f, id[29], id[0], 1), LG_EDGE_CYCLE);
    assert_int_equal(stats(f).searches_truncated, 0);
}

/* ---- random graphs against brute force --------------------------------- */

#define M_NODES 8
#define M_GATES 4
#define M_LABELS 48

struct mlab {
    uint32_t thread;
    bool fs, ts;
    unsigned gates; /* bit i: gate lock i */
};

struct model {
    uint32_t n;
    bool live[M_NODES];
    lg_node_id id[M_NODES];
    lg_node_id gate_id[M_GATES];
    struct mlab lab[M_NODES][M_NODES][M_LABELS];
    uint32_t nlab[M_NODES][M_NODES];
    uint32_t cap;
    bool removed_any;
};

static bool
mlab_eq(const struct mlab *a, const struct mlab *b)
{
    return a->thread == b->thread && a->fs == b->fs && a->ts == b->ts && a->gates == b->gates;
}

/* a covers b: same thread and modes, a's gates a subset of b's. */
static void
mlab_to_lg(struct fx *f, const struct model *m, const struct mlab *ml, struct lg_edge_label *l)
{
    lg_node_id gate[M_GATES];
    uint32_t n = 0;
    for (uint32_t i = 0; i < M_GATES; i++)
        if (ml->gates & (1u << i)) {
            uint32_t j = n++;
            while (j > 0 && gate[j - 1] > m->gate_id[i]) {
                gate[j] = gate[j - 1];
                j--;
            }
            gate[j] = m->gate_id[i];
        }
    *l = (struct lg_edge_label){ .thread = ml->thread, .from_shared = ml->fs,
                                 .to_shared = ml->ts, .held = held_of(f, gate, n) };
}

static int
model_slot(const struct model *m, lg_node_id id)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->live[i] && m->id[i] == id)
            return (int)i;
    return -1;
}

static unsigned
lg_gates_to_mask(struct fx *f, const struct model *m, const struct lg_edge_label *l)
{
    lg_node_id ids[M_GATES + 1];
    bool shared[M_GATES + 1];
    uint32_t n = lg_graph_held_members(f->g, l->held, ids, shared, M_GATES + 1);
    assert_true(n <= M_GATES);
    unsigned mask = 0;
    for (uint32_t i = 0; i < n; i++) {
        int found = -1;
        for (int j = 0; j < M_GATES; j++)
            if (m->gate_id[j] == ids[i])
                found = j;
        assert_true(found >= 0 && !shared[i]);
        mask |= 1u << found;
    }
    return mask;
}

/* Brute force, written apart from graph.c: is there a simple path of
 * exactly `left` more steps from x to u whose labels, with chosen[0..depth],
 * obey the rules? */
struct brute {
    const struct model *m;
    uint32_t u;
    const struct mlab *chosen[M_NODES + 1];
    unsigned visited;
};

static bool
brute_ok(const struct brute *b, uint32_t depth, const struct mlab *l, bool closing)
{
    for (uint32_t i = 0; i <= depth; i++)
        if (b->chosen[i]->thread == l->thread || (b->chosen[i]->gates & l->gates))
            return false;
    if (b->chosen[depth]->ts && l->fs)
        return false;
    if (closing && l->ts && b->chosen[0]->fs)
        return false;
    return true;
}

static bool
brute_walk(struct brute *b, uint32_t x, uint32_t depth, uint32_t left)
{
    const struct model *m = b->m;
    for (uint32_t y = 0; y < m->n; y++) {
        if (!m->live[y] || !m->nlab[x][y])
            continue;
        bool closing = y == b->u;
        if (closing != (left == 1) || (b->visited & (1u << y)))
            continue;
        for (uint32_t k = 0; k < m->nlab[x][y]; k++) {
            const struct mlab *l = &m->lab[x][y][k];
            if (!brute_ok(b, depth, l, closing))
                continue;
            if (closing)
                return true;
            b->chosen[depth + 1] = l;
            b->visited |= 1u << y;
            bool found = brute_walk(b, y, depth + 1, left - 1);
            b->visited &= ~(1u << y);
            if (found)
                return true;
        }
    }
    return false;
}

/* The length of the shortest deadlock-capable cycle u -> v ~> u, or 0. */
static uint32_t
brute_cycle(const struct model *m, uint32_t u, uint32_t v, const struct mlab *l0)
{
    for (uint32_t len = 1; len < m->n; len++) {
        struct brute b = { .m = m, .u = u, .visited = 1u << v };
        b.chosen[0] = l0;
        if (brute_walk(&b, v, 0, len))
            return len + 1;
    }
    return 0;
}

struct mdump {
    struct fx *f;
    const struct model *m;
    uint32_t edges, labels;
    bool reach[M_NODES][M_NODES];
};

static void
mdump_visit(void *ctx, lg_node_id from, lg_node_id to, const struct lg_edge_label *labels,
            uint32_t nlabels, bool cyclic)
{
    struct mdump *d = ctx;
    const struct model *m = d->m;
    int a = model_slot(m, from), b = model_slot(m, to);
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(nlabels, m->nlab[a][b]);
    /* The same labels, in whatever order the graph keeps them. */
    bool used[M_LABELS] = { false };
    for (uint32_t i = 0; i < nlabels; i++) {
        struct mlab got = { labels[i].thread, labels[i].from_shared, labels[i].to_shared,
                            lg_gates_to_mask(d->f, m, &labels[i]) };
        bool found = false;
        for (uint32_t k = 0; k < nlabels && !found; k++)
            if (!used[k] && mlab_eq(&m->lab[a][b][k], &got))
                found = used[k] = true;
        assert_true(found);
    }
    bool same_scc = d->reach[a][b] && d->reach[b][a];
    if (same_scc)
        assert_true(cyclic);
    if (!m->removed_any)
        assert_int_equal(cyclic, same_scc);
    d->edges++;
    d->labels += nlabels;
}

static void
model_check_graph(struct fx *f, const struct model *m, uint64_t replaced)
{
    struct mdump d = { .f = f, .m = m };
    uint32_t edges = 0, labels = 0;
    for (uint32_t i = 0; i < m->n; i++)
        for (uint32_t j = 0; j < m->n; j++) {
            d.reach[i][j] = i == j || (m->live[i] && m->live[j] && m->nlab[i][j]);
            if (m->live[i] && m->live[j] && m->nlab[i][j]) {
                edges++;
                labels += m->nlab[i][j];
            }
        }
    for (uint32_t k = 0; k < m->n; k++)
        for (uint32_t i = 0; i < m->n; i++)
            for (uint32_t j = 0; j < m->n; j++)
                d.reach[i][j] |= d.reach[i][k] && d.reach[k][j];
    lg_graph_each_edge(f->g, mdump_visit, &d);
    assert_int_equal(d.edges, edges);
    assert_int_equal(d.labels, labels);
    struct lg_graph_stats s = stats(f);
    assert_int_equal(s.edges, edges);
    assert_int_equal(s.labels, labels);
    assert_int_equal(s.labels_replaced, replaced);
    assert_int_equal(s.searches_truncated, 0);
}

/* A reported cycle uses edges and labels the model has. */
static void
model_check_cycle(struct fx *f, const struct model *m, const struct lg_cycle *c)
{
    for (uint32_t i = 1; i < c->n; i++) {
        int a = model_slot(m, c->steps[i].from), b = model_slot(m, c->steps[i].to);
        assert_true(a >= 0 && b >= 0);
        struct mlab ml = { c->steps[i].label.thread, c->steps[i].label.from_shared,
                           c->steps[i].label.to_shared,
                           lg_gates_to_mask(f, m, &c->steps[i].label) };
        bool has = false;
        for (uint32_t k = 0; k < m->nlab[a][b]; k++)
            has |= mlab_eq(&m->lab[a][b][k], &ml);
        assert_true(has);
    }
}

static void
random_graph(struct fx *f, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->cap = 1 + rnd_below(&s, 4);
    if (rnd_chance(&s, 25))
        m->cap = M_LABELS;
    struct lg_graph_config cfg = strict;
    cfg.threads_per_class = m->cap;
    fx_regraph(f, &cfg);
    for (uint32_t i = 0; i < M_GATES; i++)
        m->gate_id[i] = node(f);
    m->n = 3 + rnd_below(&s, M_NODES - 2);
    for (uint32_t i = 0; i < m->n; i++) {
        m->id[i] = node(f);
        m->live[i] = true;
    }
    uint32_t nthreads = 1 + rnd_below(&s, 8);
    uint32_t pshared = rnd_below(&s, 35), pgate = rnd_below(&s, 50);
    uint64_t replaced = 0;

    for (uint32_t step = 0; step < 40; step++) {
        if (rnd_chance(&s, 6)) {
            uint32_t x = rnd_below(&s, m->n);
            assert_int_equal(lg_graph_node_remove(f->g, m->id[x]), 0);
            for (uint32_t j = 0; j < m->n; j++)
                m->nlab[x][j] = m->nlab[j][x] = 0;
            m->id[x] = node(f);
            m->removed_any = true;
            model_check_graph(f, m, replaced);
            continue;
        }
        uint32_t u = rnd_below(&s, m->n), v = rnd_below(&s, m->n - 1);
        v += v >= u;
        struct mlab ml = { .thread = 1 + rnd_below(&s, nthreads),
                           .fs = rnd_chance(&s, pshared),
                           .ts = rnd_chance(&s, pshared) };
        if (rnd_chance(&s, pgate))
            ml.gates = rnd_below(&s, 1u << M_GATES);
        struct lg_edge_label l;
        mlab_to_lg(f, m, &ml, &l);
        l.payload = step;

        /* Known: an equal label. A class (modes and gates) full of other
         * threads' labels gives the oldest one's slot to a newer thread, and
         * turns an older one away. */
        bool known = false;
        uint32_t in_class = 0, oldest = UINT32_MAX;
        for (uint32_t k = 0; k < m->nlab[u][v]; k++) {
            const struct mlab *o = &m->lab[u][v][k];
            if (o->fs != ml.fs || o->ts != ml.ts || o->gates != ml.gates)
                continue;
            known |= o->thread == ml.thread;
            in_class++;
            if (oldest == UINT32_MAX || o->thread < m->lab[u][v][oldest].thread)
                oldest = k;
        }
        uint32_t slot = m->nlab[u][v];
        if (!known && in_class >= m->cap) {
            if (ml.thread < m->lab[u][v][oldest].thread)
                known = true;
            else
                slot = oldest;
        }
        int status = lg_graph_label_status(f->g, m->id[u], m->id[v], &l, NULL);
        assert_int_equal(status, known ? LG_LABEL_KNOWN : LG_LABEL_NEW);
        uint32_t want_len = known ? 0 : brute_cycle(m, u, v, &ml);
        int want = known ? LG_EDGE_KNOWN : want_len ? LG_EDGE_CYCLE : LG_EDGE_ADDED;

        struct lg_cycle *c = NULL;
        int rc = lg_graph_add_edge(f->g, m->id[u], m->id[v], &l, &c);
        if (rc != want)
            print_error("seed %llu step %u: %u -> %u thread %u: got %d, want %d\n",
                        (unsigned long long)seed, step, u, v, ml.thread, rc, want);
        assert_int_equal(rc, want);
        if (rc == LG_EDGE_CYCLE) {
            assert_cycle_valid(f, c, m->id[u], m->id[v], &l);
            model_check_cycle(f, m, c);
            assert_int_equal(c->n, want_len); /* a shortest one */
            lg_cycle_free(f->g, c);
        } else {
            assert_null(c);
        }
        if (!known) {
            assert_true(slot < M_LABELS);
            m->lab[u][v][slot] = ml;
            if (slot == m->nlab[u][v])
                m->nlab[u][v]++;
            else
                replaced++;
        }
        model_check_graph(f, m, replaced);
    }
    free(m);
}

static void
test_random_graphs_match_brute_force(void **state)
{
    for (uint64_t seed = 1; seed <= 600; seed++)
        random_graph(*state, seed);
}

/* Larger graphs, one thread per edge and no gates: then any cycle is
 * deadlock-capable, so "cycle" must equal "to reaches from", and the
 * reported cycle must be a shortest path. This is the check on the order
 * and on component merging. */
struct big {
    uint32_t n;
    lg_node_id *id;
    bool *adj;      /* n * n */
    uint32_t *out;  /* n * n: out-lists */
    uint32_t *nout;
    bool removed_any;
};

static uint32_t
big_dist(const struct big *b, uint32_t from, uint32_t to, uint32_t *queue, uint32_t *dist)
{
    for (uint32_t i = 0; i < b->n; i++)
        dist[i] = UINT32_MAX;
    uint32_t nq = 0;
    queue[nq++] = from;
    dist[from] = 0;
    for (uint32_t i = 0; i < nq; i++) {
        uint32_t x = queue[i];
        for (uint32_t k = 0; k < b->nout[x]; k++) {
            uint32_t y = b->out[x * b->n + k];
            if (dist[y] == UINT32_MAX) {
                dist[y] = dist[x] + 1;
                queue[nq++] = y;
            }
        }
    }
    return dist[to];
}

static void
big_unlink(struct big *b, uint32_t x)
{
    b->nout[x] = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        b->adj[x * b->n + i] = b->adj[i * b->n + x] = false;
        for (uint32_t k = 0; k < b->nout[i]; k++)
            if (b->out[i * b->n + k] == x)
                b->out[i * b->n + k--] = b->out[i * b->n + --b->nout[i]];
    }
}

struct big_visit {
    const struct big *b;
    bool *reach;
    uint32_t edges;
};

static void
big_visit(void *ctx, lg_node_id from, lg_node_id to, const struct lg_edge_label *labels,
          uint32_t nlabels, bool cyclic)
{
    struct big_visit *v = ctx;
    const struct big *b = v->b;
    (void)labels;
    assert_int_equal(nlabels, 1);
    uint32_t a = UINT32_MAX, c = UINT32_MAX;
    for (uint32_t i = 0; i < b->n; i++) {
        if (b->id[i] == from)
            a = i;
        if (b->id[i] == to)
            c = i;
    }
    assert_true(a != UINT32_MAX && c != UINT32_MAX);
    assert_true(b->adj[a * b->n + c]);
    bool same = v->reach[a * b->n + c] && v->reach[c * b->n + a];
    if (same)
        assert_true(cyclic);
    if (!b->removed_any)
        assert_int_equal(cyclic, same);
    v->edges++;
}

static void
big_check_components(struct fx *f, const struct big *b, uint32_t *queue, uint32_t *dist)
{
    bool *reach = calloc((size_t)b->n * b->n, sizeof *reach);
    assert_non_null(reach);
    uint32_t edges = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        big_dist(b, i, i, queue, dist);
        for (uint32_t j = 0; j < b->n; j++)
            reach[i * b->n + j] = dist[j] != UINT32_MAX;
        edges += b->nout[i];
    }
    struct big_visit v = { b, reach, 0 };
    lg_graph_each_edge(f->g, big_visit, &v);
    assert_int_equal(v.edges, edges);
    free(reach);
}

static void
test_random_large_graphs_reachability(void **state)
{
    struct fx *f = *state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t s = seed * 0xD1B54A32D192ED03ULL + 7;
        fx_regraph(f, NULL);
        struct big b = { .n = 40 + rnd_below(&s, 260) };
        b.id = calloc(b.n, sizeof *b.id);
        b.adj = calloc((size_t)b.n * b.n, sizeof *b.adj);
        b.out = calloc((size_t)b.n * b.n, sizeof *b.out);
        b.nout = calloc(b.n, sizeof *b.nout);
        uint32_t *queue = calloc(b.n, sizeof *queue), *dist = calloc(b.n, sizeof *dist);
        assert_true(b.id && b.adj && b.out && b.nout && queue && dist);
        for (uint32_t i = 0; i < b.n; i++)
            b.id[i] = node(f);
        uint32_t steps = b.n * (1 + rnd_below(&s, 3)), thread = 1, checks = 0;
        /* Short spans make long chains and wide repair windows. */
        uint32_t span = rnd_chance(&s, 50) ? b.n - 1 : 1 + b.n / 8;
        for (uint32_t step = 0; step < steps; step++) {
            if (rnd_chance(&s, 1)) {
                uint32_t x = rnd_below(&s, b.n);
                assert_int_equal(lg_graph_node_remove(f->g, b.id[x]), 0);
                big_unlink(&b, x);
                b.id[x] = node(f);
                b.removed_any = true;
                continue;
            }
            uint32_t u = rnd_below(&s, b.n), v = (u + 1 + rnd_below(&s, span)) % b.n;
            if (b.adj[u * b.n + v])
                continue;
            uint32_t d = big_dist(&b, v, u, queue, dist);
            struct lg_edge_label l = lab(thread++);
            struct lg_cycle *c = NULL;
            int rc = lg_graph_add_edge(f->g, b.id[u], b.id[v], &l, &c);
            assert_int_equal(rc, d == UINT32_MAX ? LG_EDGE_ADDED : LG_EDGE_CYCLE);
            if (c) {
                assert_cycle_valid(f, c, b.id[u], b.id[v], &l);
                assert_int_equal(c->n, d + 1);
                lg_cycle_free(f->g, c);
            }
            b.adj[u * b.n + v] = true;
            b.out[u * b.n + b.nout[u]++] = v;
            if (++checks % 50 == 0)
                big_check_components(f, &b, queue, dist);
        }
        big_check_components(f, &b, queue, dist);
        assert_int_equal(stats(f).searches_truncated, 0);
        assert_true(stats(f).reorders > 0);
        free(b.id);
        free(b.adj);
        free(b.out);
        free(b.nout);
        free(queue);
        free(dist);
    }
}

/* ---- the default: one thread's cycles, and the classes ------------------ */

static const struct lg_graph_config dflt = { 0 };

static bool
same_epoch(void *ctx, const struct lg_edge_label *a, const struct lg_edge_label *b)
{
    (void)ctx;
    return a->epoch == b->epoch;
}

static void
test_default_reports_one_threads_cycle(void **state)
{
    struct fx *f = *state;
    fx_regraph(f, &dflt);
    lg_node_id a = node(f), b = node(f);
    struct lg_edge_label l = lab(1);
    struct lg_cycle *c = NULL;
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l, &c), LG_EDGE_CYCLE);
    assert_cycle_valid(f, c, b, a, &l);
    assert_int_equal(c->klass, LG_CYCLE_SINGLE_THREAD);
    assert_int_equal(c->n, 2);
    lg_cycle_free(f->g, c);
    /* Two threads: concurrent (no callback says otherwise). */
    lg_node_id x = node(f), y = node(f);
    struct lg_edge_label l2 = lab(2);
    assert_int_equal(edge(f, x, y, 1), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, y, x, &l2, &c), LG_EDGE_CYCLE);
    assert_int_equal(c->klass, LG_CYCLE_CONCURRENT);
    lg_cycle_free(f->g, c);
    /* A gate lock protects one thread's cycle as it protects two's. */
    lg_node_id g = node(f), p = node(f), q = node(f);
    lg_node_id gp[] = { g, p }, gq[] = { g, q };
    struct lg_edge_label lp = lab_gate(f, 1, gp, 2), lq = lab_gate(f, 1, gq, 2);
    assert_int_equal(lg_graph_add_edge(f->g, p, q, &lp, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, q, p, &lq, NULL), LG_EDGE_ADDED);
    /* The best class is looked for first: with both a one-thread and a
     * two-thread way round, the report is the concurrent one. */
    lg_node_id r = node(f), s2 = node(f);
    assert_int_equal(edge(f, r, s2, 1), LG_EDGE_ADDED);
    assert_int_equal(edge(f, r, s2, 2), LG_EDGE_ADDED);
    struct lg_edge_label l1 = lab(1);
    assert_int_equal(lg_graph_add_edge(f->g, s2, r, &l1, &c), LG_EDGE_CYCLE);
    assert_int_equal(c->klass, LG_CYCLE_CONCURRENT);
    assert_int_equal(c->steps[1].label.thread, 2);
    lg_cycle_free(f->g, c);
}

static void
test_ordered_class_comes_from_the_callback(void **state)
{
    struct fx *f = *state;
    struct lg_graph_config cfg = { .concurrent = same_epoch };
    fx_regraph(f, &cfg);
    lg_node_id a = node(f), b = node(f);
    struct lg_edge_label l1 = { .thread = 1, .epoch = 1 }, l2 = { .thread = 2, .epoch = 2 };
    struct lg_edge_label l3 = { .thread = 3, .epoch = 1 };
    struct lg_cycle *c = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &l1, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l2, &c), LG_EDGE_CYCLE);
    assert_int_equal(c->klass, LG_CYCLE_ORDERED);
    lg_cycle_free(f->g, c);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l3, &c), LG_EDGE_CYCLE);
    assert_int_equal(c->klass, LG_CYCLE_CONCURRENT);
    lg_cycle_free(f->g, c);
    /* concurrent_only: the ordered one is not a cycle to report. */
    cfg.concurrent_only = true;
    fx_regraph(f, &cfg);
    a = node(f);
    b = node(f);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &l1, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l2, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &l3, NULL), LG_EDGE_CYCLE);
}

/* ---- dependencies through held locks ------------------------------------ */

/* T<thread> holds locks[0 .. n) (in that order) and takes `to`: the one
 * edge from the top, as the runtime adds it past its first few. */
static int
nest_edge(struct fx *f, uint32_t thread, const lg_node_id *locks, uint32_t n, lg_node_id to,
          struct lg_cycle **c)
{
    struct lg_edge_label l = lab_gate(f, thread, locks, n);
    return lg_graph_add_edge(f->g, locks[n - 1], to, &l, c);
}

static void
test_dependency_through_held_locks(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    lg_node_id abc[] = { a, b, c }, ca[] = { c };
    assert_int_equal(nest_edge(f, 1, abc, 1, b, NULL), LG_EDGE_ADDED);
    assert_int_equal(nest_edge(f, 1, abc, 2, c, NULL), LG_EDGE_ADDED); /* no a -> c edge */
    struct lg_cycle *cy = NULL;
    struct lg_edge_label l = lab_gate(f, 2, ca, 1);
    assert_int_equal(lg_graph_add_edge(f->g, c, a, &l, &cy), LG_EDGE_CYCLE);
    assert_cycle_valid(f, cy, c, a, &l);
    assert_int_equal(cy->n, 2);
    assert_true(cy->steps[1].from == a && cy->steps[1].to == c);
    assert_int_equal(cy->steps[1].nvia, 1);
    assert_true(cy->steps[1].via[0] == b);
    assert_int_equal(cy->steps[1].label.thread, 1);
    assert_int_equal(lg_graph_held_mode(f->g, cy->steps[1].label.held, a), 0);
    lg_cycle_free(f->g, cy);
}

static void
test_dependency_with_gate_in_between(void **state)
{
    struct fx *f = *state;
    lg_node_id g = node(f), a = node(f), b = node(f), c = node(f);
    lg_node_id gabc[] = { g, a, b, c }, gca[] = { g, c, a }, ca[] = { c };
    for (uint32_t n = 1; n < 4; n++)
        assert_int_equal(nest_edge(f, 1, gabc, n, gabc[n], NULL), LG_EDGE_ADDED);
    assert_int_equal(nest_edge(f, 2, gca, 1, c, NULL), LG_EDGE_ADDED);
    assert_int_equal(nest_edge(f, 2, gca, 2, a, NULL), LG_EDGE_ADDED); /* under g */
    struct lg_cycle *cy = NULL;
    assert_int_equal(nest_edge(f, 3, ca, 1, a, &cy), LG_EDGE_CYCLE); /* not under g */
    assert_int_equal(cy->n, 2);
    assert_int_equal(cy->steps[1].nvia, 1);
    lg_cycle_free(f->g, cy);
}

static void
test_dependency_needs_its_start_held(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    lg_node_id sa[] = { a }, sb[] = { b }, sc[] = { c };
    /* T1 took a -> b, and later b -> c without holding a. */
    assert_int_equal(nest_edge(f, 1, sa, 1, b, NULL), LG_EDGE_ADDED);
    assert_int_equal(nest_edge(f, 1, sb, 1, c, NULL), LG_EDGE_ADDED);
    assert_int_equal(nest_edge(f, 2, sc, 1, a, NULL), LG_EDGE_ADDED); /* T1 would be twice */
    /* By default it is a cycle (one thread took two of its orders). */
    fx_regraph(f, &dflt);
    a = node(f);
    b = node(f);
    c = node(f);
    sa[0] = a;
    sb[0] = b;
    sc[0] = c;
    assert_int_equal(nest_edge(f, 1, sa, 1, b, NULL), LG_EDGE_ADDED);
    assert_int_equal(nest_edge(f, 1, sb, 1, c, NULL), LG_EDGE_ADDED);
    struct lg_cycle *cy = NULL;
    assert_int_equal(nest_edge(f, 2, sc, 1, a, &cy), LG_EDGE_CYCLE);
    assert_int_equal(cy->klass, LG_CYCLE_SINGLE_THREAD);
    assert_int_equal(cy->n, 3);
    lg_cycle_free(f->g, cy);
}

static void
test_deep_dependency(void **state)
{
    struct fx *f = *state;
    enum { N = 200 };
    lg_node_id id[N];
    for (int i = 0; i < N; i++)
        id[i] = node(f);
    for (uint32_t n = 1; n < N; n++)
        assert_int_equal(nest_edge(f, 1, id, n, id[n], NULL), LG_EDGE_ADDED);
    assert_int_equal(stats(f).edges, N - 1);
    assert_int_equal(stats(f).held_sets, N - 1);
    lg_node_id last[] = { id[N - 1] };
    struct lg_cycle *cy = NULL;
    assert_int_equal(nest_edge(f, 2, last, 1, id[0], &cy), LG_EDGE_CYCLE);
    assert_int_equal(cy->n, 2);
    assert_int_equal(cy->steps[1].nvia, N - 2);
    lg_cycle_free(f->g, cy);
    assert_int_equal(stats(f).searches_truncated, 0);
}

static void
test_cycle_closes_at_a_lock_held_below(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), c = node(f);
    lg_node_id sc[] = { c }, ab[] = { a, b };
    assert_int_equal(nest_edge(f, 2, sc, 1, a, NULL), LG_EDGE_ADDED);
    assert_int_equal(nest_edge(f, 1, ab, 1, b, NULL), LG_EDGE_ADDED);
    /* T1, holding a and b, takes c: the edge is b -> c, the cycle a ~> c ~> a. */
    struct lg_edge_label l = lab_gate(f, 1, ab, 2);
    struct lg_cycle *cy = NULL;
    assert_int_equal(lg_graph_add_edge(f->g, b, c, &l, &cy), LG_EDGE_CYCLE);
    assert_cycle_valid(f, cy, b, c, &l);
    assert_true(cy->steps[0].from == a);
    assert_int_equal(cy->steps[0].nvia, 1);
    assert_true(cy->steps[0].via[0] == b);
    assert_int_equal(cy->n, 2);
    lg_cycle_free(f->g, cy);
}

/* ---- held sets ------------------------------------------------------------ */

static void
test_held_sets_interned_and_freed(void **state)
{
    struct fx *f = *state;
    lg_node_id a = node(f), b = node(f), x = node(f), y = node(f);
    lg_held_id h1, h1b, h2, h2s;
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, a, false, &h1), 0);
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, a, false, &h1b), 0);
    assert_true(h1 == h1b);
    assert_int_equal(lg_graph_held_add(f->g, h1, b, false, &h2), 0);
    assert_int_equal(lg_graph_held_add(f->g, h1, b, true, &h2s), 0);
    assert_true(h2 != h2s && h2 != h1);
    assert_int_equal(lg_graph_held_mode(f->g, h2, a), 0);
    assert_int_equal(lg_graph_held_mode(f->g, h2s, b), 1);
    assert_int_equal(lg_graph_held_mode(f->g, h2, x), -1);
    lg_node_id m[4];
    bool sh[4];
    assert_int_equal(lg_graph_held_members(f->g, h2s, m, sh, 4), 2);
    assert_true(m[0] == b && sh[0] && m[1] == a && !sh[1]);
    assert_int_equal(stats(f).held_sets, 3);
    /* Unused sets go when let go of; a set with a user stays, and so does
     * what is below it. */
    lg_graph_held_release(f->g, h2s);
    assert_false(lg_graph_held_live(f->g, h2s));
    assert_true(lg_graph_held_live(f->g, h1)); /* h2 still stands on it */
    struct lg_edge_label l = { .thread = 1, .held = h2 };
    assert_int_equal(lg_graph_add_edge(f->g, x, y, &l, NULL), LG_EDGE_ADDED);
    lg_graph_held_release(f->g, h2);
    lg_graph_held_release(f->g, h1);
    assert_true(lg_graph_held_live(f->g, h2) && lg_graph_held_live(f->g, h1));
    assert_int_equal(stats(f).held_sets, 2);
    /* The edge goes with x; its label's set with it, and the one below. */
    assert_int_equal(lg_graph_node_remove(f->g, x), 0);
    assert_false(lg_graph_held_live(f->g, h2) || lg_graph_held_live(f->g, h1));
    assert_int_equal(stats(f).held_sets, 0);
    /* Ids are never reused. */
    lg_held_id again;
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, a, false, &again), 0);
    assert_true(again != h1 && again != h2 && again != h2s);
}

/* lg_graph_label_status() remembers what it found for lg_graph_add_edge();
 * whatever changes the edge (or the label's held set, or the nodes) in
 * between must make add_edge look again, and answer as a fresh lookup. */
static void
test_status_then_add_sees_changes_between(void **state)
{
    struct fx *f = *state;
    struct lg_graph_config cfg = strict;
    cfg.threads_per_class = 1;
    fx_regraph(f, &cfg);
    lg_node_id a = node(f), b = node(f), c = node(f);
    assert_int_equal(edge(f, a, b, 1), LG_EDGE_ADDED);
    /* Thread 2 would replace thread 1's label; thread 3 does first. Thread
     * 2 is then older than what the class keeps: known. */
    struct lg_edge_label t2 = { .thread = 2 }, t3 = { .thread = 3 };
    assert_int_equal(lg_graph_label_status(f->g, a, b, &t2, NULL), LG_LABEL_NEW);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &t3, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, a, b, &t2, NULL), LG_EDGE_KNOWN);
    assert_int_equal(stats(f).labels, 1);

    /* Several edges asked about first, then added in the same order (as the
     * runtime does): each is added once, where a fresh lookup puts it. */
    lg_held_id h;
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, a, false, &h), 0);
    assert_int_equal(lg_graph_held_add(f->g, h, b, false, &h), 0);
    struct lg_edge_label g4 = { .thread = 4, .held = h };
    assert_int_equal(lg_graph_label_status(f->g, b, c, &g4, NULL), LG_LABEL_NEW);
    assert_int_equal(lg_graph_label_status(f->g, a, c, &g4, NULL), LG_LABEL_NEW);
    assert_int_equal(lg_graph_add_edge(f->g, b, c, &g4, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, a, c, &g4, NULL), LG_EDGE_ADDED);
    assert_int_equal(lg_graph_add_edge(f->g, b, c, &g4, NULL), LG_EDGE_KNOWN);
    assert_int_equal(stats(f).edges, 3);
    assert_int_equal(stats(f).labels, 3);

    /* The label's held set ends between the two calls: -EINVAL, as without
     * the question before. */
    lg_held_id lone;
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, c, false, &lone), 0);
    struct lg_edge_label gone = { .thread = 5, .held = lone };
    assert_int_equal(lg_graph_label_status(f->g, c, a, &gone, NULL), LG_LABEL_NEW);
    lg_graph_held_release(f->g, lone);
    assert_int_equal(lg_graph_add_edge(f->g, c, a, &gone, NULL), -EINVAL);

    /* A node removed between them: -EINVAL. */
    struct lg_edge_label t6 = { .thread = 6 };
    assert_int_equal(lg_graph_label_status(f->g, b, a, &t6, NULL), LG_LABEL_NEW);
    assert_int_equal(lg_graph_node_remove(f->g, b), 0);
    assert_int_equal(lg_graph_add_edge(f->g, b, a, &t6, NULL), -EINVAL);
    assert_int_equal(stats(f).edges, 1);
}

static void
test_held_set_table_is_bounded(void **state)
{
    struct fx *f = *state;
    struct lg_graph_config cfg = strict;
    cfg.max_held_sets = 3;
    fx_regraph(f, &cfg);
    lg_node_id id[5];
    lg_held_id h[5];
    for (int i = 0; i < 5; i++)
        id[i] = node(f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, id[i], false, &h[i]), 0);
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, id[3], false, &h[3]), -ENOMEM);
    assert_int_equal(stats(f).held_sets_refused, 1);
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, id[0], false, &h[4]), 0); /* known */
    lg_graph_held_release(f->g, h[1]);
    assert_int_equal(lg_graph_held_add(f->g, LG_HELD_NONE, id[3], false, &h[3]), 0);
}

/* ---- the runtime's edges against brute force over dependencies -------- */

/*
 * Threads take and release locks (some by trylock, some shared); on every
 * blocking acquisition the test adds the edges the runtime would (from the
 * `direct` held locks nearest the top, then on through trylocks to the first
 * lock taken by a call that waits), with the held set interned as the
 * runtime caches it. Written apart from graph_cycle.c, the oracle knows
 * every dependency directly (the thread held h while it took x) and tries
 * every cycle of them: the graph must report exactly when a cycle through
 * the new acquisition exists, with the best class there is.
 */
#define R_LOCKS 7
#define R_THREADS 4
#define R_DEPS 400

struct rstack {
    uint32_t n;
    uint8_t lock[R_LOCKS];
    bool shared[R_LOCKS], trylock[R_LOCKS];
    lg_held_id hid[R_LOCKS];
};

struct rdep {
    uint32_t thread;
    struct rstack st;
    uint8_t to;
    bool to_shared;
};

struct rworld {
    lg_node_id id[R_LOCKS];
    struct rstack th[R_THREADS];
    struct rdep dep[R_DEPS];
    uint32_t ndep;
    bool strict;
};

static int
rmode(const struct rstack *st, uint32_t lock)
{
    for (uint32_t i = 0; i < st->n; i++)
        if (st->lock[i] == lock)
            return st->shared[i];
    return -1;
}

/* No lock held by both unless both held it shared. */
static bool
rgates_disjoint(const struct rstack *a, const struct rstack *b)
{
    for (uint32_t i = 0; i < a->n; i++)
        for (uint32_t j = 0; j < b->n; j++)
            if (a->lock[i] == b->lock[j] && !(a->shared[i] && b->shared[j]))
                return false;
    return true;
}

struct rsearch {
    const struct rworld *w;
    const struct rdep *chosen[R_LOCKS + 1];
    bool distinct;
};

/* Extend the cycle whose steps are chosen[0 .. k), standing on lock `at`
 * (chosen[k - 1]->to); it must come back to a lock chosen[0] held. */
static bool
rwalk(struct rsearch *s, uint32_t k, uint32_t at, unsigned visited)
{
    const struct rworld *w = s->w;
    const struct rdep *first = s->chosen[0], *prev = s->chosen[k - 1];
    for (uint32_t d = 0; d < w->ndep; d++) {
        const struct rdep *x = &w->dep[d];
        int held = rmode(&x->st, at);
        if (held < 0 || (prev->to_shared && held == 1))
            continue;
        bool ok = true;
        for (uint32_t i = 0; i < k && ok; i++)
            ok = rgates_disjoint(&s->chosen[i]->st, &x->st)
                 && (!s->distinct || s->chosen[i]->thread != x->thread);
        if (!ok)
            continue;
        int closes = rmode(&first->st, x->to);
        if (closes >= 0 && !(x->to_shared && closes == 1))
            return true;
        /* Not closing here (readers at the lock): the cycle may go on. */
        if (visited & (1u << x->to) || k == R_LOCKS)
            continue;
        s->chosen[k] = x;
        if (rwalk(s, k + 1, x->to, visited | 1u << x->to))
            return true;
    }
    return false;
}

/* 0: no cycle through d; else 1 + the best class. */
static int
roracle(const struct rworld *w, const struct rdep *d)
{
    unsigned visited = 1u << d->to;
    for (uint32_t i = 0; i < d->st.n; i++)
        visited |= 1u << d->st.lock[i];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && w->strict)
            break;
        struct rsearch s = { .w = w, .distinct = pass == 0 };
        s.chosen[0] = d;
        /* The cycle leaves d's target; the locks d holds are where it may end. */
        if (rwalk(&s, 1, d->to, 1u << d->to))
            return 1 + (pass == 0 ? LG_CYCLE_CONCURRENT : LG_CYCLE_SINGLE_THREAD);
    }
    (void)visited;
    return 0;
}

static bool
rsame_stack(const struct rstack *a, const struct rstack *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->lock[i] != b->lock[i] || a->shared[i] != b->shared[i])
            return false;
    return true;
}

/* The held set of st[0 .. n), from the entries' cached ids up. */
static lg_held_id
rheld(struct fx *f, struct rworld *w, struct rstack *st)
{
    int64_t j = (int64_t)st->n - 1;
    while (j >= 0 && !(st->hid[j] && lg_graph_held_live(f->g, st->hid[j])))
        j--;
    lg_held_id below = j >= 0 ? st->hid[j] : LG_HELD_NONE;
    for (uint32_t i = (uint32_t)(j + 1); i < st->n; i++) {
        assert_int_equal(lg_graph_held_add(f->g, below, w->id[st->lock[i]], st->shared[i], &below), 0);
        st->hid[i] = below;
    }
    return below;
}

static void
runtime_world(struct fx *f, uint64_t seed)
{
    uint64_t s = seed * 0xA24BAED4963EE407ULL + 3;
    struct rworld *w = calloc(1, sizeof *w);
    assert_non_null(w);
    uint32_t direct = rnd_chance(&s, 50) ? 1 + rnd_below(&s, 2) : R_LOCKS;
    w->strict = rnd_chance(&s, 30);
    /* Shared modes only where every dependency has its own edge: a path
     * through a lock two threads both read-hold would cross itself, and the
     * graph looks only at simple paths (graph_cycle.c). */
    uint32_t pshared = direct >= R_LOCKS ? rnd_below(&s, 30) : 0;
    uint32_t nthreads = 1 + rnd_below(&s, R_THREADS);
    uint32_t ptry = rnd_below(&s, 30);
    bool ask = seed & 1; /* not from s: the worlds stay what they were */
    struct lg_graph_config cfg = { .threads_per_class = 64, .concurrent_only = w->strict };
    fx_regraph(f, &cfg);
    for (uint32_t i = 0; i < R_LOCKS; i++)
        w->id[i] = node(f);
    for (uint32_t step = 0; step < 60 && w->ndep < R_DEPS; step++) {
        uint32_t t = rnd_below(&s, nthreads);
        struct rstack *st = &w->th[t];
        if (st->n && (st->n == R_LOCKS || rnd_chance(&s, 45))) {
            uint32_t i = rnd_chance(&s, 70) ? st->n - 1 : rnd_below(&s, st->n);
            for (uint32_t k = i; k + 1 < st->n; k++) {
                st->lock[k] = st->lock[k + 1];
                st->shared[k] = st->shared[k + 1];
                st->trylock[k] = st->trylock[k + 1];
                st->hid[k] = 0; /* its prefix changed */
            }
            st->n--;
            continue;
        }
        uint32_t x;
        do
            x = rnd_below(&s, R_LOCKS);
        while (rmode(st, x) >= 0);
        bool shared = rnd_chance(&s, pshared), try = rnd_chance(&s, ptry);
        if (!try && st->n) {
            struct rdep d = { .thread = t + 1, .st = *st, .to = (uint8_t)x, .to_shared = shared };
            bool dup = false;
            for (uint32_t k = 0; k < w->ndep && !dup; k++)
                dup = w->dep[k].thread == d.thread && w->dep[k].to == x
                      && w->dep[k].to_shared == shared && rsame_stack(&w->dep[k].st, st);
            w->dep[w->ndep++] = d;
            int want = dup ? 0 : roracle(w, &w->dep[w->ndep - 1]);
            if (dup)
                w->ndep--;
            lg_held_id held = rheld(f, w, st);
            uint32_t taken = 0, lo = 0;
            for (uint32_t i = st->n; i-- > 0;)
                if (++taken >= direct && !st->trylock[i]) {
                    lo = i;
                    break;
                }
            /* As the runtime does it in half the worlds: ask about every
             * edge first, then add the new ones. */
            bool said_new[R_LOCKS];
            for (uint32_t i = st->n; i-- > lo;) {
                struct lg_edge_label l = { .thread = t + 1, .from_shared = st->shared[i],
                                           .to_shared = shared, .held = held };
                int status = ask ? lg_graph_label_status(f->g, w->id[st->lock[i]], w->id[x], &l,
                                                         NULL)
                                 : LG_LABEL_NEW;
                assert_true(status == LG_LABEL_NEW || status == LG_LABEL_KNOWN);
                said_new[i] = status == LG_LABEL_NEW;
            }
            int best = 0, added = 0;
            for (uint32_t i = st->n; i-- > lo;) {
                if (!said_new[i])
                    continue;
                struct lg_edge_label l = { .thread = t + 1, .from_shared = st->shared[i],
                                           .to_shared = shared, .held = held };
                struct lg_cycle *c = NULL;
                int rc = lg_graph_add_edge(f->g, w->id[st->lock[i]], w->id[x], &l, &c);
                assert_true(rc >= 0);
                assert_true(!ask || rc != LG_EDGE_KNOWN);
                added += rc != LG_EDGE_KNOWN;
                if (c) {
                    assert_cycle_valid(f, c, w->id[st->lock[i]], w->id[x], &l);
                    if (!best || 1 + c->klass < best)
                        best = 1 + c->klass;
                    lg_cycle_free(f->g, c);
                }
            }
            lg_graph_held_release(f->g, held);
            /* An acquisition the thread made before, under the same locks,
             * depends on nothing new: the cycles through it were reported
             * when they formed (its edges may differ, when other held locks
             * were taken by trylock, and then it may report one again). A
             * new one always brings a new label on its top edge. */
            if (!dup && best != want)
                print_error("seed %llu step %u: T%u takes %u over %u held: got %d, want %d\n",
                            (unsigned long long)seed, step, t + 1, x, st->n, best, want);
            if (!dup) {
                assert_int_equal(best, want);
                assert_true(added > 0);
            }
        }
        st->lock[st->n] = (uint8_t)x;
        st->shared[st->n] = shared;
        st->trylock[st->n] = try;
        st->hid[st->n] = 0;
        st->n++;
    }
    assert_int_equal(stats(f).searches_truncated, 0);
    free(w);
}

/* The self-checking build proves the whole structure after every call:
 * fewer worlds keep it within its time (a quarter of the CPU time here). */
#ifdef LG_GRAPH_SELFCHECK
#define R_WORLDS 400
#else
#define R_WORLDS 1500
#endif

static void
test_runtime_edges_match_brute_force(void **state)
{
    for (uint64_t seed = 1; seed <= R_WORLDS; seed++)
        runtime_world(*state, seed);
}

/* ---- allocation failure ------------------------------------------------ */

/* A fixed script that reaches every allocation in graph.c: pool chunks and
 * the chunk table, the edge table's growth, label arrays and gate copies,
 * every scratch array past its first size, component records and cycles.
 * Each operation is retried after -ENOMEM; the retry must give what a run
 * without failures gives, and the graph must end up the same. */
struct run {
    struct fx *f;
    uint64_t hash;
    uint64_t enomem;
};

static void
run_mix(struct run *r, uint64_t x)
{
    r->hash = (r->hash ^ x) * 0x100000001B3ULL;
}

static lg_node_id
run_node(struct run *r)
{
    lg_node_id id;
    int rc;
    while ((rc = lg_graph_node_add(r->f->g, &id)) == -ENOMEM)
        r->enomem++;
    assert_int_equal(rc, 0);
    run_mix(r, id);
    return id;
}

static void
run_remove(struct run *r, lg_node_id id)
{
    assert_int_equal(lg_graph_node_remove(r->f->g, id), 0);
}

static int
run_edge_l(struct run *r, lg_node_id a, lg_node_id b, const struct lg_edge_label *l)
{
    struct lg_cycle *c = NULL;
    int rc;
    for (;;) {
        uint64_t failures = r->f->t.failures;
        rc = lg_graph_add_edge(r->f->g, a, b, l, &c);
        if (rc != -ENOMEM)
            break;
        assert_true(r->f->t.failures > failures); /* only a real failure says so */
        assert_null(c);
        r->enomem++;
    }
    assert_true(rc >= 0);
    run_mix(r, (uint64_t)rc);
    if (c) {
        assert_cycle_valid(r->f, c, a, b, l);
        run_mix(r, c->n);
        for (uint32_t i = 0; i < c->n; i++) {
            run_mix(r, c->steps[i].from);
            run_mix(r, c->steps[i].label.thread);
        }
        lg_cycle_free(r->f->g, c);
    }
    return rc;
}

/* A gate label built through failures: each held set step is retried. */
static struct lg_edge_label
run_lab_gate(struct run *r, uint32_t thread, const lg_node_id *gate, uint32_t n)
{
    lg_held_id h = LG_HELD_NONE;
    for (uint32_t i = 0; i < n; i++) {
        int rc;
        while ((rc = lg_graph_held_add(r->f->g, h, gate[i], false, &h)) == -ENOMEM)
            r->enomem++;
        assert_int_equal(rc, 0);
    }
    return (struct lg_edge_label){ .thread = thread, .held = h };
}

static int
run_edge(struct run *r, lg_node_id a, lg_node_id b, uint32_t thread)
{
    struct lg_edge_label l = lab(thread);
    return run_edge_l(r, a, b, &l);
}

static void
run_dump(void *ctx, lg_node_id from, lg_node_id to, const struct lg_edge_label *labels,
         uint32_t nlabels, bool cyclic)
{
    struct run *r = ctx;
    run_mix(r, from);
    run_mix(r, to);
    run_mix(r, cyclic);
    for (uint32_t i = 0; i < nlabels; i++) {
        run_mix(r, labels[i].thread);
        lg_node_id ids[8];
        uint32_t n = lg_graph_held_members(r->f->g, labels[i].held, ids, NULL, 8);
        for (uint32_t j = 0; j < n && j < 8; j++)
            run_mix(r, ids[j]);
    }
}

static void
run_script(struct run *r)
{
    enum { CHAIN = 140, STAR = 200 };
    static lg_node_id ch[CHAIN];
    lg_node_id g1 = run_node(r), g2 = run_node(r);
    lg_node_id a = run_node(r);
    for (int i = 0; i < CHAIN; i++)
        ch[i] = run_node(r);
    lg_node_id b = run_node(r);

    /* Two long chains a -> c0..c69 and c70..c139 -> b, then b -> a: a
     * repair of a window larger than the first scratch sizes. */
    assert_int_equal(run_edge(r, a, ch[0], 1), LG_EDGE_ADDED);
    for (int i = 0; i + 1 < CHAIN; i++)
        if (i != CHAIN / 2 - 1)
            assert_int_equal(run_edge(r, ch[i], ch[i + 1], 1000 + i), LG_EDGE_ADDED);
    assert_int_equal(run_edge(r, ch[CHAIN - 1], b, 2), LG_EDGE_ADDED);
    assert_int_equal(run_edge(r, b, a, 3), LG_EDGE_ADDED);
    /* Closing the gap makes a 142-lock cycle: merge, long search, report. */
    assert_int_equal(run_edge(r, ch[CHAIN / 2 - 1], ch[CHAIN / 2], 4), LG_EDGE_CYCLE);

    /* Labels with gates on one edge, past the inline one, up to the cap. */
    lg_node_id x = run_node(r), y = run_node(r), gates[] = { g1, g2 };
    for (uint32_t t = 5; t < 15; t++) {
        struct lg_edge_label l = run_lab_gate(r, t, gates + (t % 2), 1 + (t % 3 == 0 && t % 2 == 0));
        run_edge_l(r, x, y, &l);
    }
    struct lg_edge_label gy = run_lab_gate(r, 20, gates, 1);
    assert_int_equal(run_edge_l(r, y, x, &gy), LG_EDGE_CYCLE);

    /* A benign component that loses members (leave, then demote). */
    lg_node_id p = run_node(r), q = run_node(r), s = run_node(r);
    assert_int_equal(run_edge(r, p, q, 30), LG_EDGE_ADDED);
    assert_int_equal(run_edge(r, q, p, 30), LG_EDGE_ADDED);
    assert_int_equal(run_edge(r, q, s, 30), LG_EDGE_ADDED);
    assert_int_equal(run_edge(r, s, p, 30), LG_EDGE_ADDED);
    run_remove(r, q);
    assert_int_equal(run_edge(r, p, s, 31), LG_EDGE_CYCLE);
    run_remove(r, s);

    /* A hub with many edges (the edge table grows), then removed. */
    lg_node_id hub = run_node(r);
    static lg_node_id leaf[STAR];
    for (int i = 0; i < STAR; i++) {
        leaf[i] = run_node(r);
        run_edge(r, hub, leaf[i], 40);
        if (i % 4 == 0)
            run_edge(r, leaf[i], ch[i % CHAIN], 41); /* backwards: a repair */
    }
    run_remove(r, hub);
    run_remove(r, ch[3]);

    /* A dense block: both ends of every edge have many edges, so the edge
     * table holds them, and grows; then a cycle through it. */
    static lg_node_id left[16], right[16];
    for (int i = 0; i < 16; i++) {
        left[i] = run_node(r);
        right[i] = run_node(r);
    }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            assert_int_equal(run_edge(r, left[i], right[j], 50), LG_EDGE_ADDED);
    assert_int_equal(run_edge(r, left[3], right[5], 50), LG_EDGE_KNOWN);
    assert_int_equal(run_edge(r, right[5], left[3], 51), LG_EDGE_CYCLE);
    run_remove(r, left[0]);

    /* Enough nodes for the pool's chunk table to grow. */
    for (int i = 0; i < 8300; i++)
        run_node(r);
    lg_graph_each_edge(r->f->g, run_dump, r);
    struct lg_graph_stats st;
    lg_graph_stats(r->f->g, &st);
    run_mix(r, st.nodes);
    run_mix(r, st.edges);
    run_mix(r, st.labels);
    run_mix(r, st.labels_replaced);
    run_mix(r, st.held_sets);
    run_mix(r, st.reorders);
    assert_int_equal(st.searches_truncated, 0);
}

static void
test_allocation_failures_leave_graph_consistent(void **state)
{
    struct fx *f = *state;
    lg_graph_free(f->g);
    f->g = NULL;

    struct run clean = { .f = f };
    f->t = (struct tally){ 0 };
    assert_int_equal(lg_graph_new(&f->g, &f->a, &strict), 0);
    run_script(&clean);
    uint64_t total = f->t.calls;
    lg_graph_free(f->g);
    f->g = NULL;
    assert_int_equal(f->t.live, 0);
    assert_int_equal(clean.enomem, 0);
    assert_true(total > 40);

    for (uint64_t k = 1; k <= total; k++) {
        struct run r = { .f = f };
        f->t = (struct tally){ .fail_at = k };
        int rc = lg_graph_new(&f->g, &f->a, &strict);
        if (rc == -ENOMEM) {
            assert_int_equal(f->t.live, 0);
            rc = lg_graph_new(&f->g, &f->a, &strict);
        }
        assert_int_equal(rc, 0);
        run_script(&r);
        assert_int_equal(f->t.failures, 1);
        assert_true(r.hash == clean.hash);
        lg_graph_free(f->g);
        f->g = NULL;
        assert_int_equal(f->t.live, 0);
    }
    assert_int_equal(lg_graph_new(&f->g, &f->a, &strict), 0); /* for the teardown */
}

/* An optional argument runs only the tests whose names match it (a glob). */
int
main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_graph_empty),
        T(test_node_ids_never_reused),
        T(test_node_slots_are_dense_and_distinct),
        T(test_add_edge_rejects_bad_input),
        T(test_cycle_two_locks_two_threads),
        T(test_cycle_three_locks),
        T(test_cycle_thirty_locks),
        T(test_cycle_thirty_locks_shuffled),
        T(test_cycle_thousand_locks),
        T(test_no_report_one_thread),
        T(test_no_report_common_gate),
        T(test_no_report_readers),
        T(test_readers_rule_at_the_closing_lock),
        T(test_three_cycle_same_thread_twice),
        T(test_three_cycle_other_label_choice_works),
        T(test_backtracks_over_labels_along_the_path),
        T(test_only_simple_cycles_count),
        T(test_cycle_owns_its_memory),
        T(test_new_label_on_existing_edge_completes_cycle),
        T(test_benign_cycle_stays_for_later_cycles),
        T(test_shortest_cycle_is_reported),
        T(test_equal_label_is_known),
        T(test_label_dedupe_is_known),
        T(test_thread_variants_are_bounded),
        T(test_many_held_sets_on_one_edge),
        T(test_thread_variants_default_is_four),
        T(test_replacing_label_is_checked),
        T(test_dense_graph_finds_its_edges),
        T(test_dense_graph_churn),
        T(test_remove_drops_edges),
        T(test_removed_node_breaks_cycle),
        T(test_reorders_are_counted),
        T(test_each_edge_once_with_cyclic_flag),
        T(test_search_budget_truncation_is_counted),
        T(test_random_graphs_match_brute_force),
        T(test_random_large_graphs_reachability),
        T(test_default_reports_one_threads_cycle),
        T(test_ordered_class_comes_from_the_callback),
        T(test_dependency_through_held_locks),
        T(test_dependency_with_gate_in_between),
        T(test_dependency_needs_its_start_held),
        T(test_deep_dependency),
        T(test_cycle_closes_at_a_lock_held_below),
        T(test_held_sets_interned_and_freed),
        T(test_status_then_add_sees_changes_between),
        T(test_held_set_table_is_bounded),
        T(test_runtime_edges_match_brute_force),
        T(test_allocation_failures_leave_graph_consistent),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
