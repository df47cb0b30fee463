/*
 * graph.c - lockgraph's lock-order graph (the contract is graph.h).
 *
 * Storage. Nodes, edges and component records live in chunked pools: a
 * pool grows by one chunk at a time, so nothing is ever copied or moved and
 * a pointer into a pool stays valid. Everything is named by a 32-bit index.
 * Each node lists its out- and in-edges (intrusive and doubly linked, so a
 * removal costs the node's degree); a hash table maps (from, to) to an edge.
 *
 * Order. The topological order is kept over the vertices of the
 * condensation. A node alone in its strongly connected component is its own
 * vertex and keeps its own position, so the common case touches no extra
 * memory; a component of two or more nodes is a record with a member list
 * and one position for all of them. A vertex id is a node index, or a
 * component index with LG_COMP_BIT set. Positions are int64 values that
 * only need to be distinct, so a lock can be put before everything (--lo)
 * or after everything (++hi) in O(1).
 *
 * Components. Merging is union by size with eager relabelling (weighted
 * quick-find): each node names its component directly, so finding it is
 * O(1) on the hot path, and a node is relabelled O(log n) times at most.
 * Removal never splits a component: a component is then a union of strongly
 * connected components, which keeps every cycle inside one component and
 * the order over components topological; its only cost is that the exact
 * cycle search runs where no cycle is left.
 *
 * Failure. lg_graph_add_edge() works in three phases: look (order repair
 * plan, cycle search, report), reserve (every allocation the change needs),
 * commit (no allocation, cannot fail). A failed allocation in the first two
 * leaves the graph as it was: searches mark vertices with epoch stamps, which
 * need no undo.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "graph.h"

#define LG_NIL UINT32_MAX
#define LG_CHUNK_SHIFT 10u
#define LG_CHUNK_LEN (1u << LG_CHUNK_SHIFT)
#define LG_COMP_BIT 0x80000000u
#define LG_MAX_NODES (LG_COMP_BIT - 1u)  /* a node index must not look like a component */
#define LG_MAX_EDGES (UINT32_MAX - 1u)   /* the hash table stores edge + 1 */
#define LG_DEFAULT_LABELS 8u
#define LG_DEFAULT_BUDGET 1000000u

struct lg_node {
    int64_t ord;              /* position, while the node is its own vertex */
    uint32_t gen;             /* generation of the current or last occupant */
    uint32_t comp;            /* component record, LG_NIL while alone */
    uint32_t out_head;        /* also the free-list link of a dead node */
    uint32_t in_head;
    uint32_t nout, nin;
    uint32_t comp_next, comp_prev;
    uint32_t fmark, bmark;    /* order repair: reached forward / backward */
    uint32_t sepoch, sdist;   /* cycle search: sdist is valid in sepoch */
    bool live;
    bool on_path;             /* cycle search: on the current path */
};

struct lg_edge {
    uint32_t from, to;
    uint32_t next_out;        /* also the free-list link of a free slot */
    uint32_t prev_out, next_in, prev_in;
    uint32_t nlabels;
    uint32_t cap;             /* 0: free slot; 1: the label is inline */
    union {
        struct lg_edge_label one;
        struct lg_edge_label *many;
    } l;
};

struct lg_comp {
    int64_t ord;
    uint32_t head, size;      /* live members */
    uint32_t fmark, bmark;
    uint32_t next_free;
};

struct lg_pool {
    void **chunks;
    uint32_t nchunks, chunk_cap;
    uint32_t used;            /* slots [0, used) have been handed out */
    uint32_t free;            /* free-list head, LG_NIL when empty */
    uint32_t max;
    size_t elem;
};

struct lg_hslot {
    uint32_t from, to;
    uint32_t edge1;           /* edge + 1; 0 is an empty slot (zeroed memory) */
};

/* Scratch arrays kept between calls: searches allocate nothing once warm. */
struct lg_buf {
    void *p;
    size_t cap;               /* in elements */
    size_t elem;
};

struct lg_ordv {
    int64_t ord;
    uint32_t v;
};

struct lg_frame {
    uint32_t node, edge, label; /* next edge and label to try from node */
};

struct lg_step {
    uint32_t edge;
    const struct lg_edge_label *label;
};

enum lg_plan_kind {
    LG_PLAN_NONE,   /* the order already agrees */
    LG_PLAN_FRONT,  /* u has no in-edges: put it before everything */
    LG_PLAN_BACK,   /* v has no out-edges: put it after everything */
    LG_PLAN_REPAIR, /* Pearce-Kelly reorder of F and B (and merge F & B) */
};

struct lg_plan {
    enum lg_plan_kind kind;
    bool cycle;               /* REPAIR: the edge closes a cycle */
    uint32_t nf, nb;          /* REPAIR: sizes of g->fwd and g->bwd */
    uint32_t target;          /* cycle: component to merge into, or LG_NIL */
};

struct lg_graph {
    struct lg_alloc a;
    uint32_t max_labels;
    uint64_t budget;
    struct lg_pool nodes, edges, comps;
    struct lg_hslot *htab;
    uint32_t hcap, hcount;
    int64_t lo, hi;           /* every position lies in [lo, hi] */
    uint32_t epoch;           /* order repair marks */
    uint32_t sepoch;          /* cycle search marks */
    struct lg_graph_stats st;
    struct lg_buf fwd, bwd;   /* uint32_t vertices */
    struct lg_buf sort, pool; /* struct lg_ordv */
    struct lg_buf queue;      /* uint32_t nodes */
    struct lg_buf frames;     /* struct lg_frame */
    struct lg_buf path;       /* struct lg_step */
};

/* ---- pools and scratch ------------------------------------------------- */

static inline void *
lg_pool_at(const struct lg_pool *p, uint32_t i)
{
    return (char *)p->chunks[i >> LG_CHUNK_SHIFT] + (size_t)(i & (LG_CHUNK_LEN - 1)) * p->elem;
}

static inline struct lg_node *
lg_node_at(const struct lg_graph *g, uint32_t i)
{
    return lg_pool_at(&g->nodes, i);
}

static inline struct lg_edge *
lg_edge_at(const struct lg_graph *g, uint32_t i)
{
    return lg_pool_at(&g->edges, i);
}

static inline struct lg_comp *
lg_comp_at(const struct lg_graph *g, uint32_t i)
{
    return lg_pool_at(&g->comps, i);
}

static void
lg_pool_init(struct lg_pool *p, size_t elem, uint32_t max)
{
    memset(p, 0, sizeof *p);
    p->free = LG_NIL;
    p->elem = elem;
    p->max = max;
}

/* Take a never-used slot at the end; the caller handles its free list. */
static int
lg_pool_extend(struct lg_graph *g, struct lg_pool *p, uint32_t *out)
{
    if (p->used >= p->max)
        return -ENOMEM;
    if ((p->used >> LG_CHUNK_SHIFT) == p->nchunks) {
        if (p->nchunks == p->chunk_cap) {
            uint32_t cap = p->chunk_cap ? 2 * p->chunk_cap : 8;
            void **c = lg_grow(&g->a, p->chunks, p->chunk_cap * sizeof *c, cap * sizeof *c);
            if (!c)
                return -ENOMEM;
            p->chunks = c;
            p->chunk_cap = cap;
        }
        void *chunk = lg_alloc(&g->a, p->elem * LG_CHUNK_LEN);
        if (!chunk)
            return -ENOMEM;
        p->chunks[p->nchunks++] = chunk;
    }
    *out = p->used++;
    return 0;
}

static void
lg_pool_release(struct lg_graph *g, struct lg_pool *p)
{
    for (uint32_t i = 0; i < p->nchunks; i++)
        lg_free(&g->a, p->chunks[i], p->elem * LG_CHUNK_LEN);
    lg_free(&g->a, p->chunks, p->chunk_cap * sizeof *p->chunks);
}

static int
lg_buf_need(struct lg_graph *g, struct lg_buf *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < n)
        cap *= 2;
    void *p = lg_grow(&g->a, b->p, b->cap * b->elem, cap * b->elem);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static void
lg_buf_release(struct lg_graph *g, struct lg_buf *b)
{
    lg_free(&g->a, b->p, b->cap * b->elem);
}

/* ---- nodes, vertices, labels ------------------------------------------- */

static inline lg_node_id
lg_id(const struct lg_graph *g, uint32_t i)
{
    return ((lg_node_id)lg_node_at(g, i)->gen << 32) | (lg_node_id)(i + 1);
}

/* The index of a live node, or LG_NIL for anything else. */
static uint32_t
lg_node_find(const struct lg_graph *g, lg_node_id id)
{
    uint32_t low = (uint32_t)id;
    if (low == 0 || low - 1 >= g->nodes.used)
        return LG_NIL;
    const struct lg_node *n = lg_node_at(g, low - 1);
    if (!n->live || n->gen != (uint32_t)(id >> 32))
        return LG_NIL;
    return low - 1;
}

static inline uint32_t
lg_vert(const struct lg_graph *g, uint32_t n)
{
    uint32_t c = lg_node_at(g, n)->comp;
    return c == LG_NIL ? n : (c | LG_COMP_BIT);
}

static inline int64_t
lg_vert_ord(const struct lg_graph *g, uint32_t v)
{
    return (v & LG_COMP_BIT) ? lg_comp_at(g, v & ~LG_COMP_BIT)->ord : lg_node_at(g, v)->ord;
}

static inline void
lg_vert_set_ord(struct lg_graph *g, uint32_t v, int64_t ord)
{
    if (v & LG_COMP_BIT)
        lg_comp_at(g, v & ~LG_COMP_BIT)->ord = ord;
    else
        lg_node_at(g, v)->ord = ord;
}

static inline uint32_t *
lg_vert_fmark(const struct lg_graph *g, uint32_t v)
{
    return (v & LG_COMP_BIT) ? &lg_comp_at(g, v & ~LG_COMP_BIT)->fmark : &lg_node_at(g, v)->fmark;
}

static inline uint32_t *
lg_vert_bmark(const struct lg_graph *g, uint32_t v)
{
    return (v & LG_COMP_BIT) ? &lg_comp_at(g, v & ~LG_COMP_BIT)->bmark : &lg_node_at(g, v)->bmark;
}

/* Members of a vertex: the node itself, or the component's member list. */
static inline uint32_t
lg_vert_first(const struct lg_graph *g, uint32_t v)
{
    return (v & LG_COMP_BIT) ? lg_comp_at(g, v & ~LG_COMP_BIT)->head : v;
}

static inline uint32_t
lg_vert_next(const struct lg_graph *g, uint32_t v, uint32_t member)
{
    return (v & LG_COMP_BIT) ? lg_node_at(g, member)->comp_next : LG_NIL;
}

static inline struct lg_edge_label *
lg_labels(struct lg_edge *e)
{
    return e->cap <= 1 ? &e->l.one : e->l.many;
}

static inline const struct lg_edge_label *
lg_labels_c(const struct lg_edge *e)
{
    return e->cap <= 1 ? &e->l.one : e->l.many;
}

static bool
lg_label_valid(const struct lg_edge_label *l)
{
    if (!l || (l->ngate && !l->gate))
        return false;
    for (uint32_t i = 0; i < l->ngate; i++)
        if (l->gate[i] == LG_NODE_NONE || (i && l->gate[i] <= l->gate[i - 1]))
            return false;
    return true;
}

/* Equal for the graph: the payload (a stack) does not make a new label. */
static bool
lg_label_equal(const struct lg_edge_label *a, const struct lg_edge_label *b)
{
    return a->thread == b->thread && a->from_shared == b->from_shared
           && a->to_shared == b->to_shared && a->ngate == b->ngate
           && (a->ngate == 0 || memcmp(a->gate, b->gate, a->ngate * sizeof *a->gate) == 0);
}

static bool
lg_gates_disjoint(const struct lg_edge_label *a, const struct lg_edge_label *b)
{
    uint32_t i = 0, j = 0;
    while (i < a->ngate && j < b->ngate) {
        if (a->gate[i] == b->gate[j])
            return false;
        if (a->gate[i] < b->gate[j])
            i++;
        else
            j++;
    }
    return true;
}

static void
lg_label_release(struct lg_graph *g, struct lg_edge_label *l)
{
    lg_free(&g->a, (void *)(uintptr_t)l->gate, l->ngate * sizeof *l->gate);
}

/* Epoch stamps replace clearing marks; clear for real once in 2^32. */
static void
lg_next_epoch(struct lg_graph *g)
{
    if (++g->epoch != 0)
        return;
    for (uint32_t i = 0; i < g->nodes.used; i++)
        lg_node_at(g, i)->fmark = lg_node_at(g, i)->bmark = 0;
    for (uint32_t i = 0; i < g->comps.used; i++)
        lg_comp_at(g, i)->fmark = lg_comp_at(g, i)->bmark = 0;
    g->epoch = 1;
}

static void
lg_next_sepoch(struct lg_graph *g)
{
    if (++g->sepoch != 0)
        return;
    for (uint32_t i = 0; i < g->nodes.used; i++)
        lg_node_at(g, i)->sepoch = 0;
    g->sepoch = 1;
}

/* ---- the edge table ---------------------------------------------------- */

static inline uint32_t
lg_hash(uint32_t from, uint32_t to, uint32_t mask)
{
    uint64_t k = ((uint64_t)from << 32) | to;
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (uint32_t)k & mask;
}

static uint32_t
lg_hash_find(const struct lg_graph *g, uint32_t from, uint32_t to)
{
    if (!g->hcap)
        return LG_NIL;
    uint32_t mask = g->hcap - 1;
    for (uint32_t i = lg_hash(from, to, mask);; i = (i + 1) & mask) {
        const struct lg_hslot *s = &g->htab[i];
        if (!s->edge1)
            return LG_NIL;
        if (s->from == from && s->to == to)
            return s->edge1 - 1;
    }
}

static void
lg_hash_put(struct lg_hslot *tab, uint32_t mask, struct lg_hslot s)
{
    uint32_t i = lg_hash(s.from, s.to, mask);
    while (tab[i].edge1)
        i = (i + 1) & mask;
    tab[i] = s;
}

/* Room for one more entry at a load of at most 0.7 (linear probing). */
static int
lg_hash_reserve(struct lg_graph *g)
{
    if ((uint64_t)(g->hcount + 1) * 10 <= (uint64_t)g->hcap * 7)
        return 0;
    uint32_t cap = g->hcap ? 2 * g->hcap : 64;
    if (cap == 0 || cap > (1u << 31))
        return -ENOMEM;
    struct lg_hslot *tab = lg_alloc(&g->a, (size_t)cap * sizeof *tab);
    if (!tab)
        return -ENOMEM;
    for (uint32_t i = 0; i < g->hcap; i++)
        if (g->htab[i].edge1)
            lg_hash_put(tab, cap - 1, g->htab[i]);
    lg_free(&g->a, g->htab, (size_t)g->hcap * sizeof *g->htab);
    g->htab = tab;
    g->hcap = cap;
    return 0;
}

/* Delete by shifting later entries of the probe run back (no tombstones). */
static void
lg_hash_del(struct lg_graph *g, uint32_t from, uint32_t to)
{
    uint32_t mask = g->hcap - 1;
    uint32_t i = lg_hash(from, to, mask);
    while (g->htab[i].from != from || g->htab[i].to != to)
        i = (i + 1) & mask;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        if (!g->htab[j].edge1)
            break;
        uint32_t k = lg_hash(g->htab[j].from, g->htab[j].to, mask);
        /* An entry whose home lies cyclically in (i, j] is still reachable. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        g->htab[i] = g->htab[j];
        i = j;
    }
    memset(&g->htab[i], 0, sizeof g->htab[i]);
    g->hcount--;
}

/* ---- edges ------------------------------------------------------------- */

static int
lg_edge_take(struct lg_graph *g, uint32_t *out)
{
    uint32_t i = g->edges.free;
    if (i != LG_NIL) {
        g->edges.free = lg_edge_at(g, i)->next_out;
        *out = i;
        return 0;
    }
    return lg_pool_extend(g, &g->edges, out);
}

static void
lg_edge_give(struct lg_graph *g, uint32_t i)
{
    struct lg_edge *e = lg_edge_at(g, i);
    e->cap = 0;
    e->nlabels = 0;
    e->next_out = g->edges.free;
    g->edges.free = i;
}

static void
lg_edge_drop(struct lg_graph *g, uint32_t ei)
{
    struct lg_edge *e = lg_edge_at(g, ei);
    struct lg_node *from = lg_node_at(g, e->from), *to = lg_node_at(g, e->to);

    if (e->prev_out != LG_NIL)
        lg_edge_at(g, e->prev_out)->next_out = e->next_out;
    else
        from->out_head = e->next_out;
    if (e->next_out != LG_NIL)
        lg_edge_at(g, e->next_out)->prev_out = e->prev_out;
    if (e->prev_in != LG_NIL)
        lg_edge_at(g, e->prev_in)->next_in = e->next_in;
    else
        to->in_head = e->next_in;
    if (e->next_in != LG_NIL)
        lg_edge_at(g, e->next_in)->prev_in = e->prev_in;
    from->nout--;
    to->nin--;
    lg_hash_del(g, e->from, e->to);

    struct lg_edge_label *l = lg_labels(e);
    for (uint32_t i = 0; i < e->nlabels; i++)
        lg_label_release(g, &l[i]);
    if (e->cap > 1)
        lg_free(&g->a, e->l.many, e->cap * sizeof *e->l.many);
    g->st.edges--;
    g->st.labels -= e->nlabels;
    lg_edge_give(g, ei);
}

/* ---- components -------------------------------------------------------- */

static int
lg_comp_take(struct lg_graph *g, uint32_t *out)
{
    uint32_t i = g->comps.free;
    if (i != LG_NIL) {
        g->comps.free = lg_comp_at(g, i)->next_free;
        *out = i;
        return 0;
    }
    return lg_pool_extend(g, &g->comps, out);
}

static void
lg_comp_give(struct lg_graph *g, uint32_t i)
{
    struct lg_comp *c = lg_comp_at(g, i);
    c->head = LG_NIL;
    c->size = 0;
    c->next_free = g->comps.free;
    g->comps.free = i;
}

static void
lg_comp_push(struct lg_graph *g, uint32_t ci, uint32_t n)
{
    struct lg_comp *c = lg_comp_at(g, ci);
    struct lg_node *nd = lg_node_at(g, n);
    nd->comp = ci;
    nd->comp_prev = LG_NIL;
    nd->comp_next = c->head;
    if (c->head != LG_NIL)
        lg_node_at(g, c->head)->comp_prev = n;
    c->head = n;
    c->size++;
}

/* A removed node leaves its component without splitting it (see the top);
 * a component left with one member is just that node again. */
static void
lg_comp_leave(struct lg_graph *g, uint32_t n)
{
    struct lg_node *nd = lg_node_at(g, n);
    uint32_t ci = nd->comp;
    struct lg_comp *c = lg_comp_at(g, ci);

    if (nd->comp_prev != LG_NIL)
        lg_node_at(g, nd->comp_prev)->comp_next = nd->comp_next;
    else
        c->head = nd->comp_next;
    if (nd->comp_next != LG_NIL)
        lg_node_at(g, nd->comp_next)->comp_prev = nd->comp_prev;
    nd->comp = LG_NIL;
    if (--c->size <= 1) {
        if (c->size == 1) {
            struct lg_node *last = lg_node_at(g, c->head);
            last->comp = LG_NIL;
            last->ord = c->ord;
        }
        lg_comp_give(g, ci);
    }
}

/* ---- order maintenance (Pearce-Kelly over components) ----------------- */

/*
 * Prove where the new edge u -> v may sit in the order, given that it goes
 * backwards: ord(vu) > ord(vv). In a topological order every path from vv
 * to vu stays inside the window [ord(vv), ord(vu)], so only that window can
 * need repair (Pearce-Kelly): F = the vertices reachable from vv inside it,
 * B = the vertices that reach vu inside it. vu in F means the edge closes a
 * cycle, and then exactly F & B are the vertices on the vv ~> vu paths: the
 * new strongly connected component. Nothing is changed here (the marks are
 * epoch stamps), so an allocation failure leaves the graph as it was.
 */
static int
lg_pk_search(struct lg_graph *g, uint32_t vu, uint32_t vv, struct lg_plan *p)
{
    lg_next_epoch(g);
    const uint32_t ep = g->epoch;
    const int64_t ub = lg_vert_ord(g, vu), lb = lg_vert_ord(g, vv);
    uint32_t nf = 0, nb = 0;
    int rc;

    if ((rc = lg_buf_need(g, &g->fwd, 1)) || (rc = lg_buf_need(g, &g->bwd, 1)))
        return rc;
    ((uint32_t *)g->fwd.p)[nf++] = vv;
    *lg_vert_fmark(g, vv) = ep;
    for (uint32_t i = 0; i < nf; i++) {
        uint32_t x = ((uint32_t *)g->fwd.p)[i];
        if (x == vu)
            continue;
        for (uint32_t m = lg_vert_first(g, x); m != LG_NIL; m = lg_vert_next(g, x, m)) {
            for (uint32_t ei = lg_node_at(g, m)->out_head; ei != LG_NIL;) {
                const struct lg_edge *e = lg_edge_at(g, ei);
                uint32_t y = lg_vert(g, e->to);
                ei = e->next_out;
                if (y == x || *lg_vert_fmark(g, y) == ep || lg_vert_ord(g, y) > ub)
                    continue;
                if ((rc = lg_buf_need(g, &g->fwd, nf + 1)))
                    return rc;
                *lg_vert_fmark(g, y) = ep;
                ((uint32_t *)g->fwd.p)[nf++] = y;
            }
        }
    }

    ((uint32_t *)g->bwd.p)[nb++] = vu;
    *lg_vert_bmark(g, vu) = ep;
    for (uint32_t i = 0; i < nb; i++) {
        uint32_t x = ((uint32_t *)g->bwd.p)[i];
        if (x == vv)
            continue;
        for (uint32_t m = lg_vert_first(g, x); m != LG_NIL; m = lg_vert_next(g, x, m)) {
            for (uint32_t ei = lg_node_at(g, m)->in_head; ei != LG_NIL;) {
                const struct lg_edge *e = lg_edge_at(g, ei);
                uint32_t y = lg_vert(g, e->from);
                ei = e->next_in;
                if (y == x || *lg_vert_bmark(g, y) == ep || lg_vert_ord(g, y) < lb)
                    continue;
                if ((rc = lg_buf_need(g, &g->bwd, nb + 1)))
                    return rc;
                *lg_vert_bmark(g, y) = ep;
                ((uint32_t *)g->bwd.p)[nb++] = y;
            }
        }
    }

    if ((rc = lg_buf_need(g, &g->sort, (size_t)nf + nb))
        || (rc = lg_buf_need(g, &g->pool, (size_t)nf + nb)))
        return rc;

    p->kind = LG_PLAN_REPAIR;
    p->nf = nf;
    p->nb = nb;
    p->cycle = *lg_vert_fmark(g, vu) == ep;
    p->target = LG_NIL;
    if (p->cycle) {
        /* Merge into the largest component so relabelling stays O(n log n). */
        uint32_t best = 0;
        for (uint32_t i = 0; i < nf; i++) {
            uint32_t x = ((uint32_t *)g->fwd.p)[i];
            if (!(x & LG_COMP_BIT) || *lg_vert_bmark(g, x) != ep)
                continue;
            uint32_t size = lg_comp_at(g, x & ~LG_COMP_BIT)->size;
            if (size > best) {
                best = size;
                p->target = x & ~LG_COMP_BIT;
            }
        }
    }
    return 0;
}

static void
lg_sift(struct lg_ordv *a, uint32_t i, uint32_t n)
{
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1].ord > a[c].ord)
            c++;
        if (a[i].ord >= a[c].ord)
            return;
        struct lg_ordv t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

/* Heapsort by position: in place and without recursion (libc's qsort may
 * call malloc, which lockgraph must never do). */
static void
lg_sort(struct lg_ordv *a, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;)
        lg_sift(a, i, n);
    for (uint32_t i = n; i-- > 1;) {
        struct lg_ordv t = a[0];
        a[0] = a[i];
        a[i] = t;
        lg_sift(a, 0, i);
    }
}

/*
 * Apply a repair found by lg_pk_search(): the positions of F and B are
 * pooled and handed out again, B \ F first, then F & B (merged into one
 * component), then F \ B, each group keeping its relative order. This is
 * topological because: B \ F only moves down and F \ B only moves up
 * (each takes the lowest / highest pooled positions), so edges to and from
 * the vertices outside the window still agree; an edge from F \ B into
 * B \ F, or between F & B and the others against this order, would put its
 * source in B or its target in F; and the merged vertex sits between the
 * two groups, above ord(vv)'s outside predecessors and below ord(vu)'s
 * outside successors. The positions left over are simply dropped: they
 * only need to be distinct.
 */
static void
lg_pk_apply(struct lg_graph *g, const struct lg_plan *p, uint32_t new_comp)
{
    const uint32_t ep = g->epoch;
    const uint32_t *fwd = g->fwd.p, *bwd = g->bwd.p;
    struct lg_ordv *s = g->sort.p, *pool = g->pool.p;
    uint32_t nbs = 0, nfs = 0, np = 0;

    for (uint32_t i = 0; i < p->nb; i++) {
        uint32_t x = bwd[i];
        int64_t o = lg_vert_ord(g, x);
        pool[np++] = (struct lg_ordv){ o, x };
        if (*lg_vert_fmark(g, x) != ep)
            s[nbs++] = (struct lg_ordv){ o, x };
    }
    for (uint32_t i = 0; i < p->nf; i++) {
        uint32_t x = fwd[i];
        if (*lg_vert_bmark(g, x) == ep)
            continue;
        int64_t o = lg_vert_ord(g, x);
        pool[np++] = (struct lg_ordv){ o, x };
        s[nbs + nfs++] = (struct lg_ordv){ o, x };
    }
    lg_sort(s, nbs);
    lg_sort(s + nbs, nfs);
    lg_sort(pool, np);
    for (uint32_t i = 0; i < nbs; i++)
        lg_vert_set_ord(g, s[i].v, pool[i].ord);
    for (uint32_t i = 0; i < nfs; i++)
        lg_vert_set_ord(g, s[nbs + i].v, pool[np - nfs + i].ord);
    if (!p->cycle)
        return;

    uint32_t t = p->target;
    if (t == LG_NIL) {
        t = new_comp;
        struct lg_comp *c = lg_comp_at(g, t);
        c->head = LG_NIL;
        c->size = 0;
        c->fmark = c->bmark = 0;
    }
    for (uint32_t i = 0; i < p->nf; i++) {
        uint32_t x = fwd[i];
        if (*lg_vert_bmark(g, x) != ep || x == (t | LG_COMP_BIT))
            continue;
        if (!(x & LG_COMP_BIT)) {
            lg_comp_push(g, t, x);
            continue;
        }
        uint32_t ci = x & ~LG_COMP_BIT;
        for (uint32_t m = lg_comp_at(g, ci)->head, next; m != LG_NIL; m = next) {
            next = lg_node_at(g, m)->comp_next;
            lg_comp_push(g, t, m);
        }
        lg_comp_give(g, ci);
    }
    lg_comp_at(g, t)->ord = pool[nbs].ord;
}

/* ---- the deadlock-capable cycle search --------------------------------- */

struct lg_scope {
    bool merging;   /* the component is F & B of the current repair */
    uint32_t vert;  /* otherwise: the one vertex holding u and v */
};

static inline bool
lg_in_scope(const struct lg_graph *g, const struct lg_scope *sc, uint32_t n)
{
    uint32_t x = lg_vert(g, n);
    if (!sc->merging)
        return x == sc->vert;
    return *lg_vert_fmark(g, x) == g->epoch && *lg_vert_bmark(g, x) == g->epoch;
}

/* Some label of e could follow l0 in a cycle (thread, gates; and, for an
 * edge into u, the shared rule at u). */
static bool
lg_edge_usable(const struct lg_edge *e, const struct lg_edge_label *l0, bool into_u)
{
    const struct lg_edge_label *l = lg_labels_c(e);
    for (uint32_t i = 0; i < e->nlabels; i++) {
        if (l[i].thread == l0->thread || !lg_gates_disjoint(&l[i], l0))
            continue;
        if (into_u && l[i].to_shared && l0->from_shared)
            continue;
        return true;
    }
    return false;
}

/* The GoodLock rules for label l as step depth+1 of the path after l0. */
static bool
lg_step_ok(const struct lg_graph *g, const struct lg_edge_label *l0, uint32_t depth,
           const struct lg_edge_label *l, bool closing)
{
    const struct lg_step *path = g->path.p;
    const struct lg_edge_label *prev = depth ? path[depth - 1].label : l0;

    /* The lock between prev and l: wanted shared by prev, held shared by l. */
    if (prev->to_shared && l->from_shared)
        return false;
    if (closing && l->to_shared && l0->from_shared)
        return false;
    if (l->thread == l0->thread || !lg_gates_disjoint(l, l0))
        return false;
    for (uint32_t i = 0; i < depth; i++)
        if (path[i].label->thread == l->thread || !lg_gates_disjoint(path[i].label, l))
            return false;
    return true;
}

static void
lg_clear_path(struct lg_graph *g, uint32_t nframes)
{
    const struct lg_frame *f = g->frames.p;
    for (uint32_t i = 0; i < nframes; i++)
        lg_node_at(g, f[i].node)->on_path = false;
}

/*
 * Prove whether u -> v under l0 closes a deadlock-capable cycle: a simple
 * path v ~> u, one label per edge, such that together with l0 the labels'
 * threads are pairwise different, their gate sets pairwise disjoint, and no
 * lock is wanted shared by one step and held shared by the next (graph.h).
 * Only u's component can hold such a path. How: a backward breadth-first
 * pass from u over the edges that have a label compatible with l0 gives
 * every node that can still matter its distance to u, a lower bound on the
 * rest of any path; then iterative-deepening depth-first search (IDA*) under
 * that bound tries the label choices with backtracking, so the first cycle
 * found is a shortest valid one. An iteration that its depth limit never
 * cut has tried every path, so there is none. Each node visit counts
 * against search_budget; running out counts as a truncated search.
 * Returns 1 with the path in g->path[0 .. *len), 0 for none, or -ENOMEM.
 */
static int
lg_find_cycle(struct lg_graph *g, uint32_t u, uint32_t v, const struct lg_edge_label *l0,
              const struct lg_scope *sc, uint32_t *len)
{
    uint64_t visits = 0;
    uint32_t nq = 0;
    int rc;

    lg_next_sepoch(g);
    const uint32_t se = g->sepoch;
    if ((rc = lg_buf_need(g, &g->queue, 1)))
        return rc;
    ((uint32_t *)g->queue.p)[nq++] = u;
    lg_node_at(g, u)->sepoch = se;
    lg_node_at(g, u)->sdist = 0;
    for (uint32_t i = 0; i < nq; i++) {
        if (++visits > g->budget)
            goto truncated;
        uint32_t x = ((uint32_t *)g->queue.p)[i];
        uint32_t dx = lg_node_at(g, x)->sdist;
        for (uint32_t ei = lg_node_at(g, x)->in_head; ei != LG_NIL;) {
            const struct lg_edge *e = lg_edge_at(g, ei);
            struct lg_node *w = lg_node_at(g, e->from);
            ei = e->next_in;
            if (w->sepoch == se || !lg_in_scope(g, sc, e->from) || !lg_edge_usable(e, l0, x == u))
                continue;
            if ((rc = lg_buf_need(g, &g->queue, nq + 1)))
                return rc;
            w->sepoch = se;
            w->sdist = dx + 1;
            ((uint32_t *)g->queue.p)[nq++] = e->from;
        }
    }
    if (lg_node_at(g, v)->sepoch != se)
        return 0;

    for (uint32_t limit = lg_node_at(g, v)->sdist;;) {
        uint32_t next = UINT32_MAX, nf = 0;

        if ((rc = lg_buf_need(g, &g->frames, 1)))
            return rc;
        if (++visits > g->budget)
            goto truncated;
        ((struct lg_frame *)g->frames.p)[nf++] = (struct lg_frame){ v, lg_node_at(g, v)->out_head, 0 };
        lg_node_at(g, v)->on_path = true;
        while (nf > 0) {
            if ((rc = lg_buf_need(g, &g->frames, nf + 1)) || (rc = lg_buf_need(g, &g->path, nf))) {
                lg_clear_path(g, nf);
                return rc;
            }
            struct lg_frame *f = &((struct lg_frame *)g->frames.p)[nf - 1];
            const uint32_t depth = nf - 1;
            bool pushed = false;
            while (!pushed && f->edge != LG_NIL) {
                const struct lg_edge *e = lg_edge_at(g, f->edge);
                struct lg_node *y = lg_node_at(g, e->to);
                if (y->sepoch == se && !y->on_path) {
                    uint32_t need = depth + 1 + y->sdist;
                    if (need > limit) {
                        if (need < next)
                            next = need;
                    } else {
                        const struct lg_edge_label *l = lg_labels_c(e);
                        while (f->label < e->nlabels) {
                            const struct lg_edge_label *cand = &l[f->label++];
                            if (!lg_step_ok(g, l0, depth, cand, e->to == u))
                                continue;
                            ((struct lg_step *)g->path.p)[depth] = (struct lg_step){ f->edge, cand };
                            if (e->to == u) {
                                lg_clear_path(g, nf);
                                *len = depth + 1;
                                return 1;
                            }
                            if (++visits > g->budget) {
                                lg_clear_path(g, nf);
                                goto truncated;
                            }
                            ((struct lg_frame *)g->frames.p)[nf++] =
                                (struct lg_frame){ e->to, y->out_head, 0 };
                            y->on_path = true;
                            pushed = true;
                            break;
                        }
                        if (pushed)
                            break;
                    }
                }
                f->edge = e->next_out;
                f->label = 0;
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

truncated:
    g->st.searches_truncated++;
    return 0;
}

static size_t
lg_cycle_size(uint32_t n, size_t ngates)
{
    return sizeof(struct lg_cycle) + n * sizeof(struct lg_cycle_step) + ngates * sizeof(lg_node_id);
}

/* One block holds the cycle, its steps and their gates. */
static int
lg_cycle_build(struct lg_graph *g, uint32_t u, uint32_t v, const struct lg_edge_label *l0,
               uint32_t len, struct lg_cycle **out)
{
    const struct lg_step *path = g->path.p;
    uint32_t n = len + 1;
    size_t ngates = l0->ngate;
    for (uint32_t i = 0; i < len; i++)
        ngates += path[i].label->ngate;

    struct lg_cycle *c = lg_alloc(&g->a, lg_cycle_size(n, ngates));
    if (!c)
        return -ENOMEM;
    void *mem = c + 1;
    c->n = n;
    c->steps = mem;
    mem = c->steps + n;
    lg_node_id *gates = mem;
    for (uint32_t i = 0; i < n; i++) {
        struct lg_cycle_step *s = &c->steps[i];
        const struct lg_edge_label *l = i ? path[i - 1].label : l0;
        if (i) {
            const struct lg_edge *e = lg_edge_at(g, path[i - 1].edge);
            s->from = lg_id(g, e->from);
            s->to = lg_id(g, e->to);
        } else {
            s->from = lg_id(g, u);
            s->to = lg_id(g, v);
        }
        s->label = *l;
        s->label.gate = l->ngate ? gates : NULL;
        if (l->ngate)
            memcpy(gates, l->gate, l->ngate * sizeof *gates);
        gates += l->ngate;
    }
    *out = c;
    return 0;
}

void
lg_cycle_free(struct lg_graph *g, struct lg_cycle *cycle)
{
    if (!cycle)
        return;
    size_t ngates = 0;
    for (uint32_t i = 0; i < cycle->n; i++)
        ngates += cycle->steps[i].label.ngate;
    lg_free(&g->a, cycle, lg_cycle_size(cycle->n, ngates));
}

/* ---- the API ----------------------------------------------------------- */

int
lg_graph_new(struct lg_graph **out, const struct lg_alloc *alloc, const struct lg_graph_limits *limits)
{
    struct lg_graph *g = lg_alloc(alloc, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->a = *alloc;
    g->max_labels = limits && limits->max_labels_per_edge ? limits->max_labels_per_edge
                                                          : LG_DEFAULT_LABELS;
    g->budget = limits && limits->search_budget ? limits->search_budget : LG_DEFAULT_BUDGET;
    lg_pool_init(&g->nodes, sizeof(struct lg_node), LG_MAX_NODES);
    lg_pool_init(&g->edges, sizeof(struct lg_edge), LG_MAX_EDGES);
    lg_pool_init(&g->comps, sizeof(struct lg_comp), LG_MAX_NODES);
    g->fwd.elem = g->bwd.elem = g->queue.elem = sizeof(uint32_t);
    g->sort.elem = g->pool.elem = sizeof(struct lg_ordv);
    g->frames.elem = sizeof(struct lg_frame);
    g->path.elem = sizeof(struct lg_step);
    *out = g;
    return 0;
}

void
lg_graph_free(struct lg_graph *g)
{
    if (!g)
        return;
    for (uint32_t i = 0; i < g->edges.used; i++) {
        struct lg_edge *e = lg_edge_at(g, i);
        if (!e->cap)
            continue;
        struct lg_edge_label *l = lg_labels(e);
        for (uint32_t j = 0; j < e->nlabels; j++)
            lg_label_release(g, &l[j]);
        if (e->cap > 1)
            lg_free(&g->a, e->l.many, e->cap * sizeof *e->l.many);
    }
    lg_pool_release(g, &g->nodes);
    lg_pool_release(g, &g->edges);
    lg_pool_release(g, &g->comps);
    lg_free(&g->a, g->htab, (size_t)g->hcap * sizeof *g->htab);
    lg_buf_release(g, &g->fwd);
    lg_buf_release(g, &g->bwd);
    lg_buf_release(g, &g->sort);
    lg_buf_release(g, &g->pool);
    lg_buf_release(g, &g->queue);
    lg_buf_release(g, &g->frames);
    lg_buf_release(g, &g->path);
    struct lg_alloc a = g->a;
    lg_free(&a, g, sizeof *g);
}

int
lg_graph_node_add(struct lg_graph *g, lg_node_id *out)
{
    uint32_t i = g->nodes.free;
    if (i != LG_NIL) {
        g->nodes.free = lg_node_at(g, i)->out_head;
    } else {
        int rc = lg_pool_extend(g, &g->nodes, &i);
        if (rc)
            return rc;
    }
    struct lg_node *n = lg_node_at(g, i);
    uint32_t gen = n->gen + 1; /* slots whose generation ran out are never freed */
    memset(n, 0, sizeof *n);
    n->gen = gen;
    n->live = true;
    n->comp = LG_NIL;
    n->out_head = n->in_head = LG_NIL;
    n->comp_next = n->comp_prev = LG_NIL;
    /* A new lock has no edges: any position is right; the end is cheapest. */
    n->ord = ++g->hi;
    g->st.nodes++;
    *out = lg_id(g, i);
    return 0;
}

int
lg_graph_node_remove(struct lg_graph *g, lg_node_id id)
{
    uint32_t i = lg_node_find(g, id);
    if (i == LG_NIL)
        return -ENOENT;
    struct lg_node *n = lg_node_at(g, i);
    while (n->out_head != LG_NIL)
        lg_edge_drop(g, n->out_head);
    while (n->in_head != LG_NIL)
        lg_edge_drop(g, n->in_head);
    if (n->comp != LG_NIL)
        lg_comp_leave(g, i);
    n->live = false;
    if (n->gen != UINT32_MAX) {
        n->out_head = g->nodes.free;
        g->nodes.free = i;
    }
    g->st.nodes--;
    return 0;
}

bool
lg_graph_node_live(const struct lg_graph *g, lg_node_id id)
{
    return lg_node_find(g, id) != LG_NIL;
}

/* Reserve what adding the label (and maybe the edge) needs, then commit;
 * only the reservation can fail, and it undoes itself. */
static int
lg_edge_commit(struct lg_graph *g, uint32_t u, uint32_t v, uint32_t ei,
               const struct lg_edge_label *label, const struct lg_plan *p)
{
    size_t gsize = label->ngate * sizeof *label->gate;
    lg_node_id *gate = NULL;
    struct lg_edge_label *arr = NULL;
    uint32_t ncap = 0, new_edge = LG_NIL, new_comp = LG_NIL;
    struct lg_edge *e = ei != LG_NIL ? lg_edge_at(g, ei) : NULL;

    if (gsize && !(gate = lg_alloc(&g->a, gsize)))
        goto nomem;
    if (e && e->nlabels == e->cap) {
        ncap = e->cap * 2 < g->max_labels ? e->cap * 2 : g->max_labels;
        if (!(arr = lg_alloc(&g->a, ncap * sizeof *arr)))
            goto nomem;
    }
    if (!e && (lg_hash_reserve(g) || lg_edge_take(g, &new_edge)))
        goto nomem;
    if (p->kind == LG_PLAN_REPAIR && p->cycle && p->target == LG_NIL
        && lg_comp_take(g, &new_comp))
        goto nomem;

    /* Commit: nothing below can fail. */
    if (gsize)
        memcpy(gate, label->gate, gsize);
    if (!e) {
        ei = new_edge;
        e = lg_edge_at(g, ei);
        struct lg_node *from = lg_node_at(g, u), *to = lg_node_at(g, v);
        e->from = u;
        e->to = v;
        e->prev_out = e->prev_in = LG_NIL;
        e->next_out = from->out_head;
        if (from->out_head != LG_NIL)
            lg_edge_at(g, from->out_head)->prev_out = ei;
        from->out_head = ei;
        e->next_in = to->in_head;
        if (to->in_head != LG_NIL)
            lg_edge_at(g, to->in_head)->prev_in = ei;
        to->in_head = ei;
        from->nout++;
        to->nin++;
        e->nlabels = 0;
        e->cap = 1;
        lg_hash_put(g->htab, g->hcap - 1, (struct lg_hslot){ u, v, ei + 1 });
        g->hcount++;
        g->st.edges++;
    } else if (arr) {
        memcpy(arr, lg_labels(e), e->nlabels * sizeof *arr);
        if (e->cap > 1)
            lg_free(&g->a, e->l.many, e->cap * sizeof *e->l.many);
        e->l.many = arr;
        e->cap = ncap;
    }
    struct lg_edge_label *l = &lg_labels(e)[e->nlabels++];
    *l = *label;
    l->gate = gate;
    g->st.labels++;

    switch (p->kind) {
    case LG_PLAN_NONE:
        return 0;
    case LG_PLAN_FRONT:
        lg_node_at(g, u)->ord = --g->lo;
        break;
    case LG_PLAN_BACK:
        lg_node_at(g, v)->ord = ++g->hi;
        break;
    case LG_PLAN_REPAIR:
        lg_pk_apply(g, p, new_comp);
        break;
    }
    g->st.reorders++;
    return 0;

nomem:
    if (new_edge != LG_NIL)
        lg_edge_give(g, new_edge);
    lg_free(&g->a, arr, ncap * sizeof *arr);
    lg_free(&g->a, gate, gsize);
    return -ENOMEM;
}

/*
 * Record from -> to under label, and prove whether that closes a
 * deadlock-capable cycle through it. The order proves most edges safe in
 * O(1): if from's component comes before to's, no path to ~> from exists.
 * Otherwise a fresh lock can often just be moved (no in-edges: to the
 * front; no out-edges: to the back), and only then does the Pearce-Kelly
 * search look at the window between them, which also finds the cycle when
 * there is one. The exact (GoodLock) search runs only when from and to end
 * up in one component, and only inside it. The label is checked even when
 * it is one too many to keep.
 */
int
lg_graph_add_edge(struct lg_graph *g, lg_node_id from, lg_node_id to,
                  const struct lg_edge_label *label, struct lg_cycle **cycle)
{
    if (cycle)
        *cycle = NULL;
    if (!lg_label_valid(label))
        return -EINVAL;
    uint32_t u = lg_node_find(g, from), v = lg_node_find(g, to);
    if (u == LG_NIL || v == LG_NIL || u == v)
        return -EINVAL;

    uint32_t ei = lg_hash_find(g, u, v);
    bool keep = true;
    if (ei != LG_NIL) {
        const struct lg_edge *e = lg_edge_at(g, ei);
        const struct lg_edge_label *l = lg_labels_c(e);
        for (uint32_t i = 0; i < e->nlabels; i++)
            if (lg_label_equal(&l[i], label))
                return LG_EDGE_KNOWN;
        keep = e->nlabels < g->max_labels;
    }

    uint32_t vu = lg_vert(g, u), vv = lg_vert(g, v);
    struct lg_plan plan = { .kind = LG_PLAN_NONE, .target = LG_NIL };
    int rc;
    /* An existing edge already agrees with the order. */
    if (ei == LG_NIL && vu != vv && lg_vert_ord(g, vu) > lg_vert_ord(g, vv)) {
        if (vu == u && lg_node_at(g, u)->nin == 0)
            plan.kind = LG_PLAN_FRONT;
        else if (vv == v && lg_node_at(g, v)->nout == 0)
            plan.kind = LG_PLAN_BACK;
        else if ((rc = lg_pk_search(g, vu, vv, &plan)))
            return rc;
    }

    int result = keep ? LG_EDGE_ADDED : LG_EDGE_KNOWN;
    struct lg_cycle *c = NULL;
    bool merging = plan.kind == LG_PLAN_REPAIR && plan.cycle;
    if (vu == vv || merging) {
        struct lg_scope sc = { merging, vu };
        uint32_t len = 0;
        if ((rc = lg_find_cycle(g, u, v, label, &sc, &len)) < 0)
            return rc;
        if (rc > 0) {
            result = LG_EDGE_CYCLE;
            if (cycle && (rc = lg_cycle_build(g, u, v, label, len, &c)))
                return rc;
        }
    }

    if (!keep) {
        g->st.labels_dropped++;
    } else if ((rc = lg_edge_commit(g, u, v, ei, label, &plan))) {
        lg_cycle_free(g, c);
        return rc;
    }
    if (cycle)
        *cycle = c;
    return result;
}

void
lg_graph_stats(const struct lg_graph *g, struct lg_graph_stats *out)
{
    *out = g->st;
}

void
lg_graph_each_edge(const struct lg_graph *g, lg_edge_visitor visit, void *ctx)
{
    for (uint32_t i = 0; i < g->nodes.used; i++) {
        const struct lg_node *n = lg_node_at(g, i);
        if (!n->live)
            continue;
        lg_node_id from = lg_id(g, i);
        uint32_t vi = lg_vert(g, i);
        for (uint32_t ei = n->out_head; ei != LG_NIL;) {
            const struct lg_edge *e = lg_edge_at(g, ei);
            ei = e->next_out;
            visit(ctx, from, lg_id(g, e->to), lg_labels_c(e), e->nlabels,
                  vi == lg_vert(g, e->to));
        }
    }
}
