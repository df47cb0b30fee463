/*
 * bench_graph.c - how lg_graph_add_edge scales with the size of the graph.
 *
 * For each size N it builds a graph shaped like a real program's: 16 global
 * locks in a hierarchy, each nesting many per-object locks, objects chained
 * hand over hand in runs of 8, a quarter of the objects nested under a
 * second global. Then, in rounds, it creates `batch` fresh locks, times the
 * insertion of one batch of each kind of new edge below, and removes the
 * fresh locks again (untimed) so the graph stays at size N:
 *
 *   in-order     global -> fresh                 agrees with the order: O(1)
 *   fresh->obj   fresh -> random older object    the fresh lock has an in-edge
 *                                                (from in-order), so it cannot
 *                                                just go first: a repair whose
 *                                                backward side is itself
 *   fresh->fresh fresh -> the previous fresh     reorder among fresh locks;
 *                                                they form a chain built
 *                                                backwards (list traversal
 *                                                with new nodes at the head)
 *   new-outer    fresh, no in-edges -> object    the fresh lock moves first
 *   server       listener -> request (untimed), then request -> a global
 *                that nests N/16 objects: a repair whose forward side is
 *                huge and whose backward side is the request alone (plain
 *                Pearce-Kelly pays for both sides: O(N) per edge)
 *
 * It prints ns per inserted edge for each kind (median of `runs` runs), the
 * ratio to the first size, and how it was run. It asserts nothing about time.
 *
 *   bench_graph [--sizes 1000,10000,100000,1000000] [--runs 5]
 *               [--batch 256] [--rounds 32] [--seed 1] [--clock cpu|wall]
 *               [--hot K]
 *
 * --hot K draws the older objects of fresh->obj and new-outer from the K
 * most recently created ones instead of all of them: the same work on warm
 * memory, which separates the cost of cache and TLB misses from the rest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "bench.h"
#include "graph.h"

#define NGLOBAL 16
#define CHAIN 8
#define MAX_SIZES 8
#define MAX_RUNS 31

enum kind { K_INORDER, K_FRESH_OBJ, K_FRESH_FRESH, K_NEW_OUTER, K_SERVER, NKIND };
static const char *const kind_name[NKIND] = {
    "in-order", "fresh->obj", "fresh->fresh", "new-outer", "server",
};

/* The graph gets the allocator it gets inside liblockgraph.so (mem.c:
 * size classes on mmap, huge pages once it grows), so that what is measured
 * here is what a checked program pays. */
extern const struct lg_alloc lg_mem;

#define rnd bench_rand /* the benchmarks' one generator (bench.h) */

/* CPU time of this thread by default: on a shared machine, time spent
 * descheduled is not the graph's. --clock wall measures elapsed time. */
static clockid_t bench_clock = CLOCK_THREAD_CPUTIME_ID;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what, int rc)
{
    fprintf(stderr, "bench_graph: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
    exit(1);
}

static lg_node_id
new_node(struct lg_graph *g)
{
    lg_node_id id;
    int rc = lg_graph_node_add(g, &id);
    if (rc)
        die("node_add", rc);
    return id;
}

/* The thread holds `outer` (when there is one) and `from`, as the runtime
 * would name them: an interned held set, `from` on top. */
static int
add(struct lg_graph *g, lg_node_id from, lg_node_id to, uint32_t thread, lg_node_id outer)
{
    lg_held_id held = LG_HELD_NONE;
    int rc;
    if (outer && outer != from && (rc = lg_graph_held_add(g, held, outer, false, &held)))
        die("held_add", rc);
    if ((rc = lg_graph_held_add(g, held, from, false, &held)))
        die("held_add", rc);
    struct lg_edge_label l = { .thread = thread, .held = held };
    rc = lg_graph_add_edge(g, from, to, &l, NULL);
    if (rc < 0)
        die("add_edge", rc);
    lg_graph_held_release(g, held);
    return rc;
}

struct world {
    struct lg_graph *g;
    lg_node_id global[NGLOBAL], listener;
    lg_node_id *obj;
    uint32_t nobj;
};

static void
build(struct world *w, uint32_t n, uint64_t *seed)
{
    int rc = lg_graph_new(&w->g, &lg_mem, NULL);
    if (rc)
        die("graph_new", rc);
    w->listener = new_node(w->g);
    for (int i = 0; i < NGLOBAL; i++)
        w->global[i] = new_node(w->g);
    for (int i = 0; i + 1 < NGLOBAL; i++)
        add(w->g, w->global[i], w->global[i + 1], 1, 0);
    w->nobj = n - NGLOBAL - 1;
    w->obj = calloc(w->nobj, sizeof *w->obj);
    if (!w->obj)
        die("calloc", ENOMEM);
    for (uint32_t i = 0; i < w->nobj; i++) {
        lg_node_id o = w->obj[i] = new_node(w->g);
        lg_node_id gl = w->global[i % NGLOBAL];
        uint32_t thread = 1 + (uint32_t)(rnd(seed) % 64);
        add(w->g, gl, o, thread, 0);
        if (i % 4 == 0)
            add(w->g, w->global[(i / 4) % (NGLOBAL / 2)], o, thread, 0);
        if (i % CHAIN)
            add(w->g, w->obj[i - 1], o, thread, gl);
    }
}

struct sample {
    uint64_t ns[NKIND];
    uint64_t edges[NKIND];
};

static uint32_t hot; /* --hot: 0 for all objects */

/* An older object for the fresh locks to take. */
static lg_node_id
pick_object(const struct world *w, uint64_t *seed)
{
    uint32_t span = hot && hot < w->nobj ? hot : w->nobj;
    return w->obj[w->nobj - 1 - rnd(seed) % span];
}

static void
run_rounds(struct world *w, uint32_t batch, uint32_t rounds, uint64_t *seed, struct sample *out)
{
    lg_node_id *fresh = calloc(batch, sizeof *fresh), *outer = calloc(batch, sizeof *outer);
    lg_node_id *req = calloc(batch, sizeof *req);
    if (!fresh || !outer || !req)
        die("calloc", ENOMEM);
    memset(out, 0, sizeof *out);
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < batch; i++) {
            fresh[i] = new_node(w->g);
            outer[i] = new_node(w->g);
            req[i] = new_node(w->g);
        }
        uint64_t t0, t1;
        uint32_t base = (uint32_t)(rnd(seed) % 64);

        t0 = now_ns();
        for (uint32_t i = 0; i < batch; i++)
            add(w->g, w->global[(base + i) % NGLOBAL], fresh[i], 1 + (base + i) % 64, 0);
        t1 = now_ns();
        out->ns[K_INORDER] += t1 - t0;

        lg_node_id *target = calloc(batch, sizeof *target);
        if (!target)
            die("calloc", ENOMEM);
        for (uint32_t i = 0; i < batch; i++)
            target[i] = pick_object(w, seed);
        t0 = now_ns();
        for (uint32_t i = 0; i < batch; i++)
            add(w->g, fresh[i], target[i], 100 + i % 64, 0);
        t1 = now_ns();
        out->ns[K_FRESH_OBJ] += t1 - t0;

        t0 = now_ns();
        for (uint32_t i = 1; i < batch; i++)
            add(w->g, fresh[i], fresh[i - 1], 200 + i % 64, 0);
        t1 = now_ns();
        out->ns[K_FRESH_FRESH] += t1 - t0;

        for (uint32_t i = 0; i < batch; i++)
            target[i] = pick_object(w, seed);
        t0 = now_ns();
        for (uint32_t i = 0; i < batch; i++)
            add(w->g, outer[i], target[i], 300 + i % 64, 0);
        t1 = now_ns();
        out->ns[K_NEW_OUTER] += t1 - t0;

        for (uint32_t i = 0; i < batch; i++)
            add(w->g, w->listener, req[i], 400 + i % 64, 0);
        t0 = now_ns();
        for (uint32_t i = 0; i < batch; i++)
            add(w->g, req[i], w->global[(base + i) % NGLOBAL], 400 + i % 64, w->listener);
        t1 = now_ns();
        out->ns[K_SERVER] += t1 - t0;

        out->edges[K_INORDER] += batch;
        out->edges[K_FRESH_OBJ] += batch;
        out->edges[K_FRESH_FRESH] += batch - 1;
        out->edges[K_NEW_OUTER] += batch;
        out->edges[K_SERVER] += batch;
        free(target);
        for (uint32_t i = 0; i < batch; i++) {
            lg_graph_node_remove(w->g, fresh[i]);
            lg_graph_node_remove(w->g, outer[i]);
            lg_graph_node_remove(w->g, req[i]);
        }
    }
    free(fresh);
    free(outer);
    free(req);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
    uint32_t sizes[MAX_SIZES] = { 1000, 10000, 100000, 1000000 };
    int nsizes = 4, runs = 5;
    uint32_t batch = 256, rounds = 32;
    uint64_t seed0 = 1;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--sizes") && v) {
            nsizes = 0;
            for (char *p = argv[++i]; *p && nsizes < MAX_SIZES;) {
                sizes[nsizes++] = (uint32_t)strtoul(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        } else if (!strcmp(argv[i], "--runs") && v) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--batch") && v) {
            batch = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--rounds") && v) {
            rounds = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--seed") && v) {
            seed0 = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--hot") && v) {
            hot = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--clock") && v && (!strcmp(v, "cpu") || !strcmp(v, "wall"))) {
            bench_clock = !strcmp(argv[++i], "wall") ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
        } else {
            fprintf(stderr, "usage: %s [--sizes a,b,..] [--runs n] [--batch n] [--rounds n] [--seed n]"
                    " [--clock cpu|wall] [--hot K]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || batch < 2 || rounds < 1) {
        fprintf(stderr, "bench_graph: runs must be 1..%d, batch >= 2, rounds >= 1\n", MAX_RUNS);
        return 2;
    }
    for (int s = 0; s < nsizes; s++)
        if (sizes[s] < NGLOBAL + 1 + CHAIN) {
            fprintf(stderr, "bench_graph: sizes must be at least %d\n", NGLOBAL + 1 + CHAIN);
            return 2;
        }

    struct utsname un;
    uname(&un);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
    printf("bench_graph: lg_graph_add_edge, ns per inserted edge\n");
    printf("  date      %s\n", date);
    printf("  machine   %s %s %s\n", un.sysname, un.release, un.machine);
#ifdef __clang__
    printf("  compiler  clang %s", __clang_version__);
#elif defined(__GNUC__)
    printf("  compiler  gcc %s", __VERSION__);
#else
    printf("  compiler  unknown");
#endif
#ifdef BENCH_CFLAGS
    printf(", flags %s", BENCH_CFLAGS);
#endif
    printf("\n  timer     %s\n", bench_clock == CLOCK_MONOTONIC
                                   ? "CLOCK_MONOTONIC (wall)"
                                   : "CLOCK_THREAD_CPUTIME_ID (CPU time of the thread)");
    printf("  runs      %d per size (median shown), each a fresh graph\n", runs);
    printf("  batch     %u edges of each kind per round, %u rounds per run; the fresh\n"
           "            locks are removed after each round so the graph stays at N\n",
           batch, rounds);
    printf("  graph     %d globals, objects nested under 1-2 globals, hand-over-hand\n"
           "            chains of %d: about 2.1 edges per lock; lockgraph's own allocator\n",
           NGLOBAL, CHAIN);
    if (hot)
        printf("  hot       fresh->obj and new-outer take one of the %u newest objects\n", hot);
    else
        printf("  targets   fresh->obj and new-outer take any older object (cold memory)\n");
    printf("\n");

    double med[MAX_SIZES][NKIND], mixed[MAX_SIZES], build_ns[MAX_SIZES];
    uint64_t edges_at[MAX_SIZES];
    for (int s = 0; s < nsizes; s++) {
        double v[NKIND][MAX_RUNS], mix[MAX_RUNS], bld[MAX_RUNS];
        for (int r = 0; r < runs; r++) {
            uint64_t seed = seed0 * 0x9E3779B97F4A7C15ULL + (uint64_t)r + 1;
            struct world w;
            uint64_t t0 = now_ns();
            build(&w, sizes[s], &seed);
            struct lg_graph_stats st;
            lg_graph_stats(w.g, &st);
            bld[r] = (double)(now_ns() - t0) / (double)st.edges;
            edges_at[s] = st.edges;
            struct sample smp;
            run_rounds(&w, batch, rounds, &seed, &smp);
            uint64_t mix_ns = 0, mix_edges = 0;
            for (int k = 0; k < NKIND; k++) {
                v[k][r] = (double)smp.ns[k] / (double)smp.edges[k];
                if (k != K_SERVER) {
                    mix_ns += smp.ns[k];
                    mix_edges += smp.edges[k];
                }
            }
            mix[r] = (double)mix_ns / (double)mix_edges;
            lg_graph_free(w.g);
            free(w.obj);
        }
        for (int k = 0; k < NKIND; k++)
            med[s][k] = median(v[k], runs);
        mixed[s] = median(mix, runs);
        build_ns[s] = median(bld, runs);
    }

    printf("%9s %9s |", "N locks", "edges");
    for (int k = 0; k < NKIND; k++)
        printf(" %12s", kind_name[k]);
    printf(" | %9s %7s | %8s\n", "mixed 1-4", "x 1st", "build");
    for (int s = 0; s < nsizes; s++) {
        printf("%9u %9llu |", sizes[s], (unsigned long long)edges_at[s]);
        for (int k = 0; k < NKIND; k++)
            printf(" %12.1f", med[s][k]);
        printf(" | %9.1f %6.2fx | %8.1f\n", mixed[s], mixed[s] / mixed[0], build_ns[s]);
    }
    printf("\nratio to N = %u, per kind:\n%9s           |", sizes[0], "N locks");
    for (int k = 0; k < NKIND; k++)
        printf(" %12s", kind_name[k]);
    printf("\n");
    for (int s = 0; s < nsizes; s++) {
        printf("%9u           |", sizes[s]);
        for (int k = 0; k < NKIND; k++)
            printf(" %11.2fx", med[s][k] / med[0][k]);
        printf("\n");
    }
    printf("\n(ns per edge; 'mixed 1-4' is the four fresh-lock kinds together; "
           "'build' is ns per edge while building the graph, for reference)\n");
    return 0;
}
