/*
 * Unit tests for lockgraph's runtime (everything behind the interposers):
 * the allocator, lock records, per-thread held stacks and chain sets, and
 * the acquire/release checks feeding the graph and the reports. The
 * runtime is driven directly, without interposition, so these tests also
 * run under ASan+UBSan and TSan (the dogfood presets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt.h"

static char json_path[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(json_path, sizeof json_path, "/tmp/lg-test-runtime-%ld.json", (long)getpid());
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

/* How many reports in the JSON log (one per line) hold `text`. */
static int
reports_with(const char *text)
{
    FILE *f = fopen(json_path, "r");
    if (!f)
        return 0;
    char line[1 << 16];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, text))
            n++;
    fclose(f);
    return n;
}

/* How many reports of `kind` the JSON log holds. */
static int
reports_of(const char *kind)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"kind\":\"%s\"", kind);
    return reports_with(needle);
}

static bool
all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* A block of `size` comes out zero, and once written and given back it is
 * the next block of that size handed out, zero again. */
static void
check_comes_back_zeroed(size_t size)
{
    unsigned char *p = lg_mem_alloc(size);
    assert_non_null(p);
    assert_true(all_zero(p, size));
    memset(p, 0xAB, size);
    lg_mem_free(p, size);
    unsigned char *q = lg_mem_alloc(size);
    assert_ptr_equal(q, p); /* same size class: the block comes back */
    assert_true(all_zero(q, size));
    lg_mem_free(q, size);
}

static void
test_mem_is_zeroed_and_reused(void **state)
{
    (void)state;
    check_comes_back_zeroed(100);
    void *big = lg_mem_alloc(1 << 20);
    assert_non_null(big);
    lg_mem_free(big, 1 << 20);
}

/* A block of 1 KiB or more that is given back merges with its free buddy:
 * the pieces of a split block come back together, and a block that grew
 * by doubling does not leave its smaller sizes stranded. Every block comes
 * out zero, split from a used block or not. */
static void
test_mem_buddies_split_and_merge(void **state)
{
    (void)state;
    const size_t big = 64 << 10, quarter = 16 << 10;
    unsigned char *p = lg_mem_alloc(big);
    assert_non_null(p);
    assert_true(all_zero(p, big));
    memset(p, 0xAB, big);
    lg_mem_free(p, big);
    size_t mapped = lg_mem_mapped();

    /* Quarters: other free pieces may come first; p is split once they run
     * out, and all four of its quarters are handed out. */
    unsigned char *inside[4], *outside[64];
    unsigned nin = 0, nout = 0;
    while (nin < 4) {
        unsigned char *q = lg_mem_alloc(quarter);
        assert_non_null(q);
        assert_true(all_zero(q, quarter));
        if (q >= p && q < p + big) {
            for (unsigned i = 0; i < nin; i++)
                assert_true(q != inside[i]);
            inside[nin++] = q;
        } else {
            assert_true(nout < 64);
            outside[nout++] = q;
        }
    }
    assert_int_equal(lg_mem_mapped(), mapped); /* no new chunk for them */
    for (unsigned i = 0; i < 4; i++) {
        memset(inside[i], 0xCD, quarter);
        lg_mem_free(inside[i], quarter);
    }
    /* Merged back whole: the next block of that size is p, zeroed. */
    unsigned char *again = lg_mem_alloc(big);
    assert_ptr_equal(again, p);
    assert_true(all_zero(again, big));
    lg_mem_free(again, big);
    for (unsigned i = 0; i < nout; i++)
        lg_mem_free(outside[i], quarter);
    assert_int_equal(lg_mem_mapped(), mapped);
}

/* The VmFlags line of the mapping that holds p, from /proc/self/smaps
 * ("" if none was found). */
static void
vm_flags_of(const void *p, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return;
    char line[512];
    bool inside = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, len, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

/* Whether this kernel takes MADV_HUGEPAGE at all (not built with THP, or
 * a sandbox that refuses madvise: lockgraph's requests are then no-ops). */
static bool
huge_pages_can_be_asked(void)
{
    size_t len = 2 * LG_MEM_CHUNK;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    bool ok = madvise(p, len, MADV_HUGEPAGE) == 0;
    munmap(p, len);
    return ok;
}

/* Blocks up to 1 MiB come from the chunks like the small ones: one given
 * back comes out again, zeroed. A bigger one is mapped on its own at a
 * huge-page boundary and asks for huge pages (smaps: VmFlags "hg"), comes
 * out zero, and goes back to the system when freed. */
static void
test_mem_big_blocks(void **state)
{
    (void)state;
    const size_t huge = 3 << 20;
    check_comes_back_zeroed(1 << 20);

    size_t before = lg_mem_mapped();
    unsigned char *h = lg_mem_alloc(huge);
    assert_non_null(h);
    assert_int_equal((uintptr_t)h % LG_MEM_CHUNK, 0);
    assert_true(all_zero(h, huge));
    assert_int_equal(lg_mem_mapped(), before + huge);
    if (huge_pages_can_be_asked()) {
        char flags[256];
        vm_flags_of(h, flags, sizeof flags);
        assert_non_null(strstr(flags, " hg"));
    }
    memset(h, 0xAB, huge);
    lg_mem_free(h, huge);
    assert_int_equal(lg_mem_mapped(), before);
}

static void
test_lock_identity_ends_at_forget(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    static pthread_mutex_t object;
    uintptr_t addr = (uintptr_t)&object;
    struct lg_lock *l = lg_lock_get(t, addr, LG_MUTEX_NORMAL, false, 0);
    assert_non_null(l);
    uint64_t uid = atomic_load(&l->uid);
    assert_ptr_equal(lg_lock_find(t, addr), l);
    assert_ptr_equal(lg_lock_get(t, addr, LG_MUTEX_NORMAL, false, 0), l);
    lg_lock_forget(l, lg_lock_uid(l));
    assert_null(lg_lock_find(t, addr));
    struct lg_lock *again = lg_lock_get(t, addr, LG_MUTEX_RECURSIVE, false, 0);
    assert_non_null(again);
    assert_true(atomic_load(&again->uid) != uid);
    assert_int_equal(again->type, LG_MUTEX_RECURSIVE);
    /* init on a live record is a new lock too (the record may be reused) */
    uint64_t again_uid = atomic_load(&again->uid);
    struct lg_lock *fresh = lg_lock_init(t, addr, LG_MUTEX_NORMAL, true, 0);
    assert_true(atomic_load(&fresh->uid) != again_uid);
    assert_true(fresh->robust);
    lg_lock_forget(fresh, lg_lock_uid(fresh));
}

static void
test_held_stack_out_of_order_release(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    static pthread_mutex_t objs[3];
    struct lg_lock *l[3];
    for (int i = 0; i < 3; i++)
        l[i] = lg_lock_get(t, (uintptr_t)&objs[i], LG_MUTEX_NORMAL, false, 0);
    uint32_t base = t->nheld;
    for (int i = 0; i < 3; i++)
        assert_true(lg_held_push(t, l[i], LG_EXCL, false, 0x1000 + (uintptr_t)i,
                                 lg_chain_for(t, lg_lock_uid(l[i]), LG_EXCL)));
    assert_true(lg_held_pop(t, l[1], NULL)); /* the middle one */
    assert_int_equal(t->nheld, base + 2);
    uint64_t chain_ac = t->held[t->nheld - 1].chain;
    assert_true(lg_held_pop(t, l[2], NULL));
    assert_true(lg_held_pop(t, l[0], NULL));
    assert_false(lg_held_pop(t, l[0], NULL));
    /* A then C pushed fresh hash the same as what was left. */
    lg_held_push(t, l[0], LG_EXCL, false, 0,
                                 lg_chain_for(t, lg_lock_uid(l[0]), LG_EXCL));
    lg_held_push(t, l[2], LG_EXCL, false, 0,
                                 lg_chain_for(t, lg_lock_uid(l[2]), LG_EXCL));
    assert_true(t->held[t->nheld - 1].chain == chain_ac);
    lg_held_pop(t, l[2], NULL);
    lg_held_pop(t, l[0], NULL);
    assert_int_equal(t->nheld, base);
    for (int i = 0; i < 3; i++)
        lg_lock_forget(l[i], lg_lock_uid(l[i]));
}

static void
test_held_stack_has_no_fixed_limit(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    enum { N = 500 };
    static pthread_mutex_t objs[N];
    static struct lg_lock *l[N];
    for (int i = 0; i < N; i++) {
        l[i] = lg_lock_get(t, (uintptr_t)&objs[i], LG_MUTEX_NORMAL, false, 0);
        assert_true(lg_held_push(t, l[i], LG_EXCL, false, 0,
                                 lg_chain_for(t, lg_lock_uid(l[i]), LG_EXCL)));
    }
    for (int i = N - 1; i >= 0; i--)
        assert_true(lg_held_pop(t, l[i], NULL));
    for (int i = 0; i < N; i++)
        lg_lock_forget(l[i], lg_lock_uid(l[i]));
}

static void
test_chain_set_remembers_and_grows(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    for (uint64_t i = 1; i <= 5000; i++)
        assert_false(lg_chain_seen(t, lg_chain_hash(i, i * 7, LG_EXCL)));
    for (uint64_t i = 1; i <= 5000; i++)
        assert_true(lg_chain_seen(t, lg_chain_hash(i, i * 7, LG_EXCL)));
    assert_true(lg_chain_hash(1, 2, LG_EXCL) != lg_chain_hash(1, 2, LG_SHARED));
}

struct order_arg {
    struct lg_lock *first, *second;
};

static void *
take_in_order(void *p)
{
    struct order_arg *a = p;
    struct lg_thread *t = lg_self();
    uint64_t chain = lg_before_acquire(t, a->first, LG_EXCL, LG_BLOCKING, 0);
    lg_after_acquire(t, a->first, LG_EXCL, LG_BLOCKING, 0, chain);
    chain = lg_before_acquire(t, a->second, LG_EXCL, LG_BLOCKING, 0);
    lg_after_acquire(t, a->second, LG_EXCL, LG_BLOCKING, 0, chain);
    lg_before_release(t, a->second, a->second->addr, t->tid, true, 0);
    lg_before_release(t, a->first, a->first->addr, t->tid, true, 0);
    /* What the interposer does once the thread holds nothing. */
    lg_pend_flush(t, false);
    return NULL;
}

static void
run(struct order_arg *a)
{
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, take_in_order, a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
}

static void
test_inversion_across_threads_is_reported_once(void **state)
{
    (void)state;
    static pthread_mutex_t oa, ob;
    struct lg_lock *a = lg_lock_get(NULL, (uintptr_t)&oa, LG_MUTEX_NORMAL, false, 0);
    struct lg_lock *b = lg_lock_get(NULL, (uintptr_t)&ob, LG_MUTEX_NORMAL, false, 0);
    int before = reports_of("lock-order-inversion");
    struct order_arg ab = { a, b }, ba = { b, a };
    run(&ab);
    assert_int_equal(reports_of("lock-order-inversion"), before);
    run(&ba);
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    run(&ba); /* the same cycle again: not reported twice */
    run(&ab);
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    lg_lock_forget(a, lg_lock_uid(a));
    lg_lock_forget(b, lg_lock_uid(b));
}

/* The last report of the JSON log has this text in it. */
static bool
last_report_has(const char *text)
{
    FILE *f = fopen(json_path, "r");
    if (!f)
        return false;
    static char line[1 << 16], last[1 << 16];
    last[0] = 0;
    while (fgets(line, sizeof line, f))
        memcpy(last, line, sizeof line);
    fclose(f);
    return strstr(last, text) != NULL;
}

/* Lock order is a property of the code: one thread taking both orders is
 * reported, and the report says that is what happened. */
static void
test_inversion_by_one_thread_is_reported_as_such(void **state)
{
    (void)state;
    static pthread_mutex_t oa, ob;
    struct lg_lock *a = lg_lock_get(NULL, (uintptr_t)&oa, LG_MUTEX_NORMAL, false, 0);
    struct lg_lock *b = lg_lock_get(NULL, (uintptr_t)&ob, LG_MUTEX_NORMAL, false, 0);
    int before = reports_of("lock-order-inversion");
    struct order_arg ab = { a, b }, ba = { b, a };
    take_in_order(&ab);
    assert_int_equal(reports_of("lock-order-inversion"), before);
    take_in_order(&ba);
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    assert_true(last_report_has("\"cycle_class\":\"single-thread\""));
    lg_lock_forget(a, lg_lock_uid(a));
    lg_lock_forget(b, lg_lock_uid(b));
}

/* ---- new chains noted, and stored later ------------------------------- */

static void
lock_it(struct lg_thread *t, struct lg_lock *l)
{
    uint64_t chain = lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, 0);
    lg_after_acquire(t, l, LG_EXCL, LG_BLOCKING, 0, chain);
}

static void
unlock_it(struct lg_thread *t, struct lg_lock *l)
{
    lg_before_release(t, l, l->addr, t->tid, true, 0);
}

/* Two locks the graph has nodes for (taken a then b once): a chain into
 * one of them is noted from then on, not stored at once. */
static void
known_pair(pthread_mutex_t *oa, pthread_mutex_t *ob, struct lg_lock **a, struct lg_lock **b)
{
    *a = lg_lock_get(NULL, (uintptr_t)oa, LG_MUTEX_NORMAL, false, 0);
    *b = lg_lock_get(NULL, (uintptr_t)ob, LG_MUTEX_NORMAL, false, 0);
    struct order_arg ab = { *a, *b };
    run(&ab);
    assert_int_not_equal(lg_lock_node_peek(*a), LG_NODE_NONE);
    assert_int_not_equal(lg_lock_node_peek(*b), LG_NODE_NONE);
}

static uint64_t
graph_edges(void)
{
    struct lg_graph_stats st = { 0 };
    lg_mutex_lock(&lg_graph_lock);
    lg_graph_stats(lg_graph, &st);
    lg_mutex_unlock(&lg_graph_lock);
    return st.edges;
}

static struct lg_lock *deep_locks[200];

static void *
take_deep_nest(void *p)
{
    (void)p;
    struct lg_thread *t = lg_self();
    for (int i = 0; i < 200; i++)
        lock_it(t, deep_locks[i]);
    for (int i = 200; i-- > 0;)
        unlock_it(t, deep_locks[i]);
    lg_pend_flush(t, false);
    return NULL;
}

/* A thread that holds many locks adds edges from the eight nearest the top
 * until it holds 64 (check.c: LG_DIRECT_EDGES, LG_DEEP_HOLD), then one per
 * acquisition, as lockdep does: a deep nest costs O(1) edges per lock, not
 * eight. A dependency on a lock deep in the nest is still a path through
 * the locks between, so an inversion against it is still reported. */
static void
test_deep_nest_adds_one_edge_per_lock(void **state)
{
    (void)state;
    static pthread_mutex_t objs[200];
    for (int i = 0; i < 200; i++)
        deep_locks[i] = lg_lock_get(NULL, (uintptr_t)&objs[i], LG_MUTEX_NORMAL, false, 0);
    /* What earlier tests left noted is stored now, not between the counts. */
    lg_pend_flush_all();
    uint64_t edges = graph_edges();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, take_deep_nest, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    /* Acquisition i holds i locks: min(i, 8) edges up to i = 64, then 1. */
    uint64_t want = 0;
    for (uint64_t i = 1; i < 200; i++)
        want += i > 64 ? 1 : i < 8 ? i : 8;
    assert_int_equal(graph_edges() - edges, want);
    int before = reports_of("lock-order-inversion");
    struct order_arg back = { deep_locks[199], deep_locks[70] };
    run(&back);
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    /* The path L70 ~> L199 runs through 128 locks: 16 are named. */
    assert_int_equal(reports_with("and 112 more"), 1);
    struct order_arg back_deeper = { deep_locks[150], deep_locks[3] };
    run(&back_deeper);
    assert_int_equal(reports_of("lock-order-inversion"), before + 2);
    for (int i = 0; i < 200; i++)
        lg_lock_forget(deep_locks[i], lg_lock_uid(deep_locks[i]));
}

/* The inversion a noted chain closes is reported before the thread waits
 * for anything: a real deadlock then finds the chain in the graph. */
static void
test_noted_chain_is_stored_before_a_wait(void **state)
{
    (void)state;
    static pthread_mutex_t oa, ob;
    struct lg_lock *a, *b;
    known_pair(&oa, &ob, &a, &b);
    int before = reports_of("lock-order-inversion");
    struct lg_thread *t = lg_self();
    lock_it(t, b);
    lock_it(t, a);
    assert_int_equal(atomic_load(&t->npend), 1);
    assert_int_equal(reports_of("lock-order-inversion"), before);
    lg_wait_begin(t, LG_WAIT_COND, NULL, (uintptr_t)&oa, LG_EXCL, 0);
    assert_int_equal(atomic_load(&t->npend), 0);
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    lg_wait_end(t);
    unlock_it(t, a);
    unlock_it(t, b);
    lg_lock_forget(a, lg_lock_uid(a));
    lg_lock_forget(b, lg_lock_uid(b));
}

/* A wait for a busy lock stores them when it begins, as the other waits
 * do: the inversion is reported before the wait counts as one. */
static void
test_noted_chain_is_stored_when_a_lock_wait_begins(void **state)
{
    (void)state;
    static pthread_mutex_t oa, ob, oc;
    struct lg_lock *a, *b;
    known_pair(&oa, &ob, &a, &b);
    struct lg_lock *c = lg_lock_get(NULL, (uintptr_t)&oc, LG_MUTEX_NORMAL, false, 0);
    int before = reports_of("lock-order-inversion");
    struct lg_thread *t = lg_self();
    lock_it(t, b);
    lock_it(t, a);
    assert_int_equal(atomic_load(&t->npend), 1);
    lg_wait_begin(t, LG_WAIT_LOCK, c, (uintptr_t)&oc, LG_EXCL, 0);
    assert_int_equal(atomic_load(&t->npend), 0);
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    lg_wait_end(t);
    lg_lock_forget(c, lg_lock_uid(c));
    unlock_it(t, a);
    unlock_it(t, b);
    lg_lock_forget(a, lg_lock_uid(a));
    lg_lock_forget(b, lg_lock_uid(b));
}

/* A thread still holding the locks of a chain it noted when the program
 * exits: the exit stores it for the thread, and reports what it closes. */
static atomic_int holder_step;

static void *
hold_noted(void *p)
{
    struct order_arg *o = p;
    struct lg_thread *t = lg_self();
    lock_it(t, o->first);
    lock_it(t, o->second);
    atomic_store(&holder_step, 1);
    while (atomic_load(&holder_step) != 2)
        sched_yield();
    unlock_it(t, o->second);
    unlock_it(t, o->first);
    return NULL;
}

static void
test_noted_chains_are_stored_at_exit(void **state)
{
    (void)state;
    static pthread_mutex_t oa, ob;
    struct lg_lock *a, *b;
    known_pair(&oa, &ob, &a, &b);
    int before = reports_of("lock-order-inversion");
    struct order_arg ba = { b, a };
    pthread_t th;
    atomic_store(&holder_step, 0);
    assert_int_equal(pthread_create(&th, NULL, hold_noted, &ba), 0);
    while (atomic_load(&holder_step) != 1)
        sched_yield();
    assert_int_equal(reports_of("lock-order-inversion"), before);
    lg_pend_flush_all();
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    atomic_store(&holder_step, 2);
    assert_int_equal(pthread_join(th, NULL), 0);
    lg_lock_forget(a, lg_lock_uid(a));
    lg_lock_forget(b, lg_lock_uid(b));
}

/* A lock destroyed between the acquisition and the store: its node is
 * gone, the graph refuses the edge, and nothing is reported. */
static void
test_noted_chain_of_a_destroyed_lock_is_dropped(void **state)
{
    (void)state;
    static pthread_mutex_t oa, ob;
    struct lg_lock *a, *b;
    known_pair(&oa, &ob, &a, &b);
    int before = reports_of("lock-order-inversion");
    struct lg_thread *t = lg_self();
    lock_it(t, b);
    lock_it(t, a);
    unlock_it(t, a);
    unlock_it(t, b);
    assert_int_equal(atomic_load(&t->npend), 1);
    lg_after_destroy(t, a, lg_lock_uid(a));
    lg_pend_flush(t, true);
    assert_int_equal(atomic_load(&t->npend), 0);
    assert_int_equal(reports_of("lock-order-inversion"), before);
    lg_lock_forget(b, lg_lock_uid(b));
}

/* A thread that never lets go of its outermost lock still has its chains
 * stored: the buffer empties itself when full. The last chain closes an
 * inversion with an order taken first, so it is reported while the outer
 * lock is still held. */
static void
test_noted_chains_are_stored_when_the_buffer_fills(void **state)
{
    (void)state;
    enum { N = 200 };
    static pthread_mutex_t objs[N + 1];
    struct lg_lock *l[N + 1];
    for (int i = 0; i <= N; i++)
        l[i] = lg_lock_get(NULL, (uintptr_t)&objs[i], LG_MUTEX_NORMAL, false, 0);
    /* Nodes for all, and the order l[N] -> l[0] by another thread. */
    for (int i = 1; i < N; i++) {
        struct order_arg o = { l[0], l[i] };
        run(&o);
    }
    struct order_arg last = { l[N], l[0] };
    run(&last);
    int before = reports_of("lock-order-inversion");
    struct lg_thread *t = lg_self();
    lock_it(t, l[0]);
    uint32_t most = 0, was = 0, emptied = 0;
    for (int i = 1; i <= N; i++) {
        /* Under l[0] and l[i - 1]: chains this thread never took. */
        if (i > 1)
            lock_it(t, l[i - 1]);
        lock_it(t, l[i]);
        unlock_it(t, l[i]);
        if (i > 1)
            unlock_it(t, l[i - 1]);
        most = atomic_load(&t->npend) > most ? atomic_load(&t->npend) : most;
        emptied += atomic_load(&t->npend) < was;
        was = atomic_load(&t->npend);
    }
    /* 399 chains noted; an 8 KiB buffer (check.c's PEND_BYTES) holds 64 of
     * these (one or two held locks each, 96 or 128 bytes). */
    assert_true(most <= 8192 / 96);
    assert_true(emptied >= 4);
    lg_pend_flush(t, true);
    /* l[0] -> l[N] (this thread) against l[N] -> l[0] (the other). */
    assert_int_equal(reports_of("lock-order-inversion"), before + 1);
    unlock_it(t, l[0]);
    for (int i = 0; i <= N; i++)
        lg_lock_forget(l[i], lg_lock_uid(l[i]));
}

static void
test_misuse_reports(void **state)
{
    (void)state;
    struct lg_thread *t = lg_self();
    static pthread_mutex_t o;
    struct lg_lock *l = lg_lock_get(t, (uintptr_t)&o, LG_MUTEX_NORMAL, false, 0);
    int unlocked = reports_of("unlock-unlocked"), not_owner = reports_of("unlock-not-owner");
    lg_before_release(t, l, l->addr, 0, false, 0x10);
    assert_int_equal(reports_of("unlock-unlocked"), unlocked + 1);
    lg_before_release(t, l, l->addr, t->tid + 1, true, 0x20);
    assert_int_equal(reports_of("unlock-not-owner"), not_owner + 1);
    /* Locked by this very thread before lockgraph saw it: not misuse. */
    lg_before_release(t, l, l->addr, t->tid, true, 0x30);
    assert_int_equal(reports_of("unlock-not-owner"), not_owner + 1);
    int destroyed = reports_of("destroy-locked");
    lg_before_destroy(t, l, l->addr, true, t->tid, 0x40);
    assert_int_equal(reports_of("destroy-locked"), destroyed + 1);
    lg_after_destroy(t, l, lg_lock_uid(l));
    assert_null(lg_lock_find(t, (uintptr_t)&o));
}

/* Many threads creating, finding, holding and forgetting locks at once:
 * the lock table's lock-free reads, the allocator and the graph lock under
 * contention (this is what TSan checks in the tsan preset). */
enum { STRESS_THREADS = 4, STRESS_LOCKS = 64, STRESS_ROUNDS = 300 };
static pthread_mutex_t stress_objs[STRESS_LOCKS], churn_objs[STRESS_LOCKS];

static void *
stress(void *p)
{
    unsigned seed = (unsigned)(uintptr_t)p;
    struct lg_thread *t = lg_self();
    for (int r = 0; r < STRESS_ROUNDS; r++) {
        unsigned i = (unsigned)rand_r(&seed) % STRESS_LOCKS;
        unsigned j = (i + 1 + (unsigned)rand_r(&seed) % (STRESS_LOCKS - 1)) % STRESS_LOCKS;
        if (i > j) {
            unsigned k = i;
            i = j;
            j = k;
        }
        struct lg_lock *a = lg_lock_get(t, (uintptr_t)&stress_objs[i], LG_MUTEX_NORMAL, false, 0);
        struct lg_lock *b = lg_lock_get(t, (uintptr_t)&stress_objs[j], LG_MUTEX_NORMAL, false, 0);
        if (!a || !b)
            continue;
        /* Always i < j: a consistent order, so nothing may be reported. */
        uint64_t chain = lg_before_acquire(t, a, LG_EXCL, LG_BLOCKING, 0);
        lg_after_acquire(t, a, LG_EXCL, LG_BLOCKING, 0, chain);
        chain = lg_before_acquire(t, b, LG_EXCL, LG_BLOCKING, 0);
        lg_after_acquire(t, b, LG_EXCL, LG_BLOCKING, 0, chain);
        lg_held_pop(t, b, NULL);
        lg_held_pop(t, a, NULL);
        /* Locks set up and destroyed all the time, beside the ones in use. */
        uintptr_t churn = (uintptr_t)&churn_objs[(unsigned)rand_r(&seed) % STRESS_LOCKS];
        if (rand_r(&seed) % 2)
            lg_lock_init(t, churn, LG_MUTEX_NORMAL, false, 0);
        else if ((a = lg_lock_find(t, churn)) != NULL)
            lg_lock_forget(a, lg_lock_uid(a));
    }
    return NULL;
}

static void
test_concurrent_use_of_the_runtime(void **state)
{
    (void)state;
    int before = reports_of("lock-order-inversion");
    pthread_t th[STRESS_THREADS];
    for (uintptr_t i = 0; i < STRESS_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, stress, (void *)(i + 1)), 0);
    for (int i = 0; i < STRESS_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(reports_of("lock-order-inversion"), before);
}

/* ---- semaphore locks (LG_SEMAPHORE, intercept_sem.c): who holds one is
 * lockgraph's belief, checked against the semaphore's value; taking one
 * again is no self-deadlock; a thread that exits holding one has abandoned
 * nothing; a record a semaphore left behind makes way for the lock that
 * now lives at its address; a forgotten one gets no graph node and its
 * holder's entries are dropped. ---------------------------------------- */

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
    /* A mutex would be reported here and the process stopped (exit 66). */
    lg_before_acquire(t, l, LG_EXCL, LG_BLOCKING, 0x20);
    assert_int_equal(reports_of("self-deadlock"), before);
    lg_after_destroy(t, l, lg_lock_uid(l));
}

struct exit_case {
    bool with_mutex;
    bool really_locked; /* the mutex itself taken, not only believed held */
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
    if (c->really_locked)
        assert_int_equal(pthread_mutex_lock(&m), 0);
    if (c->with_mutex)
        take(t, mx);
    lg_thread_exit(t);
    if (c->really_locked)
        assert_int_equal(pthread_mutex_unlock(&m), 0);
    return NULL;
}

static void
test_exiting_with_a_semaphore_abandons_nothing(void **state)
{
    (void)state;
    int before = reports_of("abandoned-lock");
    struct exit_case sem_only = { false, false }, both = { true, true };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, exit_holding, &sem_only), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(reports_of("abandoned-lock"), before);
    assert_int_equal(pthread_create(&th, NULL, exit_holding, &both), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(reports_of("abandoned-lock"), before + 1);
}

/* A mutex believed held at exit that the mutex itself says is free (an
 * unlock lockgraph did not see): a stale belief, no abandoned lock. */
static void
test_exiting_with_a_free_mutex_abandons_nothing(void **state)
{
    (void)state;
    int before = reports_of("abandoned-lock");
    struct exit_case believed = { true, false };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, exit_holding, &believed), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(reports_of("abandoned-lock"), before);
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

/* What the objects say of being process-shared (abi.c reads glibc's
 * layouts), and what a wait on one is booked as: one another process may
 * end, which the stall check does not count as blocked. */
static void
test_process_shared_objects_are_told_apart(void **state)
{
    (void)state;
    static pthread_mutex_t mp, ms;
    static pthread_rwlock_t rp, rs;
    static pthread_cond_t cp, cs;
    static pthread_barrier_t bp, bs;
    static sem_t sp, ss;
    pthread_mutexattr_t ma;
    pthread_rwlockattr_t ra;
    pthread_condattr_t ca;
    pthread_barrierattr_t ba;
    assert_int_equal(pthread_mutexattr_init(&ma), 0);
    assert_int_equal(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED), 0);
    assert_int_equal(pthread_rwlockattr_init(&ra), 0);
    assert_int_equal(pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED), 0);
    assert_int_equal(pthread_condattr_init(&ca), 0);
    assert_int_equal(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED), 0);
    assert_int_equal(pthread_barrierattr_init(&ba), 0);
    assert_int_equal(pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED), 0);
    assert_int_equal(pthread_mutex_init(&mp, NULL), 0);
    assert_int_equal(pthread_mutex_init(&ms, &ma), 0);
    assert_int_equal(pthread_rwlock_init(&rp, NULL), 0);
    assert_int_equal(pthread_rwlock_init(&rs, &ra), 0);
    assert_int_equal(pthread_cond_init(&cp, NULL), 0);
    assert_int_equal(pthread_cond_init(&cs, &ca), 0);
    assert_int_equal(pthread_barrier_init(&bp, NULL, 2), 0);
    assert_int_equal(pthread_barrier_init(&bs, &ba, 2), 0);
    assert_int_equal(sem_init(&sp, 0, 0), 0);
    assert_int_equal(sem_init(&ss, 1, 0), 0);
    assert_false(lg_abi_mutex_pshared((uintptr_t)&mp));
    assert_true(lg_abi_mutex_pshared((uintptr_t)&ms));
    assert_false(lg_abi_rwlock_pshared((uintptr_t)&rp));
    assert_true(lg_abi_rwlock_pshared((uintptr_t)&rs));
    assert_false(lg_abi_cond_pshared((uintptr_t)&cp));
    assert_true(lg_abi_cond_pshared((uintptr_t)&cs));
    assert_false(lg_abi_barrier_pshared((uintptr_t)&bp));
    assert_true(lg_abi_barrier_pshared((uintptr_t)&bs));
    assert_false(lg_abi_sem_pshared((uintptr_t)&sp));
    assert_true(lg_abi_sem_pshared((uintptr_t)&ss));
    /* The shared mutex keeps its type and robustness beside it. */
    assert_int_equal(lg_abi_mutex_kind((uintptr_t)&ms), PTHREAD_MUTEX_NORMAL);
    assert_false(lg_abi_mutex_robust((uintptr_t)&ms));

    struct lg_thread *t = lg_self();
    struct lg_lock *shared = lg_lock_init(t, (uintptr_t)&ms, LG_MUTEX_NORMAL, LG_LOCK_PSHARED, 0);
    struct lg_lock *private = lg_lock_init(t, (uintptr_t)&mp, LG_MUTEX_NORMAL, LG_LOCK_ROBUST, 0);
    assert_true(shared->pshared);
    assert_false(shared->robust);
    assert_false(private->pshared);
    assert_true(private->robust);
    struct {
        enum lg_wait_kind kind;
        struct lg_lock *lock;
        uintptr_t object;
        bool external;
    } waits[] = {
        { LG_WAIT_LOCK, shared, (uintptr_t)&ms, true },
        { LG_WAIT_LOCK, private, (uintptr_t)&mp, false },
        { LG_WAIT_COND, NULL, (uintptr_t)&cs, true },
        { LG_WAIT_COND, NULL, (uintptr_t)&cp, false },
        { LG_WAIT_BARRIER, NULL, (uintptr_t)&bs, true },
        { LG_WAIT_BARRIER, NULL, (uintptr_t)&bp, false },
        { LG_WAIT_SEM, NULL, (uintptr_t)&ss, true },
        { LG_WAIT_SEM, NULL, (uintptr_t)&sp, false },
    };
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        lg_wait_begin(t, waits[i].kind, waits[i].lock, waits[i].object, LG_EXCL, 0);
        assert_int_equal(atomic_load(&t->wait_external), waits[i].external);
        lg_wait_end(t);
    }
    lg_lock_forget(shared, lg_lock_uid(shared));
    lg_lock_forget(private, lg_lock_uid(private));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_is_zeroed_and_reused),
        cmocka_unit_test(test_process_shared_objects_are_told_apart),
        cmocka_unit_test(test_mem_buddies_split_and_merge),
        cmocka_unit_test(test_mem_big_blocks),
        cmocka_unit_test(test_lock_identity_ends_at_forget),
        cmocka_unit_test(test_held_stack_out_of_order_release),
        cmocka_unit_test(test_held_stack_has_no_fixed_limit),
        cmocka_unit_test(test_deep_nest_adds_one_edge_per_lock),
        cmocka_unit_test(test_chain_set_remembers_and_grows),
        cmocka_unit_test(test_inversion_across_threads_is_reported_once),
        cmocka_unit_test(test_inversion_by_one_thread_is_reported_as_such),
        cmocka_unit_test(test_noted_chain_is_stored_before_a_wait),
        cmocka_unit_test(test_noted_chain_is_stored_when_a_lock_wait_begins),
        cmocka_unit_test(test_noted_chains_are_stored_at_exit),
        cmocka_unit_test(test_noted_chain_of_a_destroyed_lock_is_dropped),
        cmocka_unit_test(test_noted_chains_are_stored_when_the_buffer_fills),
        cmocka_unit_test(test_misuse_reports),
        cmocka_unit_test(test_concurrent_use_of_the_runtime),
        cmocka_unit_test(test_owner_is_belief_checked_against_the_value),
        cmocka_unit_test(test_taking_it_again_is_no_self_deadlock),
        cmocka_unit_test(test_exiting_with_a_semaphore_abandons_nothing),
        cmocka_unit_test(test_exiting_with_a_free_mutex_abandons_nothing),
        cmocka_unit_test(test_a_semaphores_record_makes_way),
        cmocka_unit_test(test_a_forgotten_semaphore_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
