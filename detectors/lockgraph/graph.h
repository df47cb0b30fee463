/*
 * graph.h - lockgraph's lock-order graph.
 *
 * A node is a lock; an edge from -> to says some thread acquired `to` while
 * holding `from`. Each edge keeps a few labels: which thread took it, whether
 * either end was held/wanted in shared (read) mode, the set of locks the
 * thread held exclusively at the time (its gate set), and an opaque payload
 * (the runtime's stack id).
 *
 * The graph knows nothing of pthreads and never calls malloc: everything
 * comes from the injected allocator. It is not thread-safe; the runtime
 * serialises calls with its own (real, uninstrumented) lock.
 *
 * Cycles. Adding an edge reports a cycle only when the cycle could deadlock
 * (GoodLock): one label chosen per edge such that
 *   - the labels' threads are pairwise different (a thread cannot deadlock
 *     with itself through a cycle it made alone),
 *   - their gate sets are pairwise disjoint (two threads that both held a
 *     common lock G while taking their edges cannot be inside the cycle at
 *     the same time),
 *   - no lock of the cycle is both wanted shared by one edge and held shared
 *     by the next (readers do not block readers).
 * The reported cycle always contains the edge being added, with its new
 * label. Cycles of any length are found. Detection is incremental (dynamic
 * topological order, Pearce-Kelly, with strongly connected components merged
 * when a cycle forms), so adding an edge that agrees with the current order
 * costs O(1); the path search behind a report runs only when a cycle exists.
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

struct lg_edge_label {
    uint32_t thread;         /* the acquiring thread's number (never reused) */
    bool from_shared;        /* `from` was held in shared (read) mode */
    bool to_shared;          /* `to` was acquired in shared (read) mode */
    uint32_t ngate;          /* number of ids in gate */
    const lg_node_id *gate;  /* locks held exclusively at the time, sorted
                              * ascending, no duplicates; the graph copies it */
    uint64_t payload;        /* opaque to the graph (the runtime's stack id) */
};

struct lg_graph_limits {
    uint32_t max_labels_per_edge; /* further distinct labels are dropped; 0: 8 */
    uint64_t search_budget;       /* node visits per cycle search; 0: 1000000 */
};

/* Counters a caller can show (lockdep-style "table ran out" messages). */
struct lg_graph_stats {
    uint64_t nodes, edges, labels;
    uint64_t labels_dropped;     /* labels not kept: max_labels_per_edge */
    uint64_t searches_truncated; /* cycle searches that hit search_budget */
    uint64_t reorders;           /* edges that needed the order repaired */
};

/* One step of a reported cycle: the edge from -> to under one label. */
struct lg_cycle_step {
    lg_node_id from, to;
    struct lg_edge_label label; /* gate points into the cycle's own memory */
};

struct lg_cycle {
    uint32_t n;                  /* steps; steps[i].to == steps[(i+1) % n].from */
    struct lg_cycle_step *steps; /* steps[0] is the edge that was being added */
};

enum lg_add_result {
    LG_EDGE_KNOWN = 0, /* the edge already had an equal label, or already had
                        * max_labels_per_edge labels and this one was dropped
                        * (labels_dropped; it was still checked for a cycle):
                        * nothing changed */
    LG_EDGE_ADDED = 1, /* a new edge or a new label; no deadlock-capable cycle */
    LG_EDGE_CYCLE = 2, /* added (unless dropped, as above), and it closes a
                        * deadlock-capable cycle */
};

struct lg_graph;

/* 0, or -ENOMEM. `limits` may be NULL (defaults). */
int lg_graph_new(struct lg_graph **out, const struct lg_alloc *alloc,
                 const struct lg_graph_limits *limits);
void lg_graph_free(struct lg_graph *g);

/* A new node: 0 and *out set, or -ENOMEM. */
int lg_graph_node_add(struct lg_graph *g, lg_node_id *out);

/* Remove a node and every edge into or out of it (the lock was destroyed;
 * a new lock at the same address gets a new node). 0, or -ENOENT for an
 * unknown or already removed id. */
int lg_graph_node_remove(struct lg_graph *g, lg_node_id id);

bool lg_graph_node_live(const struct lg_graph *g, lg_node_id id);

/*
 * Record that label->thread acquired `to` while holding `from`.
 * Returns an enum lg_add_result, or -EINVAL (from == to, a dead node, or a
 * label that breaks its rules: NULL, or gate not strictly ascending non-zero
 * ids), or -ENOMEM (the graph is then as it was). On LG_EDGE_CYCLE and when
 * `cycle` is not NULL, *cycle is set to a newly allocated cycle that the
 * caller frees with lg_cycle_free().
 */
int lg_graph_add_edge(struct lg_graph *g, lg_node_id from, lg_node_id to,
                      const struct lg_edge_label *label, struct lg_cycle **cycle);

void lg_cycle_free(struct lg_graph *g, struct lg_cycle *cycle);

/*
 * What lg_graph_add_edge() would do with this label, without doing it, so
 * that a caller can skip costly work (capturing a stack) for labels that
 * add nothing:
 *   LG_LABEL_KNOWN       the edge has a label that covers it (same thread and
 *                        modes, gate set a subset): adding it changes nothing
 *                        and cannot close a cycle that is not already there
 *   LG_LABEL_CHECK_ONLY  the edge is full (max_labels_per_edge): the label
 *                        would be dropped, but still checked for a cycle
 *   LG_LABEL_NEW         it would be stored
 * or -EINVAL as for lg_graph_add_edge(). An existing label that covers the
 * new one also makes lg_graph_add_edge() return LG_EDGE_KNOWN.
 * When same_thread_payload is not NULL it receives the (non-zero) payload of
 * a label of the same thread on this edge, or 0 if there is none: evidence
 * of this thread taking the edge that a new label may share.
 */
enum lg_label_status { LG_LABEL_NEW = 0, LG_LABEL_KNOWN = 1, LG_LABEL_CHECK_ONLY = 2 };
int lg_graph_label_status(const struct lg_graph *g, lg_node_id from, lg_node_id to,
                          const struct lg_edge_label *label, uint64_t *same_thread_payload);

void lg_graph_stats(const struct lg_graph *g, struct lg_graph_stats *out);

/* Visit every edge once (for the DOT picture). `labels` holds the edge's
 * labels. `cyclic` is true when from and to lie in one strongly connected
 * component (the edge is on some cycle, deadlock-capable or not). */
typedef void (*lg_edge_visitor)(void *ctx, lg_node_id from, lg_node_id to,
                                const struct lg_edge_label *labels,
                                uint32_t nlabels, bool cyclic);
void lg_graph_each_edge(const struct lg_graph *g, lg_edge_visitor visit, void *ctx);

#endif /* LG_GRAPH_H */
