/*
 * report.h - what a lockgraph report says, and the writers that say it:
 * text for people, one JSON object per line for machines, SARIF 2.1.0 for
 * code scanning, and DOT for a picture of the lock-order graph.
 *
 * The runtime fills a struct lg_report (all strings already symbolised) and
 * hands it to the writers, which only format: they append to a growable
 * buffer from the injected allocator and never call malloc or stdio, so the
 * runtime can write the result with one write(2) wherever it is.
 *
 * One file per writer: report_buf.c (the buffer), report_text.c,
 * report_json.c, report_sarif.c, report_dot.c; report.c holds what they
 * share (report_int.h), starting with the table of report kinds.
 */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"

/* ---- a growable text buffer -------------------------------------------- */

struct lg_buf {
    char *data;   /* NUL-terminated when len > 0 */
    size_t len, cap;
    const struct lg_alloc *alloc;
    bool failed;  /* an allocation failed: the text is truncated */
};

void lg_buf_init(struct lg_buf *b, const struct lg_alloc *alloc);
void lg_buf_free(struct lg_buf *b);
void lg_buf_reset(struct lg_buf *b); /* len = 0, keeps the memory */
void lg_buf_put(struct lg_buf *b, const char *s, size_t n);
void lg_buf_puts(struct lg_buf *b, const char *s);
void lg_buf_printf(struct lg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lg_buf_vprintf(struct lg_buf *b, const char *fmt, va_list ap);
/* s as a JSON string literal, quotes included; NULL becomes null. */
void lg_buf_json_string(struct lg_buf *b, const char *s);

/* ---- the report -------------------------------------------------------- */

/* One symbolised frame. Unknown parts are NULL / 0. */
struct lg_frame {
    uintptr_t pc;
    const char *function;
    const char *file;
    unsigned line;
    const char *module; /* the shared object or executable */
    uintptr_t offset;   /* pc relative to the module's load address */
};

struct lg_stack {
    uint32_t n;
    const struct lg_frame *frames; /* innermost first */
};

struct lg_rep_lock {
    uint64_t id;                 /* lockgraph's number: shown as L<id> */
    uintptr_t addr;
    const char *type;            /* "mutex", "recursive mutex", "error-checking mutex",
                                  * "robust mutex", "rwlock", "spinlock" */
    const char *name;            /* symbol+offset for a global lock, else NULL */
    const struct lg_stack *init; /* where initialised or first seen; may be NULL */
};

struct lg_rep_thread {
    uint32_t num;                   /* shown as T<num>; T1 is the main thread */
    long tid;                       /* OS thread id */
    const char *name;               /* pthread name; may be NULL */
    const struct lg_stack *created; /* where pthread_create was called; may be NULL */
};

/*
 * One row of the report's table: thread `thread` holds lock `held` and wants
 * lock `wanted` (indexes into locks, -1 when not applicable). An inversion
 * has one row per edge of the cycle; a deadlock one per blocked thread; a
 * self-deadlock one row with held == wanted; an abandoned lock one row per
 * lock still held (wanted = -1). The stacks say where the held lock was
 * taken and where the wanted one is/was being taken (either may be NULL).
 */
struct lg_rep_row {
    int32_t thread;
    int32_t held, wanted;
    bool held_shared, wanted_shared; /* read mode of an rwlock */
    const struct lg_stack *held_at;
    const struct lg_stack *wanted_at;
    /* What the thread waits for when it is not a lock (wanted == -1): "a
     * condition variable", "pthread_join", ...; NULL otherwise. */
    const char *wanted_what;
};

/* Extra facts of a report, e.g. waited_ms, grants, jain_index. */
struct lg_rep_field {
    const char *key;
    const char *text; /* used when is_number is false */
    double number;
    bool is_number;
};

struct lg_report {
    const char *kind;    /* a row of report.c's lg_kinds: "lock-order-inversion",
                          * "self-deadlock", "deadlock", "abandoned-lock", ... */
    const char *summary; /* one line, no trailing newline */
    uint64_t seq;        /* 1 for the process's first report */
    long pid;
    int32_t current_thread;        /* index into threads: who is reporting; -1 */
    const struct lg_stack *current; /* that thread's stack now; may be NULL */
    const struct lg_rep_thread *threads;
    uint32_t nthreads;
    const struct lg_rep_lock *locks;
    uint32_t nlocks;
    const struct lg_rep_row *rows;
    uint32_t nrows;
    const struct lg_rep_field *fields;
    uint32_t nfields;
};

/* Whether kind is one lockgraph reports (report.c's table of kinds is the
 * only list), and every kind, joined with sep. */
bool lg_report_kind_known(const char *kind);
void lg_report_kinds_list(struct lg_buf *b, const char *sep);

/*
 * Text for people, lockdep-shaped: a banner with the kind, what is being
 * taken and what is held, the table ("T1 holds L1 (chopstick) and wants
 * L2"), then every stack the rows carry (both edges' stacks for an
 * inversion), each frame as "#i function file:line (module+offset)".
 */
void lg_report_text(struct lg_buf *b, const struct lg_report *r);

/* One JSON object on one line, newline-terminated: kind, summary, seq, pid,
 * threads, locks, rows (with stacks), fields. */
void lg_report_json(struct lg_buf *b, const struct lg_report *r);

/*
 * SARIF 2.1.0. A result per report: lg_sarif_result() writes one result
 * object (ruleId = kind, level "error", message = summary, locations from
 * the innermost frame with a file, codeFlows/threadFlows from the rows'
 * stacks). File paths under `root` (an absolute directory; NULL: none)
 * become URIs relative to it with uriBaseId "%SRCROOT%".
 *
 * lg_sarif_log() wraps n such objects, already joined with "," in
 * `results`, into a whole log: version, $schema, one run with tool.driver
 * (name "lockgraph", version, rules for every kind), originalUriBaseIds
 * (%SRCROOT% = run->root), one invocation and the results. `run` may be
 * NULL (nothing known about the run).
 */
struct lg_sarif_run {
    const char *tool_version;
    const char *root;              /* absolute; NULL: no %SRCROOT% */
    const char *command_line;      /* NULL: not said */
    const char *working_directory; /* absolute; NULL: not said */
    const char *start_utc, *end_utc; /* "2024-05-01T12:00:00.000Z"; NULL: not said */
    bool ended;                    /* the process ended: exit_code is its status */
    int exit_code;
    const char *exit_description;  /* what the exit code means; NULL */
};
void lg_sarif_result(struct lg_buf *b, const struct lg_report *r, const char *root);
void lg_sarif_log(struct lg_buf *b, const struct lg_sarif_run *run, const char *results,
                  size_t results_len);

/* Graphviz DOT: lg_dot_begin, then nodes and edges, then lg_dot_end.
 * Nodes and edges that lie on a reported cycle are drawn red and bold. */
void lg_dot_begin(struct lg_buf *b);
void lg_dot_node(struct lg_buf *b, uint64_t id, const char *label, bool on_cycle);
void lg_dot_edge(struct lg_buf *b, uint64_t from, uint64_t to, const char *label,
                 bool on_cycle);
void lg_dot_end(struct lg_buf *b);

#endif /* LG_REPORT_H */
