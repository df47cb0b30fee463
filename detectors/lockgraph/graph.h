/*
 * graph.h - lockgraph's lock-order graph.
 *
 * A node is a lock. An edge from -> to says some thread acquired `to` (by a
 * call that waits) while holding `from`. Each edge keeps labels: which
 * thread took it, when (an opaque epoch of the runtime's), whether either
 * end was held/wanted in shared (read) mode, the set of locks the thread
 * held at the time (its held set, `from` among them), and an opaque payload
 * (the runtime's evidence: stacks).
 *
 * The graph knows nothing of pthreads and never calls malloc: everything
 * comes from the injected allocator. It is not thread-safe; the runtime
 * serialises calls with its own (real, uninstrumented) lock.
 *
 * Held sets. The set of locks a thread holds is interned: a set is its top
 * lock (with its mode) on top of the set below it, so a thread holding k
 * locks costs one entry per new prefix, not k ids per label, and every
 * label taken under the same locks shares one set. Sets are reference
 * counted by the labels and sets that use them; an id that a caller keeps
 * (lg_graph_held_live()) tells when it has gone.
 *
 * Dependencies. A thread acquiring x while holding h1 .. hk depends h -> x
 * for every h it holds, but the runtime need not add all k edges (that is
 * k^2 / 2 edges for a thread that takes k locks nested): it adds the edges
 * from the locks nearest the top, and lets the rest follow from paths. A
 * dependency L ~> M is then a path L -> .. -> M in the graph every label of
 * which (one chosen per edge) has L in its held set: the thread that took
 * the last step held L all along. Its "acquisition" is the last step's
 * label: that thread, holding everything in its held set, waits for M.
 *
 * Cycles. Adding an edge reports a cycle of dependencies through it that
 * could deadlock:
 *   - no lock is held by two of the acquisitions unless both held it
 *     shared: two acquisitions that both held a common lock G (for writing,
 *     by at least one) cannot be inside the cycle at the same time
 *     (GoodLock's gate rule, with readers);
 *   - no lock of the cycle is both wanted shared by one acquisition and
 *     held shared by the next (readers do not block readers).
 * A cycle is classified (enum lg_cycle_class) by its acquisitions' threads:
 * pairwise different and able to overlap in time (the runtime's
 * `concurrent` callback: not ordered by thread creation or join) is a
 * deadlock this run could have had; otherwise it is a deadlock the code
 * allows (a second thread running the same path would deadlock). The
 * search looks for the best class first, and the first cycle of a class it
 * finds is a shortest one. Cycles of any length are found.
 *
 * Detection is incremental (dynamic topological order, Pearce-Kelly, with
 * strongly connected components merged when a cycle forms), so adding an
 * edge that agrees with the current order costs O(1); the exact search
 * behind a report runs only when the edge closes a cycle of edges.
 */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

/* A node id is never 0 and never reused, even after the node is removed
 * (an index plus a generation), so a stale id can be recognised. */
typedef uint64_t lg_node_id;
#define LG_NODE_NONE ((lg_node_id)0)

/* A node's slot: a small number, dense from 0, for tables kept by node.
 * A node made after another was removed may get its slot (not its id). */
static inline uint32_t
lg_node_slot(lg_node_id id)
{
    return (uint32_t)id - 1;
}

/* An interned held set; 0 is "not known" (the label's held set is then
 * taken to be {from} alone). Ids are never reused either. */
typedef uint64_t lg_held_id;
#define LG_HELD_NONE ((lg_held_id)0)

struct lg_edge_label {
    uint32_t thread;         /* the acquiring thread's number (never reused) */
    uint32_t epoch;          /* the runtime's clock at the acquisition; opaque */
    uint32_t epoch_last;     /* in stored labels: the latest epoch at which an
                              * equal label was added (>= epoch); ignored on input */
    bool from_shared;        /* `from` was held in shared (read) mode */
    bool to_shared;          /* `to` was acquired in shared (read) mode */
    lg_held_id held;         /* what the thread held, `from` included */
    uint64_t payload;        /* opaque to the graph (the runtime's stacks) */
};

struct lg_graph_config {
    /* Labels that differ only in their thread (same modes, same held set)
     * are kept for this many threads per edge, the newest replacing the
     * oldest: they matter only to tell threads apart. 0: 4. */
    uint32_t threads_per_class;
    /* Steps per cycle search; running out counts in searches_truncated.
     * 0: 1000000. */
    uint64_t search_budget;
    /* Held sets the graph may hold; 0: 1 << 24. */
    uint32_t max_held_sets;
    /* Whether two acquisitions by different threads could have overlapped
     * in time (were not ordered by thread creation or join). NULL: always. */
    bool (*concurrent)(void *ctx, const struct lg_edge_label *a, const struct lg_edge_label *b);
    void *ctx;
    /* Report only cycles of LG_CYCLE_CONCURRENT (skips the other searches). */
    bool concurrent_only;
};

/* Counters a caller can show (lockdep-style "table ran out" messages). */
struct lg_graph_stats {
    uint64_t nodes, edges, labels, held_sets;
    uint64_t labels_replaced;    /* thread-only variants replaced: threads_per_class */
    uint64_t held_sets_refused;  /* lg_graph_held_add() refused: max_held_sets */
    uint64_t searches_truncated; /* cycle searches that hit search_budget */
    uint64_t reorders;           /* edges that needed the order repaired */
};

enum lg_cycle_class {
    LG_CYCLE_CONCURRENT = 0,  /* different threads, not ordered: this run could deadlock */
    LG_CYCLE_SINGLE_THREAD,   /* one thread took two or more of the orders */
    LG_CYCLE_ORDERED,         /* different threads, but ordered by thread creation or join */
};

/* One dependency of a reported cycle: label.thread acquired `to` while
 * holding `from` (and every lock in label.held). */
struct lg_cycle_step {
    lg_node_id from, to;
    struct lg_edge_label label; /* the acquisition of `to` */
    uint64_t from_payload;      /* payload of the label on the path's first edge
                                 * (where `from` was taken), label.payload when the
                                 * dependency is one edge */
    uint32_t nvia;              /* locks between from and to on the path */
    const lg_node_id *via;      /* points into the cycle's own memory */
};

struct lg_cycle {
    uint32_t n;                  /* steps; steps[i].to == steps[(i+1) % n].from */
    uint8_t klass;               /* enum lg_cycle_class */
    struct lg_cycle_step *steps; /* steps[0] is the acquisition being added */
};

enum lg_add_result {
    LG_EDGE_KNOWN = 0, /* the edge already had an equal label: nothing changed
                        * but its epoch_last */
    LG_EDGE_ADDED = 1, /* a new edge or a new label; no deadlock-capable cycle */
    LG_EDGE_CYCLE = 2, /* added, and it closes a deadlock-capable cycle */
};

struct lg_graph;

/* 0, or -ENOMEM. `config` may be NULL (defaults). */
int lg_graph_new(struct lg_graph **out, const struct lg_alloc *alloc,
                 const struct lg_graph_config *config);
void lg_graph_free(struct lg_graph *g);

/* A new node: 0 and *out set, or -ENOMEM. */
int lg_graph_node_add(struct lg_graph *g, lg_node_id *out);

/* Remove a node and every edge into or out of it (the lock was destroyed;
 * a new lock at the same address gets a new node). Held sets that name it
 * stay while labels use them. 0, or -ENOENT for an unknown or removed id. */
int lg_graph_node_remove(struct lg_graph *g, lg_node_id id);

bool lg_graph_node_live(const struct lg_graph *g, lg_node_id id);

/*
 * The held set "`below`, then `lock` on top in mode `shared`", interned:
 * the same arguments give the same id while the set lives. 0 and *out set,
 * or -ENOMEM (also when max_held_sets are in use: held_sets_refused), or
 * -EINVAL for a dead `below` or a dead `lock`. A set nothing uses yet is
 * kept until lg_graph_held_release() or until a label uses it.
 */
int lg_graph_held_add(struct lg_graph *g, lg_held_id below, lg_node_id lock, bool shared,
                      lg_held_id *out);
/* The set still exists (a caller's cached id is still good). */
bool lg_graph_held_live(const struct lg_graph *g, lg_held_id id);
/* Drop the set, and what is below it, as far as nothing uses them. */
void lg_graph_held_release(struct lg_graph *g, lg_held_id id);
/* Whether `lock` is in the set: -1 no, 0 held exclusively, 1 shared. */
int lg_graph_held_mode(const struct lg_graph *g, lg_held_id id, lg_node_id lock);
/* The members, top first: up to max into out (and their modes into
 * shared, which may be NULL). Returns how many the set has. */
uint32_t lg_graph_held_members(const struct lg_graph *g, lg_held_id id, lg_node_id *out,
                               bool *shared, uint32_t max);

/*
 * Record that label->thread acquired `to` while holding `from`.
 * Returns an enum lg_add_result, or -EINVAL (from == to, a dead node, or a
 * dead held set), or -ENOMEM (the graph is then as it was). On
 * LG_EDGE_CYCLE and when `cycle` is not NULL, *cycle is set to a newly
 * allocated cycle that the caller frees with lg_cycle_free().
 */
int lg_graph_add_edge(struct lg_graph *g, lg_node_id from, lg_node_id to,
                      const struct lg_edge_label *label, struct lg_cycle **cycle);

void lg_cycle_free(struct lg_graph *g, struct lg_cycle *cycle);

/*
 * What lg_graph_add_edge() would do with this label, so that a caller can
 * skip costly work (capturing a stack) for labels that add nothing:
 *   LG_LABEL_KNOWN  the edge has an equal label (same thread, modes and held
 *                   set): adding it changes nothing and cannot close a cycle
 *                   that is not already there; its epoch is noted on the
 *                   stored label all the same (epoch_last)
 *   LG_LABEL_NEW    it would be stored
 * or -EINVAL as for lg_graph_add_edge(). When same_thread_payload is not
 * NULL it receives the (non-zero) payload of a label of the same thread on
 * this edge, or 0 if there is none: evidence a new label may share.
 */
enum lg_label_status { LG_LABEL_NEW = 0, LG_LABEL_KNOWN = 1 };
int lg_graph_label_status(struct lg_graph *g, lg_node_id from, lg_node_id to,
                          const struct lg_edge_label *label, uint64_t *same_thread_payload);

/*
 * A hint, before asking lg_graph_label_status() about several edges into one
 * lock: start reading what the question about from -> to under this label
 * will read, so that the cache misses of the questions overlap. Nothing
 * changes; an unknown node or edge is ignored.
 */
void lg_graph_prefetch(struct lg_graph *g, lg_node_id from, lg_node_id to,
                       const struct lg_edge_label *label);

void lg_graph_stats(const struct lg_graph *g, struct lg_graph_stats *out);

/* Visit every edge once (for the DOT picture). `labels` holds the edge's
 * labels. `cyclic` is true when from and to lie in one strongly connected
 * component (the edge is on some cycle, deadlock-capable or not). */
typedef void (*lg_edge_visitor)(void *ctx, lg_node_id from, lg_node_id to,
                                const struct lg_edge_label *labels,
                                uint32_t nlabels, bool cyclic);
void lg_graph_each_edge(const struct lg_graph *g, lg_edge_visitor visit, void *ctx);

#endif /* LG_GRAPH_H */
