/*
 * report_dot.c - the lock-order graph as Graphviz DOT.
 */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>

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
