/* Unit tests for lockgraph's option table and parser (detectors/lockgraph/options.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* ---- a counting allocator ------------------------------------------------ */

struct test_alloc {
    size_t live_blocks, live_bytes;
    bool fail;
};

struct test_hdr {
    size_t size;
    max_align_t align[];
};

static void *
test_alloc_fn(void *ctx, size_t size)
{
    struct test_alloc *t = ctx;
    if (t->fail)
        return NULL;
    struct test_hdr *h = calloc(1, sizeof *h + size);
    assert_non_null(h);
    h->size = size;
    t->live_blocks++;
    t->live_bytes += size;
    return h->align;
}

static void
test_free_fn(void *ctx, void *p, size_t size)
{
    struct test_alloc *t = ctx;
    struct test_hdr *h = (struct test_hdr *)(void *)((char *)p - offsetof(struct test_hdr, align));
    assert_int_equal(h->size, size);
    t->live_blocks--;
    t->live_bytes -= size;
    free(h);
}

struct test_env {
    struct test_alloc counts;
    struct lg_alloc alloc;
    struct lg_options o;
    char err[256];
    /* every string value ever parsed, to give back at teardown */
    const char *strs[4096];
    size_t nstrs;
};

static int
setup(void **state)
{
    struct test_env *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->alloc.alloc = test_alloc_fn;
    e->alloc.free = test_free_fn;
    e->alloc.ctx = &e->counts;
    lg_options_defaults(&e->o);
    *state = e;
    return 0;
}

/* Note the string values o holds now (copies from the allocator, unless
 * they are still the defaults), so teardown can free them. */
static void
collect(struct test_env *e, const struct lg_options *before)
{
#define COLLECT_BOOL(name)
#define COLLECT_INT(name)
#define COLLECT_STR(name)                                                   \
    if (e->o.name != before->name) {                                        \
        assert_true(e->nstrs < sizeof e->strs / sizeof e->strs[0]);         \
        e->strs[e->nstrs++] = e->o.name;                                    \
    }
#define COLLECT(type, name, def, min, max, help) COLLECT_##type(name)
    LG_OPTION_TABLE(COLLECT)
#undef COLLECT
}

/* Parse text into e->o, keeping track of allocated values. */
static int
parse(struct test_env *e, const char *text)
{
    struct lg_options before = e->o;
    int rc = lg_options_parse(&e->o, text, &e->alloc, e->err, sizeof e->err);
    collect(e, &before);
    return rc;
}

static int
teardown(void **state)
{
    struct test_env *e = *state;
    /* Free each distinct value once: the STR copies are strlen + 1 bytes. */
    for (size_t i = 0; i < e->nstrs; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = e->strs[j] == e->strs[i];
        if (!dup)
            lg_free(&e->alloc, (void *)(uintptr_t)e->strs[i], strlen(e->strs[i]) + 1);
    }
    int leaked = e->counts.live_blocks != 0;
    free(e);
    return leaked ? -1 : 0;
}

/* ---- defaults and parsing ------------------------------------------------ */

static void
test_defaults_match_the_table(void **state)
{
    struct test_env *e = *state;
    struct lg_options o;
    memset(&o, 0xA5, sizeof o);
    lg_options_defaults(&o);
    assert_false(o.help);
    assert_int_equal(o.exitcode, 66);
    assert_string_equal(o.log, "");
    assert_string_equal(o.json, "");
    assert_string_equal(o.sarif, "");
    assert_string_equal(o.dot, "");
    assert_string_equal(o.suppressions, "");
    assert_false(o.halt_on_error);
    assert_true(o.symbolize);
    assert_int_equal(o.stack_depth, 16);
    assert_true(o.detect_deadlocks);
    assert_int_equal(o.deadlock_ms, 500);
    assert_true(o.liveness);
    assert_int_equal(o.starvation_ms, 1000);
    assert_int_equal(o.starvation_grants, 100);
    assert_int_equal(o.livelock_ms, 1000);
    assert_int_equal(o.stall_ms, 3000);
    assert_int_equal(o.verbosity, 0);
    (void)e;
}

static void
test_parse_every_type(void **state)
{
    struct test_env *e = *state;
    assert_int_equal(parse(e, "exitcode=3:json=/tmp/r.json:halt_on_error=yes:"
                              "symbolize=false:stack_depth=64:verbosity=2:"
                              "deadlock_ms=10:liveness=NO:help=TRUE:"
                              "starvation_grants=+100000000"), 0);
    assert_string_equal(e->err, "");
    assert_int_equal(e->o.exitcode, 3);
    assert_string_equal(e->o.json, "/tmp/r.json");
    assert_true(e->o.halt_on_error);
    assert_false(e->o.symbolize);
    assert_int_equal(e->o.stack_depth, 64);
    assert_int_equal(e->o.verbosity, 2);
    assert_int_equal(e->o.deadlock_ms, 10);
    assert_false(e->o.liveness);
    assert_true(e->o.help);
    assert_int_equal(e->o.starvation_grants, 100000000);
    /* untouched options keep what they had */
    assert_int_equal(e->o.stall_ms, 3000);
    assert_string_equal(e->o.log, "");
}

static void
test_string_values_are_copies_from_the_allocator(void **state)
{
    struct test_env *e = *state;
    char text[] = "log=/tmp/a.log";
    assert_int_equal(parse(e, text), 0);
    assert_int_equal(e->counts.live_blocks, 1);
    assert_int_equal(e->counts.live_bytes, strlen("/tmp/a.log") + 1);
    text[5] = 'X'; /* the caller's text may go away */
    assert_string_equal(e->o.log, "/tmp/a.log");
}

static void
test_both_separators_and_runs_of_them(void **state)
{
    struct test_env *e = *state;
    assert_int_equal(parse(e, "  :exitcode=1 \t verbosity=1::\n"
                              "stack_depth=2:\r halt_on_error=1 : "), 0);
    assert_int_equal(e->o.exitcode, 1);
    assert_int_equal(e->o.verbosity, 1);
    assert_int_equal(e->o.stack_depth, 2);
    assert_true(e->o.halt_on_error);
    assert_int_equal(parse(e, ""), 0);
    assert_int_equal(parse(e, " :: \t"), 0);
}

static void
test_quoted_values(void **state)
{
    struct test_env *e = *state;
    assert_int_equal(parse(e, "log=\"/tmp/my dir/a:b.log\" json='say \"hi\".json'"
                              ":sarif=\"\":dot='':exitcode=\"7\""), 0);
    assert_string_equal(e->o.log, "/tmp/my dir/a:b.log");
    assert_string_equal(e->o.json, "say \"hi\".json");
    assert_string_equal(e->o.sarif, "");
    assert_string_equal(e->o.dot, "");
    assert_int_equal(e->o.exitcode, 7);
    /* a quote inside an unquoted value is just a character */
    assert_int_equal(parse(e, "log=it's"), 0);
    assert_string_equal(e->o.log, "it's");
    /* an empty unquoted value is an empty string */
    assert_int_equal(parse(e, "log=:json= "), 0);
    assert_string_equal(e->o.log, "");
    assert_string_equal(e->o.json, "");
}

static void
test_later_value_wins(void **state)
{
    struct test_env *e = *state;
    assert_int_equal(parse(e, "exitcode=1:exitcode=2 log=a log=b"), 0);
    assert_int_equal(e->o.exitcode, 2);
    assert_string_equal(e->o.log, "b");
    /* the copy of "a" was given back: only "b" is still allocated */
    assert_int_equal(e->counts.live_blocks, 1);
    /* and a second parse overrides the first (flags after the environment) */
    assert_int_equal(parse(e, "exitcode=9"), 0);
    assert_int_equal(e->o.exitcode, 9);
    assert_string_equal(e->o.log, "b");
}

static void
test_null_text_is_nothing_to_do(void **state)
{
    struct test_env *e = *state;
    struct lg_options before = e->o;
    strcpy(e->err, "stale");
    assert_int_equal(lg_options_parse(&e->o, NULL, &e->alloc, e->err, sizeof e->err), 0);
    assert_memory_equal(&before, &e->o, sizeof before);
    assert_string_equal(e->err, "");
}

/* ---- errors ------------------------------------------------------------------ */

static void
expect_error(struct test_env *e, const char *text, const char *message)
{
    int rc = parse(e, text);
    if (rc != -EINVAL || strcmp(e->err, message) != 0)
        print_error("parse(\"%s\") = %d, \"%s\"\n      want -EINVAL, \"%s\"\n", text, rc,
                    e->err, message);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(e->err, message);
}

static void
test_unknown_option_suggests_the_closest(void **state)
{
    struct test_env *e = *state;
    expect_error(e, "jsn=/tmp/x", "unknown option 'jsn' (did you mean 'json'?)");
    expect_error(e, "jsno=/tmp/x", "unknown option 'jsno' (did you mean 'json'?)");
    expect_error(e, "halt-on-error=1", "unknown option 'halt-on-error' (did you mean 'halt_on_error'?)");
    expect_error(e, "ExitCode=1", "unknown option 'ExitCode' (did you mean 'exitcode'?)");
    expect_error(e, "stack=4", "unknown option 'stack' (did you mean 'stack_depth'?)");
    expect_error(e, "verbose=1", "unknown option 'verbose' (did you mean 'verbosity'?)");
    expect_error(e, "deadlockms=1", "unknown option 'deadlockms' (did you mean 'deadlock_ms'?)");
    expect_error(e, "frobnicate=1", "unknown option 'frobnicate' (help=1 lists every option)");
    expect_error(e, "x=1", "unknown option 'x' (help=1 lists every option)");
    /* the message stays one line whatever the key holds */
    expect_error(e, "a\x01\x7f" "b=1", "unknown option 'a??b' (help=1 lists every option)");
    /* an unknown word without '=' is reported as unknown, not as missing '=' */
    expect_error(e, "exitcode=1 garbage", "unknown option 'garbage' (help=1 lists every option)");
}

static void
test_missing_equals_and_empty_key(void **state)
{
    struct test_env *e = *state;
    expect_error(e, "exitcode", "missing '=' after option 'exitcode' (write exitcode=<number>)");
    expect_error(e, "halt_on_error:json=x", "missing '=' after option 'halt_on_error' (write halt_on_error=1)");
    expect_error(e, "json /tmp/x", "missing '=' after option 'json' (write json=<value>)");
    expect_error(e, "=5", "empty option name before '=' in '=5'");
    expect_error(e, "exitcode=1 =", "empty option name before '=' in '='");
}

static void
test_bad_values(void **state)
{
    struct test_env *e = *state;
    expect_error(e, "exitcode=abc", "option 'exitcode' wants an integer from 0 to 255, not 'abc'");
    expect_error(e, "exitcode=", "option 'exitcode' wants an integer from 0 to 255, not ''");
    expect_error(e, "exitcode=0x10", "option 'exitcode' wants an integer from 0 to 255, not '0x10'");
    expect_error(e, "exitcode=12.5", "option 'exitcode' wants an integer from 0 to 255, not '12.5'");
    expect_error(e, "exitcode=-", "option 'exitcode' wants an integer from 0 to 255, not '-'");
    expect_error(e, "exitcode=\" 5\"", "option 'exitcode' wants an integer from 0 to 255, not ' 5'");
    expect_error(e, "exitcode=256", "option 'exitcode' is out of range: 256 is not between 0 and 255");
    expect_error(e, "exitcode=-1", "option 'exitcode' is out of range: -1 is not between 0 and 255");
    expect_error(e, "stack_depth=0", "option 'stack_depth' is out of range: 0 is not between 1 and 64");
    expect_error(e, "deadlock_ms=99999999999999999999999",
                 "option 'deadlock_ms' is out of range: 99999999999999999999999 is not between 10 and 600000");
    expect_error(e, "deadlock_ms=-9223372036854775809",
                 "option 'deadlock_ms' is out of range: -9223372036854775809 is not between 10 and 600000");
    expect_error(e, "deadlock_ms=-9223372036854775808",
                 "option 'deadlock_ms' is out of range: -9223372036854775808 is not between 10 and 600000");
    expect_error(e, "halt_on_error=maybe", "option 'halt_on_error' wants 1/0, true/false or yes/no, not 'maybe'");
    expect_error(e, "halt_on_error=", "option 'halt_on_error' wants 1/0, true/false or yes/no, not ''");
    expect_error(e, "halt_on_error=2", "option 'halt_on_error' wants 1/0, true/false or yes/no, not '2'");
    /* the failed options kept their values */
    assert_int_equal(e->o.exitcode, 66);
    assert_false(e->o.halt_on_error);
}

static void
test_quote_errors(void **state)
{
    struct test_env *e = *state;
    expect_error(e, "log=\"/tmp/x", "unterminated double quote in the value of option 'log'");
    expect_error(e, "log='/tmp/x\"", "unterminated single quote in the value of option 'log'");
    expect_error(e, "log=\"a\"b", "unexpected 'b' after the quoted value of option 'log' "
                                  "(separate options with ':' or a space)");
}

static void
test_error_buffer_is_optional_and_bounded(void **state)
{
    struct test_env *e = *state;
    char small[8];
    memset(small, 'X', sizeof small);
    assert_int_equal(lg_options_parse(&e->o, "jsn=1", &e->alloc, small, sizeof small), -EINVAL);
    assert_string_equal(small, "unknown");
    assert_int_equal(lg_options_parse(&e->o, "jsn=1", &e->alloc, NULL, 0), -EINVAL);
    assert_int_equal(lg_options_parse(&e->o, "jsn=1", &e->alloc, small, 0), -EINVAL);
    assert_int_equal(lg_options_parse(NULL, "exitcode=1", &e->alloc, e->err, sizeof e->err), -EINVAL);
}

static void
test_long_values_are_cut_short_in_messages(void **state)
{
    struct test_env *e = *state;
    char text[600];
    snprintf(text, sizeof text, "exitcode=%0500d", 7);
    text[20] = 'z';
    assert_int_equal(parse(e, text), -EINVAL);
    assert_true(strlen(e->err) < 160);
    assert_non_null(strstr(e->err, "...'"));
    /* long, but a valid number: leading zeros are fine */
    text[20] = '0';
    assert_int_equal(parse(e, text), 0);
    assert_int_equal(e->o.exitcode, 7);
}

static void
test_out_of_memory_for_a_string(void **state)
{
    struct test_env *e = *state;
    e->counts.fail = true;
    assert_int_equal(parse(e, "exitcode=5:log=/tmp/x"), -ENOMEM);
    assert_string_equal(e->err, "out of memory for the value of option 'log'");
    assert_int_equal(lg_options_parse(&e->o, "json=x", NULL, e->err, sizeof e->err), -ENOMEM);
    e->counts.fail = false;
}

/* Whatever bytes are in the variable, the parser returns 0 or an error
 * with a one-line message, and reads nothing past the end (ASan checks). */
static void
test_garbage_never_crashes(void **state)
{
    struct test_env *e = *state;
    static const char *const nasty[] = {
        "=", "==", "===", ":", "'", "\"", "log='", "log=\"", "log=\"\"\"",
        "log='':'", "=\"", "=='", "exitcode==1", "exitcode=1=2", "log==",
        "\xff\xfe=1", "log=\xff", "exitcode=\xc3\xa9", ":=:=:", "a b c",
        "exitcode=1:", "exitcode=-0", "exitcode=+", "exitcode=+-1",
        "verbosity=2 verbosity=3", "log=\"a\"\"b\"",
    };
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char buf[64];

    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
        int rc = parse(e, nasty[i]);
        assert_true(rc == 0 || rc == -EINVAL);
        assert_null(strchr(e->err, '\n'));
        assert_true(rc == 0 ? e->err[0] == '\0' : e->err[0] != '\0');
    }
    /* random strings over an alphabet that hits every branch */
    static const char alphabet[] = "=:'\" \tab_ej1-9xoslnfg\x01\xff";
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = (size_t)(x % (sizeof buf));
        for (; n < len; n++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[n] = alphabet[x % (sizeof alphabet - 1)];
        }
        /* an exact-size heap copy, so any over-read is caught */
        char *heap = malloc(n + 1);
        assert_non_null(heap);
        memcpy(heap, buf, n);
        heap[n] = '\0';
        int rc = parse(e, heap);
        assert_true(rc == 0 || rc == -EINVAL);
        assert_null(strchr(e->err, '\n'));
        free(heap);
    }
    /* a key far longer than any option name */
    char *big = malloc(100001);
    assert_non_null(big);
    memset(big, 'k', 100000);
    big[100000] = '\0';
    assert_int_equal(parse(e, big), -EINVAL);
    big[50000] = '=';
    assert_int_equal(parse(e, big), -EINVAL);
    assert_true(strlen(e->err) < 200);
    free(big);
}

/* ---- help ---------------------------------------------------------------- */

static void *
heap_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return calloc(1, n);
}

static void
heap_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

static const struct lg_alloc heap = { heap_alloc, heap_free, NULL };

struct table_row {
    const char *name, *name_default, *help;
};

/* The table as the test sees it: "name=default" is how help shows it (a
 * string default "" is shown as ""). */
static const struct table_row table[] = {
#define ROW(type, name, def, min, max, help) { #name, #name "=" #def, help },
    LG_OPTION_TABLE(ROW)
#undef ROW
};

#define NTABLE (sizeof table / sizeof table[0])

static void
test_help_lists_every_option_with_default(void **state)
{
    struct lg_buf b;
    (void)state;
    lg_buf_init(&b, &heap);
    lg_options_help(&b, false);
    assert_false(b.failed);
    for (size_t i = 0; i < NTABLE; i++) {
        char want[256];
        snprintf(want, sizeof want, "  %s ", table[i].name_default);
        if (!strstr(b.data, want))
            print_error("help lacks '%s'\n", want);
        assert_non_null(strstr(b.data, want));
        const char *line = strstr(b.data, want);
        const char *nl = strchr(line, '\n');
        const char *help = strstr(line, table[i].help);
        /* the help is on the option's own line */
        assert_non_null(help);
        assert_true(help < nl);
    }
    assert_non_null(strstr(b.data, "  exitcode=66 "));
    assert_non_null(strstr(b.data, "(0..255)"));
    assert_non_null(strstr(b.data, "  log=\"\" "));
    lg_buf_free(&b);
}

static void
test_markdown_help_is_a_table(void **state)
{
    struct lg_buf b;
    (void)state;
    lg_buf_init(&b, &heap);
    lg_options_help(&b, true);
    assert_false(b.failed);

    const char *p = b.data;
    size_t lines = 0;
    assert_memory_equal(p, "| option | default | meaning |\n|---|---|---|\n", 44);
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_int_equal(p[0], '|');
        assert_int_equal(nl[-1], '|');
        /* every row has exactly the header's three cells */
        int bars = 0;
        for (const char *c = p; c < nl; c++)
            if (*c == '|' && (c == p || c[-1] != '\\'))
                bars++;
        assert_int_equal(bars, 4);
        lines++;
        p = nl + 1;
    }
    assert_int_equal(lines, NTABLE + 2);
    for (size_t i = 0; i < NTABLE; i++) {
        char want[128];
        snprintf(want, sizeof want, "| `%s` | `", table[i].name);
        assert_non_null(strstr(b.data, want));
    }
    assert_non_null(strstr(b.data, "| `exitcode` | `66` | "));
    assert_non_null(strstr(b.data, "| `json` | `\"\"` | "));
    assert_non_null(strstr(b.data, "(0 to 255) |"));
    lg_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_match_the_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_every_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_values_are_copies_from_the_allocator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_separators_and_runs_of_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_later_value_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_text_is_nothing_to_do, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_option_suggests_the_closest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_equals_and_empty_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quote_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_buffer_is_optional_and_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_values_are_cut_short_in_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory_for_a_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_never_crashes, setup, teardown),
        cmocka_unit_test(test_help_lists_every_option_with_default),
        cmocka_unit_test(test_markdown_help_is_a_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
