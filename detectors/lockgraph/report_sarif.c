/*
 * report_sarif.c - SARIF 2.1.0 for code scanning: a result per report, and
 * the log that wraps them.
 *
 * What code scanning needs beyond the format: file URIs relative to the
 * repository, with a uriBaseId (%SRCROOT%) whose absolute value is in
 * run.originalUriBaseIds, and an invocation saying how the analysed
 * process ended (exitCode, executionSuccessful).
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LG_SRCROOT "%SRCROOT%"

/* Percent-encode everything outside the unreserved and path characters
 * (RFC 3986), which also leaves nothing to JSON-escape. */
static void
lg_sarif_uri_chars(struct lg_buf *b, const char *s)
{
    static const char ok[] = "-._~/!$&'()*+,;=:@";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(ok, *p) != NULL;
        if (plain)
            lg_buf_put(b, (const char *)p, 1);
        else
            lg_buf_printf(b, "%%%02X", (unsigned)*p);
    }
}

/* The part of path below root ("src/a.c" for /repo/src/a.c under /repo),
 * or NULL when path is not under it. */
static const char *
lg_below_root(const char *path, const char *root)
{
    if (!root || root[0] != '/' || path[0] != '/')
        return NULL;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (strncmp(path, root, n) != 0)
        return NULL;
    if (n == 1) /* root is "/" */
        return path[1] ? path + 1 : NULL;
    return path[n] == '/' && path[n + 1] ? path + n + 1 : NULL;
}

/*
 * An artifactLocation for a file path: a file under root becomes a URI
 * relative to it with uriBaseId %SRCROOT% (code scanning maps it onto the
 * checkout); any other absolute path a file:// URI; a relative path (from
 * a compilation directory nobody recorded) stays relative.
 */
static void
lg_sarif_artifact(struct lg_buf *b, const char *path, const char *root)
{
    const char *rel = lg_below_root(path, root);
    lg_buf_puts(b, "{\"uri\":\"");
    if (!rel && path[0] == '/')
        lg_buf_puts(b, "file://");
    lg_sarif_uri_chars(b, rel ? rel : path);
    lg_buf_put(b, "\"", 1);
    if (rel)
        lg_buf_puts(b, ",\"uriBaseId\":\"" LG_SRCROOT "\"");
    lg_buf_put(b, "}", 1);
}

static void
lg_sarif_physical(struct lg_buf *b, const struct lg_frame *f, const char *root)
{
    lg_buf_puts(b, "\"physicalLocation\":{\"artifactLocation\":");
    lg_sarif_artifact(b, f->file, root);
    /* SARIF lines start at 1; line 0 means unknown. */
    if (f->line)
        lg_buf_printf(b, ",\"region\":{\"startLine\":%u}", f->line);
    lg_buf_put(b, "}", 1);
}

/* A location object for frame f (may be NULL) with an optional message. */
static void
lg_sarif_location(struct lg_buf *b, const struct lg_frame *f, const char *msg,
                  const char *root)
{
    bool first = true;
    lg_buf_put(b, "{", 1);
    if (f && f->file) {
        first = false;
        lg_sarif_physical(b, f, root);
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
lg_sarif_stack(struct lg_buf *b, const struct lg_stack *s, const char *root)
{
    lg_buf_puts(b, "{\"frames\":[");
    for (uint32_t i = 0; i < lg_nframes(s); i++) {
        const struct lg_frame *f = &s->frames[i];
        if (i)
            lg_buf_put(b, ",", 1);
        lg_buf_puts(b, "{\"location\":");
        lg_sarif_location(b, f, NULL, root);
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
                   const char *msg, const char *root)
{
    const struct lg_frame *f = lg_stack_pick(s, true);
    if (!f)
        f = lg_stack_pick(s, false);
    if (!*first)
        lg_buf_put(b, ",", 1);
    *first = false;
    lg_buf_puts(b, "{\"location\":");
    lg_sarif_location(b, f, msg, root);
    if (lg_nframes(s)) {
        lg_buf_puts(b, ",\"stack\":");
        lg_sarif_stack(b, s, root);
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
lg_sarif_code_flows(struct lg_buf *b, const struct lg_report *r, const char *root)
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
                lg_sarif_flow_step(b, &first, row->held_at, msg, root);
            }
            if (row->wanted_at) {
                const char *verb = lg_wanted_verb(r, row->held >= 0);
                if (strcmp(verb, "takes again") == 0)
                    snprintf(msg, sizeof msg, "%s takes %s again", t, w);
                else if (row->wanted < 0 && row->wanted_what)
                    snprintf(msg, sizeof msg, "%s waits for %s", t, row->wanted_what);
                else
                    snprintf(msg, sizeof msg, "%s %s %s", t, verb, w);
                lg_sarif_flow_step(b, &first, row->wanted_at, msg, root);
            }
        }
        lg_buf_puts(b, "]}");
    }
    lg_buf_puts(b, "]}]");
}

void
lg_sarif_result(struct lg_buf *b, const struct lg_report *r, const char *root)
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
        lg_sarif_location(b, place, NULL, root);
    lg_buf_put(b, "]", 1);
    if (r->current && lg_nframes(r->current)) {
        lg_buf_puts(b, ",\"stacks\":[");
        lg_sarif_stack(b, r->current, root);
        lg_buf_put(b, "]", 1);
    }
    lg_sarif_code_flows(b, r, root);

    lg_buf_puts(b, ",\"properties\":{");
    bool first = true;
    lg_json_key(b, &first, "seq");
    lg_buf_printf(b, "%" PRIu64, r->seq);
    lg_json_key(b, &first, "pid");
    lg_buf_printf(b, "%ld", r->pid);
    lg_json_fields(b, &first, r);
    lg_buf_puts(b, "}}");
}

/* The invocation: how the analysed process ran and ended. Before it ended
 * (a log written after a report, kept should the process die) the
 * execution is not (yet) successful, and a notification says why. */
static void
lg_sarif_invocation(struct lg_buf *b, const struct lg_sarif_run *run)
{
    bool first = true;
    lg_buf_puts(b, ",\"invocations\":[{");
    if (run->command_line) {
        lg_json_key(b, &first, "commandLine");
        lg_buf_json_string(b, run->command_line);
    }
    if (run->start_utc) {
        lg_json_key(b, &first, "startTimeUtc");
        lg_buf_json_string(b, run->start_utc);
    }
    if (run->ended && run->end_utc) {
        lg_json_key(b, &first, "endTimeUtc");
        lg_buf_json_string(b, run->end_utc);
    }
    if (run->ended) {
        lg_json_key(b, &first, "exitCode");
        lg_buf_printf(b, "%d", run->exit_code);
        if (run->exit_description) {
            lg_json_key(b, &first, "exitCodeDescription");
            lg_buf_json_string(b, run->exit_description);
        }
    } else {
        lg_json_key(b, &first, "toolExecutionNotifications");
        lg_buf_puts(b, "[{\"level\":\"note\",\"message\":{\"text\":\"the process had not "
                       "ended when this log was written\"}}]");
    }
    if (run->working_directory && run->working_directory[0] == '/') {
        lg_json_key(b, &first, "workingDirectory");
        lg_buf_puts(b, "{\"uri\":\"file://");
        lg_sarif_uri_chars(b, run->working_directory);
        lg_buf_puts(b, run->working_directory[strlen(run->working_directory) - 1] == '/'
                           ? "\"}" : "/\"}");
    }
    lg_json_key(b, &first, "executionSuccessful");
    lg_buf_puts(b, run->ended ? "true" : "false");
    lg_buf_puts(b, "}]");
}

void
lg_sarif_log(struct lg_buf *b, const struct lg_sarif_run *run, const char *results,
             size_t results_len)
{
    static const struct lg_sarif_run none;
    if (!run)
        run = &none;
    lg_buf_puts(b, "{\"version\":\"2.1.0\","
                   "\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\","
                   "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"lockgraph\"");
    if (run->tool_version) {
        lg_buf_puts(b, ",\"version\":");
        lg_buf_json_string(b, run->tool_version);
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
    lg_buf_puts(b, "]}}");
    if (run->root && run->root[0] == '/') {
        lg_buf_puts(b, ",\"originalUriBaseIds\":{\"" LG_SRCROOT "\":{\"uri\":\"file://");
        lg_sarif_uri_chars(b, run->root);
        lg_buf_puts(b, run->root[strlen(run->root) - 1] == '/' ? "\"}}" : "/\"}}");
    }
    lg_sarif_invocation(b, run);
    lg_buf_puts(b, ",\"results\":[");
    if (results && results_len)
        lg_buf_put(b, results, results_len);
    lg_buf_puts(b, "]}]}\n");
}
