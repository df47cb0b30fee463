/*
 * report.c - the report writers: text, JSON lines, SARIF 2.1.0 and DOT.
 *
 * Everything here only formats. Memory comes from the buffer's allocator and
 * the only libc formatting used is vsnprintf/snprintf into memory, so the
 * runtime can call these from wherever it noticed the problem (with its own
 * lock held, from a thread that is about to be reported as deadlocked, ...)
 * and emit the result with a single write(2).
 *
 * A report is built by the runtime and may be partial: any array may be
 * empty or NULL, any index may be -1 or out of range, any string NULL. The
 * writers show what is there and never dereference what is not.
 */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- the buffer -------------------------------------------------------- */

/* Below this a buffer does not bother to grow in small steps. */
#define LG_BUF_MIN 256

void
lg_buf_init(struct lg_buf *b, const struct lg_alloc *alloc)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->alloc = alloc;
    b->failed = false;
}

void
lg_buf_free(struct lg_buf *b)
{
    if (b->data && b->alloc)
        lg_free(b->alloc, b->data, b->cap);
    lg_buf_init(b, b->alloc);
}

void
lg_buf_reset(struct lg_buf *b)
{
    /* The text is gone, so the truncation it suffered is gone too. */
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

/*
 * Make room for `extra` more bytes plus the terminating NUL. Doubling keeps
 * the number of copies logarithmic; if the doubled size cannot be had, the
 * exact size is tried before giving up, because a report that just fits is
 * worth more than a truncated one.
 */
static bool
lg_buf_reserve(struct lg_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - 1 - b->len)
        return false;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    if (!b->alloc || !b->alloc->alloc)
        return false;
    size_t cap = b->cap < LG_BUF_MIN ? LG_BUF_MIN : b->cap;
    while (cap < need && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (cap < need)
        cap = need;
    char *p = lg_grow(b->alloc, b->data, b->cap, cap);
    if (!p && cap > need) {
        cap = need;
        p = lg_grow(b->alloc, b->data, b->cap, cap);
    }
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

/* Out of memory: keep the prefix that fits, and stop appending so the text
 * stays a prefix of the whole (no holes a reader would not notice). */
static void
lg_buf_put_partial(struct lg_buf *b, const char *s, size_t n)
{
    size_t room = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
    if (n > room)
        n = room;
    if (n) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
    }
    b->failed = true;
}

void
lg_buf_put(struct lg_buf *b, const char *s, size_t n)
{
    if (b->failed || !s || n == 0)
        return;
    if (!lg_buf_reserve(b, n)) {
        lg_buf_put_partial(b, s, n);
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
lg_buf_puts(struct lg_buf *b, const char *s)
{
    if (s)
        lg_buf_put(b, s, strlen(s));
}

void
lg_buf_vprintf(struct lg_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;

    if (b->failed || !fmt)
        return;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        /* An encoding error: nothing sensible can be appended. */
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        lg_buf_put(b, small, (size_t)n);
        return;
    }
    if (!lg_buf_reserve(b, (size_t)n)) {
        lg_buf_put_partial(b, small, sizeof small - 1);
        return;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void
lg_buf_printf(struct lg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of the well-formed UTF-8 sequence at s (1 to 4), or 0 if the
 * bytes there are not one (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF). A NUL is never a continuation byte, so this cannot read
 * past the end of the string. */
static size_t
lg_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

/*
 * Symbols and paths come from the program being checked and may hold any
 * bytes. A consumer of the JSON must never choke on a report, so invalid
 * UTF-8 becomes U+FFFD rather than being passed through.
 */
void
lg_buf_json_string(struct lg_buf *b, const char *s)
{
    if (!s) {
        lg_buf_put(b, "null", 4);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    lg_buf_put(b, "\"", 1);
    while (*p) {
        const unsigned char *run = p;
        size_t n;
        /* Copy the longest stretch that needs no escaping in one go. */
        while (*p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7F &&
               (n = lg_utf8_len(p)) != 0)
            p += n;
        lg_buf_put(b, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        if (*p == '"' || *p == '\\') {
            char esc[2] = { '\\', (char)*p };
            lg_buf_put(b, esc, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7F) {
            lg_buf_printf(b, "\\u%04x", (unsigned)*p);
            p++;
        } else {
            lg_buf_put(b, "\\ufffd", 6);
            p++;
        }
    }
    lg_buf_put(b, "\"", 1);
}

/* ---- what each kind of report means ------------------------------------ */

struct lg_kind_info {
    const char *kind;
    const char *rule_name; /* SARIF rule name: PascalCase by convention */
    const char *banner;    /* the banner's parenthesis */
    const char *full;      /* SARIF fullDescription */
};

static const struct lg_kind_info lg_kinds[] = {
    { "lock-order-inversion", "LockOrderInversion", "potential deadlock",
      "Threads took the same locks in different orders. No deadlock happened "
      "in this run, but there is an interleaving in which each thread holds "
      "one lock of the cycle and waits forever for the next." },
    { "self-deadlock", "SelfDeadlock", "a thread waits for a lock it holds",
      "A thread tried to take a non-recursive lock it already holds: it "
      "blocks forever, or gets EDEADLK from an error-checking mutex." },
    { "deadlock", "Deadlock", "threads are blocked waiting for each other",
      "Threads were blocked in a cycle, each waiting for a lock that the "
      "next one holds. lockgraph reported the cycle and ended the process "
      "instead of letting it hang." },
    { "abandoned-lock", "AbandonedLock", "a thread exited holding a lock",
      "A thread exited while still holding a lock, so every later attempt "
      "to take the lock blocks forever (a robust mutex reports EOWNERDEAD "
      "instead)." },
    { "unlock-not-owner", "UnlockNotOwner",
      "unlock of a lock held by another thread",
      "A thread unlocked a lock that another thread holds. This is undefined "
      "behaviour for a default mutex and fails with EPERM for an "
      "error-checking one." },
    { "unlock-unlocked", "UnlockUnlocked", "unlock of a lock nobody holds",
      "A thread unlocked a lock that was not locked. This is undefined "
      "behaviour for a default mutex and can corrupt the lock's state." },
    { "destroy-locked", "DestroyLocked", "destroy of a lock that is held",
      "A lock was destroyed while a thread held it. This is undefined "
      "behaviour: the holder and any waiter are left with a dead lock." },
    { "starvation", "Starvation",
      "a thread cannot get a lock others keep getting",
      "A thread kept trying to take a lock for a long time while other "
      "threads were granted the same lock again and again." },
    { "livelock", "Livelock", "threads keep backing off without progress",
      "Threads kept failing trylocks and backing off for a long time, and "
      "none of them made progress." },
    { "stall", "Stall", "every thread is blocked",
      "Every thread of the process was blocked for a long time with no lock "
      "cycle among them, for example waiting on a condition variable that "
      "nobody signals." },
    { "cond-misuse", "CondMisuse", "a condition variable used wrongly",
      "A thread waited on a condition variable with a mutex it did not hold, "
      "with something that is not a mutex, or with another mutex than the "
      "threads already waiting on it. POSIX leaves all of these undefined." },
    { "barrier-misuse", "BarrierMisuse", "a barrier used wrongly",
      "A barrier was set up with a count of zero, set up again while in use "
      "or without being destroyed, or destroyed while threads waited at it." },
    { "invalid-mutex", "InvalidMutex", "use of something that is not a mutex",
      "A mutex function was called on memory that holds no mutex: one that "
      "was destroyed and not set up again, or memory that never was one. "
      "glibc answers EINVAL or does nothing." },
};

#define LG_NKINDS (sizeof lg_kinds / sizeof lg_kinds[0])

static int
lg_kind_index(const char *kind)
{
    if (!kind)
        return -1;
    for (size_t i = 0; i < LG_NKINDS; i++)
        if (strcmp(lg_kinds[i].kind, kind) == 0)
            return (int)i;
    return -1;
}

static bool
lg_kind_is(const struct lg_report *r, const char *kind)
{
    return r->kind && strcmp(r->kind, kind) == 0;
}

/* ---- safe access to a possibly partial report -------------------------- */

static const struct lg_rep_lock *
lg_rlock(const struct lg_report *r, int32_t i)
{
    if (!r->locks || i < 0 || (uint32_t)i >= r->nlocks)
        return NULL;
    return &r->locks[i];
}

static const struct lg_rep_thread *
lg_rthread(const struct lg_report *r, int32_t i)
{
    if (!r->threads || i < 0 || (uint32_t)i >= r->nthreads)
        return NULL;
    return &r->threads[i];
}

static uint32_t
lg_nrows(const struct lg_report *r)
{
    return r->rows ? r->nrows : 0;
}

static uint32_t
lg_nframes(const struct lg_stack *s)
{
    return s && s->frames ? s->n : 0;
}

static const char *
lg_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool
lg_frame_equal(const struct lg_frame *a, const struct lg_frame *b)
{
    if (a->pc != b->pc || a->line != b->line || a->offset != b->offset)
        return false;
    if (!a->function != !b->function || !a->file != !b->file)
        return false;
    if (a->function && strcmp(a->function, b->function) != 0)
        return false;
    return !a->file || strcmp(a->file, b->file) == 0;
}

static bool
lg_stack_equal(const struct lg_stack *a, const struct lg_stack *b)
{
    if (a == b)
        return true;
    uint32_t n = lg_nframes(a);
    if (!a || !b || n != lg_nframes(b))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!lg_frame_equal(&a->frames[i], &b->frames[i]))
            return false;
    return true;
}

/* The innermost frame with a source file (or, when want_file is false, with
 * a function name) of s, or NULL. */
static const struct lg_frame *
lg_stack_pick(const struct lg_stack *s, bool want_file)
{
    uint32_t n = lg_nframes(s);
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_frame *f = &s->frames[i];
        if (want_file ? f->file != NULL : f->function != NULL)
            return f;
    }
    return NULL;
}

/*
 * The place a report is about, for SUMMARY and SARIF: the reporting
 * thread's stack first (that is where the program did the wrong thing),
 * then the rows' stacks in order. Source lines beat function names.
 */
static const struct lg_frame *
lg_report_place(const struct lg_report *r)
{
    for (int want_file = 1; want_file >= 0; want_file--) {
        const struct lg_frame *f = lg_stack_pick(r->current, want_file);
        for (uint32_t i = 0; !f && i < lg_nrows(r); i++) {
            f = lg_stack_pick(r->rows[i].wanted_at, want_file);
            if (!f)
                f = lg_stack_pick(r->rows[i].held_at, want_file);
        }
        if (f)
            return f;
    }
    return NULL;
}

/* "L3", or "L?" for an index the report does not carry. */
static void
lg_lock_ref(char *out, size_t n, const struct lg_report *r, int32_t idx)
{
    const struct lg_rep_lock *l = lg_rlock(r, idx);
    if (l)
        snprintf(out, n, "L%" PRIu64, l->id);
    else
        snprintf(out, n, "%s", idx < 0 ? "-" : "L?");
}

static void
lg_thread_ref(char *out, size_t n, const struct lg_report *r, int32_t idx)
{
    const struct lg_rep_thread *t = lg_rthread(r, idx);
    if (t)
        snprintf(out, n, "T%" PRIu32, t->num);
    else
        snprintf(out, n, "%s", idx < 0 ? "-" : "T?");
}

static const char *
lg_lock_mode(const struct lg_rep_lock *l, bool shared)
{
    if (shared)
        return ", read";
    /* Only a lock that has a read mode needs to say it was not used. */
    if (l->type && strstr(l->type, "rwlock"))
        return ", write";
    return "";
}

/* "L1 chopstick (mutex)", "L4 0x7f0a12 (rwlock, read)" or "-". */
static void
lg_lock_cell(char *out, size_t n, const struct lg_report *r, int32_t idx,
             bool shared)
{
    const struct lg_rep_lock *l = lg_rlock(r, idx);
    if (!l) {
        lg_lock_ref(out, n, r, idx);
        return;
    }
    const char *type = l->type ? l->type : "lock";
    if (l->name)
        snprintf(out, n, "L%" PRIu64 " %s (%s%s)", l->id, l->name, type,
                 lg_lock_mode(l, shared));
    else
        snprintf(out, n, "L%" PRIu64 " 0x%" PRIxPTR " (%s%s)", l->id, l->addr,
                 type, lg_lock_mode(l, shared));
}

/* ---- text -------------------------------------------------------------- */

#define LG_CELL 192
#define LG_FN_WIDTH_MAX 40

/* Every text line starts with ==pid== so a report stays readable when the
 * program's own output is interleaved with it. */
static size_t
lg_text_begin(struct lg_buf *b, const struct lg_report *r)
{
    lg_buf_printf(b, "==%ld==", r->pid);
    return b->len;
}

/* A stray newline in a symbol or a thread name would start a line without
 * the prefix (and could forge one), so control characters become '?'. */
static void
lg_text_end(struct lg_buf *b, size_t start)
{
    for (size_t i = start; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c < 0x20 || c == 0x7F)
            b->data[i] = c == '\t' ? ' ' : '?';
    }
    lg_buf_put(b, "\n", 1);
}

static void lg_text_line(struct lg_buf *b, const struct lg_report *r,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lg_text_line(struct lg_buf *b, const struct lg_report *r, const char *fmt, ...)
{
    size_t start = lg_text_begin(b, r);
    if (fmt[0]) {
        va_list ap;
        lg_buf_put(b, " ", 1);
        va_start(ap, fmt);
        lg_buf_vprintf(b, fmt, ap);
        va_end(ap);
    }
    lg_text_end(b, start);
}

static void
lg_text_blank(struct lg_buf *b, const struct lg_report *r)
{
    lg_text_end(b, lg_text_begin(b, r));
}

/* A blank line, unless the text already ends in one. */
static void
lg_text_separate(struct lg_buf *b, const struct lg_report *r)
{
    char blank[32];
    int n = snprintf(blank, sizeof blank, "\n==%ld==\n", r->pid);
    if (n > 0 && (size_t)n < sizeof blank && b->len >= (size_t)n &&
        memcmp(b->data + b->len - n, blank, (size_t)n) == 0)
        return;
    lg_text_blank(b, r);
}

static void
lg_text_stack(struct lg_buf *b, const struct lg_report *r,
              const struct lg_stack *s)
{
    uint32_t n = lg_nframes(s);
    char pcbuf[2 + 2 * sizeof(uintptr_t) + 1];
    int width = 0;

    if (n == 0) {
        lg_text_line(b, r, "    (no frames recorded)");
        return;
    }
    /* Line the files up: they are what a reader scans for. */
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_frame *f = &s->frames[i];
        size_t len = f->function ? strlen(f->function)
                                 : (size_t)snprintf(pcbuf, sizeof pcbuf,
                                                    "0x%" PRIxPTR, f->pc);
        if (len > LG_FN_WIDTH_MAX)
            len = LG_FN_WIDTH_MAX;
        if ((int)len > width)
            width = (int)len;
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_frame *f = &s->frames[i];
        const char *fn = f->function;
        if (!fn) {
            snprintf(pcbuf, sizeof pcbuf, "0x%" PRIxPTR, f->pc);
            fn = pcbuf;
        }
        size_t start = lg_text_begin(b, r);
        if (f->file) {
            lg_buf_printf(b, "     #%" PRIu32 " %-*s %s", i, width, fn, f->file);
            if (f->line)
                lg_buf_printf(b, ":%u", f->line);
        } else {
            lg_buf_printf(b, "     #%" PRIu32 " %s", i, fn);
        }
        if (f->module)
            lg_buf_printf(b, " (%s+0x%" PRIxPTR ")", lg_basename(f->module),
                          f->offset);
        else if (f->function && f->pc)
            lg_buf_printf(b, " (0x%" PRIxPTR ")", f->pc);
        lg_text_end(b, start);
    }
}

/* What a row's second stack shows depends on the kind of report. */
static const char *
lg_wanted_verb(const struct lg_report *r, bool has_held)
{
    if (lg_kind_is(r, "lock-order-inversion"))
        return has_held ? "then took" : "took";
    if (lg_kind_is(r, "self-deadlock"))
        return "takes again";
    if (lg_kind_is(r, "deadlock") || lg_kind_is(r, "stall"))
        return "waits for";
    if (lg_kind_is(r, "starvation") || lg_kind_is(r, "livelock"))
        return "tries to take";
    if (lg_kind_is(r, "unlock-not-owner") || lg_kind_is(r, "unlock-unlocked"))
        return "unlocks";
    if (lg_kind_is(r, "destroy-locked"))
        return "destroys";
    return "wants";
}

static const char *
lg_wanted_header(const struct lg_report *r)
{
    if (lg_kind_is(r, "deadlock") || lg_kind_is(r, "stall"))
        return "waits for";
    return "wants";
}

static void
lg_text_table(struct lg_buf *b, const struct lg_report *r)
{
    uint32_t nrows = lg_nrows(r);
    char c0[LG_CELL], c1[LG_CELL], c2[LG_CELL];
    size_t w0 = strlen("thread"), w1 = strlen("holds");
    bool any_held = false, any_wanted = false;

    for (uint32_t i = 0; i < nrows; i++) {
        const struct lg_rep_row *row = &r->rows[i];
        lg_thread_ref(c0, sizeof c0, r, row->thread);
        lg_lock_cell(c1, sizeof c1, r, row->held, row->held_shared);
        if (strlen(c0) > w0)
            w0 = strlen(c0);
        if (strlen(c1) > w1)
            w1 = strlen(c1);
        any_held |= row->held >= 0;
        any_wanted |= row->wanted >= 0;
    }
    if (nrows == 0 || (!any_held && !any_wanted))
        return;
    w0 += 2;
    w1 += 2;
    /* A column that is "-" all the way down says nothing, and the last
     * column is not padded, so no line ends in blanks. */
    int pw1 = any_held && any_wanted ? (int)w1 : 0;
    lg_text_line(b, r, "  %-*s%-*s%s", (int)w0, "thread", pw1,
                 any_held ? "holds" : "", any_wanted ? lg_wanted_header(r) : "");
    for (uint32_t i = 0; i < nrows; i++) {
        const struct lg_rep_row *row = &r->rows[i];
        lg_thread_ref(c0, sizeof c0, r, row->thread);
        lg_lock_cell(c1, sizeof c1, r, row->held, row->held_shared);
        lg_lock_cell(c2, sizeof c2, r, row->wanted, row->wanted_shared);
        if (!any_held)
            c1[0] = '\0';
        if (!any_wanted)
            c2[0] = '\0';
        lg_text_line(b, r, "  %-*s%-*s%s", (int)w0, c0, pw1, c1, c2);
    }
}

static bool
lg_row_stack_seen(const struct lg_report *r, const struct lg_stack *s)
{
    for (uint32_t i = 0; i < lg_nrows(r); i++)
        if ((r->rows[i].held_at && lg_stack_equal(r->rows[i].held_at, s)) ||
            (r->rows[i].wanted_at && lg_stack_equal(r->rows[i].wanted_at, s)))
            return true;
    return false;
}

static void
lg_text_current(struct lg_buf *b, const struct lg_report *r)
{
    char t[LG_CELL];
    const char *verb = "is at";

    /* For an inversion or a deadlock the current stack is one of the rows'
     * and is printed there, labelled with what it means. */
    if (!r->current || lg_row_stack_seen(r, r->current))
        return;
    if (lg_kind_is(r, "unlock-not-owner") || lg_kind_is(r, "unlock-unlocked"))
        verb = "unlocks at";
    else if (lg_kind_is(r, "destroy-locked"))
        verb = "destroys the lock at";
    if (lg_rthread(r, r->current_thread)) {
        lg_thread_ref(t, sizeof t, r, r->current_thread);
        lg_text_line(b, r, "%s %s:", t, verb);
    } else {
        lg_text_line(b, r, "Reported at:");
    }
    lg_text_stack(b, r, r->current);
    lg_text_blank(b, r);
}

static void
lg_text_rows(struct lg_buf *b, const struct lg_report *r)
{
    char t[LG_CELL], held[LG_CELL], wanted[LG_CELL];

    for (uint32_t i = 0; i < lg_nrows(r); i++) {
        const struct lg_rep_row *row = &r->rows[i];
        lg_thread_ref(t, sizeof t, r, row->thread);
        lg_lock_ref(held, sizeof held, r, row->held);
        lg_lock_ref(wanted, sizeof wanted, r, row->wanted);
        if (row->held_at) {
            lg_text_line(b, r, "%s took %s at:", t, held);
            lg_text_stack(b, r, row->held_at);
            lg_text_blank(b, r);
        }
        if (row->wanted_at) {
            const char *verb = lg_wanted_verb(r, row->held >= 0);
            if (strcmp(verb, "takes again") == 0)
                lg_text_line(b, r, "%s takes %s again at:", t, wanted);
            else if (row->wanted < 0 && strcmp(verb, "waits for") == 0)
                lg_text_line(b, r, "%s waits at:", t); /* not for a lock: see the fields */
            else
                lg_text_line(b, r, "%s %s %s at:", t, verb, wanted);
            lg_text_stack(b, r, row->wanted_at);
            lg_text_blank(b, r);
        }
    }
}

static void
lg_text_threads(struct lg_buf *b, const struct lg_report *r)
{
    for (uint32_t i = 0; r->threads && i < r->nthreads; i++) {
        const struct lg_rep_thread *th = &r->threads[i];
        char name[LG_CELL] = "";
        if (th->name)
            snprintf(name, sizeof name, ", \"%s\"", th->name);
        if (th->created) {
            lg_text_line(b, r, "T%" PRIu32 " (tid %ld%s) was created at:", th->num,
                         th->tid, name);
            lg_text_stack(b, r, th->created);
            lg_text_blank(b, r);
        } else if (th->num == 1) {
            lg_text_line(b, r, "T1 (tid %ld%s) is the main thread", th->tid, name);
        } else {
            lg_text_line(b, r, "T%" PRIu32 " (tid %ld%s), created from an unknown "
                         "place", th->num, th->tid, name);
        }
    }
}

static void
lg_text_locks(struct lg_buf *b, const struct lg_report *r)
{
    for (uint32_t i = 0; r->locks && i < r->nlocks; i++) {
        const struct lg_rep_lock *l = &r->locks[i];
        size_t start = lg_text_begin(b, r);
        lg_buf_printf(b, " L%" PRIu64 " (%s at 0x%" PRIxPTR, l->id,
                      l->type ? l->type : "lock", l->addr);
        if (l->name)
            lg_buf_printf(b, ", %s", l->name);
        lg_buf_puts(b, l->init ? ") was first seen at:" : ")");
        lg_text_end(b, start);
        if (l->init) {
            lg_text_stack(b, r, l->init);
            lg_text_blank(b, r);
        }
    }
}

/* Integral values read better without a fraction ("waited_ms: 1500"). */
static bool
lg_is_integral(double v, long long *out)
{
    if (!(v > -9007199254740992.0 && v < 9007199254740992.0))
        return false; /* also NaN */
    long long i = (long long)v;
    if ((double)i != v)
        return false;
    *out = i;
    return true;
}

static void
lg_text_fields(struct lg_buf *b, const struct lg_report *r)
{
    for (uint32_t i = 0; r->fields && i < r->nfields; i++) {
        const struct lg_rep_field *f = &r->fields[i];
        const char *key = f->key ? f->key : "?";
        long long v;
        if (!f->is_number)
            lg_text_line(b, r, "%s: %s", key, f->text ? f->text : "");
        else if (lg_is_integral(f->number, &v))
            lg_text_line(b, r, "%s: %lld", key, v);
        else
            lg_text_line(b, r, "%s: %g", key, f->number);
    }
}

void
lg_report_text(struct lg_buf *b, const struct lg_report *r)
{
    int k = lg_kind_index(r->kind);
    const char *kind = r->kind ? r->kind : "report";

    if (k >= 0)
        lg_text_line(b, r, "lockgraph: %s (%s)", kind, lg_kinds[k].banner);
    else
        lg_text_line(b, r, "lockgraph: %s", kind);
    if (r->summary)
        lg_text_line(b, r, "%s", r->summary);
    lg_text_blank(b, r);
    /* The facts a reader needs first: who holds and wants what, and the
     * numbers behind the verdict; the stacks that prove it follow. */
    lg_text_table(b, r);
    lg_text_fields(b, r);
    lg_text_separate(b, r);
    lg_text_current(b, r);
    lg_text_rows(b, r);
    lg_text_threads(b, r);
    lg_text_locks(b, r);
    lg_text_separate(b, r);

    /* One greppable line, as sanitizers end theirs. */
    const struct lg_frame *f = lg_report_place(r);
    size_t start = lg_text_begin(b, r);
    lg_buf_printf(b, " SUMMARY: lockgraph: %s", kind);
    if (f && f->file) {
        lg_buf_printf(b, " %s", f->file);
        if (f->line)
            lg_buf_printf(b, ":%u", f->line);
    }
    if (f && f->function)
        lg_buf_printf(b, " in %s", f->function);
    lg_text_end(b, start);
}

/* ---- JSON -------------------------------------------------------------- */

static void
lg_json_key(struct lg_buf *b, bool *first, const char *key)
{
    if (!*first)
        lg_buf_put(b, ",", 1);
    *first = false;
    lg_buf_json_string(b, key);
    lg_buf_put(b, ":", 1);
}

static void
lg_json_hex(struct lg_buf *b, uintptr_t v)
{
    lg_buf_printf(b, "\"0x%" PRIxPTR "\"", v);
}

/* JSON has no NaN or infinity; an unknown number is null. */
static void
lg_json_number(struct lg_buf *b, double v)
{
    long long i;
    if (lg_is_integral(v, &i))
        lg_buf_printf(b, "%lld", i);
    else if (v == v && v - v == 0.0)
        lg_buf_printf(b, "%.17g", v);
    else
        lg_buf_put(b, "null", 4);
}

static void
lg_json_frame(struct lg_buf *b, const struct lg_frame *f)
{
    bool first = true;
    lg_buf_put(b, "{", 1);
    lg_json_key(b, &first, "pc");
    if (f->pc)
        lg_json_hex(b, f->pc);
    else
        lg_buf_puts(b, "null");
    lg_json_key(b, &first, "function");
    lg_buf_json_string(b, f->function);
    lg_json_key(b, &first, "file");
    lg_buf_json_string(b, f->file);
    lg_json_key(b, &first, "line");
    if (f->line)
        lg_buf_printf(b, "%u", f->line);
    else
        lg_buf_puts(b, "null");
    lg_json_key(b, &first, "module");
    lg_buf_json_string(b, f->module);
    lg_json_key(b, &first, "offset");
    /* Offset 0 from a known module is a real (if odd) offset. */
    if (f->module || f->offset)
        lg_json_hex(b, f->offset);
    else
        lg_buf_puts(b, "null");
    lg_buf_put(b, "}", 1);
}

static void
lg_json_stack(struct lg_buf *b, const struct lg_stack *s)
{
    if (!s) {
        lg_buf_puts(b, "null");
        return;
    }
    lg_buf_put(b, "[", 1);
    for (uint32_t i = 0; i < lg_nframes(s); i++) {
        if (i)
            lg_buf_put(b, ",", 1);
        lg_json_frame(b, &s->frames[i]);
    }
    lg_buf_put(b, "]", 1);
}

static void
lg_json_lock_id(struct lg_buf *b, const struct lg_report *r, int32_t idx)
{
    const struct lg_rep_lock *l = lg_rlock(r, idx);
    if (l)
        lg_buf_printf(b, "%" PRIu64, l->id);
    else
        lg_buf_puts(b, "null");
}

static void
lg_json_mode(struct lg_buf *b, const struct lg_report *r, int32_t idx, bool shared)
{
    if (lg_rlock(r, idx))
        lg_buf_puts(b, shared ? "\"shared\"" : "\"exclusive\"");
    else
        lg_buf_puts(b, "null");
}

void
lg_report_json(struct lg_buf *b, const struct lg_report *r)
{
    bool first = true;

    lg_buf_put(b, "{", 1);
    lg_json_key(b, &first, "kind");
    lg_buf_json_string(b, r->kind);
    lg_json_key(b, &first, "summary");
    lg_buf_json_string(b, r->summary);
    lg_json_key(b, &first, "seq");
    lg_buf_printf(b, "%" PRIu64, r->seq);
    lg_json_key(b, &first, "pid");
    lg_buf_printf(b, "%ld", r->pid);
    lg_json_key(b, &first, "current_thread");
    if (lg_rthread(r, r->current_thread))
        lg_buf_printf(b, "%" PRIu32, r->threads[r->current_thread].num);
    else
        lg_buf_puts(b, "null");

    lg_json_key(b, &first, "threads");
    lg_buf_put(b, "[", 1);
    for (uint32_t i = 0; r->threads && i < r->nthreads; i++) {
        const struct lg_rep_thread *t = &r->threads[i];
        bool f2 = true;
        lg_buf_puts(b, i ? ",{" : "{");
        lg_json_key(b, &f2, "num");
        lg_buf_printf(b, "%" PRIu32, t->num);
        lg_json_key(b, &f2, "tid");
        lg_buf_printf(b, "%ld", t->tid);
        lg_json_key(b, &f2, "name");
        lg_buf_json_string(b, t->name);
        lg_json_key(b, &f2, "created");
        lg_json_stack(b, t->created);
        lg_buf_put(b, "}", 1);
    }
    lg_buf_put(b, "]", 1);

    lg_json_key(b, &first, "locks");
    lg_buf_put(b, "[", 1);
    for (uint32_t i = 0; r->locks && i < r->nlocks; i++) {
        const struct lg_rep_lock *l = &r->locks[i];
        bool f2 = true;
        lg_buf_puts(b, i ? ",{" : "{");
        lg_json_key(b, &f2, "id");
        lg_buf_printf(b, "%" PRIu64, l->id);
        lg_json_key(b, &f2, "addr");
        lg_json_hex(b, l->addr);
        lg_json_key(b, &f2, "type");
        lg_buf_json_string(b, l->type);
        lg_json_key(b, &f2, "name");
        lg_buf_json_string(b, l->name);
        lg_json_key(b, &f2, "init");
        lg_json_stack(b, l->init);
        lg_buf_put(b, "}", 1);
    }
    lg_buf_put(b, "]", 1);

    lg_json_key(b, &first, "rows");
    lg_buf_put(b, "[", 1);
    for (uint32_t i = 0; i < lg_nrows(r); i++) {
        const struct lg_rep_row *row = &r->rows[i];
        const struct lg_rep_thread *t = lg_rthread(r, row->thread);
        bool f2 = true;
        lg_buf_puts(b, i ? ",{" : "{");
        lg_json_key(b, &f2, "thread");
        if (t)
            lg_buf_printf(b, "%" PRIu32, t->num);
        else
            lg_buf_puts(b, "null");
        lg_json_key(b, &f2, "held");
        lg_json_lock_id(b, r, row->held);
        lg_json_key(b, &f2, "held_mode");
        lg_json_mode(b, r, row->held, row->held_shared);
        lg_json_key(b, &f2, "wanted");
        lg_json_lock_id(b, r, row->wanted);
        lg_json_key(b, &f2, "wanted_mode");
        lg_json_mode(b, r, row->wanted, row->wanted_shared);
        lg_json_key(b, &f2, "held_at");
        lg_json_stack(b, row->held_at);
        lg_json_key(b, &f2, "wanted_at");
        lg_json_stack(b, row->wanted_at);
        lg_buf_put(b, "}", 1);
    }
    lg_buf_put(b, "]", 1);

    lg_json_key(b, &first, "fields");
    lg_buf_put(b, "{", 1);
    bool ff = true;
    for (uint32_t i = 0; r->fields && i < r->nfields; i++) {
        const struct lg_rep_field *f = &r->fields[i];
        if (!f->key)
            continue;
        lg_json_key(b, &ff, f->key);
        if (f->is_number)
            lg_json_number(b, f->number);
        else
            lg_buf_json_string(b, f->text);
    }
    lg_buf_put(b, "}", 1);

    lg_json_key(b, &first, "stack");
    lg_json_stack(b, r->current);
    lg_buf_put(b, "}\n", 2);
}

/* ---- SARIF ------------------------------------------------------------- */

/*
 * A file path as a URI reference (RFC 3986): an absolute path becomes a
 * file:// URI, a relative one stays relative so that code scanning resolves
 * it against the checkout. Everything outside the unreserved and path
 * characters is percent-encoded, which also leaves nothing to JSON-escape.
 */
static void
lg_sarif_uri(struct lg_buf *b, const char *path)
{
    static const char ok[] = "-._~/!$&'()*+,;=:@";
    lg_buf_put(b, "\"", 1);
    if (path[0] == '/')
        lg_buf_puts(b, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(ok, *p) != NULL;
        if (plain)
            lg_buf_put(b, (const char *)p, 1);
        else
            lg_buf_printf(b, "%%%02X", (unsigned)*p);
    }
    lg_buf_put(b, "\"", 1);
}

static void
lg_sarif_physical(struct lg_buf *b, const struct lg_frame *f)
{
    lg_buf_puts(b, "\"physicalLocation\":{\"artifactLocation\":{\"uri\":");
    lg_sarif_uri(b, f->file);
    lg_buf_put(b, "}", 1);
    /* SARIF lines start at 1; line 0 means unknown. */
    if (f->line)
        lg_buf_printf(b, ",\"region\":{\"startLine\":%u}", f->line);
    lg_buf_put(b, "}", 1);
}

/* A location object for frame f (may be NULL) with an optional message. */
static void
lg_sarif_location(struct lg_buf *b, const struct lg_frame *f, const char *msg)
{
    bool first = true;
    lg_buf_put(b, "{", 1);
    if (f && f->file) {
        first = false;
        lg_sarif_physical(b, f);
    } else if (f && f->pc) {
        first = false;
        lg_buf_printf(b, "\"physicalLocation\":{\"address\":{\"absoluteAddress\":"
                      "%" PRIuPTR "}}", f->pc);
    }
    if (f && f->function) {
        if (!first)
            lg_buf_put(b, ",", 1);
        first = false;
        lg_buf_puts(b, "\"logicalLocations\":[{\"name\":");
        lg_buf_json_string(b, f->function);
        lg_buf_puts(b, ",\"kind\":\"function\"}]");
    }
    if (msg) {
        if (!first)
            lg_buf_put(b, ",", 1);
        lg_buf_puts(b, "\"message\":{\"text\":");
        lg_buf_json_string(b, msg);
        lg_buf_put(b, "}", 1);
    }
    lg_buf_put(b, "}", 1);
}

static void
lg_sarif_stack(struct lg_buf *b, const struct lg_stack *s)
{
    lg_buf_puts(b, "{\"frames\":[");
    for (uint32_t i = 0; i < lg_nframes(s); i++) {
        const struct lg_frame *f = &s->frames[i];
        if (i)
            lg_buf_put(b, ",", 1);
        lg_buf_puts(b, "{\"location\":");
        lg_sarif_location(b, f, NULL);
        if (f->module) {
            lg_buf_puts(b, ",\"module\":");
            lg_buf_json_string(b, f->module);
        }
        lg_buf_put(b, "}", 1);
    }
    lg_buf_puts(b, "]}");
}

/* One step of a thread flow: where the thread was, what it did there, and
 * its whole stack. */
static void
lg_sarif_flow_step(struct lg_buf *b, bool *first, const struct lg_stack *s,
                   const char *msg)
{
    const struct lg_frame *f = lg_stack_pick(s, true);
    if (!f)
        f = lg_stack_pick(s, false);
    if (!*first)
        lg_buf_put(b, ",", 1);
    *first = false;
    lg_buf_puts(b, "{\"location\":");
    lg_sarif_location(b, f, msg);
    if (lg_nframes(s)) {
        lg_buf_puts(b, ",\"stack\":");
        lg_sarif_stack(b, s);
    }
    lg_buf_put(b, "}", 1);
}

/*
 * A thread flow per thread of the table (rows of one thread are merged,
 * since a flow's id must be unique), each step a stack the rows carry.
 * SARIF forbids empty flows, so a thread without stacks gets none and a
 * report without any gets no codeFlows at all.
 */
static void
lg_sarif_code_flows(struct lg_buf *b, const struct lg_report *r)
{
    uint32_t nrows = lg_nrows(r);
    bool any = false;
    char t[LG_CELL], h[LG_CELL], w[LG_CELL], msg[3 * LG_CELL];

    for (uint32_t i = 0; i < nrows; i++)
        any |= r->rows[i].held_at || r->rows[i].wanted_at;
    if (!any)
        return;
    lg_buf_puts(b, ",\"codeFlows\":[{\"message\":{\"text\":");
    lg_buf_json_string(b, r->summary ? r->summary : r->kind);
    lg_buf_puts(b, "},\"threadFlows\":[");
    bool first_flow = true;
    for (uint32_t i = 0; i < nrows; i++) {
        int32_t th = r->rows[i].thread;
        bool seen = false, has = false;
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = r->rows[j].thread == th;
        for (uint32_t j = i; j < nrows && !has; j++)
            has = r->rows[j].thread == th &&
                  (r->rows[j].held_at || r->rows[j].wanted_at);
        if (seen || !has)
            continue;
        lg_thread_ref(t, sizeof t, r, th);
        if (!first_flow)
            lg_buf_put(b, ",", 1);
        first_flow = false;
        lg_buf_puts(b, "{\"id\":");
        lg_buf_json_string(b, t);
        lg_buf_puts(b, ",\"locations\":[");
        bool first = true;
        for (uint32_t j = i; j < nrows; j++) {
            const struct lg_rep_row *row = &r->rows[j];
            if (row->thread != th)
                continue;
            lg_lock_cell(h, sizeof h, r, row->held, row->held_shared);
            lg_lock_cell(w, sizeof w, r, row->wanted, row->wanted_shared);
            if (row->held_at) {
                snprintf(msg, sizeof msg, "%s takes %s", t, h);
                lg_sarif_flow_step(b, &first, row->held_at, msg);
            }
            if (row->wanted_at) {
                const char *verb = lg_wanted_verb(r, row->held >= 0);
                if (strcmp(verb, "takes again") == 0)
                    snprintf(msg, sizeof msg, "%s takes %s again", t, w);
                else
                    snprintf(msg, sizeof msg, "%s %s %s", t, verb, w);
                lg_sarif_flow_step(b, &first, row->wanted_at, msg);
            }
        }
        lg_buf_puts(b, "]}");
    }
    lg_buf_puts(b, "]}]");
}

void
lg_sarif_result(struct lg_buf *b, const struct lg_report *r)
{
    int k = lg_kind_index(r->kind);
    const struct lg_frame *place = lg_report_place(r);

    lg_buf_puts(b, "{\"ruleId\":");
    lg_buf_json_string(b, r->kind ? r->kind : "report");
    if (k >= 0)
        lg_buf_printf(b, ",\"ruleIndex\":%d", k);
    lg_buf_puts(b, ",\"level\":\"error\",\"message\":{\"text\":");
    lg_buf_json_string(b, r->summary ? r->summary : (r->kind ? r->kind : "report"));
    lg_buf_puts(b, "},\"locations\":[");
    if (place)
        lg_sarif_location(b, place, NULL);
    lg_buf_put(b, "]", 1);
    if (r->current && lg_nframes(r->current)) {
        lg_buf_puts(b, ",\"stacks\":[");
        lg_sarif_stack(b, r->current);
        lg_buf_put(b, "]", 1);
    }
    lg_sarif_code_flows(b, r);

    lg_buf_puts(b, ",\"properties\":{");
    bool first = true;
    lg_json_key(b, &first, "seq");
    lg_buf_printf(b, "%" PRIu64, r->seq);
    lg_json_key(b, &first, "pid");
    lg_buf_printf(b, "%ld", r->pid);
    for (uint32_t i = 0; r->fields && i < r->nfields; i++) {
        const struct lg_rep_field *f = &r->fields[i];
        if (!f->key)
            continue;
        lg_json_key(b, &first, f->key);
        if (f->is_number)
            lg_json_number(b, f->number);
        else
            lg_buf_json_string(b, f->text);
    }
    lg_buf_puts(b, "}}");
}

void
lg_sarif_log(struct lg_buf *b, const char *tool_version, const char *results,
             size_t results_len)
{
    lg_buf_puts(b, "{\"version\":\"2.1.0\","
                   "\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\","
                   "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"lockgraph\"");
    if (tool_version) {
        lg_buf_puts(b, ",\"version\":");
        lg_buf_json_string(b, tool_version);
    }
    lg_buf_puts(b, ",\"rules\":[");
    for (size_t i = 0; i < LG_NKINDS; i++) {
        const struct lg_kind_info *k = &lg_kinds[i];
        if (i)
            lg_buf_put(b, ",", 1);
        lg_buf_puts(b, "{\"id\":");
        lg_buf_json_string(b, k->kind);
        lg_buf_puts(b, ",\"name\":");
        lg_buf_json_string(b, k->rule_name);
        /* The banner phrase, capitalised, is the short description. */
        char s[LG_CELL];
        snprintf(s, sizeof s, "%s", k->banner);
        if (s[0] >= 'a' && s[0] <= 'z')
            s[0] = (char)(s[0] - 'a' + 'A');
        lg_buf_puts(b, ",\"shortDescription\":{\"text\":");
        lg_buf_json_string(b, s);
        lg_buf_puts(b, "},\"fullDescription\":{\"text\":");
        lg_buf_json_string(b, k->full);
        lg_buf_puts(b, "},\"defaultConfiguration\":{\"level\":\"error\"}}");
    }
    lg_buf_puts(b, "]}},\"results\":[");
    if (results && results_len)
        lg_buf_put(b, results, results_len);
    lg_buf_puts(b, "]}]}\n");
}

/* ---- DOT --------------------------------------------------------------- */

/* Inside a DOT string only '"' and '\' are special ('\' starts escapes such
 * as \n and \l); a raw newline is legal but would split our one-line items. */
static void
lg_dot_string(struct lg_buf *b, const char *s)
{
    lg_buf_put(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            lg_buf_put(b, esc, 2);
        } else if (c == '\n') {
            lg_buf_put(b, "\\n", 2);
        } else if (c < 0x20 || c == 0x7F) {
            lg_buf_put(b, " ", 1);
        } else {
            lg_buf_put(b, p, 1);
        }
    }
    lg_buf_put(b, "\"", 1);
}

void
lg_dot_begin(struct lg_buf *b)
{
    lg_buf_puts(b, "digraph lockgraph {\n"
                   "  rankdir=LR;\n"
                   "  node [shape=box, fontname=\"monospace\"];\n"
                   "  edge [fontname=\"monospace\", fontsize=10];\n");
}

void
lg_dot_node(struct lg_buf *b, uint64_t id, const char *label, bool on_cycle)
{
    char def[32];
    snprintf(def, sizeof def, "L%" PRIu64, id);
    lg_buf_printf(b, "  L%" PRIu64 " [label=", id);
    lg_dot_string(b, label ? label : def);
    if (on_cycle)
        lg_buf_puts(b, ", color=red, penwidth=2");
    lg_buf_puts(b, "];\n");
}

void
lg_dot_edge(struct lg_buf *b, uint64_t from, uint64_t to, const char *label,
            bool on_cycle)
{
    lg_buf_printf(b, "  L%" PRIu64 " -> L%" PRIu64, from, to);
    if (label || on_cycle) {
        lg_buf_puts(b, " [");
        if (label) {
            lg_buf_puts(b, "label=");
            lg_dot_string(b, label);
        }
        if (on_cycle)
            lg_buf_puts(b, label ? ", color=red, penwidth=2"
                                 : "color=red, penwidth=2");
        lg_buf_put(b, "]", 1);
    }
    lg_buf_puts(b, ";\n");
}

void
lg_dot_end(struct lg_buf *b)
{
    lg_buf_puts(b, "}\n");
}
