/*
 * check.c - what each acquisition and release of a lock means.
 *
 * The fast path is lg_before_acquire() + lg_after_acquire() for a lock taken
 * in an order this thread has used before: the mutex's owner word for the
 * self-deadlock check (the held stack is scanned only when it names this
 * thread), one hash of the held chain, one probe of the thread's own chain
 * set, a push. No global state is touched and no lock is
 * taken. Only a chain the thread has never used goes to the graph, under
 * lg_graph_lock, with a stack captured for the new edges.
 */
#include "rt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static atomic_bool said_graph_memory, said_deadlock_size;

/*
 * Would this acquisition block forever on a lock the thread already holds?
 * A recursive mutex may be re-taken by its owner; an error-checking mutex,
 * and a glibc rwlock the thread holds for writing, make the call fail with
 * EDEADLK instead of blocking; a trylock fails with EBUSY. What remains (a
 * normal mutex or a spinlock taken again, an rwlock wanted for writing
 * while this thread reads it) can never succeed: that is a self-deadlock,
 * reported before the call is made (a semaphore lock taken again never is:
 * another thread may post it). Without a deadline the thread would block
 * forever, so the process stops; with one (timedlock, clocklock) the call
 * times out as it would natively (ETIMEDOUT), and the program goes on. The
 * rwlock re-taken while held for writing is reported too (POSIX leaves it
 * undefined), with glibc's EDEADLK returned.
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
    case LG_SEMAPHORE:
        /* Another thread may post it: only the wait-for and stall checks,
         * which see every thread, can prove that none will. */
        return false;
    default:
        return true;
    }
}

/* A held entry whose lock was destroyed (or set up again) under it: the
 * record may already stand for another lock, so it orders nothing. */
static bool
stale(const struct lg_held *h)
{
    return h->uid != atomic_load_explicit(&h->lock->uid, memory_order_relaxed);
}

/* The second level of a lock taken again by its owner (a recursive mutex,
 * an rwlock read twice): it orders nothing the first did not. Only those
 * kinds can be on the stack twice, so only they pay for the scan. */
static bool
retaken(const struct lg_thread *t, uint32_t i)
{
    const struct lg_lock *l = t->held[i].lock;
    if (l->type != LG_MUTEX_RECURSIVE && l->type != LG_RWLOCK)
        return false;
    for (uint32_t j = 0; j < i; j++)
        if (t->held[j].lock == l)
            return true;
    return false;
}

static bool
orders_nothing(const struct lg_thread *t, uint32_t i, const struct lg_lock *l)
{
    return t->held[i].lock == l || stale(&t->held[i]) || retaken(t, i);
}

/*
 * The graph's held set for held[0 .. k] (under lg_graph_lock). Each entry
 * caches the id of its prefix; the topmost one still alive is the start,
 * and only the entries above it are interned, so a thread holding many
 * locks pays O(1) per new lock, not O(depth). 0 when the graph is out of
 * memory (the label then claims only `from`).
 */
static lg_held_id
held_set(struct lg_thread *t, uint32_t k)
{
    int64_t j = k;
    while (j >= 0 && !(t->held[j].hid && lg_graph_held_live(lg_graph, t->held[j].hid)))
        j--;
    lg_held_id below = j >= 0 ? t->held[j].hid : LG_HELD_NONE;
    for (uint32_t i = (uint32_t)(j + 1); i <= k; i++) {
        struct lg_held *h = &t->held[i];
        if (!orders_nothing(t, i, NULL)) {
            /* A lock forgotten while held (its memory freed, a semaphore
             * another thread posted; its record may be another lock's by
             * now) is in no order: left out, and not said as a lack of
             * memory, which it is not (Apache, perturbed). */
            if (h->uid != lg_lock_uid(h->lock)) {
                h->hid = below;
                continue;
            }
            lg_node_id n = lg_lock_node(h->lock);
            lg_held_id id;
            if (n == LG_NODE_NONE
                || lg_graph_held_add(lg_graph, below, n, h->mode == LG_SHARED, &id) != 0) {
                lg_warn_once(&said_graph_memory, "out of memory for the lock-order graph's "
                             "held sets: new lock orders are checked without them");
                return LG_HELD_NONE;
            }
            below = id;
        }
        h->hid = below;
    }
    return below;
}

/* Direct edges go from this many of the held locks nearest the top (and on
 * down through locks taken by trylock, to the first one taken by a call
 * that waits). Deeper locks reach the new one through those (graph.h:
 * dependencies are paths), so a thread holding k locks adds at most a
 * handful of edges per lock instead of k. Within this depth a dependency
 * is its own edge, which outlives the locks between (a destroyed lock
 * takes its edges with it). A thread that holds more than LG_DEEP_HOLD
 * locks (lockdep stops at 48) gets one direct edge per acquisition, as in
 * lockdep: eight would make every acquisition of a deep nest cost eight
 * new edges, and the path through the lock below is the same dependency
 * for as long as that lock lives. */
#define LG_DIRECT_EDGES 8
#define LG_DEEP_HOLD 64
#define LG_DEEP_DIRECT_EDGES 1

/* Held locks a noted chain carries, at most (note_chain): a chain taken
 * holding more is stored at once. */
#define PEND_MEMBERS 16

/* The lowest held entry that gets an edge into l: below the first
 * LG_DIRECT_EDGES that order something (LG_DEEP_DIRECT_EDGES when more than
 * LG_DEEP_HOLD are held), the walk goes on while entries were taken by
 * trylock (no edge led into them) and ends at the first one taken by a call
 * that waits. Every entry from there up to the top, but those that order
 * nothing, gets an edge. */
static uint32_t
sources_floor(const struct lg_thread *t, const struct lg_lock *l)
{
    uint32_t taken = 0, direct = t->nheld > LG_DEEP_HOLD ? LG_DEEP_DIRECT_EDGES : LG_DIRECT_EDGES;
    for (uint32_t i = t->nheld; i-- > 0;) {
        if (orders_nothing(t, i, l))
            continue;
        if (++taken >= direct && !t->held[i].trylock)
            return i;
    }
    return 0;
}

static atomic_bool said_truncated, said_held_full;

/* Say once, at the default verbosity, that a bounded search or table of
 * the graph ran out (under lg_graph_lock). */
static void
graph_limits_said(void)
{
    struct lg_graph_stats st;
    lg_graph_stats(lg_graph, &st);
    if (st.searches_truncated)
        lg_warn_once(&said_truncated, "a lock-order cycle search ran out of its budget: "
                     "a cycle through that edge may be missed");
    if (st.held_sets_refused)
        lg_warn_once(&said_held_full, "the lock-order graph's table of held sets is full: "
                     "new lock orders are checked without them");
}

/*
 * The stack for the edges of a new chain. A thread that takes many new
 * chains from one call site in one activation of its caller (a loop that
 * nests locks, or takes random sets of them) would pay a full unwind for
 * each: glibc's backtrace() is most of the cost of a new chain. The stack
 * captured last is taken again when the acquisition comes from the same
 * call site, at the same depth of lockgraph's own frames below it (so the
 * program's stack pointer is the same), with the same held locks below the
 * point it was captured at (so the locks were not all released and the
 * function entered again in between): then the call chain is the same.
 */
static lg_stack_id
chain_stack(struct lg_thread *t, uintptr_t site, bool capture)
{
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    if (t->cap_stack && t->cap_site == site && t->cap_frame == frame
        && t->cap_depth <= t->nheld && t->held[t->cap_depth - 1].chain == t->cap_chain)
        return t->cap_stack;
    if (!capture)
        return 0;
    lg_stack_id stack = lg_stack_capture(3);
    t->cap_stack = stack;
    t->cap_site = site;
    t->cap_frame = frame;
    t->cap_depth = t->nheld;
    t->cap_chain = t->held[t->nheld - 1].chain;
    return stack;
}

/* ---- the edges of a new chain ------------------------------------------- */

/* A held lock that gets an edge into the new one, as the graph needs it. */
struct chain_src {
    lg_node_id node;
    uintptr_t site;     /* where it was taken ... */
    lg_stack_id stack;  /* ... and its whole stack, with held_stacks=1 */
    bool shared;
};

/* What a new chain is, whenever it is stored: its thread, the lock it
 * takes, and what the acquisition knew. */
struct chain {
    uint32_t thread, epoch;
    lg_node_id to;
    bool to_shared;
    lg_held_id held;
    uintptr_t site;     /* the acquiring call */
    lg_stack_id stack;  /* its stack, 0 if not captured */
    bool noted;         /* stored after the acquisition (note_chain) */
};

static struct lg_edge_label
chain_label(const struct chain *c, const struct chain_src *s)
{
    return (struct lg_edge_label){ .thread = c->thread, .epoch = c->epoch,
                                   .from_shared = s->shared, .to_shared = c->to_shared,
                                   .held = c->held };
}

/* The cycles new edges closed, each with the stack of the acquisition that
 * closed it, reported once the graph lock is released (reports symbolise,
 * which takes a while; the cycles are the caller's own copies). */
struct closed {
    struct lg_cycle *cycle;
    lg_stack_id at;     /* 0: the reporting thread's stack now */
    uint32_t thread;
};
struct closed_list {
    struct closed small[4], *v;
    uint32_t n, cap;
};

static void
closed_init(struct closed_list *c)
{
    c->v = c->small;
    c->n = 0;
    c->cap = 4;
}

static void
closed_push(struct closed_list *c, struct lg_cycle *cycle, lg_stack_id at, uint32_t thread)
{
    if (c->n == c->cap) {
        struct closed *grown = lg_mem_alloc(2 * c->cap * sizeof *grown);
        if (!grown) {
            lg_cycle_free(lg_graph, cycle);
            return;
        }
        memcpy(grown, c->v, c->n * sizeof *grown);
        if (c->v != c->small)
            lg_mem_free(c->v, c->cap * sizeof *c->v);
        c->v = grown;
        c->cap *= 2;
    }
    c->v[c->n++] = (struct closed){ cycle, at, thread };
}

/*
 * A semaphore set up to 1 counts as a lock from its first take
 * (intercept_sem.c), but is seen to be one only when the thread that took
 * it posts it. One handed off instead (taken by one thread and posted by
 * another: a token, a one-slot buffer's count of free slots) could close a
 * cycle before that other thread's post showed it to be a signal, and the
 * false inversion was reported (adversarial round h3, F13). A cycle through
 * a semaphore lock not yet posted by its taker is held back here, with the
 * nodes of those semaphores: it is reported (with the stacks it had) once
 * each of them has been posted by its taker (lg_sem_proven), and dropped
 * once one of them is found to be a signal (its record forgotten: the
 * node names no lock any more). Under lg_graph_lock, in the same hold
 * that found the cycle (store_chain). A full table reports at once, as
 * before, and says so.
 */
#define HELD_BACK_MAX 64
#define HELD_BACK_SEMS 8

struct held_back {
    struct closed k;
    uint32_t nsems;
    lg_node_id sems[HELD_BACK_SEMS];
};
atomic_bool lg_sem_locks_seen;
static struct held_back held_back[HELD_BACK_MAX];
static atomic_uint nheld_back;
static atomic_bool said_held_back_full;
/* Threads reporting cycles they took from the table (release_held_back): a
 * deadlock's report waits for them, so that the inversions come first
 * (lockgraph ends the program right after a deadlock report). */
static atomic_uint held_back_reporting;

static bool
unproven_sem(lg_node_id node)
{
    const struct lg_lock *l = lg_lock_by_node(node);
    return l && l->type == LG_SEMAPHORE && !atomic_load_explicit(&l->sem_proven,
                                                                 memory_order_relaxed);
}

static void
note_unproven(struct held_back *h, lg_node_id node, bool *too_many)
{
    if (!unproven_sem(node))
        return;
    for (uint32_t i = 0; i < h->nsems; i++)
        if (h->sems[i] == node)
            return;
    if (h->nsems == HELD_BACK_SEMS)
        *too_many = true;
    else
        h->sems[h->nsems++] = node;
}

/* Hold k back if its cycle passes through a semaphore lock not yet posted
 * by its taker; false when it is to be reported now. */
static bool
hold_back(const struct closed *k)
{
    struct held_back h = { .k = *k };
    bool too_many = false;
    for (uint32_t i = 0; i < k->cycle->n; i++) {
        const struct lg_cycle_step *st = &k->cycle->steps[i];
        note_unproven(&h, st->from, &too_many);
        for (uint32_t j = 0; j < st->nvia; j++)
            note_unproven(&h, st->via[j], &too_many);
    }
    if (h.nsems == 0 || too_many)
        return false;
    uint32_t n = atomic_load_explicit(&nheld_back, memory_order_relaxed);
    if (n == HELD_BACK_MAX) {
        lg_warn_once(&said_held_back_full, "%d cycles through semaphores not yet posted by the "
                     "thread that took them are held back: later ones are reported at once "
                     "(a semaphore handed from thread to thread may then be reported as a "
                     "lock-order inversion)", HELD_BACK_MAX);
        return false;
    }
    held_back[n] = h;
    atomic_store_explicit(&nheld_back, n + 1, memory_order_release);
    return true;
}

/* Report them (as `self`, or as the thread that closed them when another
 * one stores its chains), and let them go. */
static void
closed_report(struct lg_thread *self, struct closed_list *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        struct closed *k = &c->v[i];
        lg_report_inversion(self && self->num == k->thread ? self : lg_thread_by_num(k->thread),
                            k->cycle, k->at);
        lg_cycle_free(lg_graph, k->cycle);
    }
    if (c->v != c->small)
        lg_mem_free(c->v, c->cap * sizeof *c->v);
    closed_init(c);
}

static bool
uid_in(uint64_t uid, const uint64_t *set, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (set[i] == uid)
            return true;
    return false;
}

/* Report the held-back cycles whose semaphores are each proven now, or one
 * of `stuck` (the semaphores a deadlock's threads wait for: nobody can
 * post them, so they were locks after all); drop those through a semaphore
 * found to be a signal. */
static void
release_held_back(struct lg_thread *self, const uint64_t *stuck, uint32_t nstuck)
{
    if (atomic_load_explicit(&nheld_back, memory_order_acquire) == 0)
        return;
    struct closed_list ready;
    closed_init(&ready);
    lg_mutex_lock(&lg_graph_lock);
    uint32_t n = atomic_load_explicit(&nheld_back, memory_order_relaxed), kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct held_back *h = &held_back[i];
        bool signal = false, waiting = false;
        for (uint32_t j = 0; j < h->nsems; j++) {
            const struct lg_lock *l = lg_lock_by_node(h->sems[j]);
            if (!l || l->type != LG_SEMAPHORE)
                signal = true; /* forgotten: it was a signal */
            else if (!atomic_load_explicit(&l->sem_proven, memory_order_relaxed)
                     && !uid_in(lg_lock_uid(l), stuck, nstuck))
                waiting = true;
        }
        if (signal)
            lg_cycle_free(lg_graph, h->k.cycle);
        else if (!waiting)
            closed_push(&ready, h->k.cycle, h->k.at, h->k.thread);
        else
            held_back[kept++] = *h;
    }
    atomic_store_explicit(&nheld_back, kept, memory_order_release);
    bool any = ready.n != 0;
    if (any)
        atomic_fetch_add_explicit(&held_back_reporting, 1, memory_order_acq_rel);
    lg_mutex_unlock(&lg_graph_lock);
    closed_report(self, &ready);
    if (any)
        atomic_fetch_sub_explicit(&held_back_reporting, 1, memory_order_acq_rel);
}

void
lg_sem_proven(struct lg_thread *self)
{
    release_held_back(self, NULL, 0);
}

void
lg_sem_held_back_at_exit(void)
{
    unsigned n = atomic_load_explicit(&nheld_back, memory_order_acquire);
    if (n && lg_opt.verbosity >= 1)
        lg_note("%u lock-order cycle%s through a binary semaphore that the thread which took "
                "it never posted %s not reported: the semaphore may be a token handed between "
                "threads", n, n == 1 ? "" : "s", n == 1 ? "was" : "were");
}

/* ---- evidence: the edges the graph has this thread's stacks for -------- */

#define EVID_MAX (1u << 16)

static uint64_t
evid_key(lg_node_id from, lg_node_id to)
{
    uint64_t x = from * 0x9e3779b97f4a7c15ull ^ (to + 0x632be59bd9b4e019ull);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return x ? x : 1;
}

/* Does the graph hold a label of this thread's on from -> to, whose stacks
 * a new label there shares (so none need be captured)? A hash collision
 * only costs a label its full stack (it gets the call site's). */
static bool
evid_has(const struct lg_thread *t, lg_node_id from, lg_node_id to)
{
    if (!t->evid_cap)
        return false;
    uint64_t k = evid_key(from, to);
    for (uint32_t mask = t->evid_cap - 1, j = (uint32_t)k & mask;; j = (j + 1) & mask) {
        if (t->evid[j] == k)
            return true;
        if (!t->evid[j])
            return false;
    }
}

static void
evid_put(struct lg_thread *t, lg_node_id from, lg_node_id to)
{
    if (evid_has(t, from, to))
        return;
    if ((t->nevid + 1) * 2 > t->evid_cap) {
        uint32_t cap = t->evid_cap ? 2 * t->evid_cap : 64;
        uint64_t *fresh = cap <= EVID_MAX ? lg_mem_alloc(cap * sizeof *fresh) : NULL;
        if (!fresh)
            return; /* full: new chains capture their stacks */
        for (uint32_t i = 0; i < t->evid_cap; i++) {
            uint64_t k = t->evid[i];
            if (!k)
                continue;
            uint32_t j = (uint32_t)k & (cap - 1);
            while (fresh[j])
                j = (j + 1) & (cap - 1);
            fresh[j] = k;
        }
        if (t->evid)
            lg_mem_free(t->evid, t->evid_cap * sizeof *t->evid);
        t->evid = fresh;
        t->evid_cap = cap;
    }
    uint64_t k = evid_key(from, to);
    uint32_t j = (uint32_t)k & (t->evid_cap - 1);
    while (t->evid[j])
        j = (j + 1) & (t->evid_cap - 1);
    t->evid[j] = k;
    t->nevid++;
}

/*
 * Under lg_graph_lock: store the labels of chain c on the edges from
 * src[0 .. n) (topmost held lock first), and collect the deadlock-capable
 * cycles they close. Each label carries the thread, the epoch, the modes,
 * the held set (every lock held, `from` included) and, as payload, where
 * `from` was taken (high 32 bits) and the stack taking `to` (low 32 bits).
 *
 * A new chain often brings nothing new to the graph (the same edges under
 * the same held set), and capturing a stack costs thousands of
 * instructions: so the graph is asked first, and a stack is needed only
 * for an edge this thread never took before; a new label on an edge it did
 * take shares the evidence of its earlier label. When one is needed, c has
 * none and `may_capture`, nothing is stored and false is returned: the
 * caller captures it outside the lock and calls again. Otherwise a missing
 * stack is the call site's. `owner`: the chain's thread, when it stores
 * the chain at once (its evidence set learns the edges; a noted chain's
 * thread learned them when it noted it); said[]: n scratch entries.
 */
static bool
store_chain(struct lg_thread *owner, const struct chain *c, const struct chain_src *src,
            uint32_t n, bool may_capture, uint64_t *said, struct closed_list *closed)
{
    struct lg_edge_label label;
    bool insert = false, keep = false;
    /* The first question's misses overlap the others' (graph.h). */
    for (uint32_t i = 1; c->to && i < n; i++) {
        label = chain_label(c, &src[i]);
        lg_graph_prefetch(lg_graph, src[i].node, c->to, &label);
    }
    for (uint32_t i = 0; c->to && i < n; i++) {
        label = chain_label(c, &src[i]);
        uint64_t evidence;
        said[i] = 0;
        if (lg_graph_label_status(lg_graph, src[i].node, c->to, &label, &evidence) != LG_LABEL_NEW)
            continue;
        said[i] = evidence ? evidence : 1;
        insert = true;
        keep |= !evidence;
    }
    if (!insert)
        goto learned;
    if (keep && !c->stack && may_capture)
        return false;
    lg_stack_id stack = c->stack ? c->stack : keep ? lg_stack_from_pc(c->site) : 0;
    /* Under the same hold of the graph lock as the answers above: the edges
     * they called known stay known, the rest are added. */
    for (uint32_t i = 0; i < n; i++) {
        if (!said[i])
            continue;
        label = chain_label(c, &src[i]);
        if (said[i] != 1)
            label.payload = said[i];
        else if (stack)
            label.payload = ((uint64_t)(src[i].stack ? src[i].stack
                                                     : lg_stack_from_pc(src[i].site)) << 32)
                            | stack;
        struct lg_cycle *cy = NULL;
        int r = lg_graph_add_edge(lg_graph, src[i].node, c->to, &label, &cy);
        if (r == LG_EDGE_CYCLE && cy) {
            /* A noted chain's report is not where the thread is now: the
             * acquisition's stack is the label's (or its call site). */
            lg_stack_id at = 0;
            if (c->noted && !(at = (lg_stack_id)(label.payload & 0xFFFFFFFFu)))
                at = lg_stack_from_pc(c->site);
            struct closed k = { cy, at, c->thread };
            /* Held back or not under this same hold of the graph lock, so
             * that a deadlock's check (release_held_back) sees the cycle
             * either way. */
            if (!atomic_load_explicit(&lg_sem_locks_seen, memory_order_relaxed)
                || !hold_back(&k))
                closed_push(closed, cy, at, c->thread);
        } else if (r == -ENOMEM) {
            lg_warn_once(&said_graph_memory, "out of memory for the lock-order graph: "
                         "new lock orders are not checked");
        }
        if (r >= 0 && lg_opt.verbosity >= 2) {
            struct lg_lock *a = lg_lock_by_node(src[i].node), *b = lg_lock_by_node(c->to);
            lg_note("T%u: new edge L%llu -> L%llu%s", c->thread,
                    a ? (unsigned long long)a->id : 0ull, b ? (unsigned long long)b->id : 0ull,
                    r == LG_EDGE_KNOWN ? " (known)" : "");
        }
    }
    graph_limits_said();
learned:
    if (owner)
        for (uint32_t i = 0; i < n; i++)
            evid_put(owner, src[i].node, c->to);
    return true;
}

/*
 * Add the edges into l for a chain this thread has not used before, now:
 * the held stack has more locks than a noted chain carries, or some lock
 * has no graph node yet (lockgraph's first sight of it in an order).
 */
static void
add_edges(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode, uintptr_t site)
{
    uint32_t n = t->nheld, lo = sources_floor(t, l);
    struct chain c = { .thread = t->num, .epoch = lg_epoch_now(), .to_shared = mode == LG_SHARED,
                       .site = site };
    uint64_t said_small[16], *said = n - lo <= 16 ? said_small : lg_mem_alloc((n - lo) * sizeof *said);
    struct chain_src src_small[16], *src = n - lo <= 16 ? src_small
                                                        : lg_mem_alloc((n - lo) * sizeof *src);
    struct closed_list closed;
    closed_init(&closed);
    if (!said || !src) {
        lg_warn_once(&said_graph_memory, "out of memory for the lock-order graph: "
                     "new lock orders are not checked");
        goto out;
    }
    /* A stack this thread has for the same call chain is used from the
     * start: the graph is then asked once, not before and after a capture. */
    c.stack = chain_stack(t, site, false);
    for (bool captured = c.stack != 0;;) {
        lg_mutex_lock(&lg_graph_lock);
        c.to = lg_lock_node(l);
        c.held = c.to ? held_set(t, n - 1) : LG_HELD_NONE;
        uint32_t ns = 0;
        for (uint32_t i = n; c.to && i-- > lo;) {
            const struct lg_held *h = &t->held[i];
            lg_node_id from;
            if (orders_nothing(t, i, l) || (from = lg_lock_node(h->lock)) == LG_NODE_NONE)
                continue;
            src[ns++] = (struct chain_src){ from, h->site, h->stack, h->mode == LG_SHARED };
        }
        /* The evidence set only spares a noted chain its stack capture, and
         * a chain this deep is never noted: its edges are not learned. */
        bool done = store_chain(n <= PEND_MEMBERS ? t : NULL, &c, src, ns, !captured, said,
                                &closed);
        lg_graph_held_release(lg_graph, c.held);
        lg_mutex_unlock(&lg_graph_lock);
        if (done)
            break;
        /* The graph may change while the stack is taken: ask again. */
        c.stack = chain_stack(t, site, true);
        captured = true;
    }
    closed_report(t, &closed);
out:
    if (said && said != said_small)
        lg_mem_free(said, (n - lo) * sizeof *said);
    if (src && src != src_small)
        lg_mem_free(src, (n - lo) * sizeof *src);
}

/* ---- new chains, noted for later ---------------------------------------- */

/*
 * Storing a new chain is most of what a new lock order costs, and the
 * thread paid it holding the program's locks: a thread that takes random
 * sets of locks made the others wait for lockgraph on the program's own
 * mutexes. When every lock of the chain already has its graph node, the
 * chain is noted instead (what the graph needs of the held stack, which is
 * gone by then) and stored once the thread holds nothing, if the graph
 * lock is free; whichever thread has the graph lock stores the other
 * threads' noted chains as well (combine, below). A noted chain is also
 * stored before the thread waits for anything: a busy lock, a condition,
 * a join, a barrier (lg_wait_begin), so a real deadlock finds its edges in
 * the graph; before a deadlock is reported; before fork; when the thread
 * exits; at the program's exit; by the liveness monitor, every tick; and
 * when the buffer is full and cannot grow. An inversion it closes is
 * reported then, with the stack of the acquisition that closed it. Node
 * ids are never reused: a lock destroyed in between has lost its node, and
 * the graph refuses its edges, as destroying it would have removed them.
 */
#define PEND_BYTES 4096   /* a thread's buffer of noted chains, at first ... */
#define PEND_BYTES_MAX 65536 /* ... and at most */

struct pend_member {
    struct chain_src s;
    bool source;        /* gets an edge into the new lock */
};

/* A noted chain, in a thread's buffer: the entries lie one after another,
 * each as long as its members need (PEND_SIZE). */
struct lg_pend {
    struct chain c;     /* its held set is computed when stored */
    lg_held_id base;    /* the held set of the first nbase members, as the
                         * thread had it cached (it may be gone since) */
    uint8_t nmembers, nbase;
    struct pend_member m[];
};
#define PEND_SIZE(n) ((offsetof(struct lg_pend, m) + (size_t)(n) * sizeof(struct pend_member) \
                       + 7) & ~(size_t)7)

static uint32_t
pend_count(struct lg_thread *t)
{
    return atomic_load_explicit(&t->npend, memory_order_relaxed);
}

/* Threads whose buffer has noted chains in it. */
static atomic_uint pend_threads;

/* A full buffer doubles, if it may; false if not. */
static bool
pend_grow(struct lg_thread *t)
{
    if (t->pend_bytes >= PEND_BYTES_MAX)
        return false;
    unsigned char *grown = lg_mem_alloc(2 * t->pend_bytes);
    if (!grown)
        return false;
    lg_mutex_lock(&t->pend_lock);
    memcpy(grown, t->pend, t->pend_used);
    lg_mem_free(t->pend, t->pend_bytes);
    t->pend = grown;
    t->pend_bytes *= 2;
    lg_mutex_unlock(&t->pend_lock);
    return true;
}

/* Note the chain into l, if it can be: true when noted. */
static bool
note_chain(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode, uintptr_t site)
{
    uint32_t n = t->nheld;
    lg_node_id to = lg_lock_node_peek(l);
    if (n > PEND_MEMBERS || !to || lg_opt.verbosity >= 2)
        return false;
    if (!t->pend) {
        t->pend = lg_mem_alloc(PEND_BYTES);
        if (!t->pend)
            return false;
        t->pend_bytes = PEND_BYTES;
    }
    _Alignas(struct lg_pend) unsigned char buf[PEND_SIZE(PEND_MEMBERS)];
    struct lg_pend *e = (struct lg_pend *)(void *)buf;
    *e = (struct lg_pend){ .c = { .thread = t->num, .epoch = lg_epoch_now(), .to = to,
                                  .to_shared = mode == LG_SHARED, .site = site, .noted = true } };
    uint32_t lo = sources_floor(t, l);
    bool need_stack = false;
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_held *h = &t->held[i];
        if (!orders_nothing(t, i, NULL)) {
            lg_node_id node = lg_lock_node_peek(h->lock);
            if (!node)
                return false;
            bool source = i >= lo && h->lock != l;
            e->m[e->nmembers++] = (struct pend_member){
                { node, h->site, h->stack, h->mode == LG_SHARED }, source };
            need_stack |= source && !evid_has(t, node, to);
        }
        if (h->hid) {
            e->base = h->hid;
            e->nbase = e->nmembers;
        }
    }
    if (need_stack) {
        e->c.stack = chain_stack(t, site, true);
        /* Once stored, the graph has this thread's evidence on each edge
         * (whoever stores it: combine): the set learns them now. */
        for (uint32_t i = 0; i < e->nmembers; i++)
            if (e->m[i].source)
                evid_put(t, e->m[i].s.node, to);
    }
    size_t size = PEND_SIZE(e->nmembers);
    lg_mutex_lock(&t->pend_lock);
    memcpy(t->pend + t->pend_used, e, size);
    t->pend_used += size;
    if (pend_count(t) == 0)
        atomic_fetch_add_explicit(&pend_threads, 1, memory_order_relaxed);
    atomic_store_explicit(&t->npend, pend_count(t) + 1, memory_order_relaxed);
    /* Room for the longest entry is kept. When the buffer is full, the
     * thread is in the program's critical section: if another thread has
     * the graph, the buffer grows rather than the thread wait (up to
     * PEND_BYTES_MAX; the thread that has the graph will store them). */
    bool full = t->pend_used + PEND_SIZE(PEND_MEMBERS) > t->pend_bytes;
    lg_mutex_unlock(&t->pend_lock);
    if (full) {
        lg_pend_flush(t, false);
        if (pend_count(t) != 0 && !pend_grow(t))
            lg_pend_flush(t, true);
    }
    return true;
}

/* The held sets of the last stored entry's members, prefix by prefix
 * (sets[k]: members 0 .. k, known from k = lo on): the next entry of the
 * same thread often holds the same locks below (the chains of one
 * critical section). */
struct pend_memo {
    const struct lg_pend *prev;
    uint32_t lo;
    lg_held_id sets[PEND_MEMBERS];
};

static bool
same_member(const struct pend_member *a, const struct pend_member *b)
{
    return a->s.node == b->s.node && a->s.shared == b->s.shared;
}

/* Under lg_graph_lock: store a noted chain. */
static void
store_pend(struct lg_pend *e, struct pend_memo *memo, struct closed_list *closed)
{
    /* Its held set: from the last entry's or the one cached at the
     * acquisition, whichever goes further, if the graph still has it. */
    uint32_t k = 0, same = 0, lo = 0;
    lg_held_id below = LG_HELD_NONE;
    const struct lg_pend *p = memo->prev;
    if (p && p->c.thread == e->c.thread)
        while (same < p->nmembers && same < e->nmembers && same_member(&p->m[same], &e->m[same]))
            same++;
    if (same > e->nbase && same > memo->lo && lg_graph_held_live(lg_graph, memo->sets[same - 1])) {
        below = memo->sets[same - 1];
        k = same;
        lo = memo->lo;
    } else if (e->base && lg_graph_held_live(lg_graph, e->base)) {
        below = e->base;
        k = lo = e->nbase;
    }
    memo->prev = NULL;
    for (; k < e->nmembers; k++) {
        lg_held_id id;
        if (lg_graph_held_add(lg_graph, below, e->m[k].s.node, e->m[k].s.shared, &id) != 0) {
            /* A lock destroyed since (the graph refuses its node), or no
             * memory: the chain's other labels would claim a held set the
             * thread did not have. */
            lg_graph_held_release(lg_graph, below);
            return;
        }
        below = id;
        memo->sets[k] = id;
    }
    memo->prev = e;
    memo->lo = lo;
    e->c.held = below;
    struct chain_src src[PEND_MEMBERS];
    uint64_t said[PEND_MEMBERS];
    uint32_t ns = 0;
    for (uint32_t i = e->nmembers; i-- > 0;)
        if (e->m[i].source)
            src[ns++] = e->m[i].s;
    store_chain(NULL, &e->c, src, ns, false, said, closed);
    lg_graph_held_release(lg_graph, below);
}

/* Under lg_graph_lock: store every entry of a buffer of noted chains. */
static void
store_pends(unsigned char *v, size_t used, struct closed_list *closed)
{
    struct pend_memo memo = { 0 };
    for (size_t off = 0; off < used;) {
        struct lg_pend *e = (struct lg_pend *)(void *)(v + off);
        off += PEND_SIZE(e->nmembers);
        store_pend(e, &memo, closed);
    }
}

/* Under t's pend_lock: t's buffer is empty. */
static void
pend_emptied(struct lg_thread *t)
{
    t->pend_used = 0;
    if (pend_count(t)) {
        atomic_store_explicit(&t->npend, 0, memory_order_relaxed);
        atomic_fetch_sub_explicit(&pend_threads, 1, memory_order_relaxed);
    }
}

/*
 * The thread that has the graph stores the other threads' noted chains as
 * well (flat combining): they find the graph lock taken, go on with the
 * program, and have their work done for them, instead of each waiting its
 * turn (on this VM a futex sleep and wake-up per turn). Their buffers are
 * copied out under their pend_locks, which are only tried (this runs
 * under graph_lock and thread_lock), and held for no longer than the copy,
 * so that a thread noting a chain never waits for the store. The copies go
 * to a buffer only the graph lock's holder uses. The evidence the stored
 * labels carry is already in their threads' sets (note_chain).
 */
#define COMBINE_BYTES (4 * PEND_BYTES_MAX)

static unsigned char *combine_buf; /* COMBINE_BYTES, once needed */
static size_t combine_used;

static void
combine_take(struct lg_thread *t, void *ctx)
{
    (void)ctx;
    if (pend_count(t) == 0 || !lg_mutex_trylock(&t->pend_lock))
        return;
    if (combine_used + t->pend_used > COMBINE_BYTES) {
        lg_mutex_unlock(&t->pend_lock); /* the next store's */
        return;
    }
    memcpy(combine_buf + combine_used, t->pend, t->pend_used);
    combine_used += t->pend_used;
    pend_emptied(t);
    lg_mutex_unlock(&t->pend_lock);
}

/* Under lg_graph_lock: store what other threads noted; false if nothing. */
static bool
combine(struct closed_list *closed)
{
    if (atomic_load_explicit(&pend_threads, memory_order_relaxed) == 0)
        return false;
    if (!combine_buf && !(combine_buf = lg_mem_alloc(COMBINE_BYTES)))
        return false; /* each thread stores its own */
    combine_used = 0;
    lg_threads_each(combine_take, NULL);
    store_pends(combine_buf, combine_used, closed);
    return combine_used != 0;
}

void
lg_pend_flush(struct lg_thread *t, bool wait)
{
    lg_mutex_lock(&t->pend_lock);
    /* Not waiting: when another thread has the graph, it will likely store
     * these too (combine); if not, a later release tries again, and a full
     * buffer waits. */
    if (pend_count(t) == 0
        || !(wait ? (lg_mutex_lock(&lg_graph_lock), true) : lg_mutex_trylock(&lg_graph_lock))) {
        lg_mutex_unlock(&t->pend_lock);
        return;
    }
    struct closed_list closed;
    closed_init(&closed);
    store_pends(t->pend, t->pend_used, &closed);
    pend_emptied(t);
    lg_mutex_unlock(&t->pend_lock);
    combine(&closed);
    lg_mutex_unlock(&lg_graph_lock);
    closed_report(t, &closed);
}

/* Store what other threads noted, as the thread that has the graph would;
 * false if there was nothing to take. */
static bool
sweep_once(void)
{
    if (atomic_load_explicit(&pend_threads, memory_order_relaxed) == 0)
        return false;
    struct closed_list closed;
    closed_init(&closed);
    lg_mutex_lock(&lg_graph_lock);
    bool stored = combine(&closed);
    lg_mutex_unlock(&lg_graph_lock);
    closed_report(NULL, &closed);
    return stored;
}

void
lg_pend_sweep(void)
{
    sweep_once();
}

void
lg_pend_atfork_child(void)
{
    struct lg_thread *self = lg_self_peek();
    atomic_store_explicit(&pend_threads, self && pend_count(self) ? 1 : 0,
                          memory_order_relaxed);
}

void
lg_pend_flush_all(void)
{
    struct lg_thread *self = lg_self_peek();
    if (self)
        lg_pend_flush(self, true);
    /* Bounded: threads that go on noting chains meanwhile may keep some. */
    for (int round = 0; round < 64 && sweep_once(); round++)
        ;
}

/*
 * This thread's entry for l, if it believes it holds l. A thread holding
 * thousands of locks would scan them on every acquisition; past a short
 * stack, the lock object is asked first: a mutex names its owner and a
 * spinlock's owner is recorded, and when that is not this thread the scan
 * is skipped (a stale belief in a deep stack then stays until the entry is
 * released; a short stack is always scanned, so drop_stale_belief() sees
 * it). Read locks of an rwlock are anonymous: those are looked up.
 */
#define LG_SCAN_HELD 16

static struct lg_held *
held_by_self(struct lg_thread *t, const struct lg_lock *l)
{
    if (t->nheld == 0)
        return NULL;
    if (t->nheld <= LG_SCAN_HELD)
        return lg_held_find(t, l);
    switch (l->type) {
    case LG_RWLOCK:
        break;
    case LG_SPINLOCK:
        if (atomic_load_explicit(&l->owner, memory_order_relaxed) != t)
            return NULL;
        break;
    default:
        if (lg_abi_mutex_owner(lg_lock_addr(l)) != t->tid)
            return NULL;
        break;
    }
    return lg_held_find(t, l);
}

/*
 * Does the lock object at obj (l's, or a copy of it) say this thread holds
 * l, as entry h claims? A normal mutex records its owner's tid; an rwlock
 * its writer (readers are anonymous: any reader will do); a spinlock only
 * that it is taken.
 */
static bool
held_per_object(const struct lg_thread *t, const struct lg_lock *l, const struct lg_held *h,
                uintptr_t obj)
{
    switch (l->type) {
    case LG_RWLOCK:
        return h->mode == LG_SHARED ? lg_abi_rwlock_locked(obj)
                                    : lg_abi_rwlock_writer(obj) == t->tid;
    case LG_SPINLOCK:
        return lg_abi_spin_locked(obj);
    default:
        return lg_abi_mutex_locked(obj) && lg_abi_mutex_owner(obj) == t->tid;
    }
}

/* The same, read in place: the object is the one the program is acquiring
 * right now, so it is mapped. */
static bool
really_held(const struct lg_thread *t, const struct lg_lock *l, const struct lg_held *h)
{
    return held_per_object(t, l, h, lg_lock_addr(l));
}

static bool
really_free(const struct lg_lock *l)
{
    uintptr_t obj = lg_lock_addr(l);
    switch (l->type) {
    case LG_RWLOCK: return !lg_abi_rwlock_locked(obj);
    case LG_SPINLOCK: return !lg_abi_spin_locked(obj);
    default: return !lg_abi_mutex_locked(obj);
    }
}

/*
 * The thread believes it holds l, and the lock object says otherwise: the
 * memory was set up anew behind lockgraph's back (a static initializer
 * assigned over it, a stack slot or a library reused). Its entries are
 * stale; and if nobody holds the object now it is another lock, with a
 * new identity (so none of the old one's orders apply to it).
 */
static void
drop_stale_belief(struct lg_thread *t, struct lg_lock *l)
{
    uint64_t uid = lg_lock_uid(l);
    while (lg_held_pop(t, l, NULL))
        ;
    if (l->type == LG_RWLOCK)
        atomic_store_explicit(&l->holders, 0, memory_order_relaxed);
    if (really_free(l))
        lg_lock_renew(l, uid);
}

uint64_t
lg_before_acquire(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode,
                  enum lg_acquire_how how, uintptr_t site)
{
    struct lg_held *h = held_by_self(t, l);
    if (LG_UNLIKELY(h != NULL)) {
        if (!is_self_deadlock(l, h, mode, how)) {
            /* glibc answers EDEADLK to a read or write lock of an rwlock
             * the thread holds for writing (TSan and DRD report it). */
            if (l->type == LG_RWLOCK && h->mode == LG_EXCL && how != LG_TRY
                && really_held(t, l, h))
                lg_report_self_deadlock(t, l, h, LG_SELF_REFUSED, site);
            return lg_chain_for(t, lg_lock_uid(l), mode); /* a re-take orders nothing */
        }
        if (really_held(t, l, h)) {
            /* A timed attempt ends by itself (ETIMEDOUT): report it, but
             * let the program have its answer (the report says which). */
            if (lg_report_self_deadlock(t, l, h, how == LG_BLOCKING ? LG_SELF_FOREVER
                                                                     : LG_SELF_TIMES_OUT, site)
                && how == LG_BLOCKING) {
                lg_pend_flush_all(); /* what the threads noted, before the end */
                lg_exit_now();
            }
            return lg_chain_for(t, lg_lock_uid(l), mode);
        }
        drop_stale_belief(t, l);
    }
    uint64_t chain = lg_chain_for(t, atomic_load_explicit(&l->uid, memory_order_relaxed), mode);
    /* An edge into a trylock is no ordering: a trylock never waits. */
    if (how == LG_TRY || t->nheld == 0 || LG_LIKELY(lg_chain_seen(t, chain)))
        return chain;
    if (!note_chain(t, l, mode, site))
        add_edges(t, l, mode, site);
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
    if (l->type == LG_RWLOCK)
        atomic_fetch_add_explicit(&l->holders, 1, memory_order_relaxed);
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
        else if (l->type == LG_RWLOCK)
            atomic_fetch_sub_explicit(&l->holders, 1, memory_order_relaxed);
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
    /* An rwlock whose only "holders" are readers lockgraph never saw: an
     * unlock of an unlocked rwlock (already reported) wraps glibc's reader
     * count around, so the object looks read-held by nobody. */
    if (real_locked && l && l->type == LG_RWLOCK && real_owner_tid <= 0
        && atomic_load_explicit(&l->holders, memory_order_relaxed) <= 0)
        return;
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

/* ---- misuse of mutexes, condition variables and barriers --------------- */

/* "name" for a global object, else its address. */
static const char *
object_name(uintptr_t addr, size_t size, char *buf, size_t len)
{
    const char *name = lg_symbolize_data(addr, size);
    if (name)
        return name;
    snprintf(buf, len, "0x%lx", (unsigned long)addr);
    return buf;
}

bool
lg_check_mutex(struct lg_thread *t, uintptr_t m, const char *call, uintptr_t site)
{
    int kind;
    if (LG_LIKELY(lg_abi_mutex_kind_valid(m, &kind)))
        return true;
    char text[256], buf[32];
    const char *name = object_name(m, lg_abi_mutex_size(), buf, sizeof buf);
    if (kind == -1) /* what glibc's pthread_mutex_destroy leaves */
        snprintf(text, sizeof text, "use of an invalid mutex: T%u calls %s on %s, a destroyed "
                 "mutex not set up again%s", t->num, call, name,
                 lg_lock_destroyed_at(m) ? " (destroyed earlier by this program)" : "");
    else
        snprintf(text, sizeof text, "use of an invalid mutex: T%u calls %s on %s, which is no "
                 "mutex (its kind word is 0x%x)", t->num, call, name, (unsigned)kind);
    lg_report_misuse_text(t, "invalid-mutex", NULL, m, "mutex", 0, site, text);
    return false;
}

/* The names of a condition variable and its mutex, for a report, found
 * only when one is written: a name is a search of the module's symbol
 * table, and a condition wait that is fine (nearly all of them: Python's
 * GIL hand-off is one every few microseconds) must not pay for it. */
struct cond_names {
    uintptr_t c, m;
    const char *c_name, *m_name;
    char cbuf[32], mbuf[32];
};

static void
cond_names_need(struct cond_names *n)
{
    if (n->c_name)
        return;
    n->c_name = object_name(n->c, 48, n->cbuf, sizeof n->cbuf);
    n->m_name = object_name(n->m, lg_abi_mutex_size(), n->mbuf, sizeof n->mbuf);
}

void
lg_before_cond_wait(struct lg_thread *t, uintptr_t c, uintptr_t m, struct lg_lock *l,
                    bool untimed, uintptr_t site)
{
    t->cond_gen = 0;
    char text[320], obuf[32];
    struct cond_names nm = { c, m, NULL, NULL, "", "" };
    if (l && l->type != LG_MUTEX_NORMAL && l->type != LG_MUTEX_RECURSIVE
        && l->type != LG_MUTEX_ERRORCHECK) {
        cond_names_need(&nm);
        snprintf(text, sizeof text, "condition-variable misuse: T%u waits on %s with %s, "
                 "which is a%s %s, not a mutex", t->num, nm.c_name, nm.m_name,
                 l->type == LG_RWLOCK ? "n" : "", lg_lock_type_name(l));
        lg_report_misuse_text(t, "cond-misuse", l, m, NULL, 0, site, text);
    } else if (m % lg_abi_mutex_align() != 0) {
        cond_names_need(&nm);
        snprintf(text, sizeof text, "condition-variable misuse: T%u waits on %s with %s, "
                 "which is not a mutex (misaligned)", t->num, nm.c_name, nm.m_name);
        lg_report_misuse_text(t, "cond-misuse", NULL, m, "mutex", 0, site, text);
        return; /* nothing more can be read there */
    } else if (!lg_check_mutex(t, m, "pthread_cond_wait", site)) {
        return;
    } else {
        long owner = lg_abi_mutex_owner(m);
        if (owner != t->tid) {
            struct lg_thread *o = owner > 0 ? lg_thread_by_tid(owner) : NULL;
            char who[48] = "which nobody holds";
            if (o)
                snprintf(who, sizeof who, "which T%u holds", o->num);
            else if (owner > 0)
                snprintf(who, sizeof who, "which thread %ld holds", owner);
            cond_names_need(&nm);
            snprintf(text, sizeof text, "condition-variable misuse: T%u waits on %s with "
                     "%s, %s: the mutex must be held by the waiter", t->num, nm.c_name,
                     nm.m_name, who);
            lg_report_misuse_text(t, "cond-misuse", l, m, NULL, owner, site, text);
        }
    }
    uintptr_t other = 0;
    if (!lg_cond_enter(c, m, untimed, &t->cond_gen, &other)) {
        cond_names_need(&nm);
        snprintf(text, sizeof text, "condition-variable misuse: T%u waits on %s with %s "
                 "while other threads wait on it with %s: one condition variable, two "
                 "mutexes", t->num, nm.c_name, nm.m_name,
                 object_name(other, lg_abi_mutex_size(), obuf, sizeof obuf));
        lg_report_misuse_text(t, "cond-misuse", l, m, NULL, 0, site, text);
    }
}

void
lg_after_cond_wait(struct lg_thread *t, uintptr_t c, uintptr_t m)
{
    if (m % lg_abi_mutex_align() == 0)
        lg_cond_leave(c, t->cond_gen);
    t->cond_gen = 0;
}

bool
lg_before_cond_destroy(struct lg_thread *t, uintptr_t c, uintptr_t site)
{
    uint32_t n = lg_cond_blocked(c);
    if (!n)
        return false;
    char text[320], buf[32];
    snprintf(text, sizeof text, "condition-variable misuse: T%u destroys %s while %u "
             "thread%s wait%s on it and no signal or broadcast has come since %s began: "
             "pthread_cond_destroy waits until %s leave%s the wait", t->num,
             object_name(c, 48, buf, sizeof buf), n, n == 1 ? "" : "s", n == 1 ? "s" : "",
             n == 1 ? "its wait" : "their waits", n == 1 ? "it" : "they", n == 1 ? "s" : "");
    lg_report_misuse_text(t, "cond-misuse", NULL, c, "condition variable", 0, site, text);
    return true;
}

/* "barrier misuse: T<n> <verb> barrier <name><why>" */
static void
barrier_misuse(struct lg_thread *t, uintptr_t b, uintptr_t site, const char *verb,
               const char *why, uint32_t waiting)
{
    char text[300], buf[32], tail[64] = "";
    if (waiting)
        snprintf(tail, sizeof tail, " while %u thread%s wait%s at it", waiting,
                 waiting == 1 ? "" : "s", waiting == 1 ? "s" : "");
    snprintf(text, sizeof text, "barrier misuse: T%u %s barrier %s%s%s", t->num, verb,
             object_name(b, lg_abi_barrier_size(), buf, sizeof buf), why, tail);
    lg_report_misuse_text(t, "barrier-misuse", NULL, b, "barrier", 0, site, text);
}

void
lg_before_barrier_init(struct lg_thread *t, uintptr_t b, unsigned count, uintptr_t site)
{
    if (count == 0)
        barrier_misuse(t, b, site, "sets up", " with a count of 0 (EINVAL)", 0);
    struct lg_obj_info was = lg_barrier_info(b);
    if (was.inside)
        barrier_misuse(t, b, site, "sets up", " again", was.inside);
    /* Set up before and not destroyed: glibc keeps the count for the
     * barrier's life, so the same count still there says it is the same
     * barrier (memory freed and reused in between would rarely keep it). */
    else if (was.known && lg_abi_barrier_count(b) == was.count)
        barrier_misuse(t, b, site, "sets up", " again without destroying it first", 0);
}

void
lg_after_barrier_init(struct lg_thread *t, uintptr_t b, unsigned count, uintptr_t site)
{
    (void)t;
    lg_barrier_init_rec(b, count, site);
}

void
lg_before_barrier_destroy(struct lg_thread *t, uintptr_t b, uintptr_t site)
{
    struct lg_obj_info was = lg_barrier_destroy_rec(b);
    if (was.inside)
        barrier_misuse(t, b, site, "destroys", "", was.inside);
}

/*
 * Does the lock object say that exiting thread t holds h's lock? Read
 * through a copy taken with process_vm_readv, which fails instead of
 * faulting: a lock at exit is not necessarily mapped any more (one in
 * another thread's stack, which glibc unmaps past lockgraph's munmap). A
 * lock whose memory is gone is held by nobody.
 */
static bool
still_held_at_exit(const struct lg_thread *t, const struct lg_held *h)
{
    union {
        pthread_mutex_t m;
        pthread_rwlock_t rw;
        pthread_spinlock_t s;
    } copy;
    size_t len = h->lock->type == LG_RWLOCK ? sizeof copy.rw
                 : h->lock->type == LG_SPINLOCK ? sizeof copy.s : sizeof copy.m;
    struct iovec local = { &copy, len }, remote = { (void *)lg_lock_addr(h->lock), len };
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
        return errno == ENOSYS || errno == EPERM; /* cannot tell: keep the belief */
    return held_per_object(t, h->lock, h, (uintptr_t)&copy);
}

void
lg_thread_exit(struct lg_thread *t)
{
    if (!atomic_load_explicit(&t->alive, memory_order_relaxed))
        return;
    lg_pend_flush(t, true);
    /* A semaphore has no owner that alone may post it: one still taken is
     * another thread's to post (Python releases a Lock from any thread),
     * not abandoned. Locks that lost their identity under the thread are
     * no longer its to hold. */
    lg_held_drop_stale(t);
    for (uint32_t i = t->nheld; i-- > 0;)
        if (t->held[i].lock->type == LG_SEMAPHORE)
            lg_held_remove(t, i);
    /* What the lock object itself says, before a report: an entry the
     * lock contradicts is lockgraph's stale belief, not an abandoned lock
     * (a false one was seen only with perturbation, in Apache, with no
     * reproduction). */
    for (uint32_t i = t->nheld; i-- > 0;)
        if (t->held[i].lock->type != LG_SEMAPHORE && !t->held[i].lock->robust
            && !still_held_at_exit(t, &t->held[i]))
            lg_held_remove(t, i);
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

/* Could a thread of another process end this wait: the lock, condition
 * variable, barrier or semaphore is process-shared. The object is the one
 * the thread is about to block on, so it is mapped. */
static bool
wait_is_external(enum lg_wait_kind kind, const struct lg_lock *l, uintptr_t object)
{
    switch (kind) {
    case LG_WAIT_LOCK: return l && l->pshared;
    case LG_WAIT_COND:
    case LG_WAIT_COND_DESTROY: return lg_abi_cond_pshared(object);
    case LG_WAIT_BARRIER: return lg_abi_barrier_pshared(object);
    case LG_WAIT_SEM: return lg_abi_sem_pshared(object);
    default: return false;
    }
}

void
lg_wait_begin(struct lg_thread *t, enum lg_wait_kind kind, struct lg_lock *l,
              uintptr_t object, enum lg_mode mode, uintptr_t site)
{
    /* Before the wait, and before it counts as one (wait_since_ns): a real
     * deadlock finds the chains in the graph, and the inversion they close
     * is reported before the deadlock (or a stall) can be. Storing them at
     * the wait's first poll instead was cheaper for a busy lock, but let
     * the stall monitor judge a wait the inversion's report had delayed. */
    lg_pend_flush(t, true);
    lg_thread_wait_begins(t, kind == LG_WAIT_LOCK);
    t->wait_mode = (uint8_t)mode;
    atomic_store_explicit(&t->wait_timed, false, memory_order_relaxed);
    atomic_store_explicit(&t->wait_external, wait_is_external(kind, l, object),
                          memory_order_relaxed);
    atomic_store_explicit(&t->wait_site, site, memory_order_relaxed);
    t->dl_sig = 0;
    atomic_store_explicit(&t->wait_stack, 0, memory_order_relaxed);
    atomic_store_explicit(&t->wait_object, object, memory_order_relaxed);
    uint64_t begun = lg_now_ns();
    atomic_store_explicit(&t->wait_polled_ns, begun, memory_order_relaxed);
    atomic_store_explicit(&t->wait_since_ns, begun, memory_order_relaxed);
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
 *
 * A cycle through a semaphore lock proves less: only the owner of a mutex
 * may unlock it, but any thread may post a semaphore. *through_sem says so,
 * and the caller then also asks nobody_can_post().
 */
#define DEADLOCK_MAX_THREADS 64

static uint32_t
wait_cycle(struct lg_thread *t, struct lg_thread **path, bool *through_sem)
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
        /* A spinlock's owner is only lockgraph's belief: the word must
         * still say taken. */
        if (l->type == LG_SPINLOCK && !lg_abi_spin_locked(lg_lock_addr(l)))
            return 0;
        if (l->type == LG_SEMAPHORE)
            *through_sem = true;
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

/*
 * Could a thread outside a wait-for cycle post one of its semaphores? It
 * could not if every other live thread has been blocked since `since` in an
 * untimed wait (a lock, a condition variable, a barrier, a semaphore, the
 * join of a thread still alive) and no thread has exited since then (on its
 * way out a thread ran, and whoever it woke may not have run yet): the
 * stall check's rule, for the threads outside the cycle. Threads lockgraph
 * never saw cannot be asked (README, "Limits").
 */
#define POST_CHECK_JOINS 16

struct post_check {
    struct lg_thread *const *path;
    uint32_t n;
    uint64_t since;
    bool can_post;
    uintptr_t joins[POST_CHECK_JOINS]; /* threads that others are joining */
    uint32_t njoins, joins_alive;       /* joins_alive: one bit per join */
};

static void
check_blocked(struct lg_thread *o, void *ctx)
{
    struct post_check *c = ctx;
    if (c->can_post || !atomic_load_explicit(&o->alive, memory_order_acquire))
        return;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->path[i] == o)
            return;
    int kind = atomic_load_explicit(&o->wait_kind, memory_order_acquire);
    if (kind == LG_WAIT_NONE || atomic_load_explicit(&o->wait_timed, memory_order_relaxed)
        || atomic_load_explicit(&o->wait_external, memory_order_relaxed)
        || atomic_load_explicit(&o->wait_since_ns, memory_order_relaxed) > c->since) {
        c->can_post = true; /* running now, or ran since, or may be woken */
        return;
    }
    if (kind == LG_WAIT_JOIN) {
        if (c->njoins == POST_CHECK_JOINS)
            c->can_post = true; /* too many to check: assume the worst */
        else
            c->joins[c->njoins++] = atomic_load_explicit(&o->wait_object, memory_order_relaxed);
    }
}

static void
check_joined(struct lg_thread *o, void *ctx)
{
    struct post_check *c = ctx;
    if (!atomic_load_explicit(&o->alive, memory_order_acquire))
        return;
    for (uint32_t i = 0; i < c->njoins; i++)
        if (c->joins[i] == o->handle)
            c->joins_alive |= 1u << i;
}

static bool
nobody_can_post(struct lg_thread *const *path, uint32_t n, uint64_t since)
{
    if (lg_threads_last_exit_ns() > since)
        return false;
    struct post_check c = { .path = path, .n = n, .since = since };
    lg_threads_each(check_blocked, &c);
    if (c.can_post)
        return false;
    /* A join of a thread that has exited returns as soon as it runs. */
    if (c.njoins)
        lg_threads_each(check_joined, &c);
    return c.joins_alive == (1u << c.njoins) - 1;
}

/*
 * Has every other member of the cycle polled its wait since the cycle was
 * first seen? A thread really blocked in a lock call polls every slice. One
 * that a signal handler took out of the call with siglongjmp has not ended
 * its wait (lockgraph never saw the call return) and polls no more: it is
 * running, and the cycle through it is a belief the program contradicts
 * (it was reported as a deadlock, and the program stopped).
 */
static bool
members_still_wait(struct lg_thread *const *path, uint32_t n, uint64_t since)
{
    for (uint32_t i = 1; i < n; i++)
        if (atomic_load_explicit(&path[i]->wait_polled_ns, memory_order_relaxed) < since)
            return false;
    return true;
}

void
lg_wait_poll(struct lg_thread *t)
{
    atomic_store_explicit(&t->wait_polled_ns, lg_now_ns(), memory_order_relaxed);
    if (atomic_load_explicit(&t->wait_stack, memory_order_relaxed) == 0)
        atomic_store_explicit(&t->wait_stack, lg_stack_capture(2), memory_order_relaxed);
    if (!lg_opt.detect_deadlocks)
        return;
    struct lg_thread *path[DEADLOCK_MAX_THREADS];
    bool through_sem = false;
    uint32_t n = wait_cycle(t, path, &through_sem);
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
    }
    /* Through a semaphore, the cycle counts from the moment nobody else
     * could post: a thread that runs in between starts it over. */
    if (through_sem && !nobody_can_post(path, n, t->dl_since_ns)) {
        t->dl_sig = 0;
        return;
    }
    if (now - t->dl_since_ns < (uint64_t)lg_opt.deadlock_ms * 1000000u
        || !members_still_wait(path, n, t->dl_since_ns))
        return;
    /* The orders behind it first: a thread of the cycle may have noted its
     * chain and not polled yet (its buffer is free while it waits). */
    lg_pend_flush_all();
    if (atomic_load_explicit(&nheld_back, memory_order_acquire)) {
        uint64_t stuck[64];
        uint32_t ns = 0;
        for (uint32_t i = 0; i < n && ns < 64; i++)
            stuck[ns++] = atomic_load_explicit(&path[i]->waiting_uid, memory_order_relaxed);
        release_held_back(t, stuck, ns);
    }
    /* Another thread of the cycle may be reporting the inversions it took:
     * they come first (2 s at most). */
    struct timespec ms = { 0, 1000000 };
    for (int i = 0; i < 2000 && atomic_load_explicit(&held_back_reporting, memory_order_acquire);
         i++)
        nanosleep(&ms, NULL);
    if (lg_report_deadlock(path, n))
        lg_exit_now();
}

/*
 * The graph's question during a cycle search (under lg_graph_lock): could
 * these two acquisitions have overlapped? A search asks about the same few
 * pairs again and again; the last answers are kept (the facts behind them,
 * creations and joins that already happened, do not change).
 */
static bool
labels_concurrent(void *ctx, const struct lg_edge_label *a, const struct lg_edge_label *b)
{
    (void)ctx;
    static struct {
        uint32_t ta, ea, ea_last, tb, eb, eb_last;
        bool concurrent, used;
    } memo[16];
    static unsigned next;
    for (unsigned i = 0; i < 16; i++)
        if (memo[i].used && memo[i].ta == a->thread && memo[i].ea == a->epoch
            && memo[i].ea_last == a->epoch_last && memo[i].tb == b->thread
            && memo[i].eb == b->epoch && memo[i].eb_last == b->epoch_last)
            return memo[i].concurrent;
    bool concurrent = !lg_labels_ordered(a, b, NULL, 0) && !lg_labels_ordered(b, a, NULL, 0);
    memo[next % 16].ta = a->thread;
    memo[next % 16].ea = a->epoch;
    memo[next % 16].ea_last = a->epoch_last;
    memo[next % 16].tb = b->thread;
    memo[next % 16].eb = b->epoch;
    memo[next % 16].eb_last = b->epoch_last;
    memo[next % 16].concurrent = concurrent;
    memo[next % 16].used = true;
    next++;
    return concurrent;
}

struct lg_graph_config
lg_graph_config_runtime(void)
{
    return (struct lg_graph_config){
        .concurrent = labels_concurrent,
        .concurrent_only = lg_opt.run_cycles_only,
    };
}
