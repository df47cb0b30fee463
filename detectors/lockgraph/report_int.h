/*
 * report_int.h - what the report writers (report*.c) share, and nothing
 * else includes: the table of report kinds, safe access to a possibly
 * partial report, and the small formatting pieces more than one writer uses.
 *
 * A report is built by the runtime and may be partial: any array may be
 * empty or NULL, any index may be -1 or out of range, any string NULL. These
 * helpers show what is there and never dereference what is not.
 */
#ifndef LG_REPORT_INT_H
#define LG_REPORT_INT_H

#include "report.h"

/* A table cell or a reference such as "L1 chopstick (mutex)". */
#define LG_CELL 192

/* ---- what each kind of report means (report.c) ------------------------- */

struct lg_kind_info {
    const char *kind;
    const char *rule_name; /* SARIF rule name: PascalCase by convention */
    const char *banner;    /* the banner's parenthesis */
    const char *verb;      /* "T2 <verb> L1 at:" over a row's second stack */
    const char *full;      /* SARIF fullDescription */
};

extern const struct lg_kind_info lg_kinds[];
extern const size_t lg_nkinds;
/* Index of kind in lg_kinds, or -1. */
int lg_kind_index(const char *kind);
bool lg_kind_is(const struct lg_report *r, const char *kind);

/* ---- safe access (report.c) -------------------------------------------- */

const struct lg_rep_lock *lg_rlock(const struct lg_report *r, int32_t i);
const struct lg_rep_thread *lg_rthread(const struct lg_report *r, int32_t i);
uint32_t lg_nrows(const struct lg_report *r);
uint32_t lg_nframes(const struct lg_stack *s);
const char *lg_basename(const char *path);
/* The innermost frame with a source file (or, when want_file is false, with
 * a function name) of s, or NULL. */
const struct lg_frame *lg_stack_pick(const struct lg_stack *s, bool want_file);
/* The place a report is about, for SUMMARY and SARIF. */
const struct lg_frame *lg_report_place(const struct lg_report *r);

/* ---- pieces of text (report.c) ----------------------------------------- */

/* "L3"; "-" for no lock, "L?" for an index the report does not carry. */
void lg_lock_ref(char *out, size_t n, const struct lg_report *r, int32_t idx);
/* "T2"; "-" or "T?" likewise. */
void lg_thread_ref(char *out, size_t n, const struct lg_report *r, int32_t idx);
/* "L1 chopstick (mutex)", "L4 0x7f0a12 (rwlock, read)" or "-". */
void lg_lock_cell(char *out, size_t n, const struct lg_report *r, int32_t idx, bool shared);
/* What a row's second stack shows: "then took", "waits for", ... */
const char *lg_wanted_verb(const struct lg_report *r, bool has_held);
/* Whether v is an integer a double holds exactly, and which. */
bool lg_is_integral(double v, long long *out);

/* ---- JSON pieces (report_json.c), also used by SARIF ------------------- */

/* ,"key": (the comma unless *first) */
void lg_json_key(struct lg_buf *b, bool *first, const char *key);
/* A number, or null for NaN and infinities (JSON has neither). */
void lg_json_number(struct lg_buf *b, double v);
/* The report's fields as "key":value members (after *first, as
 * lg_json_key), for JSON's "fields" and SARIF's properties. */
void lg_json_fields(struct lg_buf *b, bool *first, const struct lg_report *r);

#endif /* LG_REPORT_INT_H */
