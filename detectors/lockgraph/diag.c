/*
 * diag.c - lockgraph's own messages (lg_die, lg_note, lg_warn_once) and the
 * files it writes (the log, JSON, SARIF, DOT). The bottom of the runtime:
 * every other file may call it, and it calls nothing of lockgraph's but the
 * options.
 *
 * The outputs must never harm the program, and never be lost in silence:
 *  - every write is checked; the first failure of an output is said on
 *    standard error (fd 2 itself, never the failing log), naming the file
 *    and the errno;
 *  - an output is opened O_NONBLOCK, so a FIFO without a reader fails at
 *    once (ENXIO: said, then the open is tried again at the next write),
 *    and a write to a pipe nobody empties waits at most output_timeout_ms
 *    before its data is dropped (said once; that output gets nothing more;
 *    standard error, the program's, gets later text again once it has
 *    room, after a line that says how much was lost);
 *  - the descriptor is moved out of the program's way (F_DUPFD_CLOEXEC
 *    near the top of the usual range) and, before each write, checked to
 *    still be the file lockgraph opened (fstat's dev/ino and the flags): a
 *    program that closed it, or got the same number for a file of its own,
 *    never gets lockgraph's text; the output is opened again by its path
 *    (as it is when the path names another file now: a rotated log);
 *  - a write to a pipe whose reader is gone returns EPIPE and never raises
 *    SIGPIPE in the program; one past RLIMIT_FSIZE returns EFBIG and never
 *    raises SIGXFSZ.
 * When the log cannot be written, its text goes to standard error instead;
 * when the program has closed fd 2, to the copy of it lockgraph kept.
 *
 * No lock: an output's state is an immutable record, published with one
 * atomic index (a reopened output gets a new record; they are never
 * reused), so a thread writing a note and one writing a report can both
 * find the descriptor broken and reopen it; one of them wins, the other
 * closes what it opened.
 */
#include "rt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct lg_options lg_opt;
atomic_bool lg_active;

/* ---- writing to a descriptor -------------------------------------------- */

static const char *
errno_name(int err)
{
    const char *name = strerrorname_np(err);
    return name ? name : "?";
}

/*
 * write(2) all of it to fd; 0, or -errno. For a pipe, a FIFO or a socket
 * (not `regular`) it never waits longer than `wait_ms` in all (-1: as long
 * as it takes; poll before each piece of at most PIPE_BUF bytes, which then
 * fits) and fails with -ETIMEDOUT after that. SIGPIPE and SIGXFSZ are
 * blocked around the write, and one it raised is taken back: a reader that
 * went away costs the program an EPIPE here, and a file at the process's
 * RLIMIT_FSIZE an EFBIG, not its life (the signal's default action kills).
 */
static int
write_fd(int fd, const char *p, size_t n, bool regular, long wait_ms)
{
    sigset_t ours, old, pending;
    sigemptyset(&ours);
    sigaddset(&ours, SIGPIPE);
    sigaddset(&ours, SIGXFSZ);
    sigpending(&pending);
    bool had_pipe = sigismember(&pending, SIGPIPE), had_fsize = sigismember(&pending, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &ours, &old);
    uint64_t deadline = lg_now_ns() + (uint64_t)(wait_ms < 0 ? 0 : wait_ms) * 1000000u;
    int err = 0;
    while (n > 0) {
        size_t piece = regular || n <= PIPE_BUF ? n : PIPE_BUF;
        if (!regular) {
            uint64_t now = lg_now_ns();
            int left = wait_ms < 0 ? -1
                       : now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
            struct pollfd pfd = { fd, POLLOUT, 0 };
            int ready = poll(&pfd, 1, left);
            if (ready < 0 && errno == EINTR)
                continue;
            if (ready == 0) {
                err = -ETIMEDOUT;
                break;
            }
        }
        ssize_t w = write(fd, p, piece);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN && !regular) {
            /* poll said there was room, then someone took it: poll again */
            if (wait_ms >= 0 && lg_now_ns() >= deadline) {
                err = -ETIMEDOUT;
                break;
            }
            continue;
        }
        if (w <= 0) {
            err = w < 0 ? -errno : -EIO;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    static const struct timespec now = { 0, 0 };
    if (err == -EPIPE && !had_pipe) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, SIGPIPE);
        sigtimedwait(&one, NULL, &now);
    }
    if (err == -EFBIG && !had_fsize) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, SIGXFSZ);
        sigtimedwait(&one, NULL, &now);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

/* Where lockgraph's descriptors go: near the top of the range most
 * programs use (fds below 1024, which select() can take), far from the
 * low numbers a program's next open() gets. */
static int
high_fd_floor(void)
{
    struct rlimit rl;
    rlim_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (lim > 1024)
        lim = 1024;
    return lim > 64 ? (int)lim - 32 : (int)lim / 2;
}

/* "==pid== lockgraph: <message>\n" in line; its length. */
static size_t
format_line(char *line, size_t size, const char *fmt, va_list ap)
{
    int len = snprintf(line, size, "==%ld== lockgraph: ", (long)getpid());
    len += vsnprintf(line + len, size - (size_t)len - 1, fmt, ap);
    if (len > (int)size - 2)
        len = (int)size - 2;
    line[len++] = '\n';
    return (size_t)len;
}

/*
 * fd 2 is the program's. A pipe there that nobody reads (a parent that
 * never drains it, `2>&1 | sleep`) hung the program in lockgraph's write,
 * where natively it never writes to fd 2 at all: a write waits at most
 * output_timeout_ms, like the other outputs', and the text is dropped
 * after that. While fd 2 stays full, later writes do not wait at all
 * (stderr_dropped counts what went); the first one that gets through
 * again says how much was lost.
 */
static atomic_ulong stderr_dropped;

/*
 * A program that closes standard error before it ends (xz's and sort's
 * fclose(stderr), to check that their own messages got out) left
 * lockgraph nowhere to write the closing line, or a report found in the
 * last destructors: they were lost with nothing said. lockgraph keeps a
 * copy of fd 2 as it was at its start (F_DUPFD_CLOEXEC, high, like the
 * outputs'), and writes there while fd 2 is closed. While fd 2 is open it
 * is used, whatever it is now: text follows the program's own redirection
 * (freopen, dup2), as the sanitizers' does.
 * The copy must not keep the program's stderr open where the program
 * would have let it go: it is closed at exec (CLOEXEC) and in a fork
 * child (a daemon that forks, then detaches from its terminal or its
 * parent's pipe, must not hold that open: a parent reading to EOF would
 * wait for the daemon), which uses fd 2 alone, as before.
 */
static struct {
    int fd;
    dev_t dev;
    ino_t ino;
} stderr_copy = { .fd = -1 };

/* Whether fd is still the copy lockgraph made: the same file, and still
 * close-on-exec (the program's own descriptors rarely are both). */
static bool
copy_still_ours(int fd)
{
    struct stat st;
    int fdflags = fcntl(fd, F_GETFD);
    return fdflags >= 0 && (fdflags & FD_CLOEXEC) && fstat(fd, &st) == 0
           && st.st_dev == stderr_copy.dev && st.st_ino == stderr_copy.ino;
}

void
lg_diag_keep_stderr(void)
{
    if (stderr_copy.fd >= 0 || fcntl(2, F_GETFD) < 0)
        return;
    int fd = fcntl(2, F_DUPFD_CLOEXEC, high_fd_floor());
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return;
    }
    stderr_copy.dev = st.st_dev;
    stderr_copy.ino = st.st_ino;
    stderr_copy.fd = fd;
}

void
lg_diag_atfork_child(void)
{
    int fd = stderr_copy.fd;
    stderr_copy.fd = -1;
    if (fd >= 0 && copy_still_ours(fd))
        close(fd);
}

/* Where text for standard error goes now: fd 2, or the copy while fd 2 is
 * closed and the copy is still lockgraph's (a program that closed every
 * descriptor may have got its number for a file of its own). -1: nowhere. */
static int
stderr_fd(void)
{
    if (fcntl(2, F_GETFD) >= 0 || errno != EBADF)
        return 2;
    int fd = stderr_copy.fd;
    return fd >= 0 && copy_still_ours(fd) ? fd : -1;
}

static void
write_stderr(const char *data, size_t len)
{
    int fd = stderr_fd();
    if (fd < 0)
        return;
    struct stat st;
    bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    unsigned long dropped = atomic_load_explicit(&stderr_dropped, memory_order_relaxed);
    long wait = dropped ? 0 : lg_opt.output_timeout_ms;
    if (dropped && !regular) {
        struct pollfd pfd = { fd, POLLOUT, 0 };
        if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT)) {
            atomic_fetch_add_explicit(&stderr_dropped, len, memory_order_relaxed);
            return;
        }
    }
    if (dropped && atomic_exchange_explicit(&stderr_dropped, 0, memory_order_relaxed)) {
        char note[160];
        int n = snprintf(note, sizeof note,
                         "==%ld== lockgraph: up to %lu bytes of its output to standard error were "
                         "dropped: nobody read it for output_timeout_ms (%ld ms)\n",
                         (long)getpid(), dropped, (long)lg_opt.output_timeout_ms);
        write_fd(fd, note, n > 0 ? (size_t)n : 0, regular, lg_opt.output_timeout_ms);
    }
    int err = write_fd(fd, data, len, regular, wait);
    if (err == -ETIMEDOUT)
        atomic_fetch_add_explicit(&stderr_dropped, len ? len : 1, memory_order_relaxed);
}

/*
 * The process's last words to standard error (its closing line, a report
 * that ends it) came while fd 2 was still full from text dropped earlier
 * (a parent that drains the pipe only once the program is done): they
 * were dropped too, without waiting, and nothing ever said that output
 * was lost (adversarial round h5, F3). At the end, the reader gets one
 * more wait of output_timeout_ms; then what was lost is said, before the
 * last words.
 */
void
lg_diag_last_words(void)
{
    if (!atomic_load_explicit(&stderr_dropped, memory_order_relaxed))
        return;
    int fd = stderr_fd();
    if (fd < 0)
        return;
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    uint64_t deadline = lg_now_ns() + (uint64_t)lg_opt.output_timeout_ms * 1000000u;
    for (;;) {
        uint64_t now = lg_now_ns();
        struct pollfd pfd = { fd, POLLOUT, 0 };
        int left = now >= deadline ? 0 : (int)((deadline - now + 999999u) / 1000000u);
        int ready = poll(&pfd, 1, left);
        if (ready >= 0 || errno != EINTR)
            break;
    }
    write_stderr("", 0); /* the count of what was dropped, if there is room now */
    pthread_setcancelstate(cancel, NULL);
}

/* A message line, to fd 2 itself (`to_stderr`) or to the log. */
static void
vsay(bool to_stderr, const char *fmt, va_list ap)
{
    char line[1024];
    size_t len = format_line(line, sizeof line, fmt, ap);
    /* write() is a cancellation point; lockgraph's own message is not the
     * program's (rt.h: Cancellation). */
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    if (to_stderr)
        write_stderr(line, len);
    else
        lg_log_write(line, len);
    pthread_setcancelstate(cancel, NULL);
}

/* Say something on fd 2 itself, whatever the log is: for when the log is
 * the thing that failed. */
static void say_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say_stderr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(true, fmt, ap);
    va_end(ap);
}

/* ---- the outputs ---------------------------------------------------------- */

/* What an output's descriptor is, as opened: immutable once published. */
struct out_state {
    int fd;          /* -1: not open (yet, or it cannot be) */
    int flags;       /* F_GETFL as opened */
    dev_t dev;
    ino_t ino;
    bool regular;
};

#define OUT_STATES 32 /* reopenings an output may need before it gives up */

struct out {
    const char *name;     /* the option: "log", "json", ... */
    bool truncate;        /* rewritten whole (SARIF, DOT), else appended */
    atomic_uint cur;      /* index of the current state, 0: never opened */
    atomic_uint nstates;  /* states used (state 0 is "never opened") */
    struct out_state states[OUT_STATES];
    atomic_bool said_open, said_write, said_moved, said_renamed, said_slow, said_used_up;
    atomic_bool dead;     /* dropped for good: a reader too slow, or no states left */
};

static struct out outs[LG_NOUTS] = {
    [LG_OUT_LOG] = { .name = "log" },
    [LG_OUT_JSON] = { .name = "json" },
    [LG_OUT_SARIF] = { .name = "sarif", .truncate = true },
    [LG_OUT_DOT] = { .name = "dot", .truncate = true },
};

static const char *
out_path(enum lg_out_id id)
{
    const char *p = id == LG_OUT_LOG ? lg_opt.log
                    : id == LG_OUT_JSON ? lg_opt.json
                    : id == LG_OUT_SARIF ? lg_opt.sarif
                    : lg_opt.dot;
    return p ? p : "";
}

/* Open the output's file; its state, or one with fd -1 and err set. */
static struct out_state
out_open_file(const char *path, int *err)
{
    struct out_state s = { .fd = -1 };
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0) {
        *err = errno;
        return s;
    }
    int floor = high_fd_floor();
    if (fd < floor) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
        if (high >= 0) {
            close(fd);
            fd = high;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *err = errno;
        close(fd);
        return s;
    }
    s.fd = fd;
    s.flags = fcntl(fd, F_GETFL);
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.regular = S_ISREG(st.st_mode);
    return s;
}

/* Whether the descriptor is still the file lockgraph opened: a program may
 * have closed it, and its next open() may have got the same number. */
static bool
still_ours(const struct out_state *s)
{
    struct stat st;
    if (fstat(s->fd, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino)
        return false;
    int fdflags = fcntl(s->fd, F_GETFD);
    return fcntl(s->fd, F_GETFL) == s->flags && fdflags >= 0 && (fdflags & FD_CLOEXEC);
}

/* Whether the path still names the file lockgraph has open: a log that was
 * rotated (renamed, deleted) is followed to the new file at its path, as
 * opening the path at each write would. */
static bool
still_at(const char *path, const struct out_state *s)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

static void
say_open_failed(struct out *o, const char *path, int err)
{
    if (!atomic_exchange_explicit(&o->said_open, true, memory_order_relaxed))
        say_stderr("warning: cannot open the %s output '%s': %s (%s)%s", o->name, path,
                   strerror(err), errno_name(err),
                   err == ENXIO ? "; it is a FIFO without a reader: lockgraph does not wait "
                                  "for one, and tries again at each write"
                                : "; what lockgraph writes there is lost");
}

/*
 * Make `fresh` the output's state, in place of `before` (the state the
 * caller found broken: it is not closed, as its number may be the
 * program's now, or, for a file `renamed` away from its path, as another
 * thread may still be writing to it). If another thread got there first,
 * its state wins and `fresh` is closed. NULL when the output has used all
 * its states.
 */
static const struct out_state *
out_publish(struct out *o, const char *path, struct out_state fresh, unsigned before,
            bool renamed)
{
    unsigned n = atomic_fetch_add_explicit(&o->nstates, 1, memory_order_relaxed) + 1;
    if (n >= OUT_STATES) {
        close(fresh.fd);
        if (!atomic_exchange_explicit(&o->said_used_up, true, memory_order_relaxed))
            say_stderr("warning: the program took lockgraph's %s output '%s' over %d times; "
                       "it gets nothing more", o->name, path, OUT_STATES - 2);
        atomic_store_explicit(&o->dead, true, memory_order_relaxed);
        return NULL;
    }
    o->states[n] = fresh;
    if (!atomic_compare_exchange_strong_explicit(&o->cur, &before, n, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        close(fresh.fd);
        return &o->states[before];
    }
    if (renamed && !atomic_exchange_explicit(&o->said_renamed, true, memory_order_relaxed))
        say_stderr("warning: '%s' is no longer the file lockgraph had open for its %s output "
                   "(renamed or deleted); lockgraph opened the path again (said once)", path,
                   o->name);
    else if (before != 0 && !renamed
             && !atomic_exchange_explicit(&o->said_moved, true, memory_order_relaxed))
        say_stderr("warning: the program closed or reused lockgraph's descriptor %d for the %s "
                   "output '%s'; lockgraph opened the file again (said once)",
                   o->states[before].fd, o->name, path);
    return &o->states[n];
}

/* The output's state, opened (again) when it is not open or no longer
 * lockgraph's; NULL when it cannot be written now (*errp says why; the
 * first failure to open is said on fd 2). */
static const struct out_state *
out_get(struct out *o, const char *path, int *errp)
{
    unsigned cur = atomic_load_explicit(&o->cur, memory_order_acquire);
    const struct out_state *s = &o->states[cur];
    bool renamed = false;
    if (cur != 0 && still_ours(s)) {
        if (still_at(path, s))
            return s;
        renamed = true;
    }
    struct out_state fresh = out_open_file(path, errp);
    if (fresh.fd < 0) {
        say_open_failed(o, path, *errp);
        return NULL;
    }
    s = out_publish(o, path, fresh, cur, renamed);
    if (!s)
        *errp = EMFILE;
    return s;
}

static int
out_write(enum lg_out_id id, const char *data, size_t len, bool whole)
{
    struct out *o = &outs[id];
    const char *path = out_path(id);
    if (!path[0] || atomic_load_explicit(&o->dead, memory_order_relaxed))
        return -EBADF;
    int err = 0;
    const struct out_state *s = out_get(o, path, &err);
    if (!s)
        return -err;
    if (whole && s->regular && ftruncate(s->fd, 0) != 0) {
        err = errno;
        if (!atomic_exchange_explicit(&o->said_write, true, memory_order_relaxed))
            say_stderr("warning: cannot rewrite the %s output '%s': %s (%s); further failures "
                       "of this output are not said", o->name, path, strerror(err),
                       errno_name(err));
        return -err;
    }
    err = write_fd(s->fd, data, len, s->regular, lg_opt.output_timeout_ms);
    if (err == -ETIMEDOUT) {
        atomic_store_explicit(&o->dead, true, memory_order_relaxed);
        if (!atomic_exchange_explicit(&o->said_slow, true, memory_order_relaxed))
            say_stderr("warning: the reader of the %s output '%s' took nothing for %ld ms; "
                       "lockgraph dropped what it was writing, and writes nothing more there",
                       o->name, path, (long)lg_opt.output_timeout_ms);
    } else if (err < 0 && !atomic_exchange_explicit(&o->said_write, true, memory_order_relaxed)) {
        say_stderr("warning: cannot write the %s output '%s': %s (%s); %sfurther failures of "
                   "this output are not said", o->name, path, strerror(-err), errno_name(-err),
                   id == LG_OUT_LOG ? "its text goes to standard error instead; " : "");
    }
    return err;
}

int
lg_out_open(enum lg_out_id id)
{
    struct out *o = &outs[id];
    const char *path = out_path(id);
    if (!path[0] || atomic_load_explicit(&o->cur, memory_order_acquire) != 0)
        return 0;
    int err = 0;
    struct out_state fresh = out_open_file(path, &err);
    if (fresh.fd < 0 && err != ENXIO)
        return -err; /* bad input: the caller says so */
    if (fresh.fd < 0) {
        say_open_failed(o, path, err);
        return 0;
    }
    return out_publish(o, path, fresh, 0, false) ? 0 : -EMFILE;
}

int
lg_out_write(enum lg_out_id id, const char *data, size_t len)
{
    return out_write(id, data, len, false);
}

int
lg_out_replace(enum lg_out_id id, const char *data, size_t len)
{
    return out_write(id, data, len, true);
}

bool
lg_out_rewritable(enum lg_out_id id)
{
    struct out *o = &outs[id];
    const char *path = out_path(id);
    if (!path[0])
        return false;
    int err;
    const struct out_state *s = out_get(o, path, &err);
    return s && s->regular;
}

/* ---- the log and messages --------------------------------------------------- */

void
lg_log_write(const char *data, size_t len)
{
    if (!lg_opt.log || !lg_opt.log[0] || out_write(LG_OUT_LOG, data, len, false) != 0)
        write_stderr(data, len);
}

void
lg_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(false, fmt, ap);
    va_end(ap);
}

void
lg_warn_once(atomic_bool *said, const char *fmt, ...)
{
    if (atomic_exchange_explicit(said, true, memory_order_relaxed))
        return;
    char msg[800];
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
