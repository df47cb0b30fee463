/*
 * report_buf.c - the growable text buffer every writer appends to, and JSON
 * string literals. Memory comes from the buffer's allocator, never malloc.
 */
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
