/*
 * graph_int.h - what graph.c (storage, order) and graph_cycle.c (held
 * sets, labels, the cycle search) share. Not an interface: graph.h is.
 */
#ifndef LG_GRAPH_INT_H
#define LG_GRAPH_INT_H

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
#define LG_DEFAULT_THREADS_PER_CLASS 4u
#define LG_DEFAULT_MAX_HELD (1u << 24)
#define LG_DEFAULT_BUDGET 1000000u

/* What the order and its searches need of a vertex (a node or a component). */
struct lg_vhdr {
    uint64_t label;           /* position in the order */
    uint32_t prev, next;      /* the order list; for a node inside a
                               * component, the component's member list */
    uint32_t fmark, bmark;    /* order repair: reached forward / backward */
};

struct lg_node {
    struct lg_vhdr v;         /* the order part is unused inside a component */
    uint32_t gen;             /* generation of the current or last occupant */
    uint32_t comp;            /* component record, LG_NIL while alone */
    uint32_t out_head;        /* also the free-list link of a dead node */
    uint32_t in_head;
    uint32_t nout, nin;
    uint32_t sepoch, sdist;   /* cycle search: sdist is valid in sepoch */
    uint32_t cepoch;          /* cycle search: a closer in this cstamp ... */
    uint8_t cmode;            /* ... held in this mode (1: shared) */
    bool live;
    bool on_path;             /* cycle search: on the current path */
};

struct lg_edge {
    uint32_t from, to;
    uint32_t next_out;        /* also the free-list link of a free slot */
    uint32_t prev_out, next_in, prev_in;
    uint32_t nlabels : 31;
    uint32_t hashed : 1;      /* in the edge table (see lg_edge_find) */
    uint32_t cap;             /* 0: free slot; 1: the label is inline */
    union {
        struct lg_edge_label one;
        struct {
            /* In the order they were stored; from LG_LABEL_INDEX_MIN slots
             * on, the block goes on with the edge's label index (see
             * lg_label_index()). */
            struct lg_edge_label *p;
            /* The last two threads that stored a label here, and their
             * evidence, for their next labels on this edge. */
            uint32_t hint_thread[2];
            uint64_t hint_payload[2];
        } many;
    } l;
};

/* A held set: `lock` (in mode `shared`) on top of the set `parent`. */
struct lg_hset {
    lg_node_id lock;
    uint32_t parent;          /* index, LG_NIL for the empty set below */
    uint32_t gen;             /* generation of the current or last occupant */
    uint32_t refs;            /* labels and sets that use it */
    uint32_t depth;           /* members, this one included */
    uint32_t next_free;       /* free-list link while not live */
    uint32_t mstamp;          /* the cycle search's memo: in walk mstamp ... */
    int8_t mmode;             /* ... the lock it asks about is held so (-1 not) */
    uint8_t shared;
    uint8_t live;
};

struct lg_comp {
    struct lg_vhdr v;         /* v.next is the free-list link of a free record */
    uint32_t head, size;      /* live members */
};

/* A node and an edge are one cache line each: the hot path touches few. */
_Static_assert(sizeof(struct lg_node) <= 64, "struct lg_node outgrew a cache line");
_Static_assert(sizeof(struct lg_edge) <= 64, "struct lg_edge outgrew a cache line");
_Static_assert(sizeof(struct lg_edge_label) == 32, "lg_label_block() assumes 32-byte labels");

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

struct lg_hsslot {
    uint32_t idx1;            /* held set + 1; 0 is an empty slot (zeroed memory) */
    uint32_t hash;            /* its key's hash (graph_cycle.c: lg_hs_hash) */
};

/* Scratch arrays kept between calls: searches allocate nothing once warm. */
struct lg_buf {
    void *p;
    size_t cap;               /* in elements */
    size_t elem;
};

struct lg_ordv {
    uint64_t label;
    uint32_t v;
};

/* One level of the cycle search: standing on lock `node`, trying its
 * dependencies in turn (`edge` counts them). */
struct lg_frame {
    uint32_t node;
    uint32_t edge;
    uint32_t len;             /* edges of the cycle so far */
};

/* A step of the search: a dependency, as its last edge and the label that
 * acquired that edge's end. */
struct lg_step {
    uint32_t edge;
    const struct lg_edge_label *label;
};

/* A dependency from a lock: the label that took `edge`'s end held it; the
 * walk to that edge was `len` edges long, it included. */
struct lg_dep {
    uint32_t edge, len;
    const struct lg_edge_label *label;
};

/* Per node, for one search pass (stamp): its distance in edges to the
 * nearest closer (dist, UINT32_MAX: none), and where its dependencies sit
 * in g->deps once computed (dstamp). */
struct lg_depidx {
    uint32_t stamp, dist;
    uint32_t dstamp, off, n;
};

struct lg_gmark {
    lg_node_id id;
    uint32_t stamp;
    bool shared;
};

enum lg_plan_kind {
    LG_PLAN_NONE,   /* the order already agrees */
    LG_PLAN_FRONT,  /* u has no in-edges: put it before everything */
    LG_PLAN_BACK,   /* v has no out-edges: put it after everything */
    LG_PLAN_MOVE,   /* move the searched side (and merge, on a cycle) */
};

struct lg_plan {
    enum lg_plan_kind kind;
    bool forward;             /* MOVE: the side is F (in g->fwd), else B */
    bool cycle;               /* MOVE: the edge closes a cycle */
    uint32_t n;               /* MOVE: vertices in the side */
    uint32_t ep;              /* MOVE: the side's mark; ep + 1 marks F & B */
    uint32_t vu, vv;
    uint32_t near;            /* MOVE: see lg_side.near */
    uint32_t target;          /* cycle: component to merge into, or LG_NIL */
};

/*
 * What lg_graph_label_status() found for a label it called new, for the
 * lg_graph_add_edge() of the same label that usually follows (the runtime
 * asks about each of its edges, then adds the new ones, all under one hold
 * of its lock): the second lookup of the same edge and class is then free.
 * An entry stays right while nothing changes its edge: adding a label to
 * that edge drops it, and removing a node or releasing a held set (which
 * may end the label's set) drops them all. The key is everything the
 * lookup reads of the label (not its epoch or payload).
 */
#define LG_MEMO_LEN 8u

struct lg_memo {
    lg_node_id from, to;
    lg_held_id held;
    uint32_t thread;
    bool from_shared, to_shared, replace;
    uint32_t u, v, ei, slot;
    uint32_t stamp;           /* lives while g->memo_stamp has this value */
};

struct lg_graph {
    struct lg_alloc a;
    struct lg_graph_config cfg;
    uint64_t budget;
    struct lg_pool nodes, edges, comps, hsets;
    struct lg_hsslot *hsidx;  /* held-set table */
    uint32_t hscap, hscount;
    struct lg_hslot *htab;
    uint32_t hcap, hcount;
    uint32_t ohead, otail;    /* the order list */
    uint32_t epoch;           /* order repair marks */
    uint32_t sepoch;          /* cycle search marks */
    uint32_t gstamp;          /* the gate scratch set's current stamp */
    uint32_t cstamp;          /* the current search pass (closers, depidx) */
    uint32_t mstamp;          /* the current dependency walk (held-set memo) */
    struct lg_graph_stats st;
    struct lg_buf fwd, bwd;   /* uint32_t vertices */
    struct lg_buf sort;       /* struct lg_ordv */
    struct lg_buf queue;      /* uint32_t nodes */
    struct lg_buf frames;     /* struct lg_frame */
    struct lg_buf path;       /* struct lg_step */
    struct lg_buf gates;      /* struct lg_gmark: scratch set of gate locks */
    struct lg_buf deps;       /* struct lg_dep: the search's dependency lists */
    struct lg_buf depidx;     /* struct lg_depidx, by node index */
    size_t ndeps;
    uint64_t ops;             /* self-check pacing */
    struct lg_memo memo[LG_MEMO_LEN];
    uint32_t memo_next;       /* the ring's next entry to overwrite */
    uint32_t memo_stamp;      /* 0 would make the zeroed entries live: from 1 */
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

static inline struct lg_hset *
lg_hset_at(const struct lg_graph *g, uint32_t i)
{
    return lg_pool_at(&g->hsets, i);
}

/* ---- nodes, vertices, labels ------------------------------------------- */

static inline lg_node_id
lg_id(const struct lg_graph *g, uint32_t i)
{
    return ((lg_node_id)lg_node_at(g, i)->gen << 32) | (lg_node_id)(i + 1);
}

/* The index of a live node, or LG_NIL for anything else. */
static inline uint32_t
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

static inline struct lg_vhdr *
lg_vh(const struct lg_graph *g, uint32_t x)
{
    return (x & LG_COMP_BIT) ? &lg_comp_at(g, x & ~LG_COMP_BIT)->v : &lg_node_at(g, x)->v;
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
    return (v & LG_COMP_BIT) ? lg_node_at(g, member)->v.next : LG_NIL;
}

static inline struct lg_edge_label *
lg_labels(struct lg_edge *e)
{
    return e->cap <= 1 ? &e->l.one : e->l.many.p;
}

static inline const struct lg_edge_label *
lg_labels_c(const struct lg_edge *e)
{
    return e->cap <= 1 ? &e->l.one : e->l.many.p;
}

/* A label's class: its held set, then its modes (not its thread). */
static inline int
lg_label_class_cmp(const struct lg_edge_label *a, const struct lg_edge_label *b)
{
    if (a->held != b->held)
        return a->held < b->held ? -1 : 1;
    if (a->from_shared != b->from_shared)
        return a->from_shared < b->from_shared ? -1 : 1;
    if (a->to_shared != b->to_shared)
        return a->to_shared < b->to_shared ? -1 : 1;
    return 0;
}

/*
 * An edge taken under many held sets (a thread that locks objects chosen at
 * run time) has thousands of labels; finding one by class (held set and
 * modes) must not cost a scan or a sorted insert. From LG_LABEL_INDEX_MIN
 * slots on, the edge's label block ends with an open-addressed index:
 * label position + 1, 0 empty, probed linearly from the class's hash.
 * Labels are never taken out of an edge one by one (a replaced label keeps
 * its class and its slot), so the index never has a hole: the labels of a
 * class are exactly those met before the first empty entry. Below that
 * size a scan is cheaper than a hash.
 *
 * The allocator hands out powers of two, so an indexed block of B bytes is
 * cut in a quarter for the index (B / 16 entries) and three quarters for
 * labels (3B / 128 of them): capacities 24, 48, 96 ..., an index at most
 * 3/8 full, and a third more memory than the labels alone.
 */
#define LG_LABEL_INDEX_MIN 24u

static inline bool
lg_label_indexed(uint32_t cap)
{
    return cap >= LG_LABEL_INDEX_MIN;
}

/* The capacity after cap: 1, 2, 4, 8, 16, then 24, 48, 96 ... */
static inline uint32_t
lg_label_grow(uint32_t cap)
{
    return cap == 16 ? LG_LABEL_INDEX_MIN : 2 * cap;
}

/* Index entries of an indexed block (a power of two). */
static inline uint32_t
lg_label_index_len(uint32_t cap)
{
    return cap / 3 * 8;
}

/* Bytes of an edge's label block of cap slots (cap > 1). */
static inline size_t
lg_label_block(uint32_t cap)
{
    return (size_t)cap * sizeof(struct lg_edge_label)
           + (lg_label_indexed(cap) ? (size_t)lg_label_index_len(cap) * sizeof(uint32_t) : 0);
}

static inline uint32_t *
lg_label_index(const struct lg_edge *e)
{
    return (uint32_t *)(void *)(e->l.many.p + e->cap);
}

static inline uint32_t
lg_label_class_hash(const struct lg_edge_label *l)
{
    uint64_t x = (l->held << 2) ^ ((uint64_t)l->from_shared << 1) ^ (uint64_t)l->to_shared;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(x >> 32);
}

/*
 * An index entry is the label's position + 1 in its low LG_LABEL_POS_BITS
 * bits (0: empty) and the top bits of its class's hash above them: a probe
 * that meets another class's entry sees it from the entry alone, without
 * reading that label (a cache miss of its own on an edge with hundreds of
 * labels). A block holds at most 24 << 23 labels (lg_edge_commit), fewer
 * than 1 << LG_LABEL_POS_BITS.
 */
#define LG_LABEL_POS_BITS 28u
#define LG_LABEL_POS_MASK ((1u << LG_LABEL_POS_BITS) - 1)

static inline uint32_t
lg_label_index_tag(uint32_t hash)
{
    return hash & ~LG_LABEL_POS_MASK;
}

/* Put label position pos, whose label is a copy of l, into the index of
 * an edge whose block is indexed. (l may be the caller's copy: a label
 * just stored sits on a line still being written.) */
static inline void
lg_label_index_put(struct lg_edge *e, uint32_t pos, const struct lg_edge_label *l)
{
    uint32_t *idx = lg_label_index(e), mask = lg_label_index_len(e->cap) - 1;
    uint32_t hash = lg_label_class_hash(l);
    uint32_t i = hash & mask;
    while (idx[i])
        i = (i + 1) & mask;
    idx[i] = (pos + 1) | lg_label_index_tag(hash);
}

/* ---- graph.c ----------------------------------------------------------- */

int lg_pool_extend(struct lg_graph *g, struct lg_pool *p, uint32_t *out);
int lg_buf_need(struct lg_graph *g, struct lg_buf *b, size_t n);
uint32_t lg_edge_find(const struct lg_graph *g, uint32_t u, uint32_t v);
void lg_next_sepoch(struct lg_graph *g);
bool lg_in_merge(const struct lg_graph *g, const struct lg_plan *p, uint32_t x);
/* Forget every lookup lg_graph_label_status() remembered. */
void lg_memo_drop_all(struct lg_graph *g);

/* ---- graph_cycle.c ------------------------------------------------------ */

bool lg_label_valid(const struct lg_graph *g, const struct lg_edge_label *l);
/* The label is being stored / dropped: its held set gains / loses a user. */
void lg_label_hold(struct lg_graph *g, const struct lg_edge_label *l);
void lg_label_release(struct lg_graph *g, struct lg_edge_label *l);
void lg_held_free_all(struct lg_graph *g);
/* Where a label would go: its nodes, its edge (LG_NIL when new), its
 * status, and its slot: the label it replaces (*replace true), or where it
 * is inserted to keep the edge's labels sorted. */
int lg_label_lookup(struct lg_graph *g, lg_node_id from, lg_node_id to,
                    const struct lg_edge_label *label, uint32_t *u, uint32_t *v, uint32_t *ei,
                    int *status, uint32_t *slot, bool *replace, uint64_t *same_thread_payload);

/* Start reading what lg_label_lookup() will read for the label's class on
 * the edge u -> v, if there is one (a hint). */
void lg_label_prefetch(struct lg_graph *g, uint32_t u, uint32_t v,
                       const struct lg_edge_label *label);

struct lg_scope {
    const struct lg_plan *merge; /* the component is the plan's F & B */
    uint32_t vert;               /* otherwise: the one vertex holding u and v */
};
/* The exact search behind a report; 1 and *cycle (may be NULL) when the
 * label closes a deadlock-capable cycle, 0 when not, -ENOMEM. */
int lg_cycle_search(struct lg_graph *g, uint32_t u, uint32_t v, const struct lg_edge_label *l0,
                    const struct lg_scope *sc, struct lg_cycle **cycle);

#ifdef LG_GRAPH_SELFCHECK
void lg_held_selfcheck(struct lg_graph *g);
#endif

#endif /* LG_GRAPH_INT_H */
