/*
 * graph.c - lockgraph's lock-order graph (the contract is graph.h).
 *
 * Storage. Nodes, edges and component records live in chunked pools: a
 * pool grows by one chunk at a time, so nothing is ever copied or moved and
 * a pointer into a pool stays valid. Everything is named by a 32-bit index.
 * Each node lists its out- and in-edges (intrusive and doubly linked, so a
 * removal costs the node's degree). A hash table maps (from, to) to an edge,
 * but only where both ends have many edges: most new edges touch a fresh
 * lock, whose short list is faster to scan than a cold table slot is to read.
 *
 * Vertices. The topological order is kept over the vertices of the
 * condensation. A node alone in its strongly connected component is its own
 * vertex, so the common case touches no extra memory; a component of two or
 * more nodes is a record with a member list. A vertex id is a node index, or
 * a component index with LG_COMP_BIT set. Merging is union by size with
 * eager relabelling (weighted quick-find): each node names its component, so
 * finding it is O(1) on the hot path and a node is relabelled O(log n)
 * times at most. Removal never splits a component: a component is then a
 * union of strongly connected components, which keeps every cycle inside
 * one component and the order over components topological; its only cost is
 * that the exact cycle search may run where no cycle is left.
 *
 * Order. The vertices sit in a doubly linked list in topological order,
 * each with a 62-bit label increasing along the list (order maintenance,
 * Bender et al. 2002): comparing two vertices is comparing labels; a vertex
 * goes anywhere in the list in O(1), relabelling a small neighbourhood when
 * labels run out there (O(log n) amortised). An edge that goes backwards is
 * repaired with Pearce-Kelly's bounded searches, run in alternation so that
 * only the smaller side is ever explored in full (see lg_order_search).
 *
 * Failure. lg_graph_add_edge() works in three phases: look (order repair
 * plan, cycle search, report), reserve (every allocation the change needs),
 * commit (no allocation, cannot fail). A failed allocation in the first two
 * leaves the graph as it was: searches mark vertices with epoch stamps, which
 * need no undo.
 */
#include "graph_int.h"

#ifdef LG_GRAPH_SELFCHECK
#include <stdio.h>
#include <stdlib.h>
#endif

/* ---- pools and scratch ------------------------------------------------- */

static void
lg_pool_init(struct lg_pool *p, size_t elem, uint32_t max)
{
    memset(p, 0, sizeof *p);
    p->free = LG_NIL;
    p->elem = elem;
    p->max = max;
}

/* Take a never-used slot at the end; the caller handles its free list. */
int
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

int
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

/* Epoch stamps replace clearing marks; clear for real once in 2^32.
 * Returns the first of n fresh consecutive epochs. */
static uint32_t
lg_take_epochs(struct lg_graph *g, uint32_t n)
{
    if (g->epoch > UINT32_MAX - n) {
        for (uint32_t i = 0; i < g->nodes.used; i++)
            lg_node_at(g, i)->v.fmark = lg_node_at(g, i)->v.bmark = 0;
        for (uint32_t i = 0; i < g->comps.used; i++)
            lg_comp_at(g, i)->v.fmark = lg_comp_at(g, i)->v.bmark = 0;
        g->epoch = 0;
    }
    uint32_t first = g->epoch + 1;
    g->epoch += n;
    return first;
}

void
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

/* Room for n more entries at a load of at most 0.7 (linear probing). */
static int
lg_hash_reserve(struct lg_graph *g, uint32_t n)
{
    if ((uint64_t)(g->hcount + n) * 10 <= (uint64_t)g->hcap * 7)
        return 0;
    uint32_t cap = g->hcap ? 2 * g->hcap : 64;
    while (cap && (uint64_t)(g->hcount + n) * 10 > (uint64_t)cap * 7)
        cap *= 2;
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

/* An end with at most this many edges is searched by scanning its list.
 * The runtime adds up to 8 edges into the lock a thread acquires under
 * many (check.c: LG_DIRECT_EDGES), one after another: the first scan of
 * that lock's in-list brings it into the cache for the rest, where each
 * would have missed on its own table slot; and a thread nesting thousands
 * of locks then puts none of its edges into the table (bench_held: the
 * table's growth and inserts were a third of lg_graph_add_edge). */
#define LG_SCAN_MAX 8u

/*
 * The edge from u to v, or LG_NIL. The table holds every edge whose ends
 * both have more than LG_SCAN_MAX edges (out of u, into v), so when either
 * end has fewer, scanning that end's list is both complete and cheaper.
 */
uint32_t
lg_edge_find(const struct lg_graph *g, uint32_t u, uint32_t v)
{
    const struct lg_node *a = lg_node_at(g, u), *b = lg_node_at(g, v);
    if (a->nout > LG_SCAN_MAX && b->nin > LG_SCAN_MAX)
        return lg_hash_find(g, u, v);
    if (a->nout <= b->nin) {
        for (uint32_t ei = a->out_head; ei != LG_NIL; ei = lg_edge_at(g, ei)->next_out)
            if (lg_edge_at(g, ei)->to == v)
                return ei;
    } else {
        for (uint32_t ei = b->in_head; ei != LG_NIL; ei = lg_edge_at(g, ei)->next_in)
            if (lg_edge_at(g, ei)->from == u)
                return ei;
    }
    return LG_NIL;
}

/* Table entries that adding an edge u -> v may need (an upper bound). */
static uint32_t
lg_index_need(const struct lg_graph *g, uint32_t u, uint32_t v)
{
    uint32_t out = lg_node_at(g, u)->nout + 1, in = lg_node_at(g, v)->nin + 1;
    return (out > LG_SCAN_MAX && in > LG_SCAN_MAX) + (out == LG_SCAN_MAX + 1) * out
           + (in == LG_SCAN_MAX + 1) * in;
}

static void
lg_index_edge(struct lg_graph *g, uint32_t ei)
{
    struct lg_edge *e = lg_edge_at(g, ei);
    if (e->hashed)
        return;
    lg_hash_put(g->htab, g->hcap - 1, (struct lg_hslot){ e->from, e->to, ei + 1 });
    g->hcount++;
    e->hashed = 1;
}

/* After u -> v (edge ei) was linked: an end that just went past
 * LG_SCAN_MAX brings its edges whose other end is past it too into the
 * table. Degrees only grow one at a time, so every edge whose ends are both
 * past it went through this when the later of them crossed. Entries are
 * kept when degrees fall again; they are then merely unused. */
static void
lg_index_after_add(struct lg_graph *g, uint32_t u, uint32_t v, uint32_t ei)
{
    const struct lg_node *a = lg_node_at(g, u), *b = lg_node_at(g, v);
    if (a->nout == LG_SCAN_MAX + 1)
        for (uint32_t x = a->out_head; x != LG_NIL; x = lg_edge_at(g, x)->next_out)
            if (lg_node_at(g, lg_edge_at(g, x)->to)->nin > LG_SCAN_MAX)
                lg_index_edge(g, x);
    if (b->nin == LG_SCAN_MAX + 1)
        for (uint32_t x = b->in_head; x != LG_NIL; x = lg_edge_at(g, x)->next_in)
            if (lg_node_at(g, lg_edge_at(g, x)->from)->nout > LG_SCAN_MAX)
                lg_index_edge(g, x);
    if (a->nout > LG_SCAN_MAX && b->nin > LG_SCAN_MAX)
        lg_index_edge(g, ei);
}

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
    e->hashed = 0;
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
    if (e->hashed)
        lg_hash_del(g, e->from, e->to);

    struct lg_edge_label *l = lg_labels(e);
    for (uint32_t i = 0; i < e->nlabels; i++)
        lg_label_release(g, &l[i]);
    if (e->cap > 1)
        lg_free(&g->a, e->l.many.p, lg_label_block(e->cap));
    g->st.edges--;
    g->st.labels -= e->nlabels;
    lg_edge_give(g, ei);
}

/* ---- the order list (order maintenance) ------------------------------- */

/* Labels lie in [0, 2^LG_GRAPH_LABEL_BITS). Tests may shrink it (to 16) to
 * make relabelling frequent; 62 bits never run short in practice. */
#ifndef LG_GRAPH_LABEL_BITS
#define LG_GRAPH_LABEL_BITS 62
#endif
#if LG_GRAPH_LABEL_BITS < 16 || LG_GRAPH_LABEL_BITS > 62
#error "LG_GRAPH_LABEL_BITS must be 16..62"
#endif
#define LG_LABEL_LIMIT (UINT64_C(1) << LG_GRAPH_LABEL_BITS)
#define LG_LABEL_GAP (UINT64_C(1) << (LG_GRAPH_LABEL_BITS / 2 - 7)) /* between appends */

static void
lg_om_unlink(struct lg_graph *g, uint32_t x)
{
    struct lg_vhdr *h = lg_vh(g, x);
    if (h->prev != LG_NIL)
        lg_vh(g, h->prev)->next = h->next;
    else
        g->ohead = h->next;
    if (h->next != LG_NIL)
        lg_vh(g, h->next)->prev = h->prev;
    else
        g->otail = h->prev;
}

/*
 * Make room for a label next to x. Walk out from x over aligned label
 * ranges of size 2^i, i = 1, 2, ..., counting the vertices inside, until a
 * range is sparse enough (at most (2/T)^i vertices, T = 1.4), then spread
 * those vertices evenly over it: every gap, before the first and after the
 * last included, is then at least 2 wide. That is Bender et al.'s relabelling
 * rule, which costs O(log n) amortised per insertion; the labels outside the
 * range do not change, so the list stays sorted.
 */
static void
lg_om_spread(struct lg_graph *g, uint32_t x)
{
    const uint64_t label = lg_vh(g, x)->label;
    uint32_t first = x, last = x;
    uint64_t count = 1, size = 0, base = 0;
    double room = 1.0;

    for (unsigned i = 1; i <= LG_GRAPH_LABEL_BITS; i++) {
        size = UINT64_C(1) << i;
        base = label & ~(size - 1);
        for (uint32_t p; (p = lg_vh(g, first)->prev) != LG_NIL && lg_vh(g, p)->label >= base;) {
            first = p;
            count++;
        }
        for (uint32_t n; (n = lg_vh(g, last)->next) != LG_NIL && lg_vh(g, n)->label - base < size;) {
            last = n;
            count++;
        }
        room *= 2.0 / 1.4;
        if ((double)count <= room && count + 1 <= size / 2)
            break;
    }
    /* The last range is everything: 2^31 vertices fit in 62 bits (and a test
     * that shrinks the labels keeps its graphs small enough). */
    uint64_t step = size / (count + 1), at = base;
    for (uint32_t y = first;; y = lg_vh(g, y)->next) {
        at += step;
        lg_vh(g, y)->label = at;
        if (y == last)
            break;
    }
}

/* Put x (not in the list) right before z, or at the end when z is LG_NIL. */
static void
lg_om_insert_before(struct lg_graph *g, uint32_t x, uint32_t z)
{
    uint32_t p = z != LG_NIL ? lg_vh(g, z)->prev : g->otail;
    uint64_t lo, hi; /* the label must lie in [lo, hi) */
    for (;;) {
        lo = p != LG_NIL ? lg_vh(g, p)->label + 1 : 0;
        hi = z != LG_NIL ? lg_vh(g, z)->label : LG_LABEL_LIMIT;
        if (lo < hi)
            break;
        lg_om_spread(g, p != LG_NIL ? p : z);
    }
    uint64_t half = (hi - lo) / 2, label;
    if (p == LG_NIL && z == LG_NIL)
        label = LG_LABEL_LIMIT / 2; /* the first: room on both sides */
    else if (z == LG_NIL)
        label = lo + (half < LG_LABEL_GAP ? half : LG_LABEL_GAP);
    else if (p == LG_NIL)
        label = hi - 1 - (half < LG_LABEL_GAP ? half : LG_LABEL_GAP);
    else
        label = lo + half;

    struct lg_vhdr *h = lg_vh(g, x);
    h->label = label;
    h->prev = p;
    h->next = z;
    if (p != LG_NIL)
        lg_vh(g, p)->next = x;
    else
        g->ohead = x;
    if (z != LG_NIL)
        lg_vh(g, z)->prev = x;
    else
        g->otail = x;
}

/* ---- components -------------------------------------------------------- */

static int
lg_comp_take(struct lg_graph *g, uint32_t *out)
{
    uint32_t i = g->comps.free;
    if (i != LG_NIL) {
        g->comps.free = lg_comp_at(g, i)->v.next;
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
    c->v.next = g->comps.free;
    g->comps.free = i;
}

static void
lg_comp_push(struct lg_graph *g, uint32_t ci, uint32_t n)
{
    struct lg_comp *c = lg_comp_at(g, ci);
    struct lg_node *nd = lg_node_at(g, n);
    nd->comp = ci;
    nd->v.prev = LG_NIL;
    nd->v.next = c->head;
    if (c->head != LG_NIL)
        lg_node_at(g, c->head)->v.prev = n;
    c->head = n;
    c->size++;
}

/* A removed node leaves its component without splitting it (see the top);
 * a component left with one member is that node again, in its place. */
static void
lg_comp_leave(struct lg_graph *g, uint32_t n)
{
    struct lg_node *nd = lg_node_at(g, n);
    uint32_t ci = nd->comp;
    struct lg_comp *c = lg_comp_at(g, ci);

    if (nd->v.prev != LG_NIL)
        lg_node_at(g, nd->v.prev)->v.next = nd->v.next;
    else
        c->head = nd->v.next;
    if (nd->v.next != LG_NIL)
        lg_node_at(g, nd->v.next)->v.prev = nd->v.prev;
    nd->comp = LG_NIL;
    if (--c->size > 1)
        return;
    uint32_t last = c->head;
    struct lg_node *ln = lg_node_at(g, last);
    ln->comp = LG_NIL;
    ln->v = c->v;
    if (ln->v.prev != LG_NIL)
        lg_vh(g, ln->v.prev)->next = last;
    else
        g->ohead = last;
    if (ln->v.next != LG_NIL)
        lg_vh(g, ln->v.next)->prev = last;
    else
        g->otail = last;
    lg_comp_give(g, ci);
}

/* ---- order repair ------------------------------------------------------ */

/* One side of the search: breadth-first over the vertices in g->fwd or
 * g->bwd, one edge per step, so that the two sides can take turns. */
struct lg_side {
    struct lg_buf *list;
    uint32_t n, next;         /* list[next] is the next vertex to expand */
    uint32_t cur, member, edge; /* where the expansion of cur stands */
    uint32_t stop;            /* reached but never expanded (vu or vv) */
    uint64_t bound;           /* forward: labels <= bound; backward: >= */
    bool forward;
    uint32_t ep;
    uint32_t near;            /* the outside vertex closest to the window
                               * that the side touches, LG_NIL for none */
};

static inline uint32_t
lg_first_edge(const struct lg_graph *g, uint32_t node, bool forward)
{
    const struct lg_node *n = lg_node_at(g, node);
    return forward ? n->out_head : n->in_head;
}

/* Add a vertex to a side's list and mark it. */
static int
lg_side_add(struct lg_graph *g, struct lg_side *s, uint32_t y)
{
    int rc = lg_buf_need(g, s->list, s->n + 1);
    if (rc)
        return rc;
    struct lg_vhdr *h = lg_vh(g, y);
    if (s->forward)
        h->fmark = s->ep;
    else
        h->bmark = s->ep;
    ((uint32_t *)s->list->p)[s->n++] = y;
    return 0;
}

/* Move the cursor to the next edge to look at; false once the side is
 * complete (it says so as soon as it is: a fresh lock's side is done
 * before the other side has looked at anything). */
static bool
lg_side_more(const struct lg_graph *g, struct lg_side *s)
{
    while (s->edge == LG_NIL) {
        if (s->cur != LG_NIL) {
            s->member = lg_vert_next(g, s->cur, s->member);
            if (s->member == LG_NIL)
                s->cur = LG_NIL;
            else
                s->edge = lg_first_edge(g, s->member, s->forward);
            continue;
        }
        if (s->next == s->n)
            return false;
        s->cur = ((uint32_t *)s->list->p)[s->next++];
        if (s->cur == s->stop) {
            s->cur = LG_NIL;
            continue;
        }
        s->member = lg_vert_first(g, s->cur);
        s->edge = lg_first_edge(g, s->member, s->forward);
    }
    return true;
}

/* Look at the edge under the cursor: 1 while there is more to do, 0 once
 * the side is complete, or -ENOMEM. */
static int
lg_side_step(struct lg_graph *g, struct lg_side *s)
{
    const struct lg_edge *e = lg_edge_at(g, s->edge);
    s->edge = s->forward ? e->next_out : e->next_in;
    uint32_t y = lg_vert(g, s->forward ? e->to : e->from);
    const struct lg_vhdr *h = lg_vh(g, y);
    if (y != s->cur && (s->forward ? h->fmark : h->bmark) != s->ep) {
        if (s->forward ? h->label > s->bound : h->label < s->bound) {
            if (s->near == LG_NIL
                || (s->forward ? h->label < lg_vh(g, s->near)->label
                               : h->label > lg_vh(g, s->near)->label))
                s->near = y;
        } else {
            int rc = lg_side_add(g, s, y);
            if (rc)
                return rc;
        }
    }
    return lg_side_more(g, s);
}

/*
 * Prove where the new edge u -> v may sit in the order, given that it goes
 * backwards: vu after vv. In a topological order every path from vv to vu
 * stays between them, so only that window can need repair (Pearce-Kelly):
 * F = the vertices reachable from vv inside it, B = those that reach vu
 * inside it. Either side alone is enough: a vertex outside B that points
 * into B lies before vv (else it would reach vu from inside the window and
 * be in B), and B's other successors lie after vv; so B, in its own order,
 * may go anywhere after the last of those predecessors (p) and before vv,
 * and it goes right after p, which is usually hot (the lock that was held
 * when the fresh lock was taken). Symmetrically F may go anywhere after vu
 * and before the first of its outside successors, and goes right before it.
 * The two searches take turns, one edge each, B first, and the first side
 * to finish is the one moved: the work is at most twice the smaller side,
 * not the window (a fresh lock taken before a global that nests a million
 * objects costs O(1), not O(10^6)).
 * The edge closes a cycle iff the finished side holds the other end (vu in
 * F, vv in B). Then the vertices on the vv ~> vu paths, all inside the
 * finished side, are the new component: they are found by searching back
 * from vu inside F, or forward from vv inside B, and marked with ep + 1.
 * Nothing is changed here, so an allocation failure leaves the graph as it
 * was.
 */
static int
lg_order_search(struct lg_graph *g, uint32_t vu, uint32_t vv, struct lg_plan *p)
{
    const uint32_t ep = lg_take_epochs(g, 2);
    struct lg_side f = { .list = &g->fwd, .cur = LG_NIL, .edge = LG_NIL, .stop = vu,
                         .bound = lg_vh(g, vu)->label, .forward = true, .ep = ep,
                         .near = LG_NIL };
    struct lg_side b = { .list = &g->bwd, .cur = LG_NIL, .edge = LG_NIL, .stop = vv,
                         .bound = lg_vh(g, vv)->label, .forward = false, .ep = ep,
                         .near = LG_NIL };
    struct lg_side *done = NULL;
    int rc;

    if ((rc = lg_side_add(g, &b, vu)))
        return rc;
    if (!lg_side_more(g, &b))
        done = &b;
    else if ((rc = lg_side_add(g, &f, vv)))
        return rc;
    else if (!lg_side_more(g, &f))
        done = &f;
    while (!done) {
        if ((rc = lg_side_step(g, &b)) <= 0)
            done = &b;
        else if ((rc = lg_side_step(g, &f)) <= 0)
            done = &f;
    }
    if (rc < 0)
        return rc;
    if ((rc = lg_buf_need(g, &g->sort, done->n)))
        return rc;

    p->kind = LG_PLAN_MOVE;
    p->forward = done->forward;
    p->n = done->n;
    p->ep = ep;
    p->vu = vu;
    p->vv = vv;
    p->near = done->near;
    p->target = LG_NIL;
    p->cycle = done->forward ? lg_vh(g, vu)->fmark == ep : lg_vh(g, vv)->bmark == ep;
    if (!p->cycle)
        return 0;

    /* The other side's list is free: it queues this search. */
    struct lg_side m = { .list = done->forward ? &g->bwd : &g->fwd, .cur = LG_NIL,
                         .edge = LG_NIL, .stop = LG_NIL, .forward = !done->forward,
                         .ep = ep + 1 };
    m.bound = m.forward ? UINT64_MAX : 0;
    if ((rc = lg_side_add(g, &m, done->forward ? vu : vv)))
        return rc;
    for (uint32_t i = 0; i < m.n; i++) {
        uint32_t x = ((uint32_t *)m.list->p)[i];
        for (uint32_t mb = lg_vert_first(g, x); mb != LG_NIL; mb = lg_vert_next(g, x, mb)) {
            for (uint32_t ei = lg_first_edge(g, mb, m.forward); ei != LG_NIL;) {
                const struct lg_edge *e = lg_edge_at(g, ei);
                ei = m.forward ? e->next_out : e->next_in;
                uint32_t y = lg_vert(g, m.forward ? e->to : e->from);
                const struct lg_vhdr *h = lg_vh(g, y);
                bool in_side = (done->forward ? h->fmark : h->bmark) == ep;
                bool seen = (m.forward ? h->fmark : h->bmark) == ep + 1;
                if (y == x || !in_side || seen)
                    continue;
                if ((rc = lg_side_add(g, &m, y)))
                    return rc;
            }
        }
    }
    /* Merge into the largest component so relabelling stays O(n log n). */
    uint32_t best = 0;
    for (uint32_t i = 0; i < m.n; i++) {
        uint32_t x = ((uint32_t *)m.list->p)[i];
        if (!(x & LG_COMP_BIT))
            continue;
        uint32_t size = lg_comp_at(g, x & ~LG_COMP_BIT)->size;
        if (size > best) {
            best = size;
            p->target = x & ~LG_COMP_BIT;
        }
    }
    return 0;
}

/* In the side that lg_order_search() finished, and on the cycle. */
static inline bool
lg_in_side(const struct lg_graph *g, const struct lg_plan *p, uint32_t x)
{
    const struct lg_vhdr *h = lg_vh(g, x);
    return (p->forward ? h->fmark : h->bmark) == p->ep;
}

bool
lg_in_merge(const struct lg_graph *g, const struct lg_plan *p, uint32_t x)
{
    const struct lg_vhdr *h = lg_vh(g, x);
    return p->cycle && (p->forward ? h->bmark : h->fmark) == p->ep + 1;
}

static void
lg_sift(struct lg_ordv *a, uint32_t i, uint32_t n)
{
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1].label > a[c].label)
            c++;
        if (a[i].label >= a[c].label)
            return;
        struct lg_ordv t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

/* Heapsort by label: in place and without recursion (libc's qsort may
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
 * Apply a plan of lg_order_search(). Without a cycle: the side goes, in its
 * own order, right after B's last outside predecessor (the front when it
 * has none), or right before F's first outside successor (the end when it
 * has none), as proved there.
 * With a cycle, the side's vertices off the cycle (B \ M or F \ M) keep
 * their order and the merged component M takes the place of vv (for B: B \ M
 * then M) or of vu (for F: M then F \ M). This is topological: every vertex
 * outside the side that points into M lies before vv's (vu's) old place and
 * every one M points to lies after it, by the same argument as above; a
 * vertex of B \ M reaches vu, so it may point into M but M cannot point to
 * it (it would be reachable from vv, hence in M); symmetrically for F \ M.
 */
static void
lg_order_apply(struct lg_graph *g, const struct lg_plan *p, uint32_t new_comp)
{
    const uint32_t *side = p->forward ? g->fwd.p : g->bwd.p;
    struct lg_ordv *s = g->sort.p;
    uint32_t ns = 0, anchor;

    /* Where the side goes: before anchor (LG_NIL: at the end). */
    if (!p->cycle) {
        anchor = p->forward ? p->near : LG_NIL; /* B: known after the unlinking */
    } else {
        anchor = lg_vh(g, p->forward ? p->vu : p->vv)->next;
        while (anchor != LG_NIL && lg_in_side(g, p, anchor))
            anchor = lg_vh(g, anchor)->next;
    }
    for (uint32_t i = 0; i < p->n; i++)
        if (!lg_in_merge(g, p, side[i]))
            s[ns++] = (struct lg_ordv){ lg_vh(g, side[i])->label, side[i] };
    lg_sort(s, ns);
    for (uint32_t i = 0; i < p->n; i++)
        lg_om_unlink(g, side[i]);
    if (!p->cycle && !p->forward)
        anchor = p->near != LG_NIL ? lg_vh(g, p->near)->next : g->ohead;

    uint32_t t = LG_NIL;
    if (p->cycle) {
        t = p->target;
        if (t == LG_NIL) {
            t = new_comp;
            struct lg_comp *c = lg_comp_at(g, t);
            c->head = LG_NIL;
            c->size = 0;
            c->v.fmark = c->v.bmark = 0;
        }
        for (uint32_t i = 0; i < p->n; i++) {
            uint32_t x = side[i];
            if (!lg_in_merge(g, p, x) || x == (t | LG_COMP_BIT))
                continue;
            if (!(x & LG_COMP_BIT)) {
                lg_comp_push(g, t, x);
                continue;
            }
            uint32_t ci = x & ~LG_COMP_BIT;
            for (uint32_t m = lg_comp_at(g, ci)->head, next; m != LG_NIL; m = next) {
                next = lg_node_at(g, m)->v.next;
                lg_comp_push(g, t, m);
            }
            lg_comp_give(g, ci);
        }
        t |= LG_COMP_BIT;
    }
    if (t != LG_NIL && p->forward)
        lg_om_insert_before(g, t, anchor);
    for (uint32_t i = 0; i < ns; i++)
        lg_om_insert_before(g, s[i].v, anchor);
    if (t != LG_NIL && !p->forward)
        lg_om_insert_before(g, t, anchor);
}

/* ---- self-check (tests only: -DLG_GRAPH_SELFCHECK) -------------------- */

#ifdef LG_GRAPH_SELFCHECK
#define LG_CHECK(cond)                                                        \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: lockgraph graph self-check failed: %s\n", \
                    __FILE__, __LINE__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Every label of an indexed edge is found from its class's hash, and the
 * index holds as many entries as the edge has labels. */
static bool
lg_label_index_ok(const struct lg_edge *e)
{
    const uint32_t *idx = lg_label_index(e);
    uint32_t mask = lg_label_index_len(e->cap) - 1, used = 0;
    for (uint32_t i = 0; i <= mask; i++)
        used += idx[i] != 0;
    if (used != e->nlabels)
        return false;
    for (uint32_t k = 0; k < e->nlabels; k++) {
        uint32_t hash = lg_label_class_hash(&e->l.many.p[k]);
        uint32_t i = hash & mask, want = (k + 1) | lg_label_index_tag(hash);
        while (idx[i] && idx[i] != want)
            i = (i + 1) & mask;
        if (!idx[i])
            return false;
    }
    return true;
}

/*
 * Prove the structure whole, in O(nodes + edges): the order list is sorted
 * by label and holds every vertex once; every edge goes forward in it or
 * stays inside a component; lists, degrees, the edge table, the member
 * lists and the counters agree; every pool slot is either in use or on its
 * free list. Abort on the first thing wrong. Big graphs are checked on a
 * fraction of the operations, so the cost stays about constant per call.
 */
static void
lg_selfcheck(struct lg_graph *g)
{
    uint64_t size = g->st.nodes + g->st.edges;
    if (size > 1024 && ++g->ops % (size / 64) != 0)
        return;

    uint64_t verts = 0, singles = 0, members = 0, comps = 0;
    uint32_t prev = LG_NIL;
    for (uint32_t x = g->ohead; x != LG_NIL; prev = x, x = lg_vh(g, x)->next) {
        const struct lg_vhdr *h = lg_vh(g, x);
        LG_CHECK(h->prev == prev);
        LG_CHECK(h->label < LG_LABEL_LIMIT);
        LG_CHECK(prev == LG_NIL || lg_vh(g, prev)->label < h->label);
        LG_CHECK(++verts <= (uint64_t)g->nodes.used + g->comps.used);
        if (!(x & LG_COMP_BIT)) {
            LG_CHECK(x < g->nodes.used && lg_node_at(g, x)->live);
            LG_CHECK(lg_node_at(g, x)->comp == LG_NIL);
            singles++;
            continue;
        }
        uint32_t ci = x & ~LG_COMP_BIT, n = 0, mprev = LG_NIL;
        const struct lg_comp *c = lg_comp_at(g, ci);
        LG_CHECK(ci < g->comps.used && c->size >= 2);
        for (uint32_t m = c->head; m != LG_NIL; mprev = m, m = lg_node_at(g, m)->v.next) {
            LG_CHECK(m < g->nodes.used && lg_node_at(g, m)->live);
            LG_CHECK(lg_node_at(g, m)->comp == ci && lg_node_at(g, m)->v.prev == mprev);
            LG_CHECK(++n <= c->size);
        }
        LG_CHECK(n == c->size);
        members += n;
        comps++;
    }
    LG_CHECK(g->otail == prev);
    LG_CHECK(singles + members == g->st.nodes);

    uint64_t live = 0, retired = 0, edges = 0, labels = 0, hashed = 0;
    for (uint32_t i = 0; i < g->nodes.used; i++) {
        const struct lg_node *n = lg_node_at(g, i);
        LG_CHECK(!n->on_path);
        if (!n->live) {
            retired += n->gen == UINT32_MAX;
            continue;
        }
        live++;
        uint32_t nout = 0, nin = 0, ep = LG_NIL;
        for (uint32_t ei = n->out_head; ei != LG_NIL; ep = ei, ei = lg_edge_at(g, ei)->next_out) {
            const struct lg_edge *e = lg_edge_at(g, ei);
            LG_CHECK(e->cap >= 1 && e->from == i && e->prev_out == ep);
            LG_CHECK(e->to != i && lg_node_at(g, e->to)->live);
            LG_CHECK(e->nlabels >= 1 && e->nlabels <= e->cap);
            LG_CHECK(lg_edge_find(g, e->from, e->to) == ei);
            LG_CHECK(!e->hashed == (lg_hash_find(g, e->from, e->to) == LG_NIL));
            LG_CHECK(e->hashed || n->nout <= LG_SCAN_MAX
                     || lg_node_at(g, e->to)->nin <= LG_SCAN_MAX);
            hashed += e->hashed;
            LG_CHECK(!lg_label_indexed(e->cap) || lg_label_index_ok(e));
            const struct lg_edge_label *l = lg_labels_c(e);
            for (uint32_t k = 0; k < e->nlabels; k++) {
                LG_CHECK(lg_label_valid(g, &l[k]) && l[k].epoch_last >= l[k].epoch);
                for (uint32_t j = 0; j < k; j++)
                    LG_CHECK(l[j].thread != l[k].thread || l[j].held != l[k].held
                             || l[j].from_shared != l[k].from_shared
                             || l[j].to_shared != l[k].to_shared);
            }
            uint32_t a = lg_vert(g, e->from), b = lg_vert(g, e->to);
            LG_CHECK(a == b || lg_vh(g, a)->label < lg_vh(g, b)->label);
            LG_CHECK(++nout <= g->st.edges);
            labels += e->nlabels;
        }
        ep = LG_NIL;
        for (uint32_t ei = n->in_head; ei != LG_NIL; ep = ei, ei = lg_edge_at(g, ei)->next_in) {
            const struct lg_edge *e = lg_edge_at(g, ei);
            LG_CHECK(e->cap >= 1 && e->to == i && e->prev_in == ep);
            LG_CHECK(++nin <= g->st.edges);
        }
        LG_CHECK(nout == n->nout && nin == n->nin);
        edges += nout;
    }
    LG_CHECK(live == g->st.nodes);
    LG_CHECK(edges == g->st.edges && hashed == g->hcount && labels == g->st.labels);

    uint64_t nfree = 0;
    for (uint32_t i = g->nodes.free; i != LG_NIL; i = lg_node_at(g, i)->out_head) {
        LG_CHECK(!lg_node_at(g, i)->live && ++nfree <= g->nodes.used);
    }
    LG_CHECK(live + retired + nfree == g->nodes.used);
    uint64_t slots = 0;
    for (uint32_t i = 0; i < g->edges.used; i++)
        slots += lg_edge_at(g, i)->cap != 0;
    nfree = 0;
    for (uint32_t i = g->edges.free; i != LG_NIL; i = lg_edge_at(g, i)->next_out)
        LG_CHECK(lg_edge_at(g, i)->cap == 0 && ++nfree <= g->edges.used);
    LG_CHECK(slots == edges && slots + nfree == g->edges.used);
    nfree = 0;
    for (uint32_t i = g->comps.free; i != LG_NIL; i = lg_comp_at(g, i)->v.next)
        LG_CHECK(++nfree <= g->comps.used);
    LG_CHECK(comps + nfree == g->comps.used);
    uint64_t hused = 0;
    for (uint32_t i = 0; i < g->hcap; i++)
        hused += g->htab[i].edge1 != 0;
    LG_CHECK(hused == g->hcount);
    lg_held_selfcheck(g);
}
#define LG_SELFCHECK(g) lg_selfcheck(g)
#else
#define LG_SELFCHECK(g) ((void)0)
#endif

/* ---- the API ----------------------------------------------------------- */

int
lg_graph_new(struct lg_graph **out, const struct lg_alloc *alloc,
             const struct lg_graph_config *config)
{
    struct lg_graph *g = lg_alloc(alloc, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->a = *alloc;
    if (config)
        g->cfg = *config;
    if (!g->cfg.threads_per_class)
        g->cfg.threads_per_class = LG_DEFAULT_THREADS_PER_CLASS;
    if (!g->cfg.max_held_sets || g->cfg.max_held_sets > LG_MAX_NODES)
        g->cfg.max_held_sets = LG_DEFAULT_MAX_HELD;
    g->budget = g->cfg.search_budget ? g->cfg.search_budget : LG_DEFAULT_BUDGET;
    g->memo_stamp = 1;
    lg_pool_init(&g->nodes, sizeof(struct lg_node), LG_MAX_NODES);
    lg_pool_init(&g->edges, sizeof(struct lg_edge), LG_MAX_EDGES);
    lg_pool_init(&g->comps, sizeof(struct lg_comp), LG_MAX_NODES);
    lg_pool_init(&g->hsets, sizeof(struct lg_hset), g->cfg.max_held_sets);
    g->fwd.elem = g->bwd.elem = g->queue.elem = sizeof(uint32_t);
    g->sort.elem = sizeof(struct lg_ordv);
    g->ohead = g->otail = LG_NIL;
    g->frames.elem = sizeof(struct lg_frame);
    g->path.elem = sizeof(struct lg_step);
    g->gates.elem = sizeof(struct lg_gmark);
    g->deps.elem = sizeof(struct lg_dep);
    g->depidx.elem = sizeof(struct lg_depidx);
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
        if (e->cap > 1)
            lg_free(&g->a, e->l.many.p, lg_label_block(e->cap));
    }
    lg_held_free_all(g);
    lg_pool_release(g, &g->nodes);
    lg_pool_release(g, &g->edges);
    lg_pool_release(g, &g->comps);
    lg_pool_release(g, &g->hsets);
    lg_free(&g->a, g->htab, (size_t)g->hcap * sizeof *g->htab);
    lg_buf_release(g, &g->fwd);
    lg_buf_release(g, &g->bwd);
    lg_buf_release(g, &g->sort);
    lg_buf_release(g, &g->queue);
    lg_buf_release(g, &g->frames);
    lg_buf_release(g, &g->path);
    lg_buf_release(g, &g->gates);
    lg_buf_release(g, &g->deps);
    lg_buf_release(g, &g->depidx);
    struct lg_alloc a = g->a;
    lg_free(&a, g, sizeof *g);
}

static int
lg_node_add(struct lg_graph *g, lg_node_id *out)
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
    /* A new lock has no edges: any position is right; the end is cheapest. */
    lg_om_insert_before(g, i, LG_NIL);
    g->st.nodes++;
    *out = lg_id(g, i);
    return 0;
}

static int
lg_node_remove(struct lg_graph *g, lg_node_id id)
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
    else
        lg_om_unlink(g, i);
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
 * only the reservation can fail, and it undoes itself. A label that
 * replaces another (threads_per_class) takes its slot; any other is
 * appended (and indexed, graph_int.h). */
static int
lg_edge_commit(struct lg_graph *g, uint32_t u, uint32_t v, uint32_t ei, uint32_t slot,
               bool replace, const struct lg_edge_label *label, const struct lg_plan *p)
{
    struct lg_edge_label *arr = NULL;
    uint32_t ncap = 0, new_edge = LG_NIL, new_comp = LG_NIL;
    struct lg_edge *e = ei != LG_NIL ? lg_edge_at(g, ei) : NULL;

    if (e && !replace && e->nlabels == e->cap) {
        ncap = lg_label_grow(e->cap);
        if (ncap > LG_LABEL_POS_MASK || !(arr = lg_alloc(&g->a, lg_label_block(ncap))))
            goto nomem;
    }
    if (!e && (lg_hash_reserve(g, lg_index_need(g, u, v)) || lg_edge_take(g, &new_edge)))
        goto nomem;
    if (p->kind == LG_PLAN_MOVE && p->cycle && p->target == LG_NIL
        && lg_comp_take(g, &new_comp))
        goto nomem;

    /* Commit: nothing below can fail. */
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
        e->hashed = 0;
        e->cap = 1;
        slot = 0;
        lg_index_after_add(g, u, v, ei);
        g->st.edges++;
    } else if (arr) {
        memcpy(arr, lg_labels(e), e->nlabels * sizeof *arr);
        if (e->cap > 1) {
            lg_free(&g->a, e->l.many.p, lg_label_block(e->cap));
        } else {
            /* The inline label was the one stored last. */
            e->l.many.hint_thread[0] = arr[0].thread;
            e->l.many.hint_payload[0] = arr[0].payload;
            e->l.many.hint_thread[1] = 0;
            e->l.many.hint_payload[1] = 0;
        }
        e->l.many.p = arr;
        e->cap = ncap;
        if (lg_label_indexed(ncap)) /* the new block's index is zero (alloc.h) */
            for (uint32_t k = 0; k < e->nlabels; k++)
                lg_label_index_put(e, k, &arr[k]);
    }
    struct lg_edge_label *l;
    if (replace) {
        l = &lg_labels(e)[slot];
        lg_label_release(g, l);
        g->st.labels_replaced++;
    } else {
        slot = e->nlabels;
        l = &lg_labels(e)[slot];
        e->nlabels++;
        g->st.labels++;
    }
    *l = *label;
    l->epoch_last = label->epoch;
    /* From the caller's copy: the slot may be a cold line still being
     * written. */
    lg_label_hold(g, label);
    if (!replace && lg_label_indexed(e->cap))
        lg_label_index_put(e, slot, label);
    if (e->cap > 1 && label->payload) {
        if (e->l.many.hint_thread[0] != label->thread) {
            e->l.many.hint_thread[1] = e->l.many.hint_thread[0];
            e->l.many.hint_payload[1] = e->l.many.hint_payload[0];
            e->l.many.hint_thread[0] = label->thread;
        }
        e->l.many.hint_payload[0] = label->payload;
    }

    switch (p->kind) {
    case LG_PLAN_NONE:
        return 0;
    case LG_PLAN_FRONT:
        lg_om_unlink(g, u);
        lg_om_insert_before(g, u, g->ohead);
        break;
    case LG_PLAN_BACK:
        lg_om_unlink(g, v);
        lg_om_insert_before(g, v, LG_NIL);
        break;
    case LG_PLAN_MOVE:
        lg_order_apply(g, p, new_comp);
        break;
    }
    g->st.reorders++;
    return 0;

nomem:
    if (new_edge != LG_NIL)
        lg_edge_give(g, new_edge);
    lg_free(&g->a, arr, ncap ? lg_label_block(ncap) : 0);
    return -ENOMEM;
}

/* ---- the lookup memo (graph_int.h) ------------------------------------ */

/* Entries live while their stamp is the graph's: dropping them all is one
 * increment. The ring's order does not matter: an entry that lives is
 * right, whichever of several is found. */
static inline bool
lg_memo_match(const struct lg_memo *m, lg_node_id from, lg_node_id to,
              const struct lg_edge_label *l)
{
    return m->from == from && m->to == to && m->held == l->held && m->thread == l->thread
           && m->from_shared == l->from_shared && m->to_shared == l->to_shared;
}

static void
lg_memo_put(struct lg_graph *g, lg_node_id from, lg_node_id to, const struct lg_edge_label *l,
            uint32_t u, uint32_t v, uint32_t ei, uint32_t slot, bool replace)
{
    struct lg_memo *m = &g->memo[g->memo_next++ % LG_MEMO_LEN];
    m->from = from;
    m->to = to;
    m->held = l->held;
    m->thread = l->thread;
    m->from_shared = l->from_shared;
    m->to_shared = l->to_shared;
    m->replace = replace;
    m->u = u;
    m->v = v;
    m->ei = ei;
    m->slot = slot;
    m->stamp = g->memo_stamp;
}

static const struct lg_memo *
lg_memo_get(const struct lg_graph *g, lg_node_id from, lg_node_id to,
            const struct lg_edge_label *l)
{
    for (uint32_t i = 0; i < LG_MEMO_LEN; i++)
        if (g->memo[i].stamp == g->memo_stamp && lg_memo_match(&g->memo[i], from, to, l))
            return &g->memo[i];
    return NULL;
}

/* The edge u -> v is about to change: forget what was found on it. */
static void
lg_memo_drop_edge(struct lg_graph *g, uint32_t u, uint32_t v)
{
    for (uint32_t i = 0; i < LG_MEMO_LEN; i++)
        if (g->memo[i].u == u && g->memo[i].v == v)
            g->memo[i].stamp = g->memo_stamp - 1;
}

void
lg_memo_drop_all(struct lg_graph *g)
{
    /* Once in 2^32: clear for real, so no old stamp comes back to life. */
    if (++g->memo_stamp == 0) {
        memset(g->memo, 0, sizeof g->memo);
        g->memo_stamp = 1;
    }
}

/*
 * Where a label goes (lg_label_lookup()), from the memo when
 * lg_graph_label_status() just looked it up. The label's held set is
 * checked again: a label replaced since may have ended it.
 */
static int
lg_label_place(struct lg_graph *g, lg_node_id from, lg_node_id to,
               const struct lg_edge_label *label, uint32_t *u, uint32_t *v, uint32_t *ei,
               int *status, uint32_t *slot, bool *replace)
{
    const struct lg_memo *m = lg_memo_get(g, from, to, label);
    if (!m || !lg_label_valid(g, label))
        return lg_label_lookup(g, from, to, label, u, v, ei, status, slot, replace, NULL);
    *u = m->u;
    *v = m->v;
    *ei = m->ei;
    *slot = m->slot;
    *replace = m->replace;
    *status = LG_LABEL_NEW;
#ifdef LG_GRAPH_SELFCHECK
    uint32_t cu, cv, cei, cslot;
    bool creplace;
    int cstatus;
    if (lg_label_lookup(g, from, to, label, &cu, &cv, &cei, &cstatus, &cslot, &creplace, NULL)
        || cu != *u || cv != *v || cei != *ei || cstatus != *status || cslot != *slot
        || creplace != *replace) {
        fprintf(stderr, "lg_graph selfcheck: the lookup memo is stale\n");
        abort();
    }
#endif
    return 0;
}

/*
 * Record from -> to under label, and prove whether that closes a
 * deadlock-capable cycle of dependencies through it. The order proves most
 * edges safe in O(1): if from's component comes before to's, no path
 * to ~> from exists, and every dependency this acquisition brings (from,
 * or a lock held below it, ~> to) has such a path behind it (graph.h).
 * Otherwise a fresh lock can often just be moved (no in-edges: to the
 * front; no out-edges: to the back), and only then do the two bounded
 * searches of lg_order_search() look at the window between them, which also
 * finds the cycle when there is one. The exact search (graph_cycle.c) runs
 * only when from and to end up in one component, and only inside it.
 */
static int
lg_add_edge(struct lg_graph *g, lg_node_id from, lg_node_id to,
            const struct lg_edge_label *label, struct lg_cycle **cycle)
{
    if (cycle)
        *cycle = NULL;
    uint32_t u, v, ei, slot;
    bool replace;
    int status, rc = lg_label_place(g, from, to, label, &u, &v, &ei, &status, &slot, &replace);
    if (rc)
        return rc;
    if (status == LG_LABEL_KNOWN)
        return LG_EDGE_KNOWN;
    lg_memo_drop_edge(g, u, v);

    uint32_t vu = lg_vert(g, u), vv = lg_vert(g, v);
    struct lg_plan plan = { .kind = LG_PLAN_NONE, .target = LG_NIL };
    /* An existing edge already agrees with the order. */
    if (ei == LG_NIL && vu != vv && lg_vh(g, vu)->label > lg_vh(g, vv)->label) {
        if (vu == u && lg_node_at(g, u)->nin == 0)
            plan.kind = LG_PLAN_FRONT;
        else if (vv == v && lg_node_at(g, v)->nout == 0)
            plan.kind = LG_PLAN_BACK;
        else if ((rc = lg_order_search(g, vu, vv, &plan)))
            return rc;
    }

    int result = LG_EDGE_ADDED;
    struct lg_cycle *c = NULL;
    bool merging = plan.kind == LG_PLAN_MOVE && plan.cycle;
    if (vu == vv || merging) {
        struct lg_scope sc = { merging ? &plan : NULL, vu };
        if ((rc = lg_cycle_search(g, u, v, label, &sc, cycle ? &c : NULL)) < 0)
            return rc;
        if (rc > 0)
            result = LG_EDGE_CYCLE;
    }
    if ((rc = lg_edge_commit(g, u, v, ei, slot, replace, label, &plan))) {
        lg_cycle_free(g, c);
        return rc;
    }
    if (cycle)
        *cycle = c;
    return result;
}

int
lg_graph_label_status(struct lg_graph *g, lg_node_id from, lg_node_id to,
                      const struct lg_edge_label *label, uint64_t *same_thread_payload)
{
    uint32_t u, v, ei, slot;
    bool replace;
    int status, rc = lg_label_lookup(g, from, to, label, &u, &v, &ei, &status, &slot, &replace,
                                     same_thread_payload);
    if (rc)
        return rc;
    if (status == LG_LABEL_NEW)
        lg_memo_put(g, from, to, label, u, v, ei, slot, replace);
    return status;
}

void
lg_graph_prefetch(struct lg_graph *g, lg_node_id from, lg_node_id to,
                  const struct lg_edge_label *label)
{
    uint32_t u, v;
    if (label && (u = lg_node_find(g, from)) != LG_NIL && (v = lg_node_find(g, to)) != LG_NIL)
        lg_label_prefetch(g, u, v, label);
}

int
lg_graph_node_add(struct lg_graph *g, lg_node_id *out)
{
    int rc = lg_node_add(g, out);
    LG_SELFCHECK(g);
    return rc;
}

int
lg_graph_node_remove(struct lg_graph *g, lg_node_id id)
{
    lg_memo_drop_all(g);
    int rc = lg_node_remove(g, id);
    LG_SELFCHECK(g);
    return rc;
}

int
lg_graph_add_edge(struct lg_graph *g, lg_node_id from, lg_node_id to,
                  const struct lg_edge_label *label, struct lg_cycle **cycle)
{
    int rc = lg_add_edge(g, from, to, label, cycle);
    LG_SELFCHECK(g);
    return rc;
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
