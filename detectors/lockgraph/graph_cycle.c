/*
 * graph_cycle.c - held sets, labels, and the search for a cycle of
 * dependencies that could deadlock (the contract is graph.h; graph.c keeps
 * the storage and the order).
 *
 * Held sets are interned in a hash table keyed by (set below, top lock,
 * mode), so "the locks T holds" costs one entry per prefix ever seen, and
 * two labels taken under the same locks share one id. A set is freed when
 * the last label or set above it lets go.
 *
 * The search. A new label l0 on u -> v brings the dependencies h ~> v for
 * every lock h l0 holds (u and its held set): the cycle, if any, runs
 * v ~> ... ~> h for one of them, a "closer". Its steps are dependencies
 * L ~> M, each a path whose every edge has a label holding L; the last
 * edge's label is the step's acquisition, and the GoodLock rules (graph.h)
 * hold between the acquisitions. Only the component holding u and v can
 * hold such a path. How: a backward breadth-first pass from the closers
 * gives every node its distance to the nearest one (a lower bound on the
 * rest of any path); then iterative-deepening depth-first search (IDA*) on
 * the number of edges tries, at every edge, both closing the current step
 * there (under each label that may) and carrying it on, with backtracking,
 * so the first cycle found is a shortest one. It runs once per class, best
 * first: threads pairwise different and concurrent; then different; then
 * any. Every step counts against the search budget.
 */
#include "graph_int.h"

#ifdef LG_GRAPH_SELFCHECK
#include <stdio.h>
#include <stdlib.h>
#endif

/* ---- held sets ---------------------------------------------------------- */

static inline lg_held_id
lg_hs_id(const struct lg_graph *g, uint32_t i)
{
    return ((lg_held_id)lg_hset_at(g, i)->gen << 32) | (lg_held_id)(i + 1);
}

/* The index of a live set, or LG_NIL. */
static uint32_t
lg_hs_find_id(const struct lg_graph *g, lg_held_id id)
{
    uint32_t low = (uint32_t)id;
    if (low == 0 || low - 1 >= g->hsets.used)
        return LG_NIL;
    const struct lg_hset *h = lg_hset_at(g, low - 1);
    if (!h->live || h->gen != (uint32_t)(id >> 32))
        return LG_NIL;
    return low - 1;
}

/* The full 32-bit hash of a set's key; its low bits are the home slot. */
static inline uint32_t
lg_hs_hash(uint32_t parent, lg_node_id lock, bool shared)
{
    uint64_t k = lock * 0x9E3779B97F4A7C15ull ^ ((uint64_t)parent << 1 | shared);
    k ^= k >> 31;
    k *= 0xBF58476D1CE4E5B9ull;
    k ^= k >> 29;
    return (uint32_t)k;
}

/* Each slot keeps its set's hash beside the index, so that a probe past
 * other sets reads no set record (one cache miss each, in a table of
 * hundreds of thousands), and a rehash reads none at all. */
static uint32_t
lg_hs_lookup(const struct lg_graph *g, uint32_t parent, lg_node_id lock, bool shared)
{
    if (!g->hscap)
        return LG_NIL;
    uint32_t mask = g->hscap - 1, hash = lg_hs_hash(parent, lock, shared);
    for (uint32_t i = hash & mask;; i = (i + 1) & mask) {
        struct lg_hsslot s = g->hsidx[i];
        if (!s.idx1)
            return LG_NIL;
        if (s.hash != hash)
            continue;
        const struct lg_hset *h = lg_hset_at(g, s.idx1 - 1);
        if (h->lock == lock && h->parent == parent && h->shared == shared)
            return s.idx1 - 1;
    }
}

static void
lg_hs_put(struct lg_hsslot *tab, uint32_t mask, struct lg_hsslot s)
{
    uint32_t i = s.hash & mask;
    while (tab[i].idx1)
        i = (i + 1) & mask;
    tab[i] = s;
}

/* Room for one more entry at a load of at most 0.7. */
static int
lg_hs_reserve(struct lg_graph *g)
{
    if ((uint64_t)(g->hscount + 1) * 10 <= (uint64_t)g->hscap * 7)
        return 0;
    uint32_t cap = g->hscap ? 2 * g->hscap : 256;
    if (cap > (1u << 31))
        return -ENOMEM;
    struct lg_hsslot *tab = lg_alloc(&g->a, (size_t)cap * sizeof *tab);
    if (!tab)
        return -ENOMEM;
    for (uint32_t i = 0; i < g->hscap; i++)
        if (g->hsidx[i].idx1)
            lg_hs_put(tab, cap - 1, g->hsidx[i]);
    lg_free(&g->a, g->hsidx, (size_t)g->hscap * sizeof *g->hsidx);
    g->hsidx = tab;
    g->hscap = cap;
    return 0;
}

/* Delete by shifting later entries of the probe run back (no tombstones). */
static void
lg_hs_unindex(struct lg_graph *g, uint32_t idx)
{
    uint32_t mask = g->hscap - 1;
    const struct lg_hset *h = lg_hset_at(g, idx);
    uint32_t i = lg_hs_hash(h->parent, h->lock, h->shared) & mask;
    while (g->hsidx[i].idx1 != idx + 1)
        i = (i + 1) & mask;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        if (!g->hsidx[j].idx1)
            break;
        uint32_t k = g->hsidx[j].hash & mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        g->hsidx[i] = g->hsidx[j];
        i = j;
    }
    g->hsidx[i] = (struct lg_hsslot){ 0, 0 };
    g->hscount--;
}

/* Free sets from idx down as long as nothing uses them. */
static void
lg_hs_collect(struct lg_graph *g, uint32_t idx)
{
    while (idx != LG_NIL) {
        struct lg_hset *h = lg_hset_at(g, idx);
        if (h->refs)
            return;
        uint32_t parent = h->parent;
        lg_hs_unindex(g, idx);
        h->live = 0;
        if (h->gen != UINT32_MAX) { /* a slot whose generation ran out is retired */
            h->next_free = g->hsets.free;
            g->hsets.free = idx;
        }
        g->st.held_sets--;
        if (parent == LG_NIL)
            return;
        lg_hset_at(g, parent)->refs--;
        idx = parent;
    }
}

int
lg_graph_held_add(struct lg_graph *g, lg_held_id below, lg_node_id lock, bool shared,
                  lg_held_id *out)
{
    uint32_t parent = LG_NIL;
    if (below != LG_HELD_NONE && (parent = lg_hs_find_id(g, below)) == LG_NIL)
        return -EINVAL;
    if (lg_node_find(g, lock) == LG_NIL)
        return -EINVAL;
    uint32_t idx = lg_hs_lookup(g, parent, lock, shared);
    if (idx != LG_NIL) {
        *out = lg_hs_id(g, idx);
        return 0;
    }
    if (lg_hs_reserve(g))
        return -ENOMEM;
    if ((idx = g->hsets.free) != LG_NIL) {
        g->hsets.free = lg_hset_at(g, idx)->next_free;
    } else if (lg_pool_extend(g, &g->hsets, &idx)) {
        g->st.held_sets_refused++;
        return -ENOMEM;
    }
    struct lg_hset *h = lg_hset_at(g, idx);
    h->gen++;
    h->lock = lock;
    h->parent = parent;
    h->refs = 0;
    h->shared = shared;
    h->live = 1;
    h->depth = 1;
    if (parent != LG_NIL) {
        struct lg_hset *p = lg_hset_at(g, parent);
        p->refs++;
        h->depth = p->depth + 1;
    }
    lg_hs_put(g->hsidx, g->hscap - 1,
              (struct lg_hsslot){ idx + 1, lg_hs_hash(parent, lock, shared) });
    g->hscount++;
    g->st.held_sets++;
    *out = lg_hs_id(g, idx);
    return 0;
}

bool
lg_graph_held_live(const struct lg_graph *g, lg_held_id id)
{
    return lg_hs_find_id(g, id) != LG_NIL;
}

void
lg_graph_held_release(struct lg_graph *g, lg_held_id id)
{
    lg_memo_drop_all(g);
    uint32_t idx = lg_hs_find_id(g, id);
    if (idx != LG_NIL)
        lg_hs_collect(g, idx);
}

int
lg_graph_held_mode(const struct lg_graph *g, lg_held_id id, lg_node_id lock)
{
    for (uint32_t i = lg_hs_find_id(g, id); i != LG_NIL; i = lg_hset_at(g, i)->parent)
        if (lg_hset_at(g, i)->lock == lock)
            return lg_hset_at(g, i)->shared;
    return -1;
}

uint32_t
lg_graph_held_members(const struct lg_graph *g, lg_held_id id, lg_node_id *out, bool *shared,
                      uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = lg_hs_find_id(g, id); i != LG_NIL; i = lg_hset_at(g, i)->parent, n++) {
        if (n < max) {
            out[n] = lg_hset_at(g, i)->lock;
            if (shared)
                shared[n] = lg_hset_at(g, i)->shared;
        }
    }
    return n;
}

void
lg_held_free_all(struct lg_graph *g)
{
    lg_free(&g->a, g->hsidx, (size_t)g->hscap * sizeof *g->hsidx);
    g->hsidx = NULL;
    g->hscap = g->hscount = 0;
}

/* ---- labels ------------------------------------------------------------- */

bool
lg_label_valid(const struct lg_graph *g, const struct lg_edge_label *l)
{
    return l && (l->held == LG_HELD_NONE || lg_hs_find_id(g, l->held) != LG_NIL);
}

void
lg_label_hold(struct lg_graph *g, const struct lg_edge_label *l)
{
    uint32_t i = lg_hs_find_id(g, l->held);
    if (i != LG_NIL)
        lg_hset_at(g, i)->refs++;
}

void
lg_label_release(struct lg_graph *g, struct lg_edge_label *l)
{
    uint32_t i = lg_hs_find_id(g, l->held);
    if (i == LG_NIL)
        return;
    lg_hset_at(g, i)->refs--;
    lg_hs_collect(g, i);
}

/* One label of the class being looked up (lg_label_lookup()): true when it
 * is the thread's own (known: its epoch is noted), else the oldest thread
 * of the class is kept track of. */
static bool
lg_label_meet(struct lg_edge_label *l, uint32_t k, const struct lg_edge_label *label,
              uint32_t *count, uint32_t *oldest)
{
    if (l[k].thread == label->thread) {
        if (label->epoch > l[k].epoch_last)
            l[k].epoch_last = label->epoch;
        return true;
    }
    if (*oldest == LG_NIL || l[k].thread < l[*oldest].thread)
        *oldest = k;
    (*count)++;
    return false;
}

/*
 * Where a label goes on an edge: among the labels of its class (held set,
 * then modes; at most threads_per_class of them, which differ only in
 * thread), found through the edge's index (graph_int.h) or, on a small
 * edge, by a scan. A new class is appended.
 */
int
lg_label_lookup(struct lg_graph *g, lg_node_id from, lg_node_id to,
                const struct lg_edge_label *label, uint32_t *u, uint32_t *v, uint32_t *ei,
                int *status, uint32_t *slot, bool *replace, uint64_t *same_thread_payload)
{
    if (same_thread_payload)
        *same_thread_payload = 0;
    if (!lg_label_valid(g, label))
        return -EINVAL;
    *u = lg_node_find(g, from);
    *v = lg_node_find(g, to);
    if (*u == LG_NIL || *v == LG_NIL || *u == *v)
        return -EINVAL;
    *ei = lg_edge_find(g, *u, *v);
    *status = LG_LABEL_NEW;
    *slot = 0;
    *replace = false;
    if (*ei == LG_NIL)
        return 0;
    struct lg_edge *e = lg_edge_at(g, *ei);
    struct lg_edge_label *l = lg_labels(e);
    if (same_thread_payload) {
        if (e->cap <= 1) {
            if (l[0].thread == label->thread)
                *same_thread_payload = l[0].payload;
        } else {
            for (int k = 0; k < 2; k++)
                if (e->l.many.hint_thread[k] == label->thread)
                    *same_thread_payload = e->l.many.hint_payload[k];
        }
    }
    uint32_t count = 0, oldest = LG_NIL;
    if (lg_label_indexed(e->cap)) {
        const uint32_t *idx = lg_label_index(e);
        uint32_t mask = lg_label_index_len(e->cap) - 1;
        uint32_t hash = lg_label_class_hash(label), tag = lg_label_index_tag(hash);
        for (uint32_t i = hash & mask; idx[i]; i = (i + 1) & mask) {
            if ((idx[i] & ~LG_LABEL_POS_MASK) != tag)
                continue;
            uint32_t k = (idx[i] & LG_LABEL_POS_MASK) - 1;
            if (lg_label_class_cmp(&l[k], label) == 0
                && lg_label_meet(l, k, label, &count, &oldest)) {
                *status = LG_LABEL_KNOWN;
                return 0;
            }
        }
    } else {
        for (uint32_t k = 0; k < e->nlabels; k++)
            if (lg_label_class_cmp(&l[k], label) == 0
                && lg_label_meet(l, k, label, &count, &oldest)) {
                *status = LG_LABEL_KNOWN;
                return 0;
            }
    }
    *slot = e->nlabels;
    if (count >= g->cfg.threads_per_class) {
        /* The newest threads are the ones a new thread may run beside. */
        if (label->thread < l[oldest].thread)
            *status = LG_LABEL_KNOWN;
        else {
            *slot = oldest;
            *replace = true;
        }
    }
    return 0;
}

/*
 * The runtime asks about the edges into one lock from several held locks,
 * one after another (graph.h: dependencies), and on an edge with hundreds
 * of labels each answer waits for a cache miss on that edge's label index.
 * Told the later ones before it asks the first, it starts reading the index
 * entries where their classes live, so that the misses overlap. Only a
 * hint: nothing is changed, and a wrong guess costs a few loads.
 */
void
lg_label_prefetch(struct lg_graph *g, uint32_t u, uint32_t v, const struct lg_edge_label *label)
{
    uint32_t ei = lg_edge_find(g, u, v);
    if (ei == LG_NIL)
        return;
    const struct lg_edge *e = lg_edge_at(g, ei);
    if (lg_label_indexed(e->cap))
        __builtin_prefetch(&lg_label_index(e)[lg_label_class_hash(label)
                                              & (lg_label_index_len(e->cap) - 1)]);
}

/* ---- the search ---------------------------------------------------------- */

/* How the search ranks threads: the class it is looking for. */
enum lg_pass { LG_PASS_CONCURRENT, LG_PASS_DISTINCT, LG_PASS_ANY };

struct lg_search {
    struct lg_graph *g;
    const struct lg_scope *sc;
    const struct lg_edge_label *l0;
    uint32_t u, v;
    lg_node_id uid, vid;
    enum lg_pass pass;
    uint32_t se;             /* this search's node stamp */
    uint64_t visits;
    bool truncated;
};

static inline bool
lg_in_scope(const struct lg_graph *g, const struct lg_scope *sc, uint32_t n)
{
    uint32_t x = lg_vert(g, n);
    return sc->merge ? lg_in_merge(g, sc->merge, x) : x == sc->vert;
}

static inline bool
lg_spend(struct lg_search *s, uint64_t n)
{
    s->visits += n;
    if (s->visits > s->g->budget) {
        s->truncated = true;
        return false;
    }
    return true;
}

/* The mode in which label l (on an edge out of `from`) held `lock`: -1 not
 * held, 0 exclusively, 1 shared. A label without a held set held `from`. */
static int
lg_label_mode(struct lg_search *s, const struct lg_edge_label *l, lg_node_id from, lg_node_id lock)
{
    if (l->held == LG_HELD_NONE)
        return lock == from ? l->from_shared : -1;
    uint64_t steps = 0;
    int mode = -1;
    for (uint32_t i = lg_hs_find_id(s->g, l->held); i != LG_NIL; i = lg_hset_at(s->g, i)->parent) {
        steps++;
        if (lg_hset_at(s->g, i)->lock == lock) {
            mode = lg_hset_at(s->g, i)->shared;
            break;
        }
    }
    lg_spend(s, steps);
    if (mode < 0 && lock == from)
        mode = l->from_shared;
    return mode;
}

/*
 * The same, for the lock one dependency walk asks about over and over: each
 * held set remembers the answer for this walk (mstamp), so a walk over
 * labels that share prefixes, as the labels of one thread's nested locks
 * do, costs O(1) per set instead of its depth.
 */
static int
lg_label_mode_memo(struct lg_search *s, const struct lg_edge_label *l, lg_node_id from,
                   lg_node_id lock)
{
    struct lg_graph *g = s->g;
    if (l->held == LG_HELD_NONE)
        return lock == from ? l->from_shared : -1;
    uint64_t steps = 0;
    int mode = -1;
    uint32_t i = lg_hs_find_id(g, l->held);
    for (; i != LG_NIL; i = lg_hset_at(g, i)->parent) {
        steps++;
        const struct lg_hset *h = lg_hset_at(g, i);
        if (h->mstamp == g->mstamp) {
            mode = h->mmode;
            break;
        }
        if (h->lock == lock) {
            mode = h->shared;
            break;
        }
    }
    /* Every set walked over has the same answer. */
    for (uint32_t j = lg_hs_find_id(g, l->held); j != i; j = lg_hset_at(g, j)->parent) {
        lg_hset_at(g, j)->mstamp = g->mstamp;
        lg_hset_at(g, j)->mmode = (int8_t)mode;
    }
    if (i != LG_NIL) {
        lg_hset_at(g, i)->mstamp = g->mstamp;
        lg_hset_at(g, i)->mmode = (int8_t)mode;
    }
    lg_spend(s, steps);
    if (mode < 0 && lock == from)
        mode = l->from_shared;
    return mode;
}

/* Visit every lock a label held, with its mode; stop when fn says so
 * (returns true). A label without a held set held `from`. */
static bool
lg_held_any(struct lg_search *s, const struct lg_edge_label *l, lg_node_id from,
            bool (*fn)(struct lg_search *s, lg_node_id id, bool shared))
{
    if (l->held == LG_HELD_NONE)
        return fn(s, from, l->from_shared);
    uint64_t steps = 0;
    bool hit = false;
    for (uint32_t i = lg_hs_find_id(s->g, l->held); i != LG_NIL && !hit;
         i = lg_hset_at(s->g, i)->parent) {
        steps++;
        hit = fn(s, lg_hset_at(s->g, i)->lock, lg_hset_at(s->g, i)->shared);
    }
    lg_spend(s, steps);
    return hit;
}

/* The scratch set of one label's locks: ids stamped with gstamp are in it. */
static inline uint32_t
lg_gslot(lg_node_id id, size_t cap)
{
    return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 33) & (uint32_t)(cap - 1);
}

static bool
lg_gate_put(struct lg_search *s, lg_node_id id, bool shared)
{
    struct lg_gmark *m = s->g->gates.p;
    size_t cap = s->g->gates.cap;
    for (uint32_t i = lg_gslot(id, cap);; i = (i + 1) & (uint32_t)(cap - 1)) {
        if (m[i].stamp != s->g->gstamp) {
            m[i].id = id;
            m[i].stamp = s->g->gstamp;
            m[i].shared = shared;
            return false;
        }
        if (m[i].id == id) {
            m[i].shared &= shared;
            return false;
        }
    }
}

/* The lock is in the set, and one of the two held it exclusively: the two
 * acquisitions cannot both be inside a cycle at once. */
static bool
lg_gate_clash(struct lg_search *s, lg_node_id id, bool shared)
{
    const struct lg_gmark *m = s->g->gates.p;
    size_t cap = s->g->gates.cap;
    for (uint32_t i = lg_gslot(id, cap);; i = (i + 1) & (uint32_t)(cap - 1)) {
        if (m[i].stamp != s->g->gstamp)
            return false;
        if (m[i].id == id)
            return !(shared && m[i].shared);
    }
}

/* How many locks a label held, an upper bound (its held set's depth). */
static uint32_t
lg_gate_bound(const struct lg_graph *g, const struct lg_edge_label *l)
{
    uint32_t i = lg_hs_find_id(g, l->held);
    return i == LG_NIL ? 1 : lg_hset_at(g, i)->depth;
}

static lg_node_id
lg_step_from(const struct lg_graph *g, const struct lg_step *st)
{
    return lg_id(g, lg_edge_at(g, st->edge)->from);
}

/*
 * Can `cand` (on the edge out of `cand_from`) be the acquisition of the
 * next step, given l0 and the acquisitions already on the path? No lock may
 * be held by it and by one of them unless both held it shared (GoodLock's
 * gate rule, with readers: a lock held for writing by one thread is held by
 * no other), and its thread must fit the pass.
 */
static int
lg_fits(struct lg_search *s, uint32_t depth, const struct lg_edge_label *cand, lg_node_id cand_from)
{
    const struct lg_step *path = s->g->path.p;
    struct lg_graph *g = s->g;
    if (s->pass != LG_PASS_ANY) {
        if (cand->thread == s->l0->thread)
            return 0;
        for (uint32_t i = 0; i < depth; i++)
            if (path[i].label && path[i].label->thread == cand->thread)
                return 0;
    }
    if (s->pass == LG_PASS_CONCURRENT && g->cfg.concurrent) {
        if (!g->cfg.concurrent(g->cfg.ctx, cand, s->l0))
            return 0;
        for (uint32_t i = 0; i < depth; i++)
            if (path[i].label && !g->cfg.concurrent(g->cfg.ctx, cand, path[i].label))
                return 0;
    }
    /* The candidate's locks go into the scratch set, then every other
     * acquisition's locks are checked against it. lg_buf_need keeps the capacity a power of two (64, 128, ...), and
     * fresh memory is zero: stamps older than the current one read as
     * empty slots. */
    if (lg_buf_need(g, &g->gates, (size_t)lg_gate_bound(g, cand) * 2 + 2))
        return -ENOMEM;
    if (++g->gstamp == 0) {
        memset(g->gates.p, 0, g->gates.cap * sizeof(struct lg_gmark));
        g->gstamp = 1;
    }
    lg_held_any(s, cand, cand_from, lg_gate_put);
    bool overlap = lg_held_any(s, s->l0, s->uid, lg_gate_clash);
    for (uint32_t i = 0; i < depth && !overlap; i++)
        if (path[i].label)
            overlap = lg_held_any(s, path[i].label, lg_step_from(g, &path[i]), lg_gate_clash);
    return !overlap && !s->truncated;
}

static void
lg_clear_path(struct lg_graph *g, uint32_t nframes)
{
    const struct lg_frame *f = g->frames.p;
    for (uint32_t i = 0; i < nframes; i++)
        lg_node_at(g, f[i].node)->on_path = false;
}

/* The acquisition the step at `depth` follows: the one before it on the
 * path, or l0. */
static const struct lg_edge_label *
lg_prev_acq(const struct lg_search *s, uint32_t depth)
{
    return depth ? ((const struct lg_step *)s->g->path.p)[depth - 1].label : s->l0;
}

/*
 * Every dependency from lock `at` (node index) inside the scope: a
 * breadth-first walk from `at` over the edges that have a label holding
 * `at` reaches every such label (graph.h: the edges a thread added while it
 * held `at` lead from `at` to everything it took then), and each label that
 * holds `at` is one dependency. With `parent` (edge by node index, sized to
 * the pool) the walk also records how it reached each node. 0 and the list
 * in g->deps[off .. off + n), or -ENOMEM; a truncated search stops early.
 */
static int
lg_deps_of(struct lg_search *s, uint32_t at, uint32_t *off, uint32_t *n, uint32_t *parent)
{
    struct lg_graph *g = s->g;
    struct lg_depidx *ix = (struct lg_depidx *)g->depidx.p + at;
    if (!parent && ix->dstamp == s->se) {
        *off = ix->off;
        *n = ix->n;
        return 0;
    }
    /* With parents asked for, the walk runs again and is not cached. */
    int rc;
    lg_node_id atid = lg_id(g, at);
    uint32_t start = (uint32_t)g->ndeps, nq = 0;
    lg_next_sepoch(g);
    const uint32_t bse = g->sepoch;
    if (++g->mstamp == 0) {
        for (uint32_t i = 0; i < g->hsets.used; i++)
            lg_hset_at(g, i)->mstamp = 0;
        g->mstamp = 1;
    }
    /* The queue holds (node, edges from `at`) pairs. */
    if ((rc = lg_buf_need(g, &g->queue, 2)))
        return rc;
    ((uint32_t *)g->queue.p)[nq++] = at;
    ((uint32_t *)g->queue.p)[nq++] = 0;
    lg_node_at(g, at)->sepoch = bse;
    for (uint32_t qi = 0; qi < nq && !s->truncated; qi += 2) {
        uint32_t x = ((uint32_t *)g->queue.p)[qi], dx = ((uint32_t *)g->queue.p)[qi + 1];
        lg_node_id xid = lg_id(g, x);
        for (uint32_t ei = lg_node_at(g, x)->out_head; ei != LG_NIL;) {
            const struct lg_edge *e = lg_edge_at(g, ei);
            uint32_t cur = ei;
            ei = e->next_out;
            if (!lg_in_scope(g, s->sc, e->to) || !lg_spend(s, 1))
                continue;
            const struct lg_edge_label *l = lg_labels_c(e);
            bool through = false;
            for (uint32_t k = 0; k < e->nlabels; k++) {
                if (lg_label_mode_memo(s, &l[k], xid, atid) < 0)
                    continue;
                through = true;
                if ((rc = lg_buf_need(g, &g->deps, g->ndeps + 1)))
                    return rc;
                ((struct lg_dep *)g->deps.p)[g->ndeps++] = (struct lg_dep){ cur, dx + 1, &l[k] };
            }
            struct lg_node *y = lg_node_at(g, e->to);
            if (!through || y->sepoch == bse)
                continue;
            if ((rc = lg_buf_need(g, &g->queue, nq + 2)))
                return rc;
            y->sepoch = bse;
            if (parent)
                parent[e->to] = cur;
            ((uint32_t *)g->queue.p)[nq++] = e->to;
            ((uint32_t *)g->queue.p)[nq++] = dx + 1;
        }
    }
    *off = start;
    *n = (uint32_t)g->ndeps - start;
    if (!parent) {
        ix = (struct lg_depidx *)g->depidx.p + at;
        ix->off = *off;
        ix->n = *n;
        ix->dstamp = s->se;
    }
    return 0;
}

/* Every node's distance in edges to the nearest closer, backwards over
 * the scope's edges: a lower bound on the rest of any cycle from it. */
static int
lg_closer_distances(struct lg_search *s, uint32_t nq)
{
    struct lg_graph *g = s->g;
    int rc;
    for (uint32_t i = 0; i < nq; i++) {
        if (!lg_spend(s, 1))
            return 0;
        uint32_t x = ((uint32_t *)g->queue.p)[i];
        uint32_t dx = ((struct lg_depidx *)g->depidx.p)[x].dist;
        for (uint32_t ei = lg_node_at(g, x)->in_head; ei != LG_NIL;) {
            const struct lg_edge *e = lg_edge_at(g, ei);
            ei = e->next_in;
            struct lg_depidx *w = (struct lg_depidx *)g->depidx.p + e->from;
            if (w->stamp == s->se || !lg_in_scope(g, s->sc, e->from))
                continue;
            if ((rc = lg_buf_need(g, &g->queue, nq + 1)))
                return rc;
            w->stamp = s->se;
            w->dist = dx + 1;
            ((uint32_t *)g->queue.p)[nq++] = e->from;
        }
    }
    return 0;
}

static inline struct lg_depidx *
lg_ix(const struct lg_graph *g, uint32_t node)
{
    return (struct lg_depidx *)g->depidx.p + node;
}

/*
 * One pass of the search (see the top of the file): iterative deepening
 * on the cycle's length in edges, under the closer distances' bound; each
 * step is a dependency from the lock the last one ended at. Returns 1 with
 * the steps in g->path[0 .. *len) (each the dependency's last edge and its
 * label) and the closer in *closer, 0 for none, -ENOMEM.
 */
static int
lg_search_pass(struct lg_search *s, uint32_t *len, uint32_t *closer)
{
    struct lg_graph *g = s->g;
    int rc;

    /* A fresh stamp for the closers and the per-node scratch. */
    if ((rc = lg_buf_need(g, &g->depidx, g->nodes.used)))
        return rc;
    if (++g->cstamp == 0) {
        for (uint32_t i = 0; i < g->nodes.used; i++)
            lg_node_at(g, i)->cepoch = 0;
        memset(g->depidx.p, 0, g->depidx.cap * sizeof(struct lg_depidx));
        g->cstamp = 1;
    }
    s->se = g->cstamp;
    g->ndeps = 0;
    /* The closers: u, and every lock l0 held, that lies in scope; they
     * start the distance walk at 0. */
    uint32_t nq = 0;
    if ((rc = lg_buf_need(g, &g->queue, 1)))
        return rc;
    for (uint32_t i = lg_hs_find_id(g, s->l0->held), first = 1; first || i != LG_NIL;
         i = first ? i : lg_hset_at(g, i)->parent, first = 0) {
        if (!lg_spend(s, 1))
            return 0;
        uint32_t x = first ? s->u : lg_node_find(g, lg_hset_at(g, i)->lock);
        uint8_t mode = first ? s->l0->from_shared : lg_hset_at(g, i)->shared;
        if (x == LG_NIL || x == s->v || !lg_in_scope(g, s->sc, x) || lg_node_at(g, x)->cepoch == s->se)
            continue;
        if ((rc = lg_buf_need(g, &g->queue, nq + 1)))
            return rc;
        lg_node_at(g, x)->cepoch = s->se;
        lg_node_at(g, x)->cmode = mode;
        lg_ix(g, x)->stamp = s->se;
        lg_ix(g, x)->dist = 0;
        ((uint32_t *)g->queue.p)[nq++] = x;
    }
    if ((rc = lg_closer_distances(s, nq)) || s->truncated)
        return rc;
    if (lg_ix(g, s->v)->stamp != s->se)
        return 0; /* no closer is reachable */

    for (uint32_t limit = lg_ix(g, s->v)->dist;;) {
        uint32_t next = UINT32_MAX, nf = 0;
        if ((rc = lg_buf_need(g, &g->frames, 1)))
            return rc;
        ((struct lg_frame *)g->frames.p)[nf++] = (struct lg_frame){ .node = s->v };
        lg_node_at(g, s->v)->on_path = true;
        while (nf > 0) {
            if ((rc = lg_buf_need(g, &g->frames, nf + 1)) || (rc = lg_buf_need(g, &g->path, nf))) {
                lg_clear_path(g, nf);
                return rc;
            }
            struct lg_frame *f = &((struct lg_frame *)g->frames.p)[nf - 1];
            const uint32_t depth = nf - 1, at = f->node;
            uint32_t off, n;
            if ((rc = lg_deps_of(s, at, &off, &n, NULL)) || s->truncated) {
                lg_clear_path(g, nf);
                return rc;
            }
            const struct lg_edge_label *prev = lg_prev_acq(s, depth);
            const lg_node_id atid = lg_id(g, at);
            bool pushed = false;
            while (!pushed && f->edge < n) {
                /* The walk found them nearest first; the farthest are tried
                 * first, as a cycle most often closes in one long step. */
                const struct lg_dep d = ((const struct lg_dep *)g->deps.p)[off + n - 1 - f->edge++];
                const struct lg_edge *e = lg_edge_at(g, d.edge);
                struct lg_node *y = lg_node_at(g, e->to);
                if (y->on_path || lg_ix(g, e->to)->stamp != s->se || !lg_spend(s, 1))
                    continue;
                uint32_t need = f->len + d.len + lg_ix(g, e->to)->dist;
                if (need > limit) {
                    if (need < next)
                        next = need;
                    continue;
                }
                /* Readers do not block readers at the lock between. */
                if (prev->to_shared && lg_label_mode(s, d.label, lg_id(g, e->from), atid) == 1)
                    continue;
                rc = lg_fits(s, depth, d.label, lg_id(g, e->from));
                if (rc < 0 || s->truncated) {
                    lg_clear_path(g, nf);
                    return rc < 0 ? rc : 0;
                }
                if (!rc)
                    continue;
                ((struct lg_step *)g->path.p)[depth] = (struct lg_step){ d.edge, d.label };
                if (y->cepoch == s->se && !(d.label->to_shared && y->cmode)) {
                    lg_clear_path(g, nf);
                    *len = depth + 1;
                    *closer = e->to;
                    return 1;
                }
                ((struct lg_frame *)g->frames.p)[nf++] =
                    (struct lg_frame){ .node = e->to, .len = f->len + d.len };
                y->on_path = true;
                pushed = true;
            }
            if (!pushed) {
                lg_node_at(g, f->node)->on_path = false;
                nf--;
            }
        }
        if (next == UINT32_MAX)
            return 0;
        limit = next;
    }
}

static size_t
lg_cycle_size(uint32_t n, size_t nvia)
{
    return sizeof(struct lg_cycle) + n * sizeof(struct lg_cycle_step) + nvia * sizeof(lg_node_id);
}

/* The payload of a label on edge ei that held `start`, the same thread as
 * `acq` if one did. */
static uint64_t
lg_first_payload(struct lg_search *s, uint32_t ei, lg_node_id start, const struct lg_edge_label *acq)
{
    const struct lg_edge *e = lg_edge_at(s->g, ei);
    const struct lg_edge_label *l = lg_labels_c(e);
    lg_node_id from = lg_id(s->g, e->from);
    uint64_t any = 0;
    for (uint32_t k = 0; k < e->nlabels; k++) {
        if (lg_label_mode(s, &l[k], from, start) < 0)
            continue;
        if (l[k].thread == acq->thread)
            return l[k].payload;
        if (!any)
            any = l[k].payload;
    }
    return any ? any : acq->payload;
}

/*
 * One block holds the cycle, its steps and their via lists. A step's via
 * list is the way the dependency walk went from its lock to the edge that
 * closes it: the walk runs again, with parents kept.
 */
static int
lg_cycle_build(struct lg_search *s, uint32_t len, uint32_t closer, struct lg_cycle **out)
{
    struct lg_graph *g = s->g;
    int rc;
    uint32_t *parent = lg_alloc(&g->a, (size_t)g->nodes.used * sizeof *parent);
    if (!parent)
        return -ENOMEM;
    /* First the lengths: walk back from each step's last edge. */
    uint32_t n = len + 1, nvia = closer != s->u, at = s->v;
    for (uint32_t i = 0; i < len; i++) {
        const struct lg_step *st = &((const struct lg_step *)g->path.p)[i];
        uint32_t off, cnt;
        if ((rc = lg_deps_of(s, at, &off, &cnt, parent)))
            goto out;
        for (uint32_t x = lg_edge_at(g, st->edge)->from; x != at;
             x = lg_edge_at(g, parent[x])->from)
            nvia++;
        at = lg_edge_at(g, st->edge)->to;
    }
    struct lg_cycle *c = lg_alloc(&g->a, lg_cycle_size(n, nvia));
    if (!c) {
        rc = -ENOMEM;
        goto out;
    }
    c->n = n;
    c->steps = (struct lg_cycle_step *)(c + 1);
    lg_node_id *via = (lg_node_id *)(c->steps + n);
    struct lg_cycle_step *cs = &c->steps[0];
    cs->from = lg_id(g, closer);
    cs->to = s->vid;
    cs->label = *s->l0;
    cs->label.epoch_last = s->l0->epoch;
    cs->from_payload = s->l0->payload;
    cs->via = via;
    cs->nvia = 0;
    if (closer != s->u) {
        *via++ = s->uid;
        cs->nvia = 1;
    }
    at = s->v;
    for (uint32_t i = 0; i < len; i++) {
        const struct lg_step *st = &((const struct lg_step *)g->path.p)[i];
        uint32_t off, cnt;
        if ((rc = lg_deps_of(s, at, &off, &cnt, parent))) {
            lg_free(&g->a, c, lg_cycle_size(n, nvia));
            goto out;
        }
        cs = &c->steps[i + 1];
        const struct lg_edge *last = lg_edge_at(g, st->edge);
        cs->from = lg_id(g, at);
        cs->to = lg_id(g, last->to);
        cs->label = *st->label;
        /* The via list, from `at` on: count, then fill backwards. */
        uint32_t k = 0, first = st->edge;
        for (uint32_t x = last->from; x != at; x = lg_edge_at(g, parent[x])->from) {
            k++;
            first = parent[x];
        }
        cs->nvia = k;
        cs->via = via;
        for (uint32_t x = last->from, j = k; x != at; x = lg_edge_at(g, parent[x])->from)
            via[--j] = lg_id(g, x);
        via += k;
        cs->from_payload = first == st->edge ? st->label->payload
                                             : lg_first_payload(s, first, cs->from, st->label);
        at = last->to;
    }
    c->klass = s->pass == LG_PASS_ANY        ? LG_CYCLE_SINGLE_THREAD
               : s->pass == LG_PASS_DISTINCT ? LG_CYCLE_ORDERED
                                             : LG_CYCLE_CONCURRENT;
    *out = c;
    rc = 0;
out:
    lg_free(&g->a, parent, (size_t)g->nodes.used * sizeof *parent);
    return rc;
}

void
lg_cycle_free(struct lg_graph *g, struct lg_cycle *cycle)
{
    if (!cycle)
        return;
    size_t nvia = 0;
    for (uint32_t i = 0; i < cycle->n; i++)
        nvia += cycle->steps[i].nvia;
    lg_free(&g->a, cycle, lg_cycle_size(cycle->n, nvia));
}

int
lg_cycle_search(struct lg_graph *g, uint32_t u, uint32_t v, const struct lg_edge_label *l0,
                const struct lg_scope *sc, struct lg_cycle **cycle)
{
    /* The new label's epoch range is its one epoch (the caller's
     * epoch_last is ignored on input, graph.h). */
    struct lg_edge_label l0c = *l0;
    l0c.epoch_last = l0->epoch;
    l0 = &l0c;
    struct lg_search s = {
        .g = g, .sc = sc, .l0 = l0, .u = u, .v = v,
        .uid = lg_id(g, u), .vid = lg_id(g, v),
    };
    static const enum lg_pass passes[] = { LG_PASS_CONCURRENT, LG_PASS_DISTINCT, LG_PASS_ANY };
    uint32_t npass = g->cfg.concurrent_only ? 1 : 3;
    for (uint32_t p = 0; p < npass; p++) {
        if (passes[p] == LG_PASS_DISTINCT && !g->cfg.concurrent)
            continue; /* the first pass was this one */
        s.pass = passes[p];
        s.visits = 0;
        s.truncated = false;
        uint32_t len = 0, closer = LG_NIL;
        int rc = lg_search_pass(&s, &len, &closer);
        if (s.truncated)
            g->st.searches_truncated++;
        if (rc < 0)
            return rc;
        if (rc > 0) {
            if (cycle && (rc = lg_cycle_build(&s, len, closer, cycle)))
                return rc;
            return 1;
        }
    }
    return 0;
}

/* ---- self-check of the held sets (tests only) --------------------------- */

#ifdef LG_GRAPH_SELFCHECK
#define LG_HCHECK(cond)                                                       \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: lockgraph held-set self-check failed: %s\n", \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Every live set is in the table once, its depth is its parent's plus one,
 * and its count of users is exactly the labels and sets that name it. */
void
lg_held_selfcheck(struct lg_graph *g)
{
    uint64_t live = 0;
    for (uint32_t i = 0; i < g->hsets.used; i++) {
        const struct lg_hset *h = lg_hset_at(g, i);
        if (!h->live)
            continue;
        live++;
        LG_HCHECK(lg_hs_lookup(g, h->parent, h->lock, h->shared) == i);
        LG_HCHECK(h->parent == LG_NIL || (lg_hset_at(g, h->parent)->live
                                          && h->depth == lg_hset_at(g, h->parent)->depth + 1));
        LG_HCHECK(h->parent != LG_NIL || h->depth == 1);
    }
    LG_HCHECK(live == g->st.held_sets && live == g->hscount);
    for (uint32_t i = 0; i < g->hscap; i++) {
        struct lg_hsslot sl = g->hsidx[i];
        if (!sl.idx1)
            continue;
        const struct lg_hset *h = lg_hset_at(g, sl.idx1 - 1);
        LG_HCHECK(h->live && sl.hash == lg_hs_hash(h->parent, h->lock, h->shared));
    }
    /* Users: count them into a scratch array of the pool's size (from
     * calloc: the graph's allocator counts, and may fail, on purpose). */
    uint32_t *users = calloc((size_t)g->hsets.used + 1, sizeof *users);
    LG_HCHECK(users != NULL);
    for (uint32_t i = 0; i < g->hsets.used; i++) {
        const struct lg_hset *h = lg_hset_at(g, i);
        if (h->live && h->parent != LG_NIL)
            users[h->parent]++;
    }
    for (uint32_t i = 0; i < g->edges.used; i++) {
        const struct lg_edge *e = lg_edge_at(g, i);
        if (!e->cap)
            continue;
        const struct lg_edge_label *l = lg_labels_c(e);
        for (uint32_t k = 0; k < e->nlabels; k++) {
            uint32_t x = lg_hs_find_id(g, l[k].held);
            LG_HCHECK(l[k].held == LG_HELD_NONE || x != LG_NIL);
            if (x != LG_NIL)
                users[x]++;
        }
    }
    for (uint32_t i = 0; i < g->hsets.used; i++) {
        const struct lg_hset *h = lg_hset_at(g, i);
        if (h->live)
            LG_HCHECK(users[i] == h->refs);
    }
    free(users);
}
#endif
