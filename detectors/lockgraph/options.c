/*
 * options.c - defaults, the LOCKGRAPH_OPTIONS parser and the help text, all
 * generated from LG_OPTION_TABLE.
 *
 * The parser runs inside the checked program before anything else is set
 * up, possibly from a constructor, so it never calls malloc or stdio (only
 * snprintf into the caller's buffer) and must survive any bytes a user can
 * put in an environment variable.
 */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum lg_opt_type { LG_OPT_BOOL, LG_OPT_INT, LG_OPT_STR };

struct lg_opt_desc {
    const char *name;
    enum lg_opt_type type;
    long def_num;        /* BOOL and INT */
    const char *def_str; /* STR */
    long min, max;       /* INT */
    const char *help;
};

#define LG_OPT_DESC_BOOL(name, def, min, max, help) \
    { #name, LG_OPT_BOOL, (def), NULL, 0, 1, help },
#define LG_OPT_DESC_INT(name, def, min, max, help) \
    { #name, LG_OPT_INT, (def), NULL, (min), (max), help },
#define LG_OPT_DESC_STR(name, def, min, max, help) \
    { #name, LG_OPT_STR, 0, (def), 0, 0, help },
#define LG_OPT_DESC(type, name, def, min, max, help) \
    LG_OPT_DESC_##type(name, def, min, max, help)

static const struct lg_opt_desc lg_opts[] = { LG_OPTION_TABLE(LG_OPT_DESC) };

#define LG_NOPTS (sizeof lg_opts / sizeof lg_opts[0])

/* The option's index in lg_opts, so a field can be found from a name. */
enum {
#define LG_OPT_INDEX(type, name, def, min, max, help) LG_OPT_IDX_##name,
    LG_OPTION_TABLE(LG_OPT_INDEX)
#undef LG_OPT_INDEX
    LG_OPT_COUNT
};

/* The field behind option i. A switch rather than offsetof arithmetic so
 * the compiler checks every field's type against its use. */
static void *
lg_opt_field(struct lg_options *o, size_t i)
{
    switch (i) {
#define LG_OPT_CASE(type, name, def, min, max, help) \
    case LG_OPT_IDX_##name:                          \
        return &o->name;
        LG_OPTION_TABLE(LG_OPT_CASE)
#undef LG_OPT_CASE
    default:
        return NULL;
    }
}

void
lg_options_defaults(struct lg_options *o)
{
#define LG_OPT_SET_DEFAULT(type, name, def, min, max, help) o->name = (def);
    LG_OPTION_TABLE(LG_OPT_SET_DEFAULT)
#undef LG_OPT_SET_DEFAULT
}

/* ---- messages ---------------------------------------------------------- */

static void lg_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
lg_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#define LG_SHOW_MAX 48

/* What the user wrote, fit for a one-line message: control characters
 * become '?', and a long text is cut short with "...". */
static void
lg_show(char *out, size_t outlen, const char *s, size_t n)
{
    size_t j = 0;
    bool cut = n > LG_SHOW_MAX;
    if (cut)
        n = LG_SHOW_MAX;
    for (size_t i = 0; i < n && j + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    if (cut && j + 4 < outlen) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

/* ---- finding options --------------------------------------------------- */

static int
lg_opt_find(const char *key, size_t n)
{
    for (size_t i = 0; i < LG_NOPTS; i++)
        if (strlen(lg_opts[i].name) == n && memcmp(lg_opts[i].name, key, n) == 0)
            return (int)i;
    return -1;
}

static char
lg_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

#define LG_KEY_MAX 64

/* Edit distance with adjacent transpositions (optimal string alignment):
 * "jsno" is one slip away from "json", not two. */
static size_t
lg_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t prev2[LG_KEY_MAX + 1], prev[LG_KEY_MAX + 1], cur[LG_KEY_MAX + 1];

    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t d = prev[j - 1] + cost;
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
        memcpy(prev2, prev, sizeof prev);
        memcpy(prev, cur, sizeof cur);
    }
    return prev[nb];
}

/*
 * The option the user most likely meant, or -1. Tried in order: the same
 * name in another case or with '-' for '_' (halt-on-error), a unique
 * prefix of at least three letters (stack -> stack_depth), and the closest
 * name within about a third of its length in edits (jsn -> json), so that
 * a suggestion is a likely slip rather than any short name.
 */
static int
lg_opt_suggest(const char *key, size_t n)
{
    char k[LG_KEY_MAX];
    int best = -1, prefix = -1, nprefix = 0;
    size_t best_d = SIZE_MAX;

    if (n == 0 || n > LG_KEY_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        k[i] = key[i] == '-' ? '_' : lg_lower(key[i]);
    int exact = lg_opt_find(k, n);
    if (exact >= 0)
        return exact;
    for (size_t i = 0; i < LG_NOPTS; i++) {
        const char *name = lg_opts[i].name;
        size_t nl = strlen(name);
        if (n >= 3 && n < nl && memcmp(name, k, n) == 0) {
            prefix = (int)i;
            nprefix++;
        }
        size_t d = lg_edit_distance(k, n, name, nl);
        size_t longer = n > nl ? n : nl;
        if (d <= (longer + 2) / 3 && d < best_d) {
            best = (int)i;
            best_d = d;
        }
    }
    if (nprefix == 1)
        return prefix;
    return best;
}

static void
lg_err_unknown(char *err, size_t errlen, const char *key, size_t n)
{
    char shown[LG_SHOW_MAX + 8];
    int s = lg_opt_suggest(key, n);
    lg_show(shown, sizeof shown, key, n);
    if (s >= 0)
        lg_err(err, errlen, "unknown option '%s' (did you mean '%s'?)", shown,
               lg_opts[s].name);
    else
        lg_err(err, errlen, "unknown option '%s' (help=1 lists every option)",
               shown);
}

/* ---- values ------------------------------------------------------------ */

static bool
lg_word_is(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lg_lower(s[i]) != word[i])
            return false;
    return true;
}

static int
lg_parse_bool(const char *s, size_t n, bool *out)
{
    if (lg_word_is(s, n, "1") || lg_word_is(s, n, "true") || lg_word_is(s, n, "yes"))
        *out = true;
    else if (lg_word_is(s, n, "0") || lg_word_is(s, n, "false") ||
             lg_word_is(s, n, "no"))
        *out = false;
    else
        return -EINVAL;
    return 0;
}

/* Decimal only: a time in ms or an exit status has no business in hex, and
 * "010" must not silently mean 8. -ERANGE when it does not fit a long. */
static int
lg_parse_long(const char *s, size_t n, long *out)
{
    size_t i = 0;
    bool neg = false;
    unsigned long v = 0;
    unsigned long limit = (unsigned long)LONG_MAX;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return -EINVAL;
    if (neg)
        limit += 1; /* |LONG_MIN| */
    bool overflow = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            overflow = true; /* keep scanning: "99999x" is still not a number */
        else
            v = v * 10 + d;
    }
    if (overflow)
        return -ERANGE;
    if (neg)
        *out = v == limit ? LONG_MIN : -(long)v;
    else
        *out = (long)v;
    return 0;
}

/* `copied` says whether the option's current value is a copy this parse
 * made, and so can be given back when a later item replaces it. */
static int
lg_opt_set(struct lg_options *o, int idx, const char *val, size_t n,
           const struct lg_alloc *alloc, bool *copied, char *err, size_t errlen)
{
    const struct lg_opt_desc *d = &lg_opts[idx];
    void *field = lg_opt_field(o, (size_t)idx);
    char shown[LG_SHOW_MAX + 8];

    lg_show(shown, sizeof shown, val, n);
    switch (d->type) {
    case LG_OPT_BOOL: {
        bool v;
        if (lg_parse_bool(val, n, &v) < 0) {
            lg_err(err, errlen, "option '%s' wants 1/0, true/false or yes/no, "
                   "not '%s'", d->name, shown);
            return -EINVAL;
        }
        *(bool *)field = v;
        return 0;
    }
    case LG_OPT_INT: {
        long v = 0;
        int rc = lg_parse_long(val, n, &v);
        if (rc == -EINVAL) {
            lg_err(err, errlen, "option '%s' wants an integer from %ld to %ld, "
                   "not '%s'", d->name, d->min, d->max, shown);
            return -EINVAL;
        }
        if (rc == -ERANGE || v < d->min || v > d->max) {
            lg_err(err, errlen, "option '%s' is out of range: %s is not "
                   "between %ld and %ld", d->name, shown, d->min, d->max);
            return -EINVAL;
        }
        *(long *)field = v;
        return 0;
    }
    case LG_OPT_STR: {
        /* The copy is strlen + 1 bytes, so whoever keeps the options can
         * give it back with lg_free(alloc, p, strlen(p) + 1). */
        char *copy = alloc && alloc->alloc ? lg_alloc(alloc, n + 1) : NULL;
        if (!copy) {
            lg_err(err, errlen, "out of memory for the value of option '%s'",
                   d->name);
            return -ENOMEM;
        }
        memcpy(copy, val, n);
        copy[n] = '\0';
        const char **slot = field;
        if (*copied)
            lg_free(alloc, (void *)(uintptr_t)*slot, strlen(*slot) + 1);
        *slot = copy;
        *copied = true;
        return 0;
    }
    }
    return -EINVAL;
}

/* ---- the parser -------------------------------------------------------- */

static bool
lg_is_sep(char c)
{
    return c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
           c == '\v' || c == '\f';
}

/*
 * One pass over key=value items. A key runs to '=' or a separator. A value
 * runs to the next separator, or is everything between a pair of quotes of
 * the same kind (no escapes: a value that needs both kinds of quote and a
 * separator cannot be written, which no path in practice needs). A NUL
 * ends the text wherever it is, so there is nothing to over-read.
 */
int
lg_options_parse(struct lg_options *o, const char *text,
                 const struct lg_alloc *alloc, char *err, size_t errlen)
{
    char shown[LG_SHOW_MAX + 8];
    bool copied[LG_OPT_COUNT] = { false };
    const char *p = text;

    if (err && errlen)
        err[0] = '\0';
    if (!text)
        return 0;
    if (!o) {
        lg_err(err, errlen, "no options to parse into");
        return -EINVAL;
    }
    for (;;) {
        while (lg_is_sep(*p))
            p++;
        if (!*p)
            return 0;
        const char *key = p;
        while (*p && *p != '=' && !lg_is_sep(*p))
            p++;
        size_t klen = (size_t)(p - key);
        int idx = klen ? lg_opt_find(key, klen) : -1;

        if (*p != '=') {
            if (idx < 0) {
                lg_err_unknown(err, errlen, key, klen);
            } else {
                const char *eg = lg_opts[idx].type == LG_OPT_BOOL ? "1"
                                 : lg_opts[idx].type == LG_OPT_INT ? "<number>"
                                                                   : "<value>";
                lg_err(err, errlen, "missing '=' after option '%s' (write "
                       "%s=%s)", lg_opts[idx].name, lg_opts[idx].name, eg);
            }
            return -EINVAL;
        }
        if (klen == 0) {
            const char *end = p + 1;
            while (*end && !lg_is_sep(*end))
                end++;
            lg_show(shown, sizeof shown, p, (size_t)(end - p));
            lg_err(err, errlen, "empty option name before '=' in '%s'", shown);
            return -EINVAL;
        }
        if (idx < 0) {
            lg_err_unknown(err, errlen, key, klen);
            return -EINVAL;
        }
        p++; /* the '=' */

        const char *val;
        size_t vlen;
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            const char *close = strchr(p, q);
            if (!close) {
                lg_err(err, errlen, "unterminated %s quote in the value of "
                       "option '%s'", q == '"' ? "double" : "single",
                       lg_opts[idx].name);
                return -EINVAL;
            }
            val = p;
            vlen = (size_t)(close - p);
            p = close + 1;
            if (*p && !lg_is_sep(*p)) {
                const char *end = p;
                while (*end && !lg_is_sep(*end))
                    end++;
                lg_show(shown, sizeof shown, p, (size_t)(end - p));
                lg_err(err, errlen, "unexpected '%s' after the quoted value of "
                       "option '%s' (separate options with ':' or a space)",
                       shown, lg_opts[idx].name);
                return -EINVAL;
            }
        } else {
            val = p;
            while (*p && !lg_is_sep(*p))
                p++;
            vlen = (size_t)(p - val);
        }
        int rc = lg_opt_set(o, idx, val, vlen, alloc, &copied[idx], err, errlen);
        if (rc < 0)
            return rc;
    }
}

/* ---- help -------------------------------------------------------------- */

static void
lg_opt_default(char *out, size_t n, const struct lg_opt_desc *d)
{
    if (d->type == LG_OPT_STR)
        snprintf(out, n, "%s", d->def_str[0] ? d->def_str : "\"\"");
    else
        snprintf(out, n, "%ld", d->def_num);
}

static void
lg_opt_kind(char *out, size_t n, const struct lg_opt_desc *d)
{
    if (d->type == LG_OPT_BOOL)
        snprintf(out, n, "bool");
    else if (d->type == LG_OPT_STR)
        snprintf(out, n, "string");
    else
        snprintf(out, n, "%ld..%ld", d->min, d->max);
}

/* Help text never holds '|', but a table cell must not break if it does. */
static void
lg_md_cell(struct lg_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '|')
            lg_buf_puts(b, "\\|");
        else
            lg_buf_put(b, p, 1);
    }
}

void
lg_options_help(struct lg_buf *b, bool markdown)
{
    char def[64], kind[64];

    if (markdown) {
        lg_buf_puts(b, "| option | default | meaning |\n|---|---|---|\n");
        for (size_t i = 0; i < LG_NOPTS; i++) {
            const struct lg_opt_desc *d = &lg_opts[i];
            lg_opt_default(def, sizeof def, d);
            lg_buf_printf(b, "| `%s` | `", d->name);
            lg_md_cell(b, def);
            lg_buf_puts(b, "` | ");
            lg_md_cell(b, d->help);
            /* The default already shows a boolean or a string for what it
             * is; only a number's bounds are news. */
            if (d->type == LG_OPT_INT)
                lg_buf_printf(b, " (%ld to %ld)", d->min, d->max);
            lg_buf_puts(b, " |\n");
        }
        return;
    }

    int width = 0;
    for (size_t i = 0; i < LG_NOPTS; i++) {
        lg_opt_default(def, sizeof def, &lg_opts[i]);
        int w = (int)(strlen(lg_opts[i].name) + 1 + strlen(def));
        if (w > width)
            width = w;
    }
    lg_buf_puts(b, "lockgraph options, shown as name=default. Set them in\n"
                   "LOCKGRAPH_OPTIONS separated by ':' or spaces; quote a value\n"
                   "with \"...\" or '...' to let it hold either. Booleans take\n"
                   "1/0, true/false or yes/no.\n");
    for (size_t i = 0; i < LG_NOPTS; i++) {
        const struct lg_opt_desc *d = &lg_opts[i];
        char nd[LG_KEY_MAX + sizeof def];
        lg_opt_default(def, sizeof def, d);
        lg_opt_kind(kind, sizeof kind, d);
        snprintf(nd, sizeof nd, "%s=%s", d->name, def);
        lg_buf_printf(b, "  %-*s  (%s) %s\n", width, nd, kind, d->help);
    }
}
