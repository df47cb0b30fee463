/*
 * report_json.c - one JSON object per report, on one line. The field names
 * are an interface (the harness reads "kind"): add fields, never rename.
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
lg_json_fields(struct lg_buf *b, bool *first, const struct lg_report *r)
{
    for (uint32_t i = 0; r->fields && i < r->nfields; i++) {
        const struct lg_rep_field *f = &r->fields[i];
        if (!f->key)
            continue;
        lg_json_key(b, first, f->key);
        if (f->is_number)
            lg_json_number(b, f->number);
        else
            lg_buf_json_string(b, f->text);
    }
}

void
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
void
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
        lg_json_key(b, &f2, "wanted_what");
        lg_buf_json_string(b, row->wanted_what);
        lg_buf_put(b, "}", 1);
    }
    lg_buf_put(b, "]", 1);

    lg_json_key(b, &first, "fields");
    lg_buf_put(b, "{", 1);
    bool ff = true;
    lg_json_fields(b, &ff, r);
    lg_buf_put(b, "}", 1);

    lg_json_key(b, &first, "stack");
    lg_json_stack(b, r->current);
    lg_buf_put(b, "}\n", 2);
}
