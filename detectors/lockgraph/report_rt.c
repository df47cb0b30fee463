/*
 * report_rt.c - from runtime state to written reports.
 *
 * Every report is decided and written under report_lock (one at a time, in
 * one piece), after the state it describes has been copied out of the
 * structures that other locks protect. Each distinct problem is reported
 * once: a cycle once per set of edges, a misuse once per kind, lock and
 * call site. Text goes to the log (stderr by default) with one write(2);
 * JSON is appended a line per report; the SARIF log is rewritten whole after
 * each report so that it is valid even if the process dies later.
 */
#include "rt.h"
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LG_VERSION "0.1.0"

static lg_mutex report_lock = LG_MUTEX_INIT;
static atomic_uint_fast64_t nreports;
static struct lg_buf sarif_results; /* result objects joined with "," */
static atomic_bool exiting;

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

static bool
suppressed(const struct lg_report *r)
{
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

static void
load_suppressions(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lg_note("cannot read suppressions file '%s': %s", path, strerror(errno));
        _exit(2);
    }
    size_t cap = 1 << 16, len = 0;
    char *text = lg_mem_alloc(cap);
    ssize_t n;
    while (text && len + 1 < cap && (n = read(fd, text + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (!text)
        return;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    supps = lg_mem_alloc(lines * sizeof *supps);
    unsigned line_no = 0;
    for (char *line = text; supps && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        line_no++;
        while (*line == ' ' || *line == '\t')
            line++;
        char *colon = strchr(line, ':');
        if (*line && *line != '#') {
            if (!colon || colon == line || !colon[1]) {
                lg_note("%s:%u: a suppression is '<kind>:<pattern>', not '%s'", path, line_no,
                        line);
                _exit(2);
            }
            *colon = 0;
            char *end = colon + strlen(colon + 1);
            while (end > colon + 1 && (*end == ' ' || *end == '\t' || *end == '\r'))
                *end-- = 0;
            supps[nsupps].kind = line;
            supps[nsupps].pattern = colon + 1;
            nsupps++;
        }
        line = nl ? nl + 1 : NULL;
    }
}

/* ---- writing ------------------------------------------------------------------ */

static void
append_file(const char *path, const char *data, size_t len, bool truncate)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND), 0644);
    if (fd < 0) {
        static atomic_bool said;
        lg_warn_once(&said, "cannot write '%s': %s", path, strerror(errno));
        return;
    }
    lg_write_all(fd, data, len);
    close(fd);
}

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
    lg_write_all(lg_diag_fd(), b.data, b.len);
    if (lg_opt.json[0]) {
        lg_buf_reset(&b);
        lg_report_json(&b, r);
        append_file(lg_opt.json, b.data, b.len, false);
    }
    if (lg_opt.sarif[0]) {
        if (sarif_results.len)
            lg_buf_puts(&sarif_results, ",");
        lg_sarif_result(&sarif_results, r);
        lg_buf_reset(&b);
        lg_sarif_log(&b, LG_VERSION, sarif_results.data ? sarif_results.data : "",
                     sarif_results.len);
        append_file(lg_opt.sarif, b.data, b.len, true);
    }
    lg_buf_free(&b);
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

bool
lg_report_inversion(struct lg_thread *t, const struct lg_cycle *c)
{
    /* The same set of edges is one problem, whichever edge closed it. */
    uint64_t sig = 0x1;
    for (uint32_t i = 0; i < c->n; i++)
        sig += mix(c->steps[i].from, c->steps[i].to);
    bool written = false;
    lg_mutex_lock(&report_lock);
    if (!first_time(mix(sig, 1))) {
        lg_mutex_unlock(&report_lock);
        return false;
    }
    struct builder b;
    struct lg_lock **locks = lg_mem_alloc(c->n * sizeof *locks);
    if (!builder_init(&b, "lock-order-inversion", c->n, c->n, c->n) || !locks)
        goto out;
    lg_mutex_lock(&lg_graph_lock);
    for (uint32_t i = 0; i < c->n; i++)
        locks[i] = lg_lock_by_node(c->steps[i].from);
    lg_mutex_unlock(&lg_graph_lock);
    for (uint32_t i = 0; i < c->n; i++) {
        const struct lg_cycle_step *s = &c->steps[i];
        struct lg_rep_row *row = &b.rows[b.r.nrows++];
        row->thread = add_thread(&b, s->label.thread);
        row->held = add_lock(&b, locks[i], 0);
        row->wanted = add_lock(&b, locks[(i + 1) % c->n], 0);
        row->held_shared = s->label.from_shared;
        row->wanted_shared = s->label.to_shared;
        row->held_at = stack_of(&b, (lg_stack_id)(s->label.payload >> 32));
        row->wanted_at = stack_of(&b, (lg_stack_id)(s->label.payload & 0xFFFFFFFFu));
    }
    /* Rows are in cycle order starting with the edge just taken. */
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
    /* Remember the edges for the DOT picture. */
    for (uint32_t i = 0; i < c->n; i++) {
        if (nred == red_cap) {
            size_t cap = red_cap ? red_cap * 2 : 64;
            void *grown = lg_grow(&lg_mem, red_edges, red_cap * sizeof *red_edges,
                                  cap * sizeof *red_edges);
            if (!grown)
                break;
            red_edges = grown;
            red_cap = cap;
        }
        red_edges[nred].from = c->steps[i].from;
        red_edges[nred++].to = c->steps[i].to;
    }
    finish_report(&b, t, true, &written);
out:
    builder_free(&b);
    lg_mem_free(locks, c->n * sizeof *locks);
    lg_mutex_unlock(&report_lock);
    return written;
}

bool
lg_report_self_deadlock(struct lg_thread *t, struct lg_lock *l, const struct lg_held *held,
                        uintptr_t site)
{
    (void)site;
    bool written = false;
    lg_mutex_lock(&report_lock);
    struct builder b;
    if (builder_init(&b, "self-deadlock", 1, 1, 1)) {
        struct lg_rep_row *row = &b.rows[b.r.nrows++];
        row->thread = add_thread(&b, t->num);
        row->held = row->wanted = add_lock(&b, l, 0);
        row->held_shared = held->mode == LG_SHARED;
        row->held_at = stack_of(&b, lg_stack_from_pc(held->site));
        row->wanted_at = stack_of(&b, lg_stack_capture(2));
        char name[160];
        snprintf(b.summary, sizeof b.summary,
                 "self-deadlock: T%u takes %s, which it already holds; it would wait "
                 "forever, so lockgraph stops the program",
                 t->num, lock_label(&b, row->held, name, sizeof name));
        finish_report(&b, t, true, &written);
    }
    builder_free(&b);
    lg_mutex_unlock(&report_lock);
    return written;
}

bool
lg_report_deadlock(struct lg_thread *const *threads, uint32_t n)
{
    static atomic_bool claimed;
    if (atomic_exchange_explicit(&claimed, true, memory_order_acq_rel))
        return false; /* another member of the cycle is reporting it */
    bool written = false;
    lg_mutex_lock(&report_lock);
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
            row->held_at = h ? stack_of(&b, lg_stack_from_pc(h->site)) : NULL;
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
    lg_mutex_unlock(&report_lock);
    return written;
}

bool
lg_report_abandoned(struct lg_thread *t)
{
    bool written = false;
    lg_mutex_lock(&report_lock);
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
            row->held_at = stack_of(&b, lg_stack_from_pc(h->site));
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
    lg_mutex_unlock(&report_lock);
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

bool
lg_report_misuse(struct lg_thread *t, const char *kind, struct lg_lock *l, uintptr_t addr,
                 long owner_tid, uintptr_t site)
{
    bool written = false;
    lg_mutex_lock(&report_lock);
    uint64_t sig = mix(mix(mix((uint64_t)(uintptr_t)kind, l ? lg_lock_addr(l) : addr), site),
                       l ? atomic_load_explicit(&l->uid, memory_order_relaxed) : 0);
    struct builder b;
    if (first_time(sig) && builder_init(&b, kind, 2, 1, 1)) {
        struct tid_search owner = { owner_tid, 0 };
        if (owner_tid > 0)
            lg_threads_each(find_tid, &owner);
        struct lg_rep_row *row = &b.rows[b.r.nrows++];
        int32_t li = add_lock(&b, l, addr);
        row->thread = owner.num ? add_thread(&b, owner.num) : -1;
        row->held = owner.num ? li : -1;
        row->wanted = -1;
        char name[160], who[48] = "";
        lock_label(&b, li, name, sizeof name);
        if (owner.num)
            snprintf(who, sizeof who, " (T%u holds it)", owner.num);
        else if (owner_tid > 0)
            snprintf(who, sizeof who, " (thread %ld holds it)", owner_tid);
        if (strcmp(kind, "unlock-unlocked") == 0)
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
    lg_mutex_unlock(&report_lock);
    return written;
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
    default: return "nothing";
    }
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

static int
stall_rank(const struct lg_live_member *m)
{
    return m->lost_wakeup ? 0 : m->block == LG_LIVE_LOCK ? 1 : 2;
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
    lg_mutex_lock(&report_lock);
    struct builder b;
    static char details[3][400];
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
        snprintf(b.summary, sizeof b.summary,
                 "starvation: T%u has tried to take %s for %.0f ms while other threads got it "
                 "%llu times (%s); Jain's fairness index %.2f",
                 starved->thread, lock_label(&b, li, name, sizeof name), ms,
                 (unsigned long long)v->lock_grants, details[0], v->jain);
        add_field(&b, "waited_ms", ms, NULL);
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
            row->wanted_at = stuck_at(&b, m->thread, false);
            struct lg_thread *holder = l ? lg_thread_by_tid(lg_lock_owner_tid(l)) : NULL;
            if (holder) {
                row->held = -1;
                append(details[0], sizeof details[0], "%sT%u: %s held by T%u", i ? ", " : "",
                       m->thread, lock_label(&b, row->wanted, name, sizeof name), holder->num);
            } else {
                append(details[0], sizeof details[0], "%sT%u: %s%s", i ? ", " : "", m->thread,
                       l ? lock_label(&b, row->wanted, name, sizeof name) : block_name(m->block),
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
    lg_mutex_unlock(&report_lock);
    return written;
}

uint64_t
lg_reports_count(void)
{
    return atomic_load_explicit(&nreports, memory_order_relaxed);
}

/* Flush what the program wrote, if nobody holds the stream (a deadlocked
 * thread may be inside printf), then leave. */
static void
flush_stdio(void)
{
    FILE *streams[] = { stdout, stderr };
    for (size_t i = 0; i < 2; i++)
        if (ftrylockfile(streams[i]) == 0) {
            fflush_unlocked(streams[i]);
            funlockfile(streams[i]);
        }
}

_Noreturn void
lg_exit_now(void)
{
    atomic_store_explicit(&exiting, true, memory_order_relaxed);
    atomic_store_explicit(&lg_active, false, memory_order_relaxed);
    flush_stdio();
    _exit(lg_opt.exitcode ? (int)lg_opt.exitcode : 66);
}

void
lg_reporting_init(void)
{
    if (lg_opt.log[0]) {
        int fd = open(lg_opt.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) {
            lg_note("cannot open log file '%s': %s", lg_opt.log, strerror(errno));
            _exit(2);
        }
        lg_diag_set_fd(fd);
    }
    lg_buf_init(&sarif_results, &lg_mem);
    if (lg_opt.suppressions[0])
        load_suppressions(lg_opt.suppressions);
    if (lg_opt.sarif[0]) {
        struct lg_buf b; /* a valid, empty log from the start */
        lg_buf_init(&b, &lg_mem);
        lg_sarif_log(&b, LG_VERSION, "", 0);
        append_file(lg_opt.sarif, b.data, b.len, true);
        lg_buf_free(&b);
    }
}

void
lg_reporting_atfork_prepare(void)
{
    lg_mutex_lock(&report_lock);
}

void
lg_reporting_atfork_parent(void)
{
    lg_mutex_unlock(&report_lock);
}

void
lg_reporting_atfork_child(void)
{
    lg_mutex_reset(&report_lock);
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

static void
write_dot(void)
{
    struct lg_buf b;
    lg_buf_init(&b, &lg_mem);
    struct dot_ctx d = { &b, true, NULL, 0, 0 };
    lg_dot_begin(&b);
    lg_mutex_lock(&lg_graph_lock);
    lg_graph_each_edge(lg_graph, dot_edge, &d);
    d.nodes_pass = false;
    lg_graph_each_edge(lg_graph, dot_edge, &d);
    lg_mutex_unlock(&lg_graph_lock);
    lg_dot_end(&b);
    append_file(lg_opt.dot, b.data, b.len, true);
    lg_mem_free(d.done, d.cap * sizeof *d.done);
    lg_buf_free(&b);
}

void
lg_reporting_finish(void)
{
    if (atomic_exchange_explicit(&exiting, true, memory_order_relaxed))
        return;
    lg_mutex_lock(&report_lock);
    if (lg_opt.dot[0] && lg_graph)
        write_dot();
    uint64_t n = lg_reports_count();
    if (lg_opt.verbosity >= 1) {
        struct lg_graph_stats st = { 0 };
        if (lg_graph)
            lg_graph_stats(lg_graph, &st);
        lg_note("exit: %llu report(s); %llu locks in the graph, %llu edges; %llu locks live",
                (unsigned long long)n, (unsigned long long)st.nodes,
                (unsigned long long)st.edges, (unsigned long long)lg_locks_live());
        if (st.labels_dropped || st.searches_truncated)
            lg_note("limits reached: %llu edge labels dropped, %llu cycle searches cut short",
                    (unsigned long long)st.labels_dropped,
                    (unsigned long long)st.searches_truncated);
    }
    lg_mutex_unlock(&report_lock);
    if (n > 0 && lg_opt.exitcode) {
        flush_stdio();
        _exit((int)lg_opt.exitcode);
    }
}
