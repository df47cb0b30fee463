/*
 * report.c - what the report writers share: the table of report kinds,
 * safe access to a possibly partial report, and the pieces of text several
 * writers use. The writers themselves are report_text.c, report_json.c,
 * report_sarif.c and report_dot.c; the buffer they write into is
 * report_buf.c.
 *
 * Everything here only formats. Memory comes from the buffer's allocator and
 * the only libc formatting used is vsnprintf/snprintf into memory, so the
 * runtime can call these from wherever it noticed the problem (with its own
 * lock held, from a thread that is about to be reported as deadlocked, ...)
 * and emit the result with a single write(2).
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- what each kind of report means ------------------------------------ */

/*
 * Every kind of report lockgraph writes. This table is the one list of
 * kinds: the text banners, the SARIF rules and the suppressions parser all
 * read it, so a new kind is one more row here.
 *
 * verb: what the second stack of a table row shows, "T2 <verb> L1 at:"
 * (an inversion's row that holds nothing only "took" its lock).
 */
const struct lg_kind_info lg_kinds[] = {
    { "lock-order-inversion", "LockOrderInversion", "potential deadlock", "then took",
      "Threads took the same locks in different orders. No deadlock happened "
      "in this run, but there is an interleaving in which each thread holds "
      "one lock of the cycle and waits forever for the next." },
    { "self-deadlock", "SelfDeadlock", "a thread waits for a lock it holds", "takes again",
      "A thread tried to take a non-recursive lock it already holds: it "
      "blocks forever, or gets EDEADLK from an error-checking mutex." },
    { "deadlock", "Deadlock", "threads are blocked waiting for each other", "waits for",
      "Threads were blocked in a cycle, each waiting for a lock that the "
      "next one holds. lockgraph reported the cycle and ended the process "
      "instead of letting it hang." },
    { "abandoned-lock", "AbandonedLock", "a thread exited holding a lock", "wants",
      "A thread exited while still holding a lock, so every later attempt "
      "to take the lock blocks forever (a robust mutex reports EOWNERDEAD "
      "instead)." },
    { "unlock-not-owner", "UnlockNotOwner", "unlock of a lock held by another thread",
      "unlocks",
      "A thread unlocked a lock that another thread holds. This is undefined "
      "behaviour for a default mutex and fails with EPERM for an "
      "error-checking one." },
    { "unlock-unlocked", "UnlockUnlocked", "unlock of a lock nobody holds", "unlocks",
      "A thread unlocked a lock that was not locked. This is undefined "
      "behaviour for a default mutex and can corrupt the lock's state." },
    { "destroy-locked", "DestroyLocked", "destroy of a lock that is held", "destroys",
      "A lock was destroyed while a thread held it. This is undefined "
      "behaviour: the holder and any waiter are left with a dead lock." },
    { "starvation", "Starvation", "a thread cannot get a lock others keep getting",
      "tries to take",
      "A thread kept trying to take a lock for a long time while other "
      "threads were granted the same lock again and again." },
    { "livelock", "Livelock", "threads keep backing off without progress", "tries to take",
      "Threads kept failing trylocks and backing off for a long time, and "
      "none of them made progress." },
    { "stall", "Stall", "every thread is blocked", "waits for",
      "Every thread of the process was blocked for a long time with no lock "
      "cycle among them, for example waiting on a condition variable that "
      "nobody signals." },
    { "cond-misuse", "CondMisuse", "a condition variable used wrongly", "waits with",
      "A thread waited on a condition variable with a mutex it did not hold, "
      "with something that is not a mutex, or with another mutex than the "
      "threads already waiting on it. POSIX leaves all of these undefined." },
    { "barrier-misuse", "BarrierMisuse", "a barrier used wrongly", "uses",
      "A barrier was set up with a count of zero, set up again while in use "
      "or without being destroyed, or destroyed while threads waited at it." },
    { "invalid-mutex", "InvalidMutex", "use of something that is not a mutex", "uses",
      "A mutex function was called on memory that holds no mutex: one that "
      "was destroyed and not set up again, or memory that never was one. "
      "glibc answers EINVAL or does nothing." },
};

const size_t lg_nkinds = sizeof lg_kinds / sizeof lg_kinds[0];

int
lg_kind_index(const char *kind)
{
    if (!kind)
        return -1;
    for (size_t i = 0; i < lg_nkinds; i++)
        if (strcmp(lg_kinds[i].kind, kind) == 0)
            return (int)i;
    return -1;
}

bool
lg_report_kind_known(const char *kind)
{
    return lg_kind_index(kind) >= 0;
}

void
lg_report_kinds_list(struct lg_buf *b, const char *sep)
{
    for (size_t i = 0; i < lg_nkinds; i++) {
        if (i)
            lg_buf_puts(b, sep);
        lg_buf_puts(b, lg_kinds[i].kind);
    }
}

bool
lg_kind_is(const struct lg_report *r, const char *kind)
{
    return r->kind && strcmp(r->kind, kind) == 0;
}

/* ---- safe access to a possibly partial report -------------------------- */

const struct lg_rep_lock *
lg_rlock(const struct lg_report *r, int32_t i)
{
    if (!r->locks || i < 0 || (uint32_t)i >= r->nlocks)
        return NULL;
    return &r->locks[i];
}

const struct lg_rep_thread *
lg_rthread(const struct lg_report *r, int32_t i)
{
    if (!r->threads || i < 0 || (uint32_t)i >= r->nthreads)
        return NULL;
    return &r->threads[i];
}

uint32_t
lg_nrows(const struct lg_report *r)
{
    return r->rows ? r->nrows : 0;
}

uint32_t
lg_nframes(const struct lg_stack *s)
{
    return s && s->frames ? s->n : 0;
}

const char *
lg_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool
in_libc(const struct lg_frame *f)
{
    return f->module && strncmp(lg_basename(f->module), "libc.so", 7) == 0;
}

/* The innermost frame with a source file (or, when want_file is false, with
 * a function name) of s, or NULL. Not past the program's own frames: the
 * C library's frames after them (start_thread, __libc_start_main) have
 * source lines where the C library has debug information, and would name
 * the same place in every report of a program built without it. */
const struct lg_frame *
lg_stack_pick(const struct lg_stack *s, bool want_file)
{
    uint32_t n = lg_nframes(s);
    bool own = false;
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_frame *f = &s->frames[i];
        bool libc = in_libc(f);
        if (libc && own)
            break;
        own = own || !libc;
        if (want_file ? f->file != NULL : f->function != NULL)
            return f;
    }
    return NULL;
}

/*
 * The place a report is about, for SUMMARY and SARIF: the reporting
 * thread's stack first (that is where the program did the wrong thing),
 * then the rows' stacks in order. Source lines beat function names.
 */
const struct lg_frame *
lg_report_place(const struct lg_report *r)
{
    for (int want_file = 1; want_file >= 0; want_file--) {
        const struct lg_frame *f = lg_stack_pick(r->current, want_file);
        for (uint32_t i = 0; !f && i < lg_nrows(r); i++) {
            f = lg_stack_pick(r->rows[i].wanted_at, want_file);
            if (!f)
                f = lg_stack_pick(r->rows[i].held_at, want_file);
        }
        if (f)
            return f;
    }
    /* Nothing named: the innermost frame, shown as module+offset. */
    if (lg_nframes(r->current))
        return &r->current->frames[0];
    for (uint32_t i = 0; i < lg_nrows(r); i++) {
        if (lg_nframes(r->rows[i].wanted_at))
            return &r->rows[i].wanted_at->frames[0];
        if (lg_nframes(r->rows[i].held_at))
            return &r->rows[i].held_at->frames[0];
    }
    return NULL;
}

/* "L3", or "L?" for an index the report does not carry. */
void
lg_lock_ref(char *out, size_t n, const struct lg_report *r, int32_t idx)
{
    const struct lg_rep_lock *l = lg_rlock(r, idx);
    if (l)
        snprintf(out, n, "L%" PRIu64, l->id);
    else
        snprintf(out, n, "%s", idx < 0 ? "-" : "L?");
}

void
lg_thread_ref(char *out, size_t n, const struct lg_report *r, int32_t idx)
{
    const struct lg_rep_thread *t = lg_rthread(r, idx);
    if (t)
        snprintf(out, n, "T%" PRIu32, t->num);
    else
        snprintf(out, n, "%s", idx < 0 ? "-" : "T?");
}

static const char *
lg_lock_mode(const struct lg_rep_lock *l, bool shared)
{
    if (shared)
        return ", read";
    /* Only a lock that has a read mode needs to say it was not used. */
    if (l->type && strstr(l->type, "rwlock"))
        return ", write";
    return "";
}

/* "L1 chopstick (mutex)", "L4 0x7f0a12 (rwlock, read)" or "-". */
void
lg_lock_cell(char *out, size_t n, const struct lg_report *r, int32_t idx,
             bool shared)
{
    const struct lg_rep_lock *l = lg_rlock(r, idx);
    if (!l) {
        lg_lock_ref(out, n, r, idx);
        return;
    }
    const char *type = l->type ? l->type : "lock";
    if (l->name)
        snprintf(out, n, "L%" PRIu64 " %s (%s%s)", l->id, l->name, type,
                 lg_lock_mode(l, shared));
    else
        snprintf(out, n, "L%" PRIu64 " 0x%" PRIxPTR " (%s%s)", l->id, l->addr,
                 type, lg_lock_mode(l, shared));
}
/* ---- pieces of text ---------------------------------------------------- */

/* What a row's second stack shows depends on the kind of report. */
const char *
lg_wanted_verb(const struct lg_report *r, bool has_held)
{
    int k = lg_kind_index(r->kind);
    if (k < 0)
        return "wants";
    if (!has_held && strcmp(lg_kinds[k].verb, "then took") == 0)
        return "took";
    return lg_kinds[k].verb;
}

/* Integral values read better without a fraction ("waited_ms: 1500"). */
bool
lg_is_integral(double v, long long *out)
{
    if (!(v > -9007199254740992.0 && v < 9007199254740992.0))
        return false; /* also NaN */
    long long i = (long long)v;
    if ((double)i != v)
        return false;
    *out = i;
    return true;
}
