/*
 * check.c - what each acquisition and release of a lock means.
 *
 * The fast path is lg_before_acquire() + lg_after_acquire() for a lock taken
 * in an order this thread has used before: a scan of the (short) held stack
 * for the self-deadlock check, one hash of the held chain, one probe of the
 * thread's own chain set, a push. No global state is touched and no lock is
 * taken. Only a chain the thread has never used goes to the graph, under
 * lg_graph_lock, with a stack captured for the new edges.
 */
#include "rt.h"

#include <errno.h>
#include <time.h>

static atomic_bool said_graph_memory, said_deadlock_size;

/*
 * Would this acquisition block forever on a lock the thread already holds?
 * A recursive mutex may be re-taken by its owner; an error-checking mutex,
 * and a glibc rwlock the thread holds for writing, make the call fail with
 * EDEADLK instead of blocking; a trylock fails with EBUSY. What remains (a
 * normal mutex or a spinlock taken again, an rwlock wanted for writing while
 * this thread reads it) blocks forever: that is a self-deadlock, reported
 * before the call is made.
 */
static bool
is_self_deadlock(const struct lg_lock *l, const struct lg_held *h, enum lg_mode mode,
                 enum lg_acquire_how how)
{
    if (how == LG_TRY)
        return false;
    switch (l->type) {
    case LG_MUTEX_RECURSIVE:
    case LG_MUTEX_ERRORCHECK:
        return false;
    case LG_RWLOCK:
        return h->mode == LG_SHARED && mode == LG_EXCL;
    default:
        return true;
    }
}

static int
cmp_node(const void *a, const void *b)
{
    lg_node_id x = *(const lg_node_id *)a, y = *(const lg_node_id *)b;
    return x < y ? -1 : x > y;
}

/* Small insertion sort: gate sets are a handful of locks. */
static uint32_t
sort_unique(lg_node_id *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && cmp_node(&v[j - 1], &v[j]) > 0; j--) {
            lg_node_id tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    return k;
}

/* A held entry whose lock was destroyed (or set up again) under it: the
 * record may already stand for another lock, so it orders nothing. */
static bool
stale(const struct lg_held *h)
{
    return h->uid != atomic_load_explicit(&h->lock->uid, memory_order_relaxed);
}

/*
 * The label of the edge "held[i] -> l" this thread is about to add, or
 * false if held[i] orders nothing here (l itself, an entry whose lock was
 * destroyed under it, the second level of a recursive lock). Called under
 * lg_graph_lock; the payload is left for the caller.
 */
static bool
edge_for(struct lg_thread *t, uint32_t i, struct lg_lock *l, enum lg_mode mode,
         const lg_node_id *gate, uint32_t ngate, lg_node_id *from, struct lg_edge_label *label)
{
    struct lg_held *h = &t->held[i];
    if (h->lock == l || stale(h))
        return false;
    for (uint32_t j = 0; j < i; j++)
        if (t->held[j].lock == h->lock)
            return false;
    *from = lg_lock_node(h->lock);
    *label = (struct lg_edge_label){
        .thread = t->num,
        .from_shared = h->mode == LG_SHARED,
        .to_shared = mode == LG_SHARED,
        .ngate = ngate,
        .gate = gate,
    };
    return *from != LG_NODE_NONE;
}

/*
 * Add the edges "every held lock -> l" for a chain this thread has not used
 * before, and report the deadlock-capable cycles they close. The label of
 * each edge carries this thread, the modes, the gate set (every lock held
 * exclusively, `from` included) and, as payload, where `from` was taken
 * (high 32 bits) and the stack taking `l` now (low 32 bits).
 *
 * A new chain often brings nothing new to the graph (the same edges under
 * other gates, which the graph's labels already cover), and capturing a
 * stack costs thousands of instructions: so the graph is asked first, and a
 * stack is captured only for an edge this thread never took before; a new
 * label on an edge it did take shares the evidence of its earlier label.
 */
static void
add_edges(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode)
{
    uint32_t n = t->nheld;
    lg_node_id gate_small[16];
    lg_node_id *gate = n <= 16 ? gate_small : lg_mem_alloc(n * sizeof *gate);
    struct lg_cycle *cycles_small[4];
    struct lg_cycle **cycles = n <= 4 ? cycles_small : lg_mem_alloc(n * sizeof *cycles);
    /* What the graph said of each edge, and the evidence it offered. */
    struct { int status; uint64_t evidence; } said_small[16], *said =
        n <= 16 ? said_small : lg_mem_alloc(n * sizeof *said);
    if (!gate || !cycles || !said) {
        lg_warn_once(&said_graph_memory, "out of memory for the lock-order graph: "
                     "new lock orders are not checked");
        goto out;
    }
    uint32_t ncycles = 0;
    lg_stack_id stack = 0;
    bool asked = false, released = false;
    struct lg_edge_label label;
    lg_node_id from;

    for (;;) {
        lg_mutex_lock(&lg_graph_lock);
        lg_node_id to = lg_lock_node(l);
        uint32_t ngate = 0;
        for (uint32_t i = 0; i < n && to; i++)
            if (t->held[i].mode == LG_EXCL && t->held[i].lock != l && !stale(&t->held[i]))
                gate[ngate++] = lg_lock_node(t->held[i].lock);
        ngate = sort_unique(gate, ngate);
        if (!asked) {
            asked = true;
            bool insert = false, keep = false;
            for (uint32_t i = 0; i < n && to; i++) {
                said[i].status = LG_LABEL_KNOWN;
                if (!edge_for(t, i, l, mode, gate, ngate, &from, &label))
                    continue;
                said[i].status = lg_graph_label_status(lg_graph, from, to, &label,
                                                       &said[i].evidence);
                insert |= said[i].status != LG_LABEL_KNOWN;
                keep |= said[i].status == LG_LABEL_NEW && !said[i].evidence;
            }
            if (!insert) {
                lg_mutex_unlock(&lg_graph_lock);
                goto out;
            }
            if (keep) {
                lg_mutex_unlock(&lg_graph_lock);
                stack = lg_stack_capture(2);
                released = true;
                continue;
            }
        }
        for (uint32_t i = 0; i < n && to; i++) {
            if (!edge_for(t, i, l, mode, gate, ngate, &from, &label))
                continue;
            if (released) /* the graph may have changed while the stack was taken */
                said[i].status = lg_graph_label_status(lg_graph, from, to, &label,
                                                       &said[i].evidence);
            if (said[i].status == LG_LABEL_KNOWN)
                continue;
            if (said[i].evidence)
                label.payload = said[i].evidence;
            else if (stack)
                label.payload = ((uint64_t)lg_stack_from_pc(t->held[i].site) << 32) | stack;
            struct lg_cycle *c = NULL;
            int r = lg_graph_add_edge(lg_graph, from, to, &label, &c);
            if (r == LG_EDGE_CYCLE && c)
                cycles[ncycles++] = c;
            else if (r == -ENOMEM)
                lg_warn_once(&said_graph_memory, "out of memory for the lock-order graph: "
                             "new lock orders are not checked");
            if (r >= 0 && lg_opt.verbosity >= 2)
                lg_note("T%u: new edge L%llu -> L%llu%s", t->num,
                        (unsigned long long)t->held[i].lock->id, (unsigned long long)l->id,
                        r == LG_EDGE_KNOWN ? " (known)" : "");
        }
        lg_mutex_unlock(&lg_graph_lock);
        break;
    }

    /* Reports are written outside the graph lock (they symbolise, which
     * takes a while); the cycles are the caller's own copies. */
    for (uint32_t i = 0; i < ncycles; i++) {
        lg_report_inversion(t, cycles[i]);
        lg_cycle_free(lg_graph, cycles[i]);
    }
out:
    if (gate && gate != gate_small)
        lg_mem_free(gate, n * sizeof *gate);
    if (cycles && cycles != cycles_small)
        lg_mem_free(cycles, n * sizeof *cycles);
    if (said && said != said_small)
        lg_mem_free(said, n * sizeof *said);
}

uint64_t
lg_before_acquire(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode,
                  enum lg_acquire_how how, uintptr_t site)
{
    uint64_t chain = lg_chain_for(t, atomic_load_explicit(&l->uid, memory_order_relaxed), mode);
    struct lg_held *h = lg_held_find(t, l);
    if (LG_UNLIKELY(h != NULL)) {
        if (is_self_deadlock(l, h, mode, how) && lg_report_self_deadlock(t, l, h, site))
            lg_exit_now();
        return chain; /* a re-take by the owner orders nothing */
    }
    /* An edge into a trylock is no ordering: a trylock never waits. */
    if (how == LG_TRY || t->nheld == 0 || LG_LIKELY(lg_chain_seen(t, chain)))
        return chain;
    add_edges(t, l, mode);
    return chain;
}

static void
bump(atomic_uint_fast64_t *counter)
{
    /* Only the owner thread writes these; a plain (relaxed) increment is
     * enough and costs no bus lock. */
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

void
lg_after_acquire(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode,
                 enum lg_acquire_how how, uintptr_t site, uint64_t chain)
{
    lg_acquired(t, l, atomic_load_explicit(&l->uid, memory_order_relaxed), mode,
                how == LG_TRY, site, chain);
}

void
lg_after_failed_try(struct lg_thread *t, struct lg_lock *l, uintptr_t site)
{
    (void)site;
    bump(&t->failed_trys);
    t->failed_since_release = true;
    if (!atomic_load_explicit(&l->watched, memory_order_relaxed))
        atomic_store_explicit(&l->watched, true, memory_order_relaxed);
    atomic_store_explicit(&t->trying_blocker_tid, lg_lock_owner_tid(l), memory_order_relaxed);
    struct lg_lock *was = atomic_load_explicit(&t->trying, memory_order_relaxed);
    if (was == l)
        return;
    /* A new retry episode: when it started, and where (captured once). The
     * one on another lock, if any, was given up. */
    if (was)
        lg_want_leave(was);
    atomic_store_explicit(&t->trying_grants0, lg_want_begin(l), memory_order_relaxed);
    atomic_store_explicit(&t->trying_uid, atomic_load_explicit(&l->uid, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&t->trying_since_ns, lg_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&t->trying_stack, lg_stack_capture(2), memory_order_relaxed);
    atomic_store_explicit(&t->trying, l, memory_order_release);
}

void
lg_before_release(struct lg_thread *t, struct lg_lock *l, uintptr_t addr,
                  long real_owner_tid, bool real_locked, uintptr_t site)
{
    if (LG_UNLIKELY(t->failed_since_release)) {
        /* A failed try, then giving something up: a back-off cycle. */
        t->failed_since_release = false;
        bump(&t->backoffs);
    }
    if (LG_LIKELY(l && lg_held_pop(t, l, NULL))) {
        if (LG_UNLIKELY(l->type == LG_SPINLOCK))
            atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
        return;
    }
    /* Not on this thread's held stack. The lock object itself says whether
     * that is misuse: lockgraph may simply not have seen the acquisition
     * (taken before it started), and then the object names this thread. */
    if (!real_locked)
        lg_report_misuse(t, "unlock-unlocked", l, addr, 0, site);
    else if (real_owner_tid > 0 && real_owner_tid != t->tid)
        lg_report_misuse(t, "unlock-not-owner", l, addr, real_owner_tid, site);
}

void
lg_before_destroy(struct lg_thread *t, struct lg_lock *l, uintptr_t addr, bool real_locked,
                  long real_owner_tid, uintptr_t site)
{
    if (real_locked)
        lg_report_misuse(t, "destroy-locked", l, addr, real_owner_tid, site);
}

void
lg_after_destroy(struct lg_thread *t, struct lg_lock *l, uint64_t uid)
{
    while (lg_held_pop(t, l, NULL))
        ;
    lg_lock_forget(l, uid);
}

void
lg_thread_exit(struct lg_thread *t)
{
    if (!atomic_load_explicit(&t->alive, memory_order_relaxed))
        return;
    /* A robust mutex held at exit is the robust protocol's business: the
     * next owner gets EOWNERDEAD. Anything else is abandoned. */
    bool abandoned = false;
    for (uint32_t i = 0; i < t->nheld; i++)
        if (!t->held[i].lock->robust)
            abandoned = true;
    if (abandoned)
        lg_report_abandoned(t);
    struct lg_lock *trying = atomic_load_explicit(&t->trying, memory_order_relaxed);
    if (trying) /* a retry episode it never ended */
        lg_want_leave(trying);
    lg_thread_exiting(t);
}

/* ---- waiting, and real deadlocks ------------------------------------- */

long
lg_wait_slice_ms(void)
{
    long slice = lg_opt.deadlock_ms / 4;
    return slice < 10 ? 10 : slice > 100 ? 100 : slice;
}

void
lg_wait_begin(struct lg_thread *t, enum lg_wait_kind kind, struct lg_lock *l,
              uintptr_t object, enum lg_mode mode, uintptr_t site)
{
    t->wait_mode = (uint8_t)mode;
    atomic_store_explicit(&t->wait_timed, false, memory_order_relaxed);
    atomic_store_explicit(&t->wait_site, site, memory_order_relaxed);
    t->dl_sig = 0;
    atomic_store_explicit(&t->wait_stack, 0, memory_order_relaxed);
    atomic_store_explicit(&t->wait_object, object, memory_order_relaxed);
    atomic_store_explicit(&t->wait_since_ns, lg_now_ns(), memory_order_relaxed);
    bool counted = false;
    if (l) {
        atomic_store_explicit(&t->waiting_uid, atomic_load_explicit(&l->uid, memory_order_relaxed),
                              memory_order_relaxed);
        if (!atomic_load_explicit(&l->watched, memory_order_relaxed))
            atomic_store_explicit(&l->watched, true, memory_order_relaxed);
        /* The wait is what the thread wants l for, unless a retry episode
         * on l is under way (its end counts the whole of it). */
        counted = atomic_load_explicit(&t->trying, memory_order_relaxed) != l;
        if (counted)
            atomic_store_explicit(&t->wait_grants0, lg_want_begin(l), memory_order_relaxed);
    }
    atomic_store_explicit(&t->wait_counted, counted, memory_order_relaxed);
    atomic_store_explicit(&t->waiting_for, l, memory_order_relaxed);
    atomic_store_explicit(&t->wait_kind, kind, memory_order_release);
}

void
lg_wait_set_timed(struct lg_thread *t)
{
    atomic_store_explicit(&t->wait_timed, true, memory_order_relaxed);
}

void
lg_wait_end(struct lg_thread *t)
{
    /* A lock wait of the thread's own (lg_wait_begin) is time it wanted
     * the lock, and the lock's grants meanwhile passed it: the liveness
     * monitor's share rule. Waits are the slow path. */
    struct lg_lock *l = atomic_load_explicit(&t->waiting_for, memory_order_relaxed);
    if (l && atomic_load_explicit(&t->wait_counted, memory_order_relaxed)) {
        lg_want_end(t, lg_grant_slot(t, atomic_load_explicit(&t->waiting_uid,
                                                              memory_order_relaxed)),
                    l, atomic_load_explicit(&t->wait_since_ns, memory_order_relaxed),
                    atomic_load_explicit(&t->wait_grants0, memory_order_relaxed));
        atomic_store_explicit(&t->wait_counted, false, memory_order_relaxed);
    }
    atomic_store_explicit(&t->wait_kind, LG_WAIT_NONE, memory_order_release);
    atomic_store_explicit(&t->waiting_for, NULL, memory_order_relaxed);
}

/*
 * Is this thread part of a wait-for cycle: it waits for a lock whose owner
 * waits for a lock whose owner ... waits for a lock this thread holds?
 * Follow the chain "waiting_for -> owner" from t; it closes on t for a
 * cycle through t. A cycle that does not pass through t is left to its own
 * members (each of them polls too). Ownership is read without locks, so a
 * cycle must look the same for deadlock_ms before it counts.
 */
#define DEADLOCK_MAX_THREADS 64

static uint32_t
wait_cycle(struct lg_thread *t, struct lg_thread **path)
{
    uint32_t n = 0;
    struct lg_thread *cur = t;
    for (;;) {
        if (n == DEADLOCK_MAX_THREADS) {
            lg_warn_once(&said_deadlock_size, "a wait-for chain is longer than %d threads: "
                         "longer deadlocks are not reported", DEADLOCK_MAX_THREADS);
            return 0;
        }
        path[n++] = cur;
        if (atomic_load_explicit(&cur->wait_kind, memory_order_acquire) != LG_WAIT_LOCK
            || atomic_load_explicit(&cur->wait_timed, memory_order_relaxed))
            return 0; /* not blocked on a lock, or not for ever */
        struct lg_lock *l = atomic_load_explicit(&cur->waiting_for, memory_order_relaxed);
        if (!l || atomic_load_explicit(&l->uid, memory_order_relaxed)
                      != atomic_load_explicit(&cur->waiting_uid, memory_order_relaxed))
            return 0;
        struct lg_thread *o = lg_thread_by_tid(lg_lock_owner_tid(l));
        if (!o)
            return 0;
        if (o == t)
            return n;
        for (uint32_t i = 1; i < n; i++)
            if (path[i] == o)
                return 0;
        cur = o;
    }
}

void
lg_wait_poll(struct lg_thread *t)
{
    if (atomic_load_explicit(&t->wait_stack, memory_order_relaxed) == 0)
        atomic_store_explicit(&t->wait_stack, lg_stack_capture(2), memory_order_relaxed);
    if (!lg_opt.detect_deadlocks)
        return;
    struct lg_thread *path[DEADLOCK_MAX_THREADS];
    uint32_t n = wait_cycle(t, path);
    if (n == 0) {
        t->dl_sig = 0;
        return;
    }
    uint64_t sig = 0;
    for (uint32_t i = 0; i < n; i++)
        sig = lg_chain_hash(sig, (uint64_t)path[i]->num << 32
                                     ^ atomic_load_explicit(&path[i]->waiting_uid,
                                                            memory_order_relaxed),
                            LG_EXCL);
    uint64_t now = lg_now_ns();
    if (t->dl_sig != sig) {
        t->dl_sig = sig;
        t->dl_since_ns = now;
        return;
    }
    if (now - t->dl_since_ns < (uint64_t)lg_opt.deadlock_ms * 1000000u)
        return;
    if (lg_report_deadlock(path, n))
        lg_exit_now();
}
