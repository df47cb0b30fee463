/*
 * report_sarif.c - SARIF 2.1.0 for code scanning: a result per report, and
 * the log that wraps them.
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
    for (size_t i = 0; i < lg_nkinds; i++) {
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
