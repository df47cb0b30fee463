/*
 * diag.c - lockgraph's own messages: an impossible failure (lg_die), a
 * note, a warning said once. The bottom of the runtime: every other file
 * may call it, and it calls nothing of lockgraph's but the options.
 *
 * Messages go to the log (standard error unless log= names a file);
 * report_rt.c opens the log and hands its descriptor over.
 */
#include "rt.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct lg_options lg_opt;
atomic_bool lg_active;

static int log_fd = 2;

void
lg_diag_set_fd(int fd)
{
    log_fd = fd;
}

int
lg_diag_fd(void)
{
    return log_fd;
}

bool
lg_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

void
lg_note(const char *fmt, ...)
{
    char line[512];
    int len = snprintf(line, sizeof line, "==%ld== lockgraph: ", (long)getpid());
    va_list ap;
    va_start(ap, fmt);
    len += vsnprintf(line + len, sizeof line - (size_t)len - 1, fmt, ap);
    va_end(ap);
    if (len > (int)sizeof line - 2)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    /* write() is a cancellation point; lockgraph's own message is not the
     * program's (rt.h: Cancellation). */
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    lg_write_all(log_fd, line, (size_t)len);
    pthread_setcancelstate(cancel, NULL);
}

void
lg_warn_once(atomic_bool *said, const char *fmt, ...)
{
    if (atomic_exchange_explicit(said, true, memory_order_relaxed))
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lg_note("warning: %s (said once; the program keeps running)", msg);
}

_Noreturn void
lg_die(const char *file, int line, const char *what)
{
    lg_note("internal error at %s:%d: %s", file, line, what);
    abort();
}
