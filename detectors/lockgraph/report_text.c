/*
 * report_text.c - the text report, for people: a banner, the table of who
 * holds and wants what, the facts, then the stacks that prove it, every
 * line prefixed with ==pid== as the sanitizers and Valgrind do.
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LG_FN_WIDTH_MAX 40

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

static const char *
lg_wanted_header(const struct lg_report *r)
{
    return strcmp(lg_wanted_verb(r, true), "waits for") == 0 ? "waits for" : "wants";
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
        any_wanted |= row->wanted >= 0 || row->wanted_what;
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
        if (row->wanted < 0 && row->wanted_what)
            snprintf(c2, sizeof c2, "%s", row->wanted_what);
        else
            lg_lock_cell(c2, sizeof c2, r, row->wanted, row->wanted_shared);
        if (!any_held)
            c1[0] = '\0';
        if (!any_wanted)
            c2[0] = '\0';
        lg_text_line(b, r, "  %-*s%-*s%s", (int)w0, c0, pw1, c1, c2);
    }
}

/*
 * For a lock-order inversion, the schedule that turns it into a deadlock
 * (lockdep's "possible unsafe locking scenario"): every thread takes the
 * lock it holds in its row, then each waits for the next one's. Only when
 * that schedule exists: one row per thread, and each row wanting the lock
 * the next row holds.
 */
static void
lg_text_scenario(struct lg_buf *b, const struct lg_report *r)
{
    uint32_t n = lg_nrows(r);
    if (!lg_kind_is(r, "lock-order-inversion") || n < 2)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_rep_row *row = &r->rows[i], *next = &r->rows[(i + 1) % n];
        if (!lg_rthread(r, row->thread) || !lg_rlock(r, row->held) || !lg_rlock(r, row->wanted)
            || row->wanted != next->held)
            return;
        for (uint32_t j = 0; j < i; j++)
            if (r->rows[j].thread == row->thread)
                return;
    }
    char t[LG_CELL], t2[LG_CELL], cell[LG_CELL];
    lg_text_line(b, r, "If the threads run in this order, they deadlock:");
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_rep_row *row = &r->rows[i];
        lg_thread_ref(t, sizeof t, r, row->thread);
        lg_lock_cell(cell, sizeof cell, r, row->held, row->held_shared);
        lg_text_line(b, r, "  %s takes %s", t, cell);
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_rep_row *row = &r->rows[i];
        lg_thread_ref(t, sizeof t, r, row->thread);
        lg_thread_ref(t2, sizeof t2, r, r->rows[(i + 1) % n].thread);
        lg_lock_cell(cell, sizeof cell, r, row->wanted, row->wanted_shared);
        lg_text_line(b, r, "  %s waits for %s, which %s holds", t, cell, t2);
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
            else if (strcmp(verb, "then took") == 0)
                lg_text_line(b, r, "%s took %s while holding %s, at:", t, wanted, held);
            else if (row->wanted < 0 && row->wanted_what)
                lg_text_line(b, r, "%s waits for %s at:", t, row->wanted_what);
            else if (row->wanted < 0 && strcmp(verb, "waits for") == 0)
                lg_text_line(b, r, "%s waits at:", t); /* for what: see the fields */
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
    lg_text_separate(b, r); /* the locks' paragraphs follow */
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
    lg_text_scenario(b, r);
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
    else if (f && !f->file && f->module)
        lg_buf_printf(b, " (%s+0x%" PRIxPTR ")", lg_basename(f->module), f->offset);
    lg_text_end(b, start);
}
