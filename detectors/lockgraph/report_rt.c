/*
 * report_rt.c - from runtime state to written reports.
 *
 * Every report is decided and written under report_lock (one at a time, in
 * one piece), after the state it describes has been copied out of the
 * structures that other locks protect. Each distinct problem is reported
 * once: a cycle once per set of edges, a misuse once per kind, lock and
 * call site. Text goes to the log (stderr by default) with one write(2);
 * JSON is appended a line per report; the SARIF log is rewritten whole after
 * each report so that it is valid even if the process dies later (a FIFO
 * gets it once, at the end). The SARIF log's final form and the DOT picture
 * are written when the process ends, also when lockgraph ends it
 * (lg_exit_now). diag.c owns the files: checked writes, never blocking.
 */
#include "rt.h"
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ucontext.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LG_VERSION "0.1.0"

static lg_mutex report_lock = LG_MUTEX_INIT;
static atomic_long report_owner; /* tid of report_lock's holder, 0 none */
static atomic_uint_fast64_t nreports;
static struct lg_buf sarif_results; /* result objects joined with "," */
static atomic_bool exiting;
/* lg_reporting_finish() found nothing reported and let the program's own
 * exit status stand; a report made after that must still end the process
 * with exitcode (see emit()). */
static atomic_bool exit_decided_clean;
static atomic_bool closing_said; /* the closing line was said (closing_line()) */

/* Signatures of what was already reported (open addressing, 0 = empty). */
static uint64_t *seen;
static size_t seen_cap, seen_n;

/* Suppressions: kind (or "*") and an fnmatch pattern. */
struct suppression {
    char *kind, *pattern;
};
static struct suppression *supps;
static size_t nsupps;

/* Edges of reported cycles, drawn red in the DOT picture. */
static struct {
    lg_node_id from, to;
} *red_edges;
static size_t nred, red_cap;

/* ---- small helpers ----------------------------------------------------- */

/* report_lock, with its holder known: lg_exit_now() may be called by the
 * thread that holds it (halt_on_error, from finish_report) or by any other. */
static void
report_enter(void)
{
    lg_mutex_lock(&report_lock);
    atomic_store_explicit(&report_owner, (long)gettid(), memory_order_relaxed);
}

static void
report_leave(void)
{
    atomic_store_explicit(&report_owner, 0, memory_order_relaxed);
    lg_mutex_unlock(&report_lock);
}

/* Take m within `ms` milliseconds (polling every millisecond); false if
 * its holder kept it: on the way out, lockgraph waits for nobody forever. */
static bool
lock_within(lg_mutex *m, long ms)
{
    uint64_t deadline = lg_now_ns() + (uint64_t)ms * 1000000u;
    while (!lg_mutex_trylock(m)) {
        if (lg_now_ns() >= deadline)
            return false;
        struct timespec nap = { 0, 1000000 };
        nanosleep(&nap, NULL);
    }
    return true;
}

/* Remember a signature; false if it was already there. */
static bool
first_time(uint64_t sig)
{
    sig |= 1;
    if ((seen_n + 1) * 2 > seen_cap) {
        size_t cap = seen_cap ? seen_cap * 2 : 256;
        uint64_t *fresh = lg_mem_alloc(cap * sizeof *fresh);
        if (!fresh)
            return true; /* cannot remember: report again rather than never */
        for (size_t i = 0; i < seen_cap; i++)
            if (seen[i]) {
                size_t j = (size_t)(seen[i] >> 17) & (cap - 1);
                while (fresh[j])
                    j = (j + 1) & (cap - 1);
                fresh[j] = seen[i];
            }
        lg_mem_free(seen, seen_cap * sizeof *seen);
        seen = fresh;
        seen_cap = cap;
    }
    size_t j = (size_t)(sig >> 17) & (seen_cap - 1);
    for (; seen[j]; j = (j + 1) & (seen_cap - 1))
        if (seen[j] == sig)
            return false;
    seen[j] = sig;
    seen_n++;
    return true;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
    return lg_chain_hash(h, v, LG_EXCL);
}

/* ---- building a report --------------------------------------------------- */

struct builder {
    struct lg_report r;
    struct lg_rep_thread *threads;
    struct lg_rep_lock *locks;
    struct lg_rep_row *rows;
    struct lg_rep_field fields[8];
    struct lg_stack *stacks;
    uint32_t max_threads, max_locks, max_rows, max_stacks, nstacks;
    char summary[512];
    char names[8][32]; /* thread names */
};

static bool
builder_init(struct builder *b, const char *kind, uint32_t threads, uint32_t locks,
             uint32_t rows)
{
    memset(b, 0, sizeof *b);
    b->max_threads = threads;
    b->max_locks = locks;
    b->max_rows = rows;
    b->max_stacks = rows * 2 + threads + locks + 1;
    b->threads = lg_mem_alloc(threads * sizeof *b->threads);
    b->locks = lg_mem_alloc(locks * sizeof *b->locks);
    b->rows = lg_mem_alloc(rows * sizeof *b->rows);
    b->stacks = lg_mem_alloc(b->max_stacks * sizeof *b->stacks);
    b->r.kind = kind;
    b->r.summary = b->summary;
    b->r.pid = (long)getpid();
    b->r.current_thread = -1;
    b->r.threads = b->threads;
    b->r.locks = b->locks;
    b->r.rows = b->rows;
    b->r.fields = b->fields;
    return b->threads && b->locks && b->rows && b->stacks;
}

static void
builder_free(struct builder *b)
{
    lg_mem_free(b->threads, b->max_threads * sizeof *b->threads);
    lg_mem_free(b->locks, b->max_locks * sizeof *b->locks);
    lg_mem_free(b->rows, b->max_rows * sizeof *b->rows);
    lg_mem_free(b->stacks, b->max_stacks * sizeof *b->stacks);
}

static const struct lg_stack *
stack_of(struct builder *b, lg_stack_id id)
{
    if (!id || b->nstacks == b->max_stacks)
        return NULL;
    struct lg_stack s = lg_stack_get(id);
    if (!s.n)
        return NULL;
    b->stacks[b->nstacks] = s;
    return &b->stacks[b->nstacks++];
}

static void
thread_name(long tid, char *out, size_t len)
{
    char path[64];
    out[0] = 0;
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, len - 1);
    close(fd);
    out[n > 0 ? n : 0] = 0;
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = 0;
}

/* Index of thread `num` in the report, adding it the first time. */
static int32_t
add_thread(struct builder *b, uint32_t num)
{
    for (uint32_t i = 0; i < b->r.nthreads; i++)
        if (b->threads[i].num == num)
            return (int32_t)i;
    if (b->r.nthreads == b->max_threads)
        return -1;
    struct lg_rep_thread *rt = &b->threads[b->r.nthreads];
    rt->num = num;
    struct lg_thread *t = lg_thread_by_num(num);
    if (t) {
        rt->tid = t->tid;
        if (b->r.nthreads < 8 && atomic_load_explicit(&t->alive, memory_order_relaxed)) {
            thread_name(t->tid, b->names[b->r.nthreads], sizeof b->names[0]);
            if (b->names[b->r.nthreads][0])
                rt->name = b->names[b->r.nthreads];
        }
        rt->created = stack_of(b, t->created_at);
    }
    return (int32_t)b->r.nthreads++;
}

/* Index of the lock in the report, adding it the first time. */
static int32_t
add_lock(struct builder *b, struct lg_lock *l, uintptr_t addr)
{
    uint64_t id = l ? l->id : 0;
    for (uint32_t i = 0; i < b->r.nlocks; i++)
        if (b->locks[i].id == id && b->locks[i].addr == (l ? lg_lock_addr(l) : addr))
            return (int32_t)i;
    if (b->r.nlocks == b->max_locks)
        return -1;
    struct lg_rep_lock *rl = &b->locks[b->r.nlocks];
    rl->id = id;
    rl->addr = l ? lg_lock_addr(l) : addr;
    rl->type = l ? lg_lock_type_name(l) : "lock";
    rl->name = lg_symbolize_data(rl->addr, l ? lg_lock_object_size(l) : 0);
    rl->init = l ? stack_of(b, lg_stack_from_pc(l->init_site)) : NULL;
    return (int32_t)b->r.nlocks++;
}

static void
add_field(struct builder *b, const char *key, double number, const char *text)
{
    if (b->r.nfields == sizeof b->fields / sizeof b->fields[0])
        return;
    struct lg_rep_field *f = &b->fields[b->r.nfields++];
    f->key = key;
    f->text = text;
    f->number = number;
    f->is_number = text == NULL;
}

static const char *
lock_label(const struct builder *b, int32_t i, char *buf, size_t len)
{
    if (i < 0)
        return "?";
    const struct lg_rep_lock *l = &b->locks[i];
    if (l->name)
        snprintf(buf, len, "L%llu (%s %s)", (unsigned long long)l->id, l->type, l->name);
    else
        snprintf(buf, len, "L%llu (%s at 0x%lx)", (unsigned long long)l->id, l->type,
                 (unsigned long)l->addr);
    return buf;
}

/* ---- suppressions ---------------------------------------------------------- */

static bool
frame_matches(const struct lg_frame *f, const char *pattern)
{
    const char *names[] = { f->function, f->file, f->module };
    for (size_t i = 0; i < 3; i++) {
        if (!names[i])
            continue;
        const char *base = strrchr(names[i], '/');
        if (fnmatch(pattern, names[i], 0) == 0 || (base && fnmatch(pattern, base + 1, 0) == 0))
            return true;
    }
    return false;
}

static bool
stack_matches(const struct lg_stack *s, const char *pattern)
{
    for (uint32_t i = 0; s && i < s->n; i++)
        if (frame_matches(&s->frames[i], pattern))
            return true;
    return false;
}

/*
 * Built-in suppressions (default_suppressions=1): what a runtime does on
 * purpose, which its users cannot change. One matches a report of its kind
 * when every row's held_at stack has a frame of `module` (its file name)
 * whose function matches `function`: the runtime's own lock, taken in the
 * runtime, and nothing else held.
 *
 * HotSpot: the VM Thread ends by bringing the VM to a safepoint it never
 * leaves, and exits still holding the lock that stops Java threads
 * (Threads_lock, taken in Mutex::lock), so that none runs again while the
 * process exits. Every java run would otherwise end with an abandoned-lock
 * report and exit status 66.
 */
static const struct builtin_suppression {
    const char *kind, *module, *function;
} builtin_supps[] = {
    { "abandoned-lock", "libjvm.so", "Mutex::lock*" },
};

static bool
stack_has_frame_of(const struct lg_stack *s, const char *module, const char *function)
{
    for (uint32_t i = 0; s && i < s->n; i++) {
        const struct lg_frame *f = &s->frames[i];
        if (!f->module || !f->function)
            continue;
        const char *base = strrchr(f->module, '/');
        if (fnmatch(module, base ? base + 1 : f->module, 0) == 0
            && fnmatch(function, f->function, 0) == 0)
            return true;
    }
    return false;
}

static bool
builtin_suppressed(const struct lg_report *r)
{
    if (!lg_opt.default_suppressions)
        return false;
    for (size_t k = 0; k < sizeof builtin_supps / sizeof builtin_supps[0]; k++) {
        const struct builtin_suppression *b = &builtin_supps[k];
        if (strcmp(b->kind, r->kind) != 0 || r->nrows == 0)
            continue;
        uint32_t i = 0;
        while (i < r->nrows && stack_has_frame_of(r->rows[i].held_at, b->module, b->function))
            i++;
        if (i == r->nrows)
            return true;
    }
    return false;
}

static bool
suppressed(const struct lg_report *r)
{
    if (builtin_suppressed(r))
        return true;
    for (size_t k = 0; k < nsupps; k++) {
        if (strcmp(supps[k].kind, "*") != 0 && strcmp(supps[k].kind, r->kind) != 0)
            continue;
        const char *p = supps[k].pattern;
        if (stack_matches(r->current, p))
            return true;
        for (uint32_t i = 0; i < r->nrows; i++)
            if (stack_matches(r->rows[i].held_at, p) || stack_matches(r->rows[i].wanted_at, p))
                return true;
        for (uint32_t i = 0; i < r->nlocks; i++)
            if (stack_matches(r->locks[i].init, p)
                || (r->locks[i].name && fnmatch(p, r->locks[i].name, 0) == 0))
                return true;
    }
    return false;
}

/* The whole file, NUL-terminated, in memory from lg_mem (*cap bytes);
 * NULL when it cannot be read, with errno set. */
static char *
read_whole_file(const char *path, size_t *len, size_t *cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *text = NULL;
    *len = *cap = 0;
    for (;;) {
        if (*len + 1 >= *cap) {
            size_t grown = *cap ? *cap * 2 : 1 << 16;
            char *bigger = lg_grow(&lg_mem, text, *cap, grown);
            if (!bigger) {
                lg_mem_free(text, *cap);
                close(fd);
                errno = ENOMEM;
                return NULL;
            }
            text = bigger;
            *cap = grown;
        }
        ssize_t n = read(fd, text + *len, *cap - 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            lg_mem_free(text, *cap);
            close(fd);
            errno = err;
            return NULL;
        }
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    close(fd);
    text[*len] = 0;
    return text;
}

static char *
trim(char *s, char *end)
{
    while (*s == ' ' || *s == '\t')
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = 0;
    return s;
}

/*
 * A suppressions file: lines '<kind>:<pattern>', '#' comments and blank
 * lines. Bad input stops the program before it runs (exit status 2) with
 * the file and line: a suppression that can never match (a misspelled
 * kind) must not pass for one that works.
 */
static void
load_suppressions(const char *path)
{
    size_t len, cap;
    char *text = read_whole_file(path, &len, &cap);
    if (!text) {
        lg_note("cannot read suppressions file '%s': %s", path, strerror(errno));
        _exit(2);
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    supps = lg_mem_alloc(lines * sizeof *supps);
    if (!supps) {
        lg_note("no memory for the %zu lines of suppressions file '%s'", lines, path);
        _exit(2);
    }
    unsigned line_no = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        line_no++;
        char *next = nl ? nl + 1 : NULL;
        line = trim(line, line + strlen(line));
        if (!*line || *line == '#') {
            line = next;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line || !colon[1]) {
            lg_note("%s:%u: a suppression is '<kind>:<pattern>', not '%s'", path, line_no, line);
            _exit(2);
        }
        *colon = 0;
        char *kind = trim(line, colon), *pattern = trim(colon + 1, colon + 1 + strlen(colon + 1));
        if (strcmp(kind, "*") != 0 && !lg_report_kind_known(kind)) {
            struct lg_buf known;
            lg_buf_init(&known, &lg_mem);
            lg_report_kinds_list(&known, ", ");
            lg_note("%s:%u: unknown report kind '%s'; the kinds are %s, or * for any",
                    path, line_no, kind, known.data ? known.data : "?");
            _exit(2);
        }
        if (!*pattern) {
            lg_note("%s:%u: a suppression is '<kind>:<pattern>', and the pattern is empty",
                    path, line_no);
            _exit(2);
        }
        supps[nsupps].kind = kind;
        supps[nsupps].pattern = pattern;
        nsupps++;
        line = next;
    }
}

/* ---- writing ------------------------------------------------------------------ */

/* What the SARIF log says of the run (lg_reporting_init fills it). The
 * SARIF log and the DOT picture describe one process, the one lockgraph
 * started in: a fork child (which has a copy of the parent's reports and
 * graph, and may well outlive it) writes its reports to the log and the
 * JSON output only. */
static struct lg_sarif_run sarif_run;
static pid_t outputs_pid;
static char sarif_root[4096], sarif_cwd[4096], sarif_start[32], sarif_end[32],
    sarif_cmdline[4096];

/* UTC now, as SARIF wants it: "2024-05-01T12:00:00.000Z". */
static void
utc_now(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
}

/* The SARIF log of every report so far. A regular file is rewritten whole
 * after each report, so that it is valid even if the process dies later
 * (the invocation then says the process had not ended); a FIFO or a device
 * gets it once, when the process ends (`ended`, with its exit status).
 * Called under report_lock. */
static void
write_sarif(bool ended, int status, const char *why)
{
    if (!lg_opt.sarif[0] || getpid() != outputs_pid
        || (!ended && !lg_out_rewritable(LG_OUT_SARIF)))
        return;
    sarif_run.ended = ended;
    sarif_run.exit_code = status;
    sarif_run.exit_description = why;
    if (ended) {
        utc_now(sarif_end, sizeof sarif_end);
        sarif_run.end_utc = sarif_end;
    }
    struct lg_buf b;
    lg_buf_init(&b, &lg_mem);
    lg_sarif_log(&b, &sarif_run, sarif_results.data ? sarif_results.data : "",
                 sarif_results.len);
    lg_out_replace(LG_OUT_SARIF, b.data, b.len);
    lg_buf_free(&b);
}

static void flush_stdio(void);
static void write_final_outputs(bool may_wait, bool sarif, int status, const char *why);
static void closing_line(void);

/* Write a built report, unless suppressed. Called under report_lock. */
static bool
emit(struct lg_report *r)
{
    if (suppressed(r))
        return false;
    r->seq = atomic_fetch_add_explicit(&nreports, 1, memory_order_relaxed) + 1;
    struct lg_buf b;
    lg_buf_init(&b, &lg_mem);
    lg_report_text(&b, r);
    lg_log_write(b.data, b.len);
    if (lg_opt.json[0]) {
        lg_buf_reset(&b);
        lg_report_json(&b, r);
        lg_out_write(LG_OUT_JSON, b.data, b.len);
    }
    lg_buf_free(&b);
    if (lg_opt.sarif[0]) {
        if (sarif_results.len)
            lg_buf_puts(&sarif_results, ",");
        lg_sarif_result(&sarif_results, r, sarif_run.root);
        write_sarif(false, 0, NULL);
    }
    if (atomic_load_explicit(&exit_decided_clean, memory_order_acquire) && lg_opt.exitcode) {
        /* Made while the process exits, after lg_reporting_finish() saw no
         * report (the liveness monitor judging its last window late, on a
         * loaded machine): the exit status must still say so. */
        write_final_outputs(false, true, (int)lg_opt.exitcode,
                            "lockgraph reported a problem while the program exited: the exit "
                            "status is its exitcode");
        if (atomic_load_explicit(&closing_said, memory_order_relaxed))
            closing_line(); /* again: the one said before counted without it */
        flush_stdio();
        _exit((int)lg_opt.exitcode);
    }
    return true;
}

/* Emit the report; `t` is the reporting thread, and `here` says whether its
 * stack now says anything (a thread on its way out, say, is in glibc's exit
 * path, and the rows carry what matters). */
static void
finish_report(struct builder *b, struct lg_thread *t, bool here, bool *written)
{
    if (t) {
        b->r.current_thread = add_thread(b, t->num);
        if (here)
            b->r.current = stack_of(b, lg_stack_capture(3));
    }
    if (lg_opt.perturb) /* the seed that replays this schedule */
        add_field(b, "perturb_seed", (double)lg_opt.perturb_seed, NULL);
    *written = emit(&b->r);
    if (*written && lg_opt.halt_on_error)
        lg_exit_now();
}

static void
append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Mark an edge of a reported cycle, for the DOT picture. */
static void
red_edge(lg_node_id from, lg_node_id to)
{
    if (nred == red_cap) {
        size_t cap = red_cap ? red_cap * 2 : 64;
        void *grown = lg_grow(&lg_mem, red_edges, red_cap * sizeof *red_edges,
                              cap * sizeof *red_edges);
        if (!grown)
            return;
        red_edges = grown;
        red_cap = cap;
    }
    red_edges[nred].from = from;
    red_edges[nred++].to = to;
}

static const char *
cycle_class_key(uint8_t klass)
{
    switch (klass) {
    case LG_CYCLE_SINGLE_THREAD: return "single-thread";
    case LG_CYCLE_ORDERED: return "ordered";
    default: return "concurrent";
    }
}

/* Locks a held_between line names per dependency, at most. */
#define VIA_NAMED 16

static bool
report_inversion_here(struct lg_thread *t, const struct lg_cycle *c, lg_stack_id at)
{
    /* The same set of dependencies is one problem, whichever closed it. */
    uint64_t sig = 0x1;
    for (uint32_t i = 0; i < c->n; i++)
        sig += mix(c->steps[i].from, c->steps[i].to);
    bool written = false;
    report_enter();
    if (!first_time(mix(sig, 1))) {
        report_leave();
        return false;
    }
    struct builder b;
    uint32_t nvia = 0;
    for (uint32_t i = 0; i < c->n; i++)
        nvia += c->steps[i].nvia;
    struct lg_lock **locks = lg_mem_alloc((c->n + nvia) * sizeof *locks);
    static char details[3][1024];
    if (!builder_init(&b, "lock-order-inversion", c->n, c->n + nvia, c->n) || !locks)
        goto out;
    lg_mutex_lock(&lg_graph_lock);
    for (uint32_t i = 0, k = c->n; i < c->n; i++) {
        locks[i] = lg_lock_by_node(c->steps[i].from);
        for (uint32_t j = 0; j < c->steps[i].nvia; j++)
            locks[k++] = lg_lock_by_node(c->steps[i].via[j]);
    }
    lg_mutex_unlock(&lg_graph_lock);
    for (int d = 0; d < 3; d++)
        details[d][0] = 0;
    for (uint32_t i = 0, k = c->n; i < c->n; i++) {
        const struct lg_cycle_step *s = &c->steps[i];
        struct lg_rep_row *row = &b.rows[b.r.nrows++];
        row->thread = add_thread(&b, s->label.thread);
        row->held = add_lock(&b, locks[i], 0);
        row->wanted = add_lock(&b, locks[(i + 1) % c->n], 0);
        row->held_shared = s->label.from_shared;
        row->wanted_shared = s->label.to_shared;
        row->held_at = stack_of(&b, (lg_stack_id)(s->from_payload >> 32));
        row->wanted_at = stack_of(&b, (lg_stack_id)(s->label.payload & 0xFFFFFFFFu));
        /* A dependency through other held locks names them: "T1 also
         * held L2, L3", the first VIA_NAMED of a long path and how many
         * more (the report's lock list has them all). */
        for (uint32_t j = 0; j < s->nvia; j++, k++) {
            int32_t li = add_lock(&b, locks[k], 0);
            if (j == 0)
                append(details[1], sizeof details[1], "%sT%u also held ",
                       details[1][0] ? "; " : "", s->label.thread);
            if (j < VIA_NAMED)
                append(details[1], sizeof details[1], "%sL%llu", j ? ", " : "",
                       li >= 0 ? (unsigned long long)b.locks[li].id : 0ull);
            else if (j == VIA_NAMED)
                append(details[1], sizeof details[1], " and %u more", s->nvia - VIA_NAMED);
        }
        /* The edges behind it, for the picture. */
        if (s->nvia == 0) {
            red_edge(s->from, s->to);
        } else {
            lg_node_id on = i == 0 ? s->via[0] : s->from;
            for (uint32_t j = i == 0 ? 1 : 0; j < s->nvia; j++) {
                red_edge(on, s->via[j]);
                on = s->via[j];
            }
            red_edge(on, s->to);
        }
    }
    /* What kind of cycle: could this run have deadlocked on it? */
    const char *klass;
    switch (c->klass) {
    case LG_CYCLE_SINGLE_THREAD:
        snprintf(details[0], sizeof details[0], "one thread took two of these orders; a second "
                 "thread running the same code would deadlock");
        klass = details[0];
        break;
    case LG_CYCLE_ORDERED: {
        /* Name a pair the threads' creation or join kept apart. */
        char why[200] = "";
        uint32_t first = 0, second = 0;
        for (uint32_t i = 0; i < c->n && !why[0]; i++)
            for (uint32_t j = 0; j < c->n && !why[0]; j++)
                if (i != j && lg_labels_ordered(&c->steps[i].label, &c->steps[j].label, why,
                                                sizeof why)) {
                    first = c->steps[i].label.thread;
                    second = c->steps[j].label.thread;
                }
        if (why[0])
            snprintf(details[0], sizeof details[0], "the orders were taken by different "
                     "threads, kept apart in this run by thread creation or join (T%u took "
                     "its order; then %s; then T%u took its own); run at the same time, they "
                     "would deadlock", first, why, second);
        else
            snprintf(details[0], sizeof details[0], "the orders were taken by different "
                     "threads, kept apart in this run by thread creation or join; run at the "
                     "same time, they would deadlock");
        klass = details[0];
        break;
    }
    default:
        klass = "these threads could have deadlocked in this run";
        break;
    }
    /* Rows are in cycle order starting with the acquisition just made. */
    char *p = b.summary;
    size_t left = sizeof b.summary;
    int w = snprintf(p, left, "lock-order inversion (potential deadlock): ");
    for (uint32_t i = 0; i < c->n && w > 0 && (size_t)w < left; i++) {
        p += w;
        left -= (size_t)w;
        w = snprintf(p, left, "L%llu -> ", (unsigned long long)b.locks[b.rows[i].held].id);
    }
    if (w > 0 && (size_t)w < left) {
        p += w;
        left -= (size_t)w;
        w = snprintf(p, left, "L%llu, taken by ", (unsigned long long)b.locks[b.rows[0].held].id);
    }
    for (uint32_t i = 0; i < b.r.nthreads && w > 0 && (size_t)w < left; i++) {
        p += w;
        left -= (size_t)w;
        w = snprintf(p, left, "%sT%u", i ? ", " : "", b.threads[i].num);
    }
    if (w > 0 && (size_t)w < left) {
        p += w;
        left -= (size_t)w;
        snprintf(p, left, "; %s", klass);
    }
    add_field(&b, "cycle_class", 0, cycle_class_key(c->klass));
    add_field(&b, "cycle_class_text", 0, klass);
    if (details[1][0])
        add_field(&b, "held_between", 0, details[1]);
    if (at) /* stored after the acquisition: its stack, not the one now */
        b.r.current = stack_of(&b, at);
    finish_report(&b, t, at == 0, &written);
out:
    builder_free(&b);
    lg_mem_free(locks, (c->n + nvia) * sizeof *locks);
    report_leave();
    return written;
}

static bool
report_self_deadlock_here(struct lg_thread *t, struct lg_lock *l, const struct lg_held *held,
                          enum lg_self_outcome outcome, uintptr_t site)
{
    (void)site;
    bool written = false;
    report_enter();
    struct builder b;
    if (builder_init(&b, "self-deadlock", 1, 1, 1)) {
        struct lg_rep_row *row = &b.rows[b.r.nrows++];
        row->thread = add_thread(&b, t->num);
        row->held = row->wanted = add_lock(&b, l, 0);
        row->held_shared = held->mode == LG_SHARED;
        row->held_at = stack_of(&b, lg_held_stack(held));
        row->wanted_at = stack_of(&b, lg_stack_capture(2));
        char name[160];
        const char *what =
            outcome == LG_SELF_FOREVER ? "it would wait forever, so lockgraph stops the program"
            : outcome == LG_SELF_TIMES_OUT
                ? "the call has a deadline, so lockgraph lets it fail with ETIMEDOUT, as it "
                  "would without lockgraph, and the program goes on"
                : "glibc refuses the call (EDEADLK) and the program goes on; POSIX leaves "
                  "the result undefined";
        snprintf(b.summary, sizeof b.summary, "self-deadlock: T%u takes %s, which it already "
                 "holds%s; %s", t->num, lock_label(&b, row->held, name, sizeof name),
                 outcome == LG_SELF_REFUSED ? " for writing" : "", what);
        finish_report(&b, t, true, &written);
    }
    builder_free(&b);
    report_leave();
    return written;
}

static bool
report_deadlock_here(struct lg_thread *const *threads, uint32_t n)
{
    static atomic_bool claimed;
    if (atomic_exchange_explicit(&claimed, true, memory_order_acq_rel))
        return false; /* another member of the cycle is reporting it */
    bool written = false;
    report_enter();
    struct builder b;
    if (builder_init(&b, "deadlock", n, n, n)) {
        for (uint32_t i = 0; i < n; i++) {
            struct lg_thread *t = threads[i];
            struct lg_thread *prev = threads[(i + n - 1) % n];
            struct lg_lock *wants = atomic_load_explicit(&t->waiting_for, memory_order_relaxed);
            struct lg_lock *holds = atomic_load_explicit(&prev->waiting_for, memory_order_relaxed);
            struct lg_rep_row *row = &b.rows[b.r.nrows++];
            row->thread = add_thread(&b, t->num);
            row->wanted = add_lock(&b, wants, 0);
            row->held = add_lock(&b, holds, 0);
            row->wanted_shared = t->wait_mode == LG_SHARED;
            struct lg_held *h = holds ? lg_held_find(t, holds) : NULL;
            row->held_at = h ? stack_of(&b, lg_held_stack(h)) : NULL;
            row->wanted_at = stack_of(&b, atomic_load_explicit(&t->wait_stack,
                                                               memory_order_relaxed));
        }
        int w = snprintf(b.summary, sizeof b.summary, "deadlock: ");
        for (uint32_t i = 0; i < n && w > 0 && (size_t)w < sizeof b.summary; i++)
            w += snprintf(b.summary + w, sizeof b.summary - (size_t)w, "%sT%u",
                          i ? (i + 1 == n ? " and " : ", ") : "", threads[i]->num);
        if (w > 0 && (size_t)w < sizeof b.summary)
            snprintf(b.summary + w, sizeof b.summary - (size_t)w,
                     " wait for each other's locks and can never go on; lockgraph "
                     "stops the program instead of letting it hang");
        uint64_t blocked_ms = 0;
        uint64_t since = atomic_load_explicit(&threads[0]->wait_since_ns, memory_order_relaxed);
        uint64_t now = lg_now_ns();
        if (now > since)
            blocked_ms = (now - since) / 1000000u;
        add_field(&b, "blocked_ms", (double)blocked_ms, NULL);
        finish_report(&b, NULL, false, &written);
    }
    builder_free(&b);
    report_leave();
    return written;
}

static bool
report_abandoned_here(struct lg_thread *t)
{
    bool written = false;
    report_enter();
    struct builder b;
    uint32_t n = t->nheld ? t->nheld : 1;
    if (builder_init(&b, "abandoned-lock", 1, n, n)) {
        char name[160];
        const char *first = NULL;
        for (uint32_t i = 0; i < t->nheld; i++) {
            struct lg_held *h = &t->held[i];
            if (h->lock->robust)
                continue;
            struct lg_rep_row *row = &b.rows[b.r.nrows++];
            row->thread = add_thread(&b, t->num);
            row->held = add_lock(&b, h->lock, 0);
            row->wanted = -1;
            row->held_shared = h->mode == LG_SHARED;
            row->held_at = stack_of(&b, lg_held_stack(h));
            if (!first)
                first = lock_label(&b, row->held, name, sizeof name);
        }
        snprintf(b.summary, sizeof b.summary,
                 "abandoned lock: T%u exited while holding %s%s; whoever waits for it "
                 "waits forever",
                 t->num, first ? first : "a lock", b.r.nrows > 1 ? " and others" : "");
        finish_report(&b, t, false, &written);
    }
    builder_free(&b);
    report_leave();
    return written;
}

struct tid_search {
    long tid;
    uint32_t num;
};

static void
find_tid(struct lg_thread *t, void *ctx)
{
    struct tid_search *s = ctx;
    if (t->tid == s->tid && atomic_load_explicit(&t->alive, memory_order_relaxed))
        s->num = t->num;
}

/* A misuse of one object: a row with the lock (and its holder, if known),
 * the current stack; `summary` NULL means the summary of a lock misuse kind
 * (unlock-unlocked, unlock-not-owner, destroy-locked). */
static bool
misuse(struct lg_thread *t, const char *kind, struct lg_lock *l, uintptr_t addr,
       const char *type, long owner_tid, uintptr_t site, const char *summary)
{
    bool written = false;
    report_enter();
    uint64_t sig = mix(mix(mix((uint64_t)(uintptr_t)kind, l ? lg_lock_addr(l) : addr), site),
                       l ? atomic_load_explicit(&l->uid, memory_order_relaxed) : 0);
    struct builder b;
    if (first_time(sig) && builder_init(&b, kind, 2, 1, 1)) {
        struct tid_search owner = { owner_tid, 0 };
        if (owner_tid > 0)
            lg_threads_each(find_tid, &owner);
        struct lg_rep_row *row = &b.rows[b.r.nrows++];
        int32_t li = add_lock(&b, l, addr);
        if (li >= 0 && type)
            b.locks[li].type = type;
        row->thread = owner.num ? add_thread(&b, owner.num) : -1;
        row->held = owner.num ? li : -1;
        row->wanted = -1;
        char name[160], who[48] = "";
        lock_label(&b, li, name, sizeof name);
        if (owner.num)
            snprintf(who, sizeof who, " (T%u holds it)", owner.num);
        else if (owner_tid > 0)
            snprintf(who, sizeof who, " (thread %ld holds it)", owner_tid);
        if (summary)
            snprintf(b.summary, sizeof b.summary, "%s", summary);
        else if (strcmp(kind, "unlock-unlocked") == 0)
            snprintf(b.summary, sizeof b.summary, "unlock of an unlocked lock: T%u unlocks %s, "
                     "which nobody holds", t->num, name);
        else if (strcmp(kind, "unlock-not-owner") == 0)
            snprintf(b.summary, sizeof b.summary, "unlock by a thread that does not hold the "
                     "lock: T%u unlocks %s%s", t->num, name, who);
        else
            snprintf(b.summary, sizeof b.summary, "destroy of a locked lock: T%u destroys %s%s",
                     t->num, name, who);
        finish_report(&b, t, true, &written);
        builder_free(&b);
    }
    report_leave();
    return written;
}

/*
 * Reports are written on the thread that finds them, and building one
 * (symbolising above all: the loader's lookups, addr2line's pipes) takes
 * more stack than a thread made with a small one has: a thread with a
 * PTHREAD_STACK_MIN (16 KiB) stack died of SIGSEGV in its report, and the
 * report was lost (adversarial round h3, F4). On a thread whose stack has
 * less than ROOMY_STACK left, the report is built on a stack of
 * lockgraph's own (makecontext); the stacks it shows are the ones captured
 * before. Threads whose stack size is unknown (the main thread, whose
 * stack grows) are left as they are.
 */
#define ROOMY_STACK ((uintptr_t)128 << 10)
#define OWN_STACK ((size_t)512 << 10)

struct roomy_call {
    bool (*fn)(void *);
    void *arg;
    bool result;
};
static LG_TLS struct roomy_call *roomy_now;

static void
roomy_trampoline(void)
{
    struct roomy_call *c = roomy_now;
    c->result = c->fn(c->arg);
}

static bool
on_roomy_stack(bool (*fn)(void *), void *arg)
{
    struct lg_thread *t = lg_self_peek();
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (!t || !t->stack_low || here < t->stack_low || here - t->stack_low >= ROOMY_STACK)
        return fn(arg);
    void *stack = lg_mem_alloc(OWN_STACK);
    ucontext_t back, run;
    if (!stack || getcontext(&run) != 0) {
        if (stack)
            lg_mem_free(stack, OWN_STACK);
        return fn(arg);
    }
    struct roomy_call c = { fn, arg, false }, *was = roomy_now;
    run.uc_stack.ss_sp = stack;
    run.uc_stack.ss_size = OWN_STACK;
    run.uc_link = &back;
    makecontext(&run, roomy_trampoline, 0);
    roomy_now = &c;
    swapcontext(&back, &run);
    roomy_now = was;
    lg_mem_free(stack, OWN_STACK);
    return c.result;
}

struct inversion_args {
    struct lg_thread *t;
    const struct lg_cycle *c;
    lg_stack_id at;
};
static bool
inversion_thunk(void *p)
{
    struct inversion_args *a = p;
    return report_inversion_here(a->t, a->c, a->at);
}
bool
lg_report_inversion(struct lg_thread *t, const struct lg_cycle *c, lg_stack_id at)
{
    struct inversion_args a = { t, c, at };
    return on_roomy_stack(inversion_thunk, &a);
}

struct self_deadlock_args {
    struct lg_thread *t;
    struct lg_lock *l;
    const struct lg_held *held;
    enum lg_self_outcome outcome;
    uintptr_t site;
};
static bool
self_deadlock_thunk(void *p)
{
    struct self_deadlock_args *a = p;
    return report_self_deadlock_here(a->t, a->l, a->held, a->outcome, a->site);
}
bool
lg_report_self_deadlock(struct lg_thread *t, struct lg_lock *l, const struct lg_held *held,
                        enum lg_self_outcome outcome, uintptr_t site)
{
    struct self_deadlock_args a = { t, l, held, outcome, site };
    return on_roomy_stack(self_deadlock_thunk, &a);
}

struct deadlock_args {
    struct lg_thread *const *threads;
    uint32_t n;
};
static bool
deadlock_thunk(void *p)
{
    struct deadlock_args *a = p;
    return report_deadlock_here(a->threads, a->n);
}
bool
lg_report_deadlock(struct lg_thread *const *threads, uint32_t n)
{
    struct deadlock_args a = { threads, n };
    return on_roomy_stack(deadlock_thunk, &a);
}

static bool
abandoned_thunk(void *p)
{
    return report_abandoned_here(p);
}
bool
lg_report_abandoned(struct lg_thread *t)
{
    return on_roomy_stack(abandoned_thunk, t);
}

struct misuse_args {
    struct lg_thread *t;
    const char *kind;
    struct lg_lock *l;
    uintptr_t addr;
    const char *type;
    long owner_tid;
    uintptr_t site;
    const char *summary;
};
static bool
misuse_thunk(void *p)
{
    struct misuse_args *a = p;
    return misuse(a->t, a->kind, a->l, a->addr, a->type, a->owner_tid, a->site, a->summary);
}

bool
lg_report_misuse(struct lg_thread *t, const char *kind, struct lg_lock *l, uintptr_t addr,
                 long owner_tid, uintptr_t site)
{
    struct misuse_args a = { t, kind, l, addr, NULL, owner_tid, site, NULL };
    return on_roomy_stack(misuse_thunk, &a);
}

bool
lg_report_misuse_text(struct lg_thread *t, const char *kind, struct lg_lock *l, uintptr_t addr,
                      const char *type, long owner_tid, uintptr_t site, const char *summary)
{
    struct misuse_args a = { t, kind, l, addr, type, owner_tid, site, summary };
    return on_roomy_stack(misuse_thunk, &a);
}

static const char *
block_name(uint8_t block)
{
    switch (block) {
    case LG_LIVE_LOCK: return "a lock";
    case LG_LIVE_COND: return "a condition variable";
    case LG_LIVE_JOIN: return "pthread_join";
    case LG_LIVE_BARRIER: return "a barrier";
    case LG_LIVE_SEM: return "a semaphore";
    case LG_LIVE_COND_DESTROY: return "pthread_cond_destroy";
    default: return "nothing";
    }
}

/* What a blocked thread waits for, as "T2 waits for ..." says it. */
static const char *
waits_for(uint8_t block)
{
    return block == LG_LIVE_JOIN ? "a thread to exit (pthread_join)"
           : block == LG_LIVE_COND_DESTROY ? "a condition variable's waiters to leave (pthread_cond_destroy)"
                                           : block_name(block);
}

/* Where thread `num` is stuck: the stack of its retries, or of its wait. */
static const struct lg_stack *
stuck_at(struct builder *b, uint32_t num, bool retrying)
{
    struct lg_thread *t = lg_thread_by_num(num);
    if (!t)
        return NULL;
    lg_stack_id id = retrying ? atomic_load_explicit(&t->trying_stack, memory_order_relaxed)
                              : atomic_load_explicit(&t->wait_stack, memory_order_relaxed);
    if (!id)
        id = lg_stack_from_pc(atomic_load_explicit(&t->wait_site, memory_order_relaxed));
    return stack_of(b, id);
}

static void
append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* Lost wakeups first, then lock waits, then barrier waits (the wait that
 * cannot end, where a join of their thread is only its consequence). */
static int
stall_rank(const struct lg_live_member *m)
{
    return m->lost_wakeup ? 0 : m->block == LG_LIVE_LOCK ? 1 : m->block == LG_LIVE_BARRIER ? 2 : 3;
}

/* "barrier b (count 3, 2 waiting)" for a thread blocked at a barrier. */
static const char *
barrier_wait_label(uint32_t num, char *buf, size_t len)
{
    struct lg_thread *t = lg_thread_by_num(num);
    uintptr_t b = t ? atomic_load_explicit(&t->wait_object, memory_order_relaxed) : 0;
    if (!b)
        return block_name(LG_LIVE_BARRIER);
    struct lg_obj_info info = lg_barrier_info(b);
    const char *name = lg_symbolize_data(b, lg_abi_barrier_size());
    char where[40];
    if (!name) {
        snprintf(where, sizeof where, "0x%lx", (unsigned long)b);
        name = where;
    }
    unsigned count = info.count ? info.count : lg_abi_barrier_count(b);
    snprintf(buf, len, "barrier %s (count %u, %u waiting)", name, count, info.inside);
    return buf;
}

static bool
stall_before(const struct lg_live_member *a, const struct lg_live_member *b)
{
    int ra = stall_rank(a), rb = stall_rank(b);
    return ra != rb ? ra < rb : a->thread < b->thread;
}

bool
lg_report_liveness(const struct lg_live_verdict *v,
                   struct lg_lock *(*lock_of)(uint64_t uid, void *ctx), void *ctx)
{
    static const char *kinds[] = { NULL, "starvation", "livelock", "stall" };
    bool written = false;
    report_enter();
    struct builder b;
    static char details[3][1024];
    uint32_t n = v->n ? v->n : 1;
    if (!builder_init(&b, kinds[v->kind], n, n, n))
        goto out;
    char name[160];
    double ms = (double)v->window_ns / 1e6;
    for (int i = 0; i < 3; i++)
        details[i][0] = 0;
    if (v->kind == LG_LIVE_STARVATION) {
        struct lg_lock *l = lock_of(v->lock, ctx);
        int32_t li = add_lock(&b, l, 0);
        const struct lg_live_member *starved = &v->members[0];
        struct lg_rep_row *row = &b.rows[b.r.nrows++];
        row->thread = add_thread(&b, starved->thread);
        row->held = -1;
        row->wanted = li;
        row->wanted_at = stuck_at(&b, starved->thread, starved->block == LG_LIVE_RUNNING);
        /* The threads that got the lock are in the fields, not the table:
         * none of them holds it now, and several cannot hold it at once. */
        for (uint32_t i = 1; i < v->n; i++)
            append(details[0], sizeof details[0], "%sT%u: %llu", i > 1 ? ", " : "",
                   v->members[i].thread, (unsigned long long)v->members[i].grants);
        double wanted_ms = (double)v->wanted_ns / 1e6;
        if (starved->grants)
            snprintf(details[1], sizeof details[1],
                     "got it %llu time%s and was passed %llu times (%.2g%% of a fair share)",
                     (unsigned long long)starved->grants, starved->grants == 1 ? "" : "s",
                     (unsigned long long)v->bypasses, 100.0 * v->share);
        else
            snprintf(details[1], sizeof details[1], "never got it and was passed %llu times",
                     (unsigned long long)v->bypasses);
        snprintf(b.summary, sizeof b.summary,
                 "starvation: T%u kept trying to take %s for %.0f of %.0f ms: it %s; "
                 "%u other thread%s got it %llu times in all (%s); Jain's fairness index %.2f",
                 starved->thread, lock_label(&b, li, name, sizeof name), wanted_ms, ms,
                 details[1], v->n - 1, v->n == 2 ? "" : "s", (unsigned long long)v->lock_grants,
                 details[0], v->jain);
        add_field(&b, "waited_ms", wanted_ms, NULL);
        add_field(&b, "window_ms", ms, NULL);
        add_field(&b, "own_grants", (double)starved->grants, NULL);
        add_field(&b, "bypasses", (double)v->bypasses, NULL);
        add_field(&b, "fair_share_pct", 100.0 * v->share, NULL);
        add_field(&b, "grants", (double)v->lock_grants, NULL);
        add_field(&b, "grants_by_thread", 0, details[0]);
        add_field(&b, "jain_index", v->jain, NULL);
    } else if (v->kind == LG_LIVE_LIVELOCK) {
        for (uint32_t i = 0; i < v->n; i++) {
            const struct lg_live_member *m = &v->members[i];
            struct lg_rep_row *row = &b.rows[b.r.nrows++];
            row->thread = add_thread(&b, m->thread);
            row->wanted = add_lock(&b, lock_of(m->lock, ctx), 0);
            row->held = -1;
            /* It holds what the member it blocks keeps trying to get. */
            for (uint32_t j = 0; j < v->n; j++)
                if (v->members[j].blocker == m->thread)
                    row->held = add_lock(&b, lock_of(v->members[j].lock, ctx), 0);
            row->wanted_at = stuck_at(&b, m->thread, true);
            append(details[0], sizeof details[0], "%sT%u: %llu", i ? ", " : "", m->thread,
                   (unsigned long long)m->backoffs);
            append(details[1], sizeof details[1], "%sT%u", i ? (i + 1 == v->n ? " and " : ", ") : "",
                   m->thread);
        }
        snprintf(b.summary, sizeof b.summary,
                 "livelock: %s have kept failing trylocks and backing off for %.0f ms "
                 "(back-offs: %s), each on a lock another of them holds; none got it",
                 details[1], ms, details[0]);
        add_field(&b, "window_ms", ms, NULL);
        add_field(&b, "backoffs_by_thread", 0, details[0]);
    } else {
        /* A fixed order, so that the report (and its SUMMARY, taken from the
         * first row) is the same on every run: threads waiting for a signal
         * nobody can send first, then lock waiters, then the rest; each
         * group by thread number. */
        uint32_t order[v->n];
        for (uint32_t i = 0; i < v->n; i++)
            order[i] = i;
        for (uint32_t i = 1; i < v->n; i++)
            for (uint32_t j = i; j > 0 && stall_before(&v->members[order[j]],
                                                        &v->members[order[j - 1]]); j--) {
                uint32_t k = order[j];
                order[j] = order[j - 1];
                order[j - 1] = k;
            }
        uint32_t lost = 0;
        for (uint32_t idx = 0; idx < v->n; idx++) {
            uint32_t i = idx;
            const struct lg_live_member *m = &v->members[order[idx]];
            struct lg_rep_row *row = &b.rows[b.r.nrows++];
            row->thread = add_thread(&b, m->thread);
            row->held = -1;
            struct lg_lock *l = m->lock ? lock_of(m->lock, ctx) : NULL;
            row->wanted = l ? add_lock(&b, l, 0) : -1;
            row->wanted_what = l ? NULL : waits_for(m->block);
            row->wanted_at = stuck_at(&b, m->thread, false);
            struct lg_thread *holder = l ? lg_thread_by_tid(lg_lock_owner_tid(l)) : NULL;
            if (holder) {
                row->held = -1;
                append(details[0], sizeof details[0], "%sT%u: %s held by T%u", i ? ", " : "",
                       m->thread, lock_label(&b, row->wanted, name, sizeof name), holder->num);
            } else {
                append(details[0], sizeof details[0], "%sT%u: %s%s", i ? ", " : "", m->thread,
                       l ? lock_label(&b, row->wanted, name, sizeof name)
                       : m->block == LG_LIVE_BARRIER ? barrier_wait_label(m->thread, name, sizeof name)
                                                     : block_name(m->block),
                       !m->lost_wakeup ? ""
                       : m->block == LG_LIVE_COND ? " (lost wakeup: no running thread can signal it)"
                                                  : " (no running thread can post it)");
            }
            if (m->lost_wakeup) {
                append(details[1], sizeof details[1], "%sT%u", lost ? ", " : "", m->thread);
                lost++;
            }
        }
        snprintf(b.summary, sizeof b.summary,
                 "stall: every thread has been blocked for at least %.0f ms and none can "
                 "wake another (%s)%s%s; lockgraph stops the program instead of letting it hang",
                 ms, details[0], lost ? "; waiting for a signal no running thread can send: " : "",
                 lost ? details[1] : "");
        add_field(&b, "blocked_ms", ms, NULL);
        add_field(&b, "waits", 0, details[0]);
        if (lost)
            add_field(&b, "no_running_waker", 0, details[1]);
    }
    finish_report(&b, NULL, false, &written);
out:
    builder_free(&b);
    report_leave();
    return written;
}

uint64_t
lg_reports_count(void)
{
    return atomic_load_explicit(&nreports, memory_order_relaxed);
}

/* glibc's list of open streams (exported, chained by the public _chain
 * field): what its exit flushes (_IO_cleanup) after the exit handlers. */
extern FILE *_IO_list_all;

/*
 * Flush what the program wrote before lockgraph ends the process, as
 * glibc's exit would: every stream with output in its buffer, not only
 * stdout and stderr (a log file the program never closed lost its last
 * lines), if nobody holds it (a deadlocked thread may be inside printf).
 * The list is walked without its lock, as glibc's own exit does.
 */
static void
flush_stdio(void)
{
    for (FILE *f = _IO_list_all; f; f = f->_chain)
        if (f->_IO_write_ptr > f->_IO_write_base && ftrylockfile(f) == 0) {
            fflush_unlocked(f);
            funlockfile(f);
        }
}


/* The process the user ran: the launcher's (LOCKGRAPH_TOP_PID, which exec
 * keeps), or any process when there is no launcher. */
static bool
top_process(void)
{
    const char *top = getenv("LOCKGRAPH_TOP_PID");
    return !top || strtol(top, NULL, 10) == (long)getpid();
}

/* The closing line of a process (summary=1): always in the one the launcher
 * ran (LOCKGRAPH_TOP_PID, which exec keeps; or, with no launcher, where
 * summary=1 was set by hand), and in the processes that one started (which
 * inherit summary=1) only when they had something to say: reports, or more
 * than one thread (a compiler under `make` takes a few locks on its one
 * thread). */
static bool
closing_line_wanted(void)
{
    if (!lg_opt.summary || !atomic_load_explicit(&lg_active, memory_order_relaxed))
        return false;
    if (top_process())
        return true;
    return lg_reports_count() != 0 || lg_threads_seen() > 1;
}

/* Say it, after whatever the program printed (its buffered standard output
 * is flushed first, as exit would a moment later, if nobody holds it). It
 * is said where the count is final: at exit once no report is being
 * written (lg_reporting_finish), when lockgraph ends the program
 * (lg_exit_now), and once more after a report made later still, while the
 * process exits (emit), so that the last closing line is always right. */
/*
 * Runtimes whose own locks are not pthread's (futexes and atomics of their
 * own): a clean closing line says nothing of those, and the note of no
 * lock at all is not said when the runtime also takes a few pthread
 * mutexes (oneTBB's tbb::mutex: "0 reports; 2 locks"; Mono's `lock`: "162
 * locks", both with an inversion missed). By the loaded object's name.
 */
static const struct {
    const char *object, *locks;
} own_lock_runtimes[] = {
    { "libtbb.so", "oneTBB's tbb::mutex, spin_mutex, queuing_mutex and concurrent containers" },
    { "libmonosgen-2.0.so", "Mono's `lock` statements and Monitor" },
    { "libmono-2.0.so", "Mono's `lock` statements and Monitor" },
    { "libgomp.so", "OpenMP's omp_set_lock and critical sections" },
    { "libomp.so", "OpenMP's omp_set_lock and critical sections" },
    { "libglib-2.0.so", "GLib's GMutex (its GRecMutex and GRWLock are pthread locks, and seen)" },
    { "libQt5Core.so", "Qt's QMutex and QReadWriteLock" },
    { "libQt6Core.so", "Qt's QMutex and QReadWriteLock" },
    { "libabsl_synchronization.so", "Abseil's absl::Mutex" },
    { "libfolly.so", "folly's SharedMutex, MicroLock and DistributedMutex" },
};

/* lg_exit_now() is ending the program (a deadlock, a stall). */
static atomic_bool stopping_program;

/* dl_iterate_phdr's callback: *ctx (an int) becomes the runtime's index
 * + 1 in own_lock_runtimes. */
static int
find_runtime(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    int *found = ctx;
    const char *name = info->dlpi_name, *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : name;
    if (!base || !base[0])
        return 0;
    for (size_t i = 0; i < sizeof own_lock_runtimes / sizeof own_lock_runtimes[0]; i++)
        if (strncmp(base, own_lock_runtimes[i].object, strlen(own_lock_runtimes[i].object)) == 0) {
            *found = (int)i + 1;
            return 1;
        }
    return 0;
}

static void
closing_line(void)
{
    atomic_store_explicit(&closing_said, true, memory_order_relaxed);
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    if (ftrylockfile(stdout) == 0) {
        fflush_unlocked(stdout);
        funlockfile(stdout);
    }
    pthread_setcancelstate(cancel, NULL);
    unsigned long long reports = lg_reports_count(), locks = lg_locks_seen();
    unsigned threads = lg_threads_seen();
    int runtime = 0;
    /* Not when lockgraph ends a stuck program (lg_exit_now): the walk takes
     * the loader's lock, which a deadlocked thread may hold. */
    if (threads > 1 && !atomic_load_explicit(&stopping_program, memory_order_relaxed))
        dl_iterate_phdr(find_runtime, &runtime);
    if (runtime) /* the closing line alone reads as "all is well" */
        lg_note("note: this program runs %s, whose own locks (%s) lockgraph does not see: "
                "the line below covers only pthread, C11 and semaphore locks",
                own_lock_runtimes[runtime - 1].object, own_lock_runtimes[runtime - 1].locks);
    else if (locks == 0 && threads > 1) /* "0 locks checked" alone reads as "all is well" */
        lg_note("note: %u threads ran and took no lock lockgraph knows (a pthread mutex, "
                "rwlock or spinlock, a C11 mtx, a semaphore used as a lock); locks of other "
                "kinds (Rust's std::sync, Go's, OpenMP's omp_set_lock and critical sections, "
                "GLib's GMutex, a raw futex) are not seen", threads);
    char seed[64] = "";
    if (lg_opt.perturb) /* the seed that replays this run's schedule */
        snprintf(seed, sizeof seed, "; perturbed with perturb_seed=%ld", lg_opt.perturb_seed);
    lg_note("%llu report%s; %llu lock%s, %u thread%s checked%s", reports, reports == 1 ? "" : "s",
            locks, locks == 1 ? "" : "s", threads, threads == 1 ? "" : "s", seed);
}

static void
say_closing_line(void)
{
    if (closing_line_wanted())
        closing_line();
}

_Noreturn void
lg_exit_now(void)
{
    int status = lg_opt.exitcode ? (int)lg_opt.exitcode : 66;
    bool closing = closing_line_wanted();
    atomic_store_explicit(&stopping_program, true, memory_order_relaxed);
    atomic_store_explicit(&exiting, true, memory_order_relaxed);
    atomic_store_explicit(&lg_active, false, memory_order_relaxed);
    write_final_outputs(false, true, status,
                        "lockgraph stopped the program after a report it could not go on from "
                        "(a deadlock, a self-deadlock, a stall, or halt_on_error)");
    lg_diag_last_words();
    if (closing)
        closing_line();
    flush_stdio();
    _exit(status);
}

/* The command line, from /proc/self/cmdline, its arguments joined by
 * spaces (quoted when they hold a space or a quote). */
static void
read_command_line(char *out, size_t len)
{
    out[0] = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char raw[4096];
    ssize_t n = read(fd, raw, sizeof raw - 1);
    close(fd);
    size_t used = 0;
    for (ssize_t i = 0; i < n && used + 4 < len;) {
        const char *arg = raw + i;
        size_t alen = strnlen(arg, (size_t)(n - i));
        bool quote = alen == 0 || strpbrk(arg, " \t'\"") != NULL;
        if (used)
            out[used++] = ' ';
        if (quote)
            out[used++] = '\'';
        for (size_t k = 0; k < alen && used + 3 < len; k++) {
            if (arg[k] == '\'' && used + 6 < len) {
                memcpy(out + used, "'\\''", 4); /* close, escaped quote, reopen */
                used += 4;
            } else {
                out[used++] = arg[k];
            }
        }
        if (quote)
            out[used++] = '\'';
        i += (ssize_t)alen + 1;
    }
    out[used] = 0;
}

/*
 * The run's facts for the SARIF log. The root that file URIs are relative
 * to (%SRCROOT%) is sarif_root, made absolute against the current
 * directory, or the current directory itself: run from the checkout, the
 * sources under it get repository-relative URIs.
 */
static void
sarif_run_init(void)
{
    sarif_run.tool_version = LG_VERSION;
    if (getcwd(sarif_cwd, sizeof sarif_cwd))
        sarif_run.working_directory = sarif_cwd;
    const char *root = lg_opt.sarif_root[0] ? lg_opt.sarif_root : sarif_cwd;
    if (root[0] == '/')
        snprintf(sarif_root, sizeof sarif_root, "%s", root);
    else if (sarif_cwd[0])
        snprintf(sarif_root, sizeof sarif_root, "%s/%s", sarif_cwd, root);
    size_t n = strlen(sarif_root);
    while (n > 1 && sarif_root[n - 1] == '/')
        sarif_root[--n] = 0;
    if (sarif_root[0] == '/')
        sarif_run.root = sarif_root;
    utc_now(sarif_start, sizeof sarif_start);
    sarif_run.start_utc = sarif_start;
    read_command_line(sarif_cmdline, sizeof sarif_cmdline);
    if (sarif_cmdline[0])
        sarif_run.command_line = sarif_cmdline;
}

/* exit() with the program's own status: lockgraph did not end the process
 * (it _exits with exitcode when it does). Registered at start, so it runs
 * after the program's exit handlers and the libraries' destructors. */
static void
at_exit_status(int status, void *unused)
{
    (void)unused;
    write_final_outputs(false, true, status,
                        lg_reports_count() ? "the program's own exit status (exitcode=0 keeps it)"
                                           : "the program's own exit status: nothing was "
                                             "reported");
}

bool
lg_reporting_own_process(void)
{
    return outputs_pid != 0 && getpid() == outputs_pid;
}

bool
lg_reporting_exec_state(char *buf, size_t len)
{
    unsigned long long n = lg_reports_count();
    if (!n || !lg_reporting_own_process())
        return false;
    int w = snprintf(buf, len, LG_EXEC_STATE_VAR "=%ld:%llu", (long)getpid(), n);
    return w > 0 && (size_t)w < len;
}

/* The SARIF log's results as the program before the exec left them (this
 * file is lockgraph's own writing: the array after the first "results":,
 * to its closing bracket outside any string), kept in sarif_results. */
#define SARIF_READ_BACK_MAX (64u << 20)

static void
sarif_read_back(void)
{
    int fd = open(lg_opt.sarif, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return;
    struct stat st;
    char *text = NULL;
    size_t size = 0, got = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
        && (uint64_t)st.st_size < SARIF_READ_BACK_MAX) {
        size = (size_t)st.st_size + 1;
        text = lg_mem_alloc(size); /* zeroed: text ends in a NUL */
    }
    while (text && got + 1 < size) {
        ssize_t r = read(fd, text + got, size - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    const char *key = "\"results\":[";
    const char *start = text ? strstr(text, key) : NULL;
    if (start) {
        start += strlen(key);
        int depth = 0;
        bool in_string = false;
        for (const char *c = start; *c; c++) {
            if (in_string) {
                if (*c == '\\' && c[1])
                    c++;
                else if (*c == '"')
                    in_string = false;
            } else if (*c == '"') {
                in_string = true;
            } else if (*c == '[' || *c == '{') {
                depth++;
            } else if ((*c == ']' || *c == '}') && depth-- == 0) {
                if (*c == ']' && c > start)
                    lg_buf_put(&sarif_results, start, (size_t)(c - start));
                break;
            }
        }
    }
    if (text)
        lg_mem_free(text, size);
}

/* A program that this process was before its exec made reports: they count
 * here (exit status, closing line, SARIF). The entry leaves the
 * environment: the program does not see it, nor do its children. */
static void
adopt_exec_state(void)
{
    const char *v = getenv(LG_EXEC_STATE_VAR);
    if (!v)
        return;
    char *end;
    long pid = strtol(v, &end, 10);
    unsigned long long n = 0;
    if (*end == ':' && pid == (long)getpid()) {
        n = strtoull(end + 1, &end, 10);
        if (*end)
            n = 0;
    }
    unsetenv(LG_EXEC_STATE_VAR);
    if (!n)
        return;
    atomic_store_explicit(&nreports, n, memory_order_relaxed);
    if (lg_opt.sarif[0])
        sarif_read_back();
    if (lg_opt.verbosity >= 1)
        lg_note("%llu report%s made before this process's exec count here", n,
                n == 1 ? "" : "s");
}

void
lg_reporting_init(void)
{
    int err = lg_out_open(LG_OUT_LOG);
    if (err < 0) {
        const char *path = lg_opt.log;
        lg_opt.log = ""; /* say it on standard error */
        /* A path that cannot be opened is bad input, and stops the program
         * the user ran before it starts. Not a process it started (which
         * inherits the options), nor one refused the file for want of
         * permission: a daemon's helper that switched to an unprivileged
         * user before exec (varnishd's compiler) failed, and so did the
         * daemon. Its text goes to standard error instead. */
        if (top_process() && err != -EACCES && err != -EPERM && err != -EROFS) {
            lg_note("cannot open log file '%s': %s", path, strerror(-err));
            _exit(2);
        }
        lg_note("cannot open log file '%s': %s; this process's reports go to standard error",
                path, strerror(-err));
    }
    outputs_pid = getpid();
    lg_buf_init(&sarif_results, &lg_mem);
    adopt_exec_state();
    if (lg_opt.suppressions[0])
        load_suppressions(lg_opt.suppressions);
    if (lg_opt.sarif[0]) {
        sarif_run_init();
        on_exit(at_exit_status, NULL);
    }
    write_sarif(false, 0, NULL); /* a valid, empty log from the start */
}

void
lg_reporting_atfork_prepare(void)
{
    report_enter();
}

void
lg_reporting_atfork_parent(void)
{
    report_leave();
}

void
lg_reporting_atfork_child(void)
{
    lg_mutex_reset(&report_lock);
    atomic_store_explicit(&report_owner, 0, memory_order_relaxed);
    /* The parent's reports are the parent's: a child that inherited the
     * count exited 66 from its own clean exit, and a parent that checks
     * its children's status saw them fail. (What was reported stays known,
     * so the child does not say it again.) */
    atomic_store_explicit(&nreports, 0, memory_order_relaxed);
}

/* ---- the DOT picture at exit ------------------------------------------- */

struct dot_ctx {
    struct lg_buf *b;
    bool nodes_pass;
    lg_node_id *done;
    size_t ndone, cap;
};

static bool
red(lg_node_id from, lg_node_id to)
{
    for (size_t i = 0; i < nred; i++)
        if (red_edges[i].from == from && (to == 0 || red_edges[i].to == to))
            return true;
    return false;
}

static void
dot_node(struct dot_ctx *d, lg_node_id node)
{
    for (size_t i = 0; i < d->ndone; i++)
        if (d->done[i] == node)
            return;
    if (d->ndone == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        void *grown = lg_grow(&lg_mem, d->done, d->cap * sizeof *d->done, cap * sizeof *d->done);
        if (!grown)
            return;
        d->done = grown;
        d->cap = cap;
    }
    d->done[d->ndone++] = node;
    struct lg_lock *l = lg_lock_by_node(node);
    char label[200];
    const char *name = l ? lg_symbolize_data(lg_lock_addr(l), lg_lock_object_size(l)) : NULL;
    if (l && name)
        snprintf(label, sizeof label, "L%llu %s\n%s", (unsigned long long)l->id, name,
                 lg_lock_type_name(l));
    else if (l)
        snprintf(label, sizeof label, "L%llu 0x%lx\n%s", (unsigned long long)l->id,
                 (unsigned long)lg_lock_addr(l), lg_lock_type_name(l));
    else
        snprintf(label, sizeof label, "lock (destroyed)");
    bool on_cycle = false;
    for (size_t i = 0; i < nred && !on_cycle; i++)
        on_cycle = red_edges[i].from == node || red_edges[i].to == node;
    lg_dot_node(d->b, node, label, on_cycle);
}

static void
dot_edge(void *ctx, lg_node_id from, lg_node_id to, const struct lg_edge_label *labels,
         uint32_t nlabels, bool cyclic)
{
    (void)cyclic;
    struct dot_ctx *d = ctx;
    if (d->nodes_pass) {
        dot_node(d, from);
        dot_node(d, to);
        return;
    }
    char label[128];
    int w = 0;
    for (uint32_t i = 0; i < nlabels && w >= 0 && (size_t)w < sizeof label - 16; i++)
        w += snprintf(label + w, sizeof label - (size_t)w, "%sT%u", i ? "," : "",
                      labels[i].thread);
    lg_dot_edge(d->b, from, to, label, red(from, to));
}

/* How long the way out waits for an internal lock another thread holds
 * (that thread may be writing a report, symbolising with addr2line, ...)
 * before it goes without what the lock guards. */
#define EXIT_LOCK_WAIT_MS 2000

static void
write_dot(bool may_wait)
{
    if (!may_wait && !lock_within(&lg_graph_lock, EXIT_LOCK_WAIT_MS)) {
        lg_note("the DOT picture is not written: another thread kept the lock-order graph "
                "busy for %d ms", EXIT_LOCK_WAIT_MS);
        return;
    }
    if (may_wait)
        lg_mutex_lock(&lg_graph_lock);
    struct lg_buf b;
    lg_buf_init(&b, &lg_mem);
    struct dot_ctx d = { &b, true, NULL, 0, 0 };
    lg_dot_begin(&b);
    lg_graph_each_edge(lg_graph, dot_edge, &d);
    d.nodes_pass = false;
    lg_graph_each_edge(lg_graph, dot_edge, &d);
    lg_mutex_unlock(&lg_graph_lock);
    lg_dot_end(&b);
    lg_out_replace(LG_OUT_DOT, b.data, b.len);
    lg_mem_free(d.done, d.cap * sizeof *d.done);
    lg_buf_free(&b);
}

/*
 * What is written when the process ends: the SARIF log in its final form
 * (`sarif`: the exit status is known) and the DOT picture, each once,
 * whichever way the process ends: at exit, or from lg_exit_now() after a
 * report that stops the program. That may be called by the thread holding
 * report_lock (halt_on_error) or by any other thread; there `may_wait` is
 * false and no lock is waited for longer than EXIT_LOCK_WAIT_MS, so a
 * holder that never lets go cannot hang the exit.
 */
static void
write_final_outputs(bool may_wait, bool sarif, int status, const char *why)
{
    static atomic_bool dot_done, sarif_done;
    if (getpid() != outputs_pid)
        return; /* a fork child: see sarif_run */
    bool dot = lg_opt.dot[0] && lg_graph
               && !atomic_exchange_explicit(&dot_done, true, memory_order_acq_rel);
    sarif = sarif && lg_opt.sarif[0]
            && !atomic_exchange_explicit(&sarif_done, true, memory_order_acq_rel);
    if (!dot && !sarif)
        return;
    bool mine = atomic_load_explicit(&report_owner, memory_order_relaxed) == (long)gettid();
    if (!mine && !may_wait && !lock_within(&report_lock, EXIT_LOCK_WAIT_MS)) {
        lg_note("the SARIF and DOT outputs are not completed: another thread kept writing a "
                "report for %d ms", EXIT_LOCK_WAIT_MS);
        return;
    }
    if (!mine && may_wait)
        lg_mutex_lock(&report_lock);
    if (sarif)
        write_sarif(true, status, why);
    if (dot)
        write_dot(may_wait);
    if (!mine)
        lg_mutex_unlock(&report_lock);
}

/* The end of checking (flush: whether the program's streams are flushed
 * before lockgraph ends the process with exitcode, as exit() would flush
 * them; quick_exit does not). */
static void
reporting_finish(bool flush)
{
    if (atomic_exchange_explicit(&exiting, true, memory_order_relaxed))
        return;
    /* A report under way (emit() counts it under report_lock) is counted
     * before the decision; one that starts after it ends the process from
     * emit(). Nobody is waited for longer than EXIT_LOCK_WAIT_MS. */
    bool locked = lock_within(&report_lock, EXIT_LOCK_WAIT_MS);
    uint64_t n = lg_reports_count();
    bool stop = n > 0 && lg_opt.exitcode;
    if (!stop)
        atomic_store_explicit(&exit_decided_clean, true, memory_order_release);
    if (locked)
        lg_mutex_unlock(&report_lock);
    lg_diag_last_words();
    say_closing_line();
    /* The program's own status is known only later (at_exit_status). */
    write_final_outputs(true, stop, (int)lg_opt.exitcode,
                        "lockgraph reported a problem: the exit status is its exitcode");
    report_enter();
    if (lg_opt.verbosity >= 1) {
        struct lg_graph_stats st = { 0 };
        if (lg_graph)
            lg_graph_stats(lg_graph, &st);
        lg_note("exit: %llu report(s); %llu locks in the graph, %llu edges; %llu locks live",
                (unsigned long long)n, (unsigned long long)st.nodes,
                (unsigned long long)st.edges, (unsigned long long)lg_locks_live());
        lg_note("graph: %llu labels (%llu replaced by newer threads), %llu held sets, "
                "%llu cycle searches cut short",
                (unsigned long long)st.labels, (unsigned long long)st.labels_replaced,
                (unsigned long long)st.held_sets, (unsigned long long)st.searches_truncated);
    }
    report_leave();
    /* The exit status is lockgraph's. This runs once every destructor has
     * (init.c: stop_checking): they are not skipped, and the streams are
     * flushed here, as glibc's own flush after the exit handlers would. */
    if (stop) {
        if (flush)
            flush_stdio();
        _exit((int)lg_opt.exitcode);
    }
}

void
lg_reporting_finish(void)
{
    reporting_finish(true);
}

void
lg_reporting_quick_exit(int status)
{
    reporting_finish(false);
    /* Nothing was reported, or exitcode=0: the program's status stands.
     * exit()'s handlers, at_exit_status among them, do not run. */
    at_exit_status(status, NULL);
}
