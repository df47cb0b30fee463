/* Unit tests for lockgraph's report writers (detectors/lockgraph/report.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* ---- a counting allocator that can be told to fail ---------------------- */

struct test_alloc {
    size_t live_blocks, live_bytes, calls;
    long fail_after;   /* allocations that succeed before all fail; -1: never */
    size_t byte_limit; /* live bytes never exceed this; 0: no limit */
};

struct test_hdr {
    size_t size;
    uint64_t magic;
    max_align_t align[];
};

#define TEST_MAGIC 0x6c6f636b67726170ull

static void *
test_alloc_fn(void *ctx, size_t size)
{
    struct test_alloc *t = ctx;
    t->calls++;
    if (t->fail_after >= 0 && (long)t->calls > t->fail_after)
        return NULL;
    if (t->byte_limit && t->live_bytes + size > t->byte_limit)
        return NULL;
    struct test_hdr *h = calloc(1, sizeof *h + size);
    assert_non_null(h);
    h->size = size;
    h->magic = TEST_MAGIC;
    t->live_blocks++;
    t->live_bytes += size;
    return h->align;
}

static void
test_free_fn(void *ctx, void *p, size_t size)
{
    struct test_alloc *t = ctx;
    struct test_hdr *h = (struct test_hdr *)(void *)((char *)p - offsetof(struct test_hdr, align));
    /* The contract: free is told the size that was asked for. */
    assert_int_equal(h->magic, TEST_MAGIC);
    assert_int_equal(h->size, size);
    h->magic = 0;
    t->live_blocks--;
    t->live_bytes -= size;
    free(h);
}

struct test_env {
    struct test_alloc counts;
    struct lg_alloc alloc;
    struct lg_buf b;
};

static int
setup(void **state)
{
    struct test_env *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->counts.fail_after = -1;
    e->alloc.alloc = test_alloc_fn;
    e->alloc.free = test_free_fn;
    e->alloc.ctx = &e->counts;
    lg_buf_init(&e->b, &e->alloc);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    struct test_env *e = *state;
    lg_buf_free(&e->b);
    /* Nothing a writer allocated outlives the buffer. */
    int leaked = e->counts.live_blocks != 0 || e->counts.live_bytes != 0;
    free(e);
    return leaked ? -1 : 0;
}

/* ---- a small JSON parser that validates and records every value --------- */

/* Each value is recorded under its path, e.g. runs[0].tool.driver.name,
 * with its raw text (strings keep their quotes), so tests can both check
 * validity and look values up. */
struct jent {
    char path[200];
    const char *raw;
    size_t len;
    char type; /* '{' '[' '"' '0' 't' 'f' 'n' */
};

struct jdoc {
    struct jent *e;
    size_t n, cap;
    const char *p;
    char err[160];
};

static bool json_value(struct jdoc *d, const char *path, int depth);

static bool
json_fail(struct jdoc *d, const char *what)
{
    if (!d->err[0])
        snprintf(d->err, sizeof d->err, "%s at '%.20s'", what, d->p);
    return false;
}

static void
json_ws(struct jdoc *d)
{
    while (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')
        d->p++;
}

static void
json_record(struct jdoc *d, const char *path, const char *raw, size_t len, char type)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->e = realloc(d->e, d->cap * sizeof *d->e);
        assert_non_null(d->e);
    }
    struct jent *j = &d->e[d->n++];
    snprintf(j->path, sizeof j->path, "%s", path);
    j->raw = raw;
    j->len = len;
    j->type = type;
}

/* Bytes of one UTF-8 encoded code point at s, or 0 if ill-formed. Written
 * from the code-point side (decode, then reject overlongs and surrogates),
 * unlike the writer, so the two cannot share a mistake. */
static size_t
json_utf8(const unsigned char *s)
{
    unsigned long cp;
    size_t n;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07u;
    } else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    static const unsigned long minimum[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static bool
json_string(struct jdoc *d, const char **start, size_t *len)
{
    const char *s = d->p;
    if (*d->p != '"')
        return json_fail(d, "string expected");
    d->p++;
    for (;;) {
        unsigned char c = (unsigned char)*d->p;
        if (c == '"')
            break;
        if (c < 0x20)
            return json_fail(d, c ? "raw control character in string"
                                  : "unterminated string");
        if (c == '\\') {
            d->p++;
            if (*d->p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    char h = d->p[i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F')))
                        return json_fail(d, "bad \\u escape");
                }
                d->p += 5;
            } else if (*d->p && strchr("\"\\/bfnrt", *d->p)) {
                d->p++;
            } else {
                return json_fail(d, "bad escape");
            }
            continue;
        }
        size_t n = json_utf8((const unsigned char *)d->p);
        if (!n)
            return json_fail(d, "invalid UTF-8");
        d->p += n;
    }
    d->p++;
    *start = s;
    *len = (size_t)(d->p - s);
    return true;
}

static bool
json_digits(struct jdoc *d)
{
    if (*d->p < '0' || *d->p > '9')
        return json_fail(d, "digit expected");
    while (*d->p >= '0' && *d->p <= '9')
        d->p++;
    return true;
}

static bool
json_number(struct jdoc *d, const char *path)
{
    const char *s = d->p;
    if (*d->p == '-')
        d->p++;
    if (*d->p == '0')
        d->p++;
    else if (!json_digits(d))
        return false;
    if (*d->p == '.') {
        d->p++;
        if (!json_digits(d))
            return false;
    }
    if (*d->p == 'e' || *d->p == 'E') {
        d->p++;
        if (*d->p == '+' || *d->p == '-')
            d->p++;
        if (!json_digits(d))
            return false;
    }
    json_record(d, path, s, (size_t)(d->p - s), '0');
    return true;
}

static bool
json_value(struct jdoc *d, const char *path, int depth)
{
    char sub[200];
    if (depth > 64)
        return json_fail(d, "too deep");
    json_ws(d);
    const char *s = d->p;
    switch (*d->p) {
    case '{':
        json_record(d, path, s, 1, '{');
        d->p++;
        json_ws(d);
        if (*d->p == '}') {
            d->p++;
            return true;
        }
        for (;;) {
            const char *k;
            size_t klen;
            json_ws(d);
            if (!json_string(d, &k, &klen))
                return false;
            snprintf(sub, sizeof sub, "%s%s%.*s", path, path[0] ? "." : "",
                     (int)(klen - 2), k + 1);
            json_ws(d);
            if (*d->p != ':')
                return json_fail(d, "':' expected");
            d->p++;
            if (!json_value(d, sub, depth + 1))
                return false;
            json_ws(d);
            if (*d->p == ',') {
                d->p++;
                continue;
            }
            if (*d->p == '}') {
                d->p++;
                return true;
            }
            return json_fail(d, "',' or '}' expected");
        }
    case '[':
        json_record(d, path, s, 1, '[');
        d->p++;
        json_ws(d);
        if (*d->p == ']') {
            d->p++;
            return true;
        }
        for (int i = 0;; i++) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
            if (!json_value(d, sub, depth + 1))
                return false;
            json_ws(d);
            if (*d->p == ',') {
                d->p++;
                continue;
            }
            if (*d->p == ']') {
                d->p++;
                return true;
            }
            return json_fail(d, "',' or ']' expected");
        }
    case '"': {
        const char *k;
        size_t klen;
        if (!json_string(d, &k, &klen))
            return false;
        json_record(d, path, k, klen, '"');
        return true;
    }
    case 't':
    case 'f':
    case 'n': {
        const char *lit = *d->p == 't' ? "true" : *d->p == 'f' ? "false" : "null";
        if (strncmp(d->p, lit, strlen(lit)) != 0)
            return json_fail(d, "bad literal");
        d->p += strlen(lit);
        json_record(d, path, s, strlen(lit), *s);
        return true;
    }
    default:
        if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9'))
            return json_number(d, path);
        return json_fail(d, "value expected");
    }
}

/* Parse a whole document; on failure, print why and fail the test. */
static void
json_parse(struct jdoc *d, const char *text)
{
    memset(d, 0, sizeof *d);
    d->p = text;
    bool ok = json_value(d, "", 0);
    if (ok) {
        json_ws(d);
        if (*d->p)
            ok = json_fail(d, "text after the value");
    }
    if (!ok)
        print_error("invalid JSON: %s\nin: %s\n", d->err, text);
    assert_true(ok);
}

static void
json_free(struct jdoc *d)
{
    free(d->e);
    d->e = NULL;
}

static const struct jent *
json_get(const struct jdoc *d, const char *path)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->e[i].path, path) == 0)
            return &d->e[i];
    return NULL;
}

/* The value at path is exactly the JSON text want. */
static void
json_expect(const struct jdoc *d, const char *path, const char *want)
{
    const struct jent *j = json_get(d, path);
    if (!j)
        print_error("no value at %s\n", path);
    assert_non_null(j);
    if (j->len != strlen(want) || memcmp(j->raw, want, j->len) != 0)
        print_error("%s is %.*s, want %s\n", path, (int)j->len, j->raw, want);
    assert_true(j->len == strlen(want) && memcmp(j->raw, want, j->len) == 0);
}

static void
json_expect_type(const struct jdoc *d, const char *path, char type)
{
    const struct jent *j = json_get(d, path);
    if (!j)
        print_error("no value at %s\n", path);
    assert_non_null(j);
    assert_int_equal(j->type, type);
}

/* ---- sample reports ------------------------------------------------------ */

static const struct lg_frame f_t2_take1[] = {
    { 0x401200, "philosopher", "buggy/lock_order_deadlock.c", 26, "/work/b/lock_order_deadlock", 0x1200 },
    { 0x7f0000001000, "start_thread", NULL, 0, "/lib/x86_64-linux-gnu/libc.so.6", 0x8b000 },
};
static const struct lg_frame f_t2_take2[] = {
    { 0x401230, "philosopher", "buggy/lock_order_deadlock.c", 29, "/work/b/lock_order_deadlock", 0x1230 },
    { 0x7f0000001000, "start_thread", NULL, 0, "/lib/x86_64-linux-gnu/libc.so.6", 0x8b000 },
};
static const struct lg_frame f_t3_take1[] = {
    { 0x401200, "philosopher", "buggy/lock_order_deadlock.c", 26, "/work/b/lock_order_deadlock", 0x1200 },
};
static const struct lg_frame f_t3_take2[] = {
    { 0x401230, "philosopher", "buggy/lock_order_deadlock.c", 29, "/work/b/lock_order_deadlock", 0x1230 },
    { 0, NULL, NULL, 0, NULL, 0 },
};
static const struct lg_frame f_create[] = {
    { 0x401300, "main", "/work/main/buggy/lock_order_deadlock.c", 45, "/work/b/lock_order_deadlock", 0x1300 },
};
static const struct lg_frame f_init[] = {
    { 0x401000, "_start", NULL, 0, "/work/b/lock_order_deadlock", 0x1000 },
};
static const struct lg_frame f_nofile[] = {
    { 0x7f0000002000, "worker", NULL, 0, "/usr/lib/libfoo.so", 0x2000 },
    { 0x7f0000003000, NULL, NULL, 0, NULL, 0 },
};

static const struct lg_stack s_t2_take1 = { 2, f_t2_take1 };
static const struct lg_stack s_t2_take2 = { 2, f_t2_take2 };
static const struct lg_stack s_t3_take1 = { 1, f_t3_take1 };
static const struct lg_stack s_t3_take2 = { 2, f_t3_take2 };
static const struct lg_stack s_create = { 1, f_create };
static const struct lg_stack s_init = { 1, f_init };
static const struct lg_stack s_nofile = { 2, f_nofile };

static const struct lg_rep_thread threads3[] = {
    { 1, 4242, NULL, NULL },
    { 2, 4243, "philo-a", &s_create },
    { 3, 4244, NULL, &s_create },
};

static const struct lg_rep_lock locks2[] = {
    { 1, 0x4040a0, "mutex", "chopstick", &s_init },
    { 2, 0x4040c8, "mutex", "chopstick+40", NULL },
};

static const struct lg_rep_row rows_inversion[] = {
    { 1, 0, 1, false, false, &s_t2_take1, &s_t2_take2, NULL },
    { 2, 1, 0, false, false, &s_t3_take1, &s_t3_take2, NULL },
};

static const struct lg_report rep_inversion = {
    .kind = "lock-order-inversion",
    .summary = "lock-order inversion: L1 -> L2 -> L1 across threads T2, T3",
    .seq = 1,
    .pid = 4242,
    .current_thread = 2,
    .current = &s_t3_take2,
    .threads = threads3,
    .nthreads = 3,
    .locks = locks2,
    .nlocks = 2,
    .rows = rows_inversion,
    .nrows = 2,
};

static const struct lg_rep_field fields_deadlock[] = {
    { "waited_ms", NULL, 1500, true },
    { "cycle", "L1 -> L2 -> L1", 0, false },
};

static const struct lg_report rep_deadlock = {
    .kind = "deadlock",
    .summary = "deadlock: T2 and T3 wait for each other",
    .seq = 2,
    .pid = 4242,
    .current_thread = -1,
    .threads = threads3,
    .nthreads = 3,
    .locks = locks2,
    .nlocks = 2,
    .rows = rows_inversion,
    .nrows = 2,
    .fields = fields_deadlock,
    .nfields = 2,
};

static const struct lg_rep_row rows_self[] = {
    { 1, 0, 0, false, false, &s_t2_take1, &s_t2_take2, NULL },
};

static const struct lg_report rep_self = {
    .kind = "self-deadlock",
    .summary = "T2 takes L1 (chopstick) again while holding it",
    .seq = 1,
    .pid = 77,
    .current_thread = 1,
    .current = &s_t2_take2,
    .threads = threads3,
    .nthreads = 3,
    .locks = locks2,
    .nlocks = 2,
    .rows = rows_self,
    .nrows = 1,
};

static const struct lg_rep_row rows_abandoned[] = {
    { 1, 0, -1, false, false, &s_t2_take1, NULL, NULL },
    { 1, 1, -1, true, false, &s_t2_take2, NULL, NULL },
};

static const struct lg_rep_lock locks_rw[] = {
    { 1, 0x4040a0, "mutex", "chopstick", &s_init },
    { 2, 0x5550, "rwlock", NULL, NULL },
};

static const struct lg_report rep_abandoned = {
    .kind = "abandoned-lock",
    .summary = "T2 exited holding L1 and L2",
    .seq = 3,
    .pid = 4242,
    .current_thread = 1,
    .threads = threads3,
    .nthreads = 3,
    .locks = locks_rw,
    .nlocks = 2,
    .rows = rows_abandoned,
    .nrows = 2,
};

static const struct lg_rep_row rows_unlock[] = {
    { 1, 0, -1, false, false, &s_t2_take1, NULL, NULL },
};

static const struct lg_report rep_unlock = {
    .kind = "unlock-not-owner",
    .summary = "T3 unlocks L1, which T2 holds",
    .seq = 4,
    .pid = 4242,
    .current_thread = 2,
    .current = &s_nofile,
    .threads = threads3,
    .nthreads = 3,
    .locks = locks2,
    .nlocks = 1,
    .rows = rows_unlock,
    .nrows = 1,
};

static const struct lg_rep_field fields_starve[] = {
    { "waited_ms", NULL, 2000, true },
    { "grants", NULL, 4000, true },
    { "jain_index", NULL, 0.25, true },
    { "note", "T3 never got it", 0, false },
};

static const struct lg_rep_row rows_starve[] = {
    { 2, -1, 0, false, false, NULL, &s_nofile, NULL },
};

static const struct lg_report rep_starve = {
    .kind = "starvation",
    .summary = "T3 tried to take L1 for 2000 ms while others got it 4000 times",
    .seq = 5,
    .pid = 4242,
    .current_thread = -1,
    .threads = threads3,
    .nthreads = 3,
    .locks = locks2,
    .nlocks = 2,
    .rows = rows_starve,
    .nrows = 1,
    .fields = fields_starve,
    .nfields = 4,
};

/* Every text line carries the prefix and no line ends in blanks. */
static void
check_text_lines(const char *text, const char *prefix)
{
    const char *line = text;
    assert_true(strlen(text) > 0);
    assert_int_equal(text[strlen(text) - 1], '\n');
    while (*line) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_memory_equal(line, prefix, strlen(prefix));
        if (nl > line)
            assert_true(nl[-1] != ' ');
        line = nl + 1;
    }
}

/* ---- the buffer ------------------------------------------------------------ */

static void
test_buf_put_printf_and_reset(void **state)
{
    struct test_env *e = *state;
    char big[1000];

    lg_buf_puts(&e->b, "abc");
    lg_buf_put(&e->b, "defXX", 3);
    lg_buf_printf(&e->b, "-%d-", 42);
    assert_string_equal(e->b.data, "abcdef-42-");
    assert_int_equal(e->b.len, 10);

    /* longer than the writer's on-stack attempt */
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lg_buf_printf(&e->b, "[%s]", big);
    assert_int_equal(e->b.len, 10 + 2 + 999);
    assert_int_equal(e->b.data[e->b.len - 1], ']');
    assert_int_equal(e->b.data[e->b.len], '\0');

    size_t cap = e->b.cap;
    lg_buf_reset(&e->b);
    assert_int_equal(e->b.len, 0);
    assert_int_equal(e->b.cap, cap);
    assert_false(e->b.failed);
    lg_buf_puts(&e->b, NULL);
    lg_buf_put(&e->b, NULL, 5);
    lg_buf_put(&e->b, "x", 0);
    assert_int_equal(e->b.len, 0);
    lg_buf_free(&e->b);
    assert_int_equal(e->counts.live_blocks, 0);
    assert_null(e->b.data);
}

static void
test_buf_out_of_memory_keeps_prefix(void **state)
{
    struct test_env *e = *state;
    char chunk[100];
    memset(chunk, 'a', sizeof chunk);

    e->counts.byte_limit = 1300; /* 256, 512 and then 601 fit; 1024 does not */
    for (int i = 0; i < 20; i++)
        lg_buf_put(&e->b, chunk, sizeof chunk);
    assert_true(e->b.failed);
    assert_true(e->b.len < 2000);
    assert_true(e->b.len + 1 <= e->b.cap);
    assert_int_equal(strlen(e->b.data), e->b.len);
    /* The exact-size retry must have been tried: the block grew past 512. */
    assert_true(e->b.cap > 512);
    /* Once failed, nothing more is appended (no holes in the text). */
    size_t len = e->b.len;
    lg_buf_puts(&e->b, "z");
    lg_buf_printf(&e->b, "%s", "zz");
    assert_int_equal(e->b.len, len);
    lg_buf_free(&e->b);
    assert_int_equal(e->counts.live_bytes, 0);
}

static void
test_buf_no_memory_at_all(void **state)
{
    struct test_env *e = *state;
    e->counts.fail_after = 0;
    lg_buf_puts(&e->b, "hello");
    assert_true(e->b.failed);
    assert_int_equal(e->b.len, 0);
    lg_report_text(&e->b, &rep_inversion);
    lg_report_json(&e->b, &rep_inversion);
    assert_int_equal(e->b.len, 0);
    lg_buf_free(&e->b);
}

static void
test_json_string_escapes(void **state)
{
    struct test_env *e = *state;

    lg_buf_json_string(&e->b, "a\"b\\c/d\n\t\x01\x1f\x7f" "end");
    assert_string_equal(e->b.data,
                        "\"a\\\"b\\\\c/d\\u000a\\u0009\\u0001\\u001f\\u007fend\"");
    lg_buf_reset(&e->b);
    lg_buf_json_string(&e->b, NULL);
    assert_string_equal(e->b.data, "null");
    lg_buf_reset(&e->b);
    lg_buf_json_string(&e->b, "");
    assert_string_equal(e->b.data, "\"\"");
    lg_buf_reset(&e->b);
    /* Valid UTF-8 passes through, broken bytes become U+FFFD. */
    lg_buf_json_string(&e->b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92|\xff|\xc3|"
                              "\xed\xa0\x80|\xc0\xaf");
    assert_string_equal(e->b.data,
                        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92|\\ufffd|\\ufffd|"
                        "\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"");
    struct jdoc d;
    json_parse(&d, e->b.data);
    json_free(&d);
}

/* ---- text ------------------------------------------------------------------ */

static void
test_text_inversion_has_banner_table_and_stacks(void **state)
{
    struct test_env *e = *state;
    lg_report_text(&e->b, &rep_inversion);
    const char *t = e->b.data;

    check_text_lines(t, "==4242==");
    assert_non_null(strstr(t, "==4242== lockgraph: lock-order-inversion (potential deadlock)\n"));
    assert_non_null(strstr(t, "==4242== lock-order inversion: L1 -> L2 -> L1 across threads T2, T3\n"));
    assert_non_null(strstr(t, "==4242==   thread  holds                    wants\n"));
    assert_non_null(strstr(t, "==4242==   T2      L1 chopstick (mutex)     L2 chopstick+40 (mutex)\n"));
    assert_non_null(strstr(t, "==4242==   T3      L2 chopstick+40 (mutex)  L1 chopstick (mutex)\n"));
    assert_non_null(strstr(t, "==4242== T2 took L1 at:\n"));
    assert_non_null(strstr(t, "==4242== T2 took L2 while holding L1, at:\n"));
    assert_non_null(strstr(t, "==4242== T3 took L2 at:\n"));
    assert_non_null(strstr(t, "==4242== T3 took L1 while holding L2, at:\n"));
    /* lockdep's unsafe scenario: the schedule that deadlocks */
    assert_non_null(strstr(t, "==4242== If the threads run in this order, they deadlock:\n"
                              "==4242==   T2 takes L1 chopstick (mutex)\n"
                              "==4242==   T3 takes L2 chopstick+40 (mutex)\n"
                              "==4242==   T2 waits for L2 chopstick+40 (mutex), which T3 holds\n"
                              "==4242==   T3 waits for L1 chopstick (mutex), which T2 holds\n"));
    assert_non_null(strstr(t, "     #0 philosopher  buggy/lock_order_deadlock.c:26 (lock_order_deadlock+0x1200)\n"));
    assert_non_null(strstr(t, "     #1 start_thread (libc.so.6+0x8b000)\n"));
    assert_non_null(strstr(t, "     #1 0x0\n"));
    assert_non_null(strstr(t, "==4242== T2 (tid 4243, \"philo-a\") was created at:\n"));
    assert_non_null(strstr(t, "==4242== T1 (tid 4242) is the main thread\n"));
    assert_non_null(strstr(t, "==4242== L1 (mutex at 0x4040a0, chopstick) was first seen at:\n"));
    assert_non_null(strstr(t, "==4242== L2 (mutex at 0x4040c8, chopstick+40)\n"));
    assert_non_null(strstr(t, "==4242== SUMMARY: lockgraph: lock-order-inversion "
                              "buggy/lock_order_deadlock.c:29 in philosopher\n"));
    /* The current stack is the last row's: printed once, as that row's. */
    assert_null(strstr(t, " is at:"));
}

static void
test_text_each_kind_reads_right(void **state)
{
    struct test_env *e = *state;
    const char *t;

    lg_report_text(&e->b, &rep_deadlock);
    t = e->b.data;
    check_text_lines(t, "==4242==");
    assert_non_null(strstr(t, "lockgraph: deadlock (threads are blocked waiting for each other)\n"));
    assert_non_null(strstr(t, "thread  holds                    waits for\n"));
    assert_non_null(strstr(t, "==4242== T2 waits for L2 at:\n"));
    assert_non_null(strstr(t, "==4242== waited_ms: 1500\n"));
    assert_non_null(strstr(t, "==4242== cycle: L1 -> L2 -> L1\n"));

    lg_buf_reset(&e->b);
    lg_report_text(&e->b, &rep_self);
    t = e->b.data;
    check_text_lines(t, "==77==");
    assert_non_null(strstr(t, "==77== lockgraph: self-deadlock"));
    assert_non_null(strstr(t, "==77==   T2      L1 chopstick (mutex)  L1 chopstick (mutex)\n"));
    assert_non_null(strstr(t, "==77== T2 takes L1 again at:\n"));

    lg_buf_reset(&e->b);
    lg_report_text(&e->b, &rep_abandoned);
    t = e->b.data;
    check_text_lines(t, "==4242==");
    assert_non_null(strstr(t, "lockgraph: abandoned-lock (a thread exited holding a lock)\n"));
    /* no "wants" column: nothing is wanted */
    assert_non_null(strstr(t, "==4242==   thread  holds\n"));
    assert_non_null(strstr(t, "==4242==   T2      L1 chopstick (mutex)\n"));
    assert_non_null(strstr(t, "==4242==   T2      L2 0x5550 (rwlock, read)\n"));
    assert_null(strstr(t, "wants"));

    lg_buf_reset(&e->b);
    lg_report_text(&e->b, &rep_unlock);
    t = e->b.data;
    check_text_lines(t, "==4242==");
    assert_non_null(strstr(t, "lockgraph: unlock-not-owner (unlock of a lock held by another thread)\n"));
    assert_non_null(strstr(t, "==4242== T3 unlocks at:\n"));
    assert_non_null(strstr(t, "     #0 worker (libfoo.so+0x2000)\n"));
    assert_non_null(strstr(t, "     #1 0x7f0000003000\n"));
    assert_non_null(strstr(t, "SUMMARY: lockgraph: unlock-not-owner buggy/lock_order_deadlock.c:26 in philosopher\n"));

    lg_buf_reset(&e->b);
    lg_report_text(&e->b, &rep_starve);
    t = e->b.data;
    check_text_lines(t, "==4242==");
    assert_non_null(strstr(t, "==4242==   thread  wants\n"));
    assert_non_null(strstr(t, "==4242== T3 tries to take L1 at:\n"));
    assert_non_null(strstr(t, "==4242== grants: 4000\n"));
    assert_non_null(strstr(t, "==4242== jain_index: 0.25\n"));
    assert_non_null(strstr(t, "==4242== note: T3 never got it\n"));
}

/* No deadlocking schedule is shown where there is none: a cycle whose
 * edges one thread took, or rows that do not chain. */
static void
test_text_scenario_only_when_it_exists(void **state)
{
    struct test_env *e = *state;
    static const struct lg_rep_row one_thread[] = {
        { 1, 0, 1, false, false, &s_t2_take1, &s_t2_take2, NULL },
        { 1, 1, 0, false, false, &s_t3_take1, &s_t3_take2, NULL },
    };
    static const struct lg_rep_row no_chain[] = {
        { 1, 0, 1, false, false, &s_t2_take1, &s_t2_take2, NULL },
        { 2, 0, 1, false, false, &s_t3_take1, &s_t3_take2, NULL },
    };
    struct lg_report r = rep_inversion;
    r.rows = one_thread;
    lg_report_text(&e->b, &r);
    assert_null(strstr(e->b.data, "they deadlock"));
    lg_buf_reset(&e->b);
    r.rows = no_chain;
    lg_report_text(&e->b, &r);
    assert_null(strstr(e->b.data, "they deadlock"));
    lg_buf_reset(&e->b);
    lg_report_text(&e->b, &rep_deadlock);
    assert_null(strstr(e->b.data, "they deadlock"));
}

/* A stall's threads wait for things that are not locks: the table says
 * what, and so does each stack's heading and the JSON. */
static void
test_stall_says_what_each_thread_waits_for(void **state)
{
    struct test_env *e = *state;
    static const struct lg_rep_row rows[] = {
        { 2, -1, -1, false, false, NULL, &s_nofile, "a condition variable" },
        { 0, -1, 0, false, false, NULL, &s_create, NULL },
        { 1, -1, -1, false, false, NULL, NULL, "pthread_join" },
    };
    struct lg_report r = { .kind = "stall", .summary = "stall", .pid = 5,
                           .current_thread = -1, .threads = threads3, .nthreads = 3,
                           .locks = locks2, .nlocks = 2, .rows = rows, .nrows = 3 };
    struct jdoc d;
    lg_report_text(&e->b, &r);
    const char *t = e->b.data;
    check_text_lines(t, "==5==");
    assert_non_null(strstr(t, "==5==   thread  waits for\n"
                              "==5==   T3      a condition variable\n"
                              "==5==   T1      L1 chopstick (mutex)\n"
                              "==5==   T2      pthread_join\n"));
    assert_non_null(strstr(t, "==5== T3 waits for a condition variable at:\n"));
    assert_non_null(strstr(t, "==5== T1 waits for L1 at:\n"));
    lg_buf_reset(&e->b);
    lg_report_json(&e->b, &r);
    json_parse(&d, e->b.data);
    json_expect(&d, "rows[0].wanted_what", "\"a condition variable\"");
    json_expect(&d, "rows[1].wanted_what", "null");
    json_expect(&d, "rows[1].wanted", "1");
    json_free(&d);
}

static void
test_text_other_kinds_have_banners(void **state)
{
    struct test_env *e = *state;
    static const char *const kinds[] = {
        "unlock-unlocked", "destroy-locked", "livelock", "stall", "made-up-kind",
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct lg_report r = rep_unlock;
        char want[128];
        r.kind = kinds[i];
        lg_buf_reset(&e->b);
        lg_report_text(&e->b, &r);
        check_text_lines(e->b.data, "==4242==");
        snprintf(want, sizeof want, "==4242== lockgraph: %s", kinds[i]);
        assert_memory_equal(e->b.data, want, strlen(want));
    }
}

/* A hostile name must not start a line of its own (forging a report). */
static void
test_text_control_characters_stay_on_their_line(void **state)
{
    struct test_env *e = *state;
    struct lg_rep_thread th[] = { { 1, 9, "evil\n==9== lockgraph: fake", &s_create } };
    struct lg_report r = { .kind = "stall", .summary = "a\nb", .pid = 9,
                           .current_thread = 0, .threads = th, .nthreads = 1 };
    lg_report_text(&e->b, &r);
    check_text_lines(e->b.data, "==9==");
    assert_null(strstr(e->b.data, "\n==9== lockgraph: fake"));
    assert_non_null(strstr(e->b.data, "==9== a?b\n"));
}

/* ---- JSON ------------------------------------------------------------------ */

static void
test_json_inversion_is_one_valid_line(void **state)
{
    struct test_env *e = *state;
    struct jdoc d;

    lg_report_json(&e->b, &rep_inversion);
    const char *t = e->b.data;
    assert_int_equal(t[e->b.len - 1], '\n');
    assert_ptr_equal(strchr(t, '\n'), t + e->b.len - 1);
    json_parse(&d, t);
    json_expect(&d, "kind", "\"lock-order-inversion\"");
    json_expect(&d, "summary", "\"lock-order inversion: L1 -> L2 -> L1 across threads T2, T3\"");
    json_expect(&d, "seq", "1");
    json_expect(&d, "pid", "4242");
    json_expect(&d, "current_thread", "3");
    json_expect(&d, "threads[0].num", "1");
    json_expect(&d, "threads[0].tid", "4242");
    json_expect(&d, "threads[0].name", "null");
    json_expect(&d, "threads[0].created", "null");
    json_expect(&d, "threads[1].name", "\"philo-a\"");
    json_expect(&d, "threads[1].created[0].function", "\"main\"");
    json_expect(&d, "locks[0].id", "1");
    json_expect(&d, "locks[0].addr", "\"0x4040a0\"");
    json_expect(&d, "locks[0].type", "\"mutex\"");
    json_expect(&d, "locks[0].name", "\"chopstick\"");
    json_expect(&d, "locks[0].init[0].function", "\"_start\"");
    json_expect(&d, "locks[1].init", "null");
    json_expect(&d, "rows[0].thread", "2");
    json_expect(&d, "rows[0].held", "1");
    json_expect(&d, "rows[0].wanted", "2");
    json_expect(&d, "rows[0].held_mode", "\"exclusive\"");
    json_expect(&d, "rows[1].thread", "3");
    json_expect(&d, "rows[1].held", "2");
    json_expect(&d, "rows[1].wanted", "1");
    json_expect(&d, "rows[0].held_at[0].pc", "\"0x401200\"");
    json_expect(&d, "rows[0].held_at[0].function", "\"philosopher\"");
    json_expect(&d, "rows[0].held_at[0].file", "\"buggy/lock_order_deadlock.c\"");
    json_expect(&d, "rows[0].held_at[0].line", "26");
    json_expect(&d, "rows[0].held_at[0].module", "\"/work/b/lock_order_deadlock\"");
    json_expect(&d, "rows[0].held_at[0].offset", "\"0x1200\"");
    json_expect(&d, "rows[0].held_at[1].file", "null");
    json_expect(&d, "rows[0].held_at[1].line", "null");
    json_expect(&d, "rows[1].wanted_at[1].pc", "null");
    json_expect(&d, "rows[1].wanted_at[1].offset", "null");
    json_expect_type(&d, "fields", '{');
    json_expect(&d, "stack[0].line", "29");
    json_free(&d);
}

static void
test_json_fields_nulls_and_modes(void **state)
{
    struct test_env *e = *state;
    struct jdoc d;

    lg_report_json(&e->b, &rep_starve);
    json_parse(&d, e->b.data);
    json_expect(&d, "fields.waited_ms", "2000");
    json_expect(&d, "fields.jain_index", "0.25");
    json_expect(&d, "fields.note", "\"T3 never got it\"");
    json_expect(&d, "rows[0].held", "null");
    json_expect(&d, "rows[0].held_mode", "null");
    json_expect(&d, "rows[0].held_at", "null");
    json_expect(&d, "current_thread", "null");
    json_expect(&d, "stack", "null");
    json_free(&d);

    lg_buf_reset(&e->b);
    lg_report_json(&e->b, &rep_abandoned);
    json_parse(&d, e->b.data);
    json_expect(&d, "rows[0].wanted", "null");
    json_expect(&d, "rows[1].held_mode", "\"shared\"");
    json_expect(&d, "locks[1].name", "null");
    json_free(&d);
}

static void
test_json_escapes_hostile_strings(void **state)
{
    struct test_env *e = *state;
    static const struct lg_frame fr[] = {
        { 1, "op\"er\\ator<<", "dir with \"quotes\"/f\tx.c", 3, "mod\x01", 0 },
    };
    static const struct lg_stack st = { 1, fr };
    struct lg_rep_thread th[] = { { 1, 1, "n\"a\nme\xff", &st } };
    struct lg_rep_field fl[] = { { "k\"ey", "v\x1b[31m", 0, false },
                                 { "nan", NULL, NAN, true },
                                 { "big", NULL, 1e300, true } };
    struct lg_report r = { .kind = "stall", .summary = "say \"hi\"\n\\", .pid = 1,
                           .current_thread = 0, .current = &st, .threads = th,
                           .nthreads = 1, .fields = fl, .nfields = 3 };
    struct jdoc d;

    lg_report_json(&e->b, &r);
    assert_ptr_equal(strchr(e->b.data, '\n'), e->b.data + e->b.len - 1);
    json_parse(&d, e->b.data);
    json_expect(&d, "summary", "\"say \\\"hi\\\"\\u000a\\\\\"");
    json_expect(&d, "threads[0].name", "\"n\\\"a\\u000ame\\ufffd\"");
    json_expect(&d, "fields.k\\\"ey", "\"v\\u001b[31m\"");
    json_expect(&d, "fields.nan", "null");
    json_expect(&d, "fields.big", "1.0000000000000001e+300");
    json_expect(&d, "stack[0].file", "\"dir with \\\"quotes\\\"/f\\u0009x.c\"");
    json_free(&d);
}

/* Nothing in a report is trusted: NULL arrays with counts, indexes out of
 * range, NULL strings. */
static void
test_writers_survive_partial_reports(void **state)
{
    struct test_env *e = *state;
    static const struct lg_rep_row bad_rows[] = {
        { 7, 9, -5, true, true, NULL, NULL, NULL },
        { -1, -1, -1, false, false, NULL, NULL, NULL },
    };
    static const struct lg_stack empty = { 3, NULL };
    struct lg_rep_lock lk[] = { { 1, 0, NULL, NULL, &empty } };
    struct lg_report r = { .kind = NULL, .summary = NULL, .current_thread = 55,
                           .current = &empty, .threads = NULL, .nthreads = 4,
                           .locks = lk, .nlocks = 1, .rows = bad_rows, .nrows = 2,
                           .fields = NULL, .nfields = 3 };
    struct lg_report r2 = r;
    r2.rows = NULL;
    struct jdoc d;

    lg_report_text(&e->b, &r);
    check_text_lines(e->b.data, "==0==");
    lg_report_text(&e->b, &r2);
    lg_buf_reset(&e->b);
    lg_report_json(&e->b, &r);
    json_parse(&d, e->b.data);
    json_expect(&d, "kind", "null");
    json_expect(&d, "rows[0].thread", "null");
    json_expect(&d, "rows[0].held", "null");
    json_expect_type(&d, "locks[0].init", '[');
    json_free(&d);
    lg_buf_reset(&e->b);
    lg_buf_puts(&e->b, "{\"results\":[");
    lg_sarif_result(&e->b, &r, NULL);
    lg_buf_puts(&e->b, "]}");
    json_parse(&d, e->b.data);
    json_expect(&d, "results[0].ruleId", "\"report\"");
    json_expect_type(&d, "results[0].locations", '[');
    assert_null(json_get(&d, "results[0].codeFlows"));
    json_free(&d);
}

/* ---- SARIF ----------------------------------------------------------------- */

static void
sarif_run_of(struct test_env *e, const struct lg_report *const *reps, size_t n,
             const struct lg_sarif_run *run)
{
    struct lg_buf results;
    lg_buf_init(&results, &e->alloc);
    for (size_t i = 0; i < n; i++) {
        if (i)
            lg_buf_puts(&results, ",");
        lg_sarif_result(&results, reps[i], run->root);
    }
    lg_sarif_log(&e->b, run, results.data, results.len);
    assert_false(results.failed);
    lg_buf_free(&results);
}

static void
sarif_of(struct test_env *e, const struct lg_report *const *reps, size_t n)
{
    const struct lg_sarif_run run = { .tool_version = "0.1.0" };
    sarif_run_of(e, reps, n, &run);
}

static void
test_sarif_log_has_required_fields(void **state)
{
    struct test_env *e = *state;
    const struct lg_report *reps[] = { &rep_inversion, &rep_unlock, &rep_starve };
    struct jdoc d;
    char path[200];

    sarif_of(e, reps, 3);
    json_parse(&d, e->b.data);
    json_expect(&d, "version", "\"2.1.0\"");
    json_expect(&d, "$schema", "\"https://json.schemastore.org/sarif-2.1.0.json\"");
    json_expect(&d, "runs[0].tool.driver.name", "\"lockgraph\"");
    json_expect(&d, "runs[0].tool.driver.version", "\"0.1.0\"");
    assert_null(json_get(&d, "runs[0].tool.driver.informationUri"));

    /* One rule per kind, each described, and ruleIndex points at its rule
     * (that there is one per kind and no more: test_kinds_are_one_table). */
    static const char *const kinds[] = {
        "lock-order-inversion", "self-deadlock", "deadlock", "abandoned-lock",
        "unlock-not-owner", "unlock-unlocked", "destroy-locked", "starvation",
        "livelock", "stall", "cond-misuse", "barrier-misuse", "invalid-mutex",
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char want[64];
        snprintf(path, sizeof path, "runs[0].tool.driver.rules[%zu].id", i);
        snprintf(want, sizeof want, "\"%s\"", kinds[i]);
        json_expect(&d, path, want);
        snprintf(path, sizeof path, "runs[0].tool.driver.rules[%zu].shortDescription.text", i);
        json_expect_type(&d, path, '"');
        snprintf(path, sizeof path, "runs[0].tool.driver.rules[%zu].fullDescription.text", i);
        json_expect_type(&d, path, '"');
    }

    json_expect(&d, "runs[0].results[0].ruleId", "\"lock-order-inversion\"");
    json_expect(&d, "runs[0].results[0].ruleIndex", "0");
    json_expect(&d, "runs[0].results[0].level", "\"error\"");
    json_expect(&d, "runs[0].results[0].message.text",
                "\"lock-order inversion: L1 -> L2 -> L1 across threads T2, T3\"");
    json_expect(&d, "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri",
                "\"buggy/lock_order_deadlock.c\"");
    json_expect(&d, "runs[0].results[0].locations[0].physicalLocation.region.startLine", "29");
    /* one thread flow per thread, steps from the rows' stacks */
    json_expect(&d, "runs[0].results[0].codeFlows[0].threadFlows[0].id", "\"T2\"");
    json_expect(&d, "runs[0].results[0].codeFlows[0].threadFlows[1].id", "\"T3\"");
    json_expect(&d, "runs[0].results[0].codeFlows[0].threadFlows[0].locations[0].location.message.text",
                "\"T2 takes L1 chopstick (mutex)\"");
    json_expect(&d, "runs[0].results[0].codeFlows[0].threadFlows[0].locations[1].location.physicalLocation.region.startLine",
                "29");
    json_expect(&d, "runs[0].results[0].codeFlows[0].threadFlows[0].locations[1].stack.frames[1].module",
                "\"/lib/x86_64-linux-gnu/libc.so.6\"");

    /* unlock-not-owner: the current stack has no file, but the row's has */
    json_expect(&d, "runs[0].results[1].ruleId", "\"unlock-not-owner\"");
    json_expect(&d, "runs[0].results[1].ruleIndex", "4");
    json_expect(&d, "runs[0].results[1].stacks[0].frames[0].location.logicalLocations[0].name",
                "\"worker\"");
    /* starvation: no file anywhere, so a logical location names the function */
    json_expect(&d, "runs[0].results[2].locations[0].logicalLocations[0].name", "\"worker\"");
    json_expect(&d, "runs[0].results[2].locations[0].logicalLocations[0].kind", "\"function\"");
    json_expect(&d, "runs[0].results[2].properties.jain_index", "0.25");
    json_free(&d);
}

static void
test_sarif_absolute_paths_become_file_uris(void **state)
{
    struct test_env *e = *state;
    static const struct lg_frame fr[] = {
        { 1, "f", "/src/my dir/a%b#c.c", 7, NULL, 0 },
    };
    static const struct lg_stack st = { 1, fr };
    struct lg_report r = { .kind = "stall", .summary = "s", .current_thread = -1,
                           .current = &st };
    const struct lg_report *reps[] = { &r };
    struct jdoc d;

    sarif_of(e, reps, 1);
    json_parse(&d, e->b.data);
    json_expect(&d, "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri",
                "\"file:///src/my%20dir/a%25b%23c.c\"");
    json_free(&d);
}

/* Code scanning maps a file onto the checkout through uriBaseId: a file
 * under the root is relative to it (%SRCROOT%, whose absolute URI, ending
 * in '/', is in originalUriBaseIds); nothing else claims to be. */
static void
test_sarif_uris_relative_to_the_root(void **state)
{
    struct test_env *e = *state;
    static const struct lg_frame fr[] = {
        { 1, "f", "/repo/src/a b.c", 7, NULL, 0 },
        { 2, "g", "/repository/x.c", 8, NULL, 0 }, /* /repo is only a prefix of its name */
        { 3, "h", "/usr/include/stdio.h", 9, NULL, 0 },
        { 4, "i", "./nptl/pthread_create.c", 10, NULL, 0 },
        { 5, "j", "/repo/", 11, NULL, 0 }, /* the root itself is no file below it */
    };
    static const struct lg_stack st = { 5, fr };
    struct lg_report r = { .kind = "stall", .summary = "s", .current_thread = -1,
                           .current = &st };
    const struct lg_report *reps[] = { &r };
    const struct lg_sarif_run run = { .root = "/repo/" };
    struct jdoc d;
    static const char *const want_uri[] = {
        "\"src/a%20b.c\"", "\"file:///repository/x.c\"", "\"file:///usr/include/stdio.h\"",
        "\"./nptl/pthread_create.c\"", "\"file:///repo/\"",
    };

    sarif_run_of(e, reps, 1, &run);
    json_parse(&d, e->b.data);
    json_expect(&d, "runs[0].originalUriBaseIds.%SRCROOT%.uri", "\"file:///repo/\"");
    json_expect(&d, "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri",
                "\"src/a%20b.c\"");
    json_expect(&d, "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uriBaseId",
                "\"%SRCROOT%\"");
    for (size_t i = 0; i < 5; i++) {
        char path[200];
        snprintf(path, sizeof path, "runs[0].results[0].stacks[0].frames[%zu].location."
                 "physicalLocation.artifactLocation.uri", i);
        json_expect(&d, path, want_uri[i]);
        snprintf(path, sizeof path, "runs[0].results[0].stacks[0].frames[%zu].location."
                 "physicalLocation.artifactLocation.uriBaseId", i);
        if (i == 0)
            json_expect(&d, path, "\"%SRCROOT%\"");
        else
            assert_null(json_get(&d, path));
    }
    json_free(&d);

    /* Without a root, nothing is relative to one. */
    lg_buf_reset(&e->b);
    sarif_of(e, reps, 1);
    json_parse(&d, e->b.data);
    assert_null(json_get(&d, "runs[0].originalUriBaseIds"));
    json_expect(&d, "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri",
                "\"file:///repo/src/a%20b.c\"");
    json_free(&d);

    /* "/" as the root: every absolute path is below it. */
    lg_buf_reset(&e->b);
    const struct lg_sarif_run slash = { .root = "/" };
    sarif_run_of(e, reps, 1, &slash);
    json_parse(&d, e->b.data);
    json_expect(&d, "runs[0].originalUriBaseIds.%SRCROOT%.uri", "\"file:///\"");
    json_expect(&d, "runs[0].results[0].stacks[0].frames[2].location.physicalLocation."
                "artifactLocation.uri", "\"usr/include/stdio.h\"");
    json_free(&d);
}

/* The invocation says how the analysed process ended: its exit status once
 * it has; before that (a log kept in case the process dies), that the
 * execution has not completed. */
static void
test_sarif_invocation(void **state)
{
    struct test_env *e = *state;
    struct jdoc d;
    struct lg_sarif_run run = {
        .tool_version = "0.1.0",
        .command_line = "./prog --name \"x\"",
        .working_directory = "/work/my dir",
        .start_utc = "2024-05-01T12:00:00.000Z",
        .end_utc = "2024-05-01T12:00:01.500Z",
    };

    lg_sarif_log(&e->b, &run, NULL, 0);
    json_parse(&d, e->b.data);
    json_expect(&d, "runs[0].invocations[0].executionSuccessful", "false");
    assert_null(json_get(&d, "runs[0].invocations[0].exitCode"));
    assert_null(json_get(&d, "runs[0].invocations[0].endTimeUtc"));
    json_expect(&d, "runs[0].invocations[0].toolExecutionNotifications[0].level", "\"note\"");
    json_expect(&d, "runs[0].invocations[0].commandLine", "\"./prog --name \\\"x\\\"\"");
    json_expect(&d, "runs[0].invocations[0].startTimeUtc", "\"2024-05-01T12:00:00.000Z\"");
    json_expect(&d, "runs[0].invocations[0].workingDirectory.uri", "\"file:///work/my%20dir/\"");
    assert_null(json_get(&d, "runs[0].invocations[1]"));
    json_free(&d);

    lg_buf_reset(&e->b);
    run.ended = true;
    run.exit_code = 66;
    run.exit_description = "lockgraph reported a problem";
    lg_sarif_log(&e->b, &run, NULL, 0);
    json_parse(&d, e->b.data);
    json_expect(&d, "runs[0].invocations[0].executionSuccessful", "true");
    json_expect(&d, "runs[0].invocations[0].exitCode", "66");
    json_expect(&d, "runs[0].invocations[0].exitCodeDescription",
                "\"lockgraph reported a problem\"");
    json_expect(&d, "runs[0].invocations[0].endTimeUtc", "\"2024-05-01T12:00:01.500Z\"");
    assert_null(json_get(&d, "runs[0].invocations[0].toolExecutionNotifications"));
    json_free(&d);
}

static void
test_sarif_empty_log(void **state)
{
    struct test_env *e = *state;
    struct jdoc d;
    lg_sarif_log(&e->b, NULL, NULL, 0);
    json_parse(&d, e->b.data);
    json_expect_type(&d, "runs[0].results", '[');
    assert_null(json_get(&d, "runs[0].results[0]"));
    assert_null(json_get(&d, "runs[0].tool.driver.version"));
    json_free(&d);
}

/* ---- the kinds --------------------------------------------------------------- */

/* One table of kinds: what is in it is known, what is not (a typo, "*") is
 * not, and SARIF has one rule per kind, in the same order. */
static void
test_kinds_are_one_table(void **state)
{
    struct test_env *e = *state;
    struct jdoc d;
    assert_true(lg_report_kind_known("lock-order-inversion"));
    assert_true(lg_report_kind_known("stall"));
    assert_false(lg_report_kind_known("lock-order-inverson"));
    assert_false(lg_report_kind_known("*"));
    assert_false(lg_report_kind_known(""));
    assert_false(lg_report_kind_known(NULL));

    lg_report_kinds_list(&e->b, "\n");
    char *list = strdup(e->b.data);
    assert_non_null(list);
    lg_buf_reset(&e->b);
    const struct lg_sarif_run run = { .tool_version = "1" };
    lg_sarif_log(&e->b, &run, NULL, 0);
    json_parse(&d, e->b.data);
    size_t n = 0;
    for (char *k = strtok(list, "\n"); k; k = strtok(NULL, "\n"), n++) {
        char path[64], want[64];
        assert_true(lg_report_kind_known(k));
        snprintf(path, sizeof path, "runs[0].tool.driver.rules[%zu].id", n);
        snprintf(want, sizeof want, "\"%s\"", k);
        json_expect(&d, path, want);
    }
    char past[64];
    snprintf(past, sizeof past, "runs[0].tool.driver.rules[%zu]", n);
    assert_null(json_get(&d, past));
    assert_true(n >= 10);
    free(list);
    json_free(&d);
}

/* ---- DOT ------------------------------------------------------------------- */

static void
test_dot_is_well_formed(void **state)
{
    struct test_env *e = *state;
    lg_dot_begin(&e->b);
    lg_dot_node(&e->b, 1, "L1 chopstick", true);
    lg_dot_node(&e->b, 2, "say \"x\"\\y\nz", false);
    lg_dot_node(&e->b, 3, NULL, false);
    lg_dot_edge(&e->b, 1, 2, "T2", true);
    lg_dot_edge(&e->b, 2, 1, NULL, false);
    lg_dot_edge(&e->b, 2, 3, NULL, true);
    lg_dot_end(&e->b);
    const char *t = e->b.data;

    assert_memory_equal(t, "digraph lockgraph {\n", 20);
    assert_string_equal(t + e->b.len - 2, "}\n");
    assert_non_null(strstr(t, "  L1 [label=\"L1 chopstick\", color=red, penwidth=2];\n"));
    assert_non_null(strstr(t, "  L2 [label=\"say \\\"x\\\"\\\\y\\nz\"];\n"));
    assert_non_null(strstr(t, "  L3 [label=\"L3\"];\n"));
    assert_non_null(strstr(t, "  L1 -> L2 [label=\"T2\", color=red, penwidth=2];\n"));
    assert_non_null(strstr(t, "  L2 -> L1;\n"));
    assert_non_null(strstr(t, "  L2 -> L3 [color=red, penwidth=2];\n"));

    /* Every statement line ends in ';', quotes pair up on each line, and
     * the only braces are the graph's own. */
    int braces = 0;
    for (const char *line = t; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        int quotes = 0;
        for (const char *c = line; c < nl; c++) {
            if (*c == '\\') {
                c++;
                continue;
            }
            if (*c == '"')
                quotes++;
            else if (*c == '{' && quotes % 2 == 0)
                braces++;
            else if (*c == '}' && quotes % 2 == 0)
                braces--;
        }
        assert_int_equal(quotes % 2, 0);
        if (line != t && nl[-1] != '}')
            assert_int_equal(nl[-1], ';');
        line = nl + 1;
    }
    assert_int_equal(braces, 0);
}

/* ---- allocation failure, everywhere ---------------------------------------- */

typedef void (*writer_fn)(struct lg_buf *b);

static void
write_text(struct lg_buf *b)
{
    lg_report_text(b, &rep_inversion);
    lg_report_text(b, &rep_starve);
}

static void
write_json(struct lg_buf *b)
{
    lg_report_json(b, &rep_deadlock);
}

static void
write_sarif(struct lg_buf *b)
{
    const struct lg_sarif_run run = { .tool_version = "v", .root = "/work", .ended = true,
                                      .command_line = "./a 'b c'", .start_utc = "t0",
                                      .end_utc = "t1", .working_directory = "/work" };
    lg_sarif_result(b, &rep_inversion, run.root);
    lg_sarif_log(b, &run, "{}", 2);
}

static void
write_dot(struct lg_buf *b)
{
    lg_dot_begin(b);
    for (uint64_t i = 1; i < 50; i++) {
        lg_dot_node(b, i, "a lock with a long enough name", i % 3 == 0);
        lg_dot_edge(b, i, i + 1, "T1", false);
    }
    lg_dot_end(b);
}

/* Whatever allocation fails, the writer neither crashes nor leaks, marks
 * the buffer failed, and keeps a true prefix of the full text. */
static void
test_allocation_failure_keeps_a_prefix(void **state)
{
    struct test_env *e = *state;
    const writer_fn writers[] = { write_text, write_json, write_sarif, write_dot };

    for (size_t w = 0; w < sizeof writers / sizeof writers[0]; w++) {
        struct lg_buf full;
        e->counts.fail_after = -1;
        e->counts.byte_limit = 0;
        e->counts.calls = 0;
        lg_buf_init(&full, &e->alloc);
        writers[w](&full);
        assert_false(full.failed);
        size_t allocs = e->counts.calls;
        /* Keep the reference text outside the counted allocator, so the
         * byte limits below apply to the writer alone. */
        size_t full_len = full.len;
        char *want = malloc(full_len + 1);
        assert_non_null(want);
        memcpy(want, full.data, full_len + 1);
        lg_buf_free(&full);

        for (long n = 0; n < (long)allocs + 2; n++) {
            struct lg_buf b;
            lg_buf_init(&b, &e->alloc);
            e->counts.calls = 0;
            e->counts.fail_after = n;
            writers[w](&b);
            e->counts.fail_after = -1;
            if (b.failed) {
                assert_true(b.len < full_len);
                if (b.len)
                    assert_int_equal(b.data[b.len], '\0');
            } else {
                assert_int_equal(b.len, full_len);
            }
            if (b.len)
                assert_memory_equal(b.data, want, b.len);
            lg_buf_free(&b);
        }
        for (size_t limit = 0; limit < 5000; limit += 97) {
            struct lg_buf b;
            lg_buf_init(&b, &e->alloc);
            e->counts.byte_limit = limit ? limit : 1;
            writers[w](&b);
            e->counts.byte_limit = 0;
            if (b.len)
                assert_memory_equal(b.data, want, b.len);
            assert_true(b.failed || b.len == full_len);
            lg_buf_free(&b);
        }
        free(want);
        assert_int_equal(e->counts.live_blocks, 0);
        assert_int_equal(e->counts.live_bytes, 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_buf_put_printf_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buf_out_of_memory_keeps_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buf_no_memory_at_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_string_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_inversion_has_banner_table_and_stacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_each_kind_reads_right, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_scenario_only_when_it_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall_says_what_each_thread_waits_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_other_kinds_have_banners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_control_characters_stay_on_their_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_inversion_is_one_valid_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_fields_nulls_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_escapes_hostile_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writers_survive_partial_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sarif_log_has_required_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sarif_absolute_paths_become_file_uris, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sarif_uris_relative_to_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sarif_invocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sarif_empty_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kinds_are_one_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dot_is_well_formed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failure_keeps_a_prefix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
